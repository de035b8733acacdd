"""A corpus of broken files and arguments fed to every command: exit code 2 and a one-line
`coach: …` message, never a traceback (or exit 0 where the input is fine once converted)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from coach.cli import main
from coach.history import HistoryStore
from coach.tts import espeak_ng

RATE = 16000


def _speech(voice: str, seconds: float = 7.0) -> np.ndarray:
    text = ("I walked home by the river today and the light on the water was lovely. "
            "Then I cooked dinner and we talked about the week ahead.")
    x = espeak_ng(text, voice, 150)
    if len(x) == 0:
        pytest.skip("espeak-ng is not installed")
    return np.tile(x, int(np.ceil(seconds * RATE / len(x))))[:int(seconds * RATE)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fuzz")
    a, b = _speech("en-us+m3"), _speech("en-gb+f4")
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        files[name] = d / name
        files[name].write_bytes(data)

    sf.write(d / "alex.wav", a, RATE)
    sf.write(d / "sam.wav", b, RATE)
    files["alex"], files["sam"] = d / "alex.wav", d / "sam.wav"
    good = np.concatenate([a, np.zeros(RATE, np.float32), b])
    sf.write(d / "good.wav", good, RATE)
    files["good.wav"] = d / "good.wav"
    put("empty.wav", b"")
    put("header-only.wav", (d / "good.wav").read_bytes()[:20])
    put("random.wav", np.random.default_rng(0).bytes(5000))
    put("text.wav", b"these are the notes from our evening, not a recording\n" * 20)
    put("notes.txt", b"hello")
    files["folder.wav"] = d / "folder.wav"
    files["folder.wav"].mkdir()
    sf.write(d / "zero.wav", np.zeros(0, np.float32), RATE)
    files["zero.wav"] = d / "zero.wav"
    sf.write(d / "one-sample.wav", np.zeros(1, np.float32), RATE)
    files["one-sample.wav"] = d / "one-sample.wav"
    # Rates, widths and channel counts that are fine once converted.
    from scipy.signal import resample_poly

    a44 = resample_poly(good, 441, 160).astype(np.float32)
    sf.write(d / "six-channels-44k.wav", np.repeat(a44[:, None], 6, axis=1) * 0.5, 44100)
    sf.write(d / "8k.wav", resample_poly(good, 1, 2).astype(np.float32), 8000)
    sf.write(d / "24bit.wav", good, RATE, subtype="PCM_24")
    sf.write(d / "float.wav", good, RATE, subtype="FLOAT")
    for name in ("six-channels-44k.wav", "8k.wav", "24bit.wav", "float.wav"):
        files[name] = d / name
    sf.write(d / "whole.ogg", good, RATE, format="OGG", subtype="VORBIS")
    whole = (d / "whole.ogg").read_bytes()
    put("cut.ogg", whole[:len(whole) // 2])
    # A WAV whose header claims ~298 hours (4 kHz, 8-bit): a sparse file, no disk used.
    size = 0xFFFFFF00
    header = (b"RIFF" + struct.pack("<I", size + 36) + b"WAVE" + b"fmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, 4000, 4000, 1, 8) + b"data" + struct.pack("<I", size))
    put("huge.wav", header)
    with open(files["huge.wav"], "r+b") as f:
        f.truncate(len(header) + size)
    return files


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("COACH_HOME", str(path))
    return path


def run(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    return code, out, err


def assert_refused(code: int, err: str, argv) -> None:
    """Exit 2, and stderr is exactly one line starting with "coach:"."""
    lines = err.strip().splitlines()
    assert code == 2, (argv, code, err)
    assert len(lines) == 1 and lines[0].startswith("coach: "), (argv, err)


BROKEN = ["missing.wav", "empty.wav", "header-only.wav", "random.wav", "text.wav", "notes.txt",
          "folder.wav", "zero.wav", "huge.wav"]
CONVERTED = ["six-channels-44k.wav", "8k.wav", "24bit.wav", "float.wav"]


@pytest.mark.parametrize("name", BROKEN)
def test_broken_recordings_are_refused_by_every_reader(corpus, home, capsys, name):
    path = corpus.get(name, corpus["alex"].parent / name)
    speakers = ["--speaker", f"A={corpus['alex']}", "--speaker", f"B={corpus['sam']}"]
    for argv in (["analyze", path, *speakers], ["analyze", path, *speakers, "--json"],
                 ["analyze", corpus["good.wav"], "--speaker", f"A={path}", "--speaker", f"B={corpus['sam']}"],
                 ["enroll", "Alex", "--from", path],
                 ["start", "--input", path, "--names", "Alex,Sam", "--json"],
                 ["check", "--input", path]):
        code, out, err = run(argv, capsys)
        assert_refused(code, err, argv)
        assert out == ""
        if name == "huge.wav" and argv[0] == "analyze" and argv[1] == path:
            assert "24 hours" in err


@pytest.mark.parametrize("name", CONVERTED + ["one-sample.wav", "cut.ogg"])
def test_odd_but_readable_recordings(corpus, home, capsys, name):
    speakers = ["--speaker", f"A={corpus['alex']}", "--speaker", f"B={corpus['sam']}"]
    code, out, err = run(["analyze", corpus[name], *speakers, "--json"], capsys)
    if name in CONVERTED:  # converted to 16 kHz mono and measured
        assert code == 0, err
        import json

        talk = json.loads(out)["speakers"]
        assert talk["A"]["talk_s"] > 3 and talk["B"]["talk_s"] > 3
    else:
        assert code in (0, 2)
        if code == 2:
            assert_refused(code, err, name)


def test_the_same_clip_for_both_partners_is_refused(corpus, home, capsys):
    argv = ["analyze", corpus["good.wav"], "--speaker", f"A={corpus['alex']}",
            "--speaker", f"B={corpus['alex']}"]
    code, _, err = run(argv, capsys)
    assert_refused(code, err, argv)


def test_broken_arguments(corpus, home, capsys, tmp_path):
    bad_plan = tmp_path / "plan.toml"
    bad_plan.write_text("name = 'x'\n[[step]]\nkind = 'dance'\n")
    not_toml = tmp_path / "broken.toml"
    not_toml.write_text("name = \n")
    with HistoryStore() as store:
        store.close()
    cases = [
        ["start", "--names", "Alex", "--input", corpus["good.wav"]],
        ["start", "--names", "Alex,alex", "--input", corpus["good.wav"]],
        ["start", "--names", "Alex,Sam,Kim", "--input", corpus["good.wav"]],
        ["start", "--names", "Alex,Sam", "--input", corpus["good.wav"], "--plan", "nosuchplan"],
        ["demo", "--plan", "nosuchplan"], ["demo", "--plan", bad_plan], ["demo", "--plan", not_toml],
        ["start", "--names", "Alex,Sam", "--input", corpus["good.wav"], "--silence-end", "-4"],
        ["demo", "--output", tmp_path / "no" / "such" / "dir" / "out.wav"],
        ["plans", "--show", "nosuchplan"],
        ["report", "--session", "no-such-id", "--out", tmp_path / "x.png"],
        ["report", "--weeks", "0", "--out", tmp_path / "x.png"],
        ["forget", "--session", "no-such-id", "--yes"],
        ["analyze", corpus["good.wav"], "--speaker", "Nobody", "--speaker", "Other"],
        ["analyze", corpus["good.wav"], "--speaker", f"A={corpus['alex']}"],
        ["analyze", corpus["good.wav"]],
        ["analyze", corpus["good.wav"], "--speaker", f"={corpus['alex']}", "--speaker", "B"],
        ["enroll", "Alex", "--seconds", "0"], ["enroll", "", "--from", corpus["alex"]],
        ["enroll", "A{b}", "--from", corpus["alex"]],
        ["profiles", "--delete", "Nobody"],
        ["check", "--seconds", "0", "--input", corpus["good.wav"]],
        ["check", "--seconds", "999"],
    ]
    if hasattr(os, "mkfifo"):  # a pipe (``cat x.wav | coach analyze /dev/stdin``) would block or never end
        os.mkfifo(tmp_path / "pipe.wav")
        speakers = ["--speaker", f"A={corpus['alex']}", "--speaker", f"B={corpus['sam']}"]
        cases += [["analyze", tmp_path / "pipe.wav", *speakers], ["enroll", "Kim", "--from", tmp_path / "pipe.wav"]]
    for argv in cases:
        code, out, err = run(argv, capsys)
        assert_refused(code, err, argv)
        if "pipe.wav" in str(argv):
            assert "not a file" in err


def test_argparse_errors_exit_2_without_a_traceback(home, capsys):
    cases = [["nosuchcommand"], ["demo", "--bogus"], ["demo", "--names", "Alex"], ["demo", "--silence-end", "abc"],
             ["history", "--limit", "x"], ["report"], ["forget"], ["analyze"], ["enroll"],
             ["check", "--seconds", "abc"], ["start", "--tts", "robot"], ["history", "--json", "--csv"]]
    for argv in cases:
        code, out, err = run(argv, capsys)
        assert code == 2, (argv, err)
        # One line: "coach: COMMAND: the problem (see `coach COMMAND --help`)".
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("coach: ") and "--help" in lines[0], (argv, err)


def test_bad_settings_toml_names_the_file(home, capsys):
    home.mkdir(parents=True)
    for text, expect in (("[session\nplan = 1", "not valid TOML"),
                         ("[session]\nplan = 3\n", "[session] plan"),
                         ("[sesion]\nplan = 'short'\n", "unknown table"),
                         ("[session]\nsilence_end_s = -1\n", "must not be negative")):
        (home / "settings.toml").write_text(text)
        for argv in (["demo"], ["start", "--names", "Alex,Sam", "--input", "x.wav"], ["check", "--seconds", "2"]):
            code, _, err = run(argv, capsys)
            assert_refused(code, err, argv)
            assert "settings.toml" in err and expect in err, (argv, err)


def test_a_few_through_a_real_process(corpus, tmp_path):
    env = dict(os.environ, COACH_HOME=str(tmp_path / "home"))
    for argv in (["analyze", corpus["random.wav"], "--speaker", f"A={corpus['alex']}",
                  "--speaker", f"B={corpus['sam']}"],
                 ["enroll", "Alex", "--from", corpus["folder.wav"]],
                 ["history", "--limit", "x"], ["demo", "--plan", "nosuchplan"]):
        proc = subprocess.run([sys.executable, "-m", "coach", *map(str, argv)], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (argv, proc.stderr)
        assert proc.stderr.strip().splitlines()[-1].startswith("coach")


def test_check_names_a_microphone_offset_and_measures_the_level_without_it(corpus, home, capsys, tmp_path):
    import json
    x, rate = sf.read(corpus["good.wav"], dtype="float32")
    shifted = tmp_path / "offset.wav"
    sf.write(shifted, 0.5 * x + 0.3, rate, subtype="FLOAT")
    plain = tmp_path / "plain.wav"
    sf.write(plain, 0.5 * x, rate, subtype="FLOAT")
    reports = {}
    for name, path in (("offset", shifted), ("plain", plain)):
        code, out, err = run(["check", "--seconds", "3", "--input", path, "--json"], capsys)
        assert code == 0, err
        reports[name] = json.loads(out)
    assert reports["offset"]["offset"] == pytest.approx(0.3, abs=0.01)
    assert abs(reports["plain"]["offset"]) < 0.01
    assert "offset" in reports["offset"]["advice"] and "offset" not in reports["plain"]["advice"]
    assert reports["offset"]["rms_dbfs"] == pytest.approx(reports["plain"]["rms_dbfs"], abs=0.5)


@pytest.mark.skipif(os.name != "posix", reason="file names as raw bytes are a POSIX matter")
def test_a_file_name_that_is_not_utf8_is_read_and_written(corpus, home, capsys, tmp_path):
    # A name from an old camera or a Windows share: bytes Python keeps as surrogates.
    # soundfile encodes str paths strictly, so such a recording was "not a recording".
    import json

    from coach.outputs import WavOutput

    folder = os.fsencode(tmp_path)
    good, alex = os.fsdecode(folder + b"/soir\xe9e.wav"), os.fsdecode(folder + b"/al\xffex.wav")
    for src, dst in ((corpus["good.wav"], good), (corpus["alex"], alex)):
        with open(src, "rb") as a, open(dst, "wb") as b:
            b.write(a.read())
    code, out, err = run(["analyze", good, "--speaker", f"A={alex}", "--speaker", f"B={corpus['sam']}", "--json"],
                         capsys)
    assert code == 0, err
    talk = json.loads(out)["speakers"]
    assert talk["A"]["talk_s"] > 3 and talk["B"]["talk_s"] > 3
    written = os.fsdecode(folder + b"/coach\xfd.wav")
    w = WavOutput(written)
    w.play(np.full(1600, 0.1, np.float32), 0.0)
    w.close()
    assert sf.info(os.fsencode(written)).frames == 1600
