"""`coach analyze`, `coach enroll` and `coach profiles` through main(argv)."""

import json

import numpy as np
import pytest
import soundfile as sf

from coach.cli import main


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    return tmp_path


def test_help_for_every_command(capsys):
    for cmd in ("analyze", "enroll", "profiles"):
        assert main([cmd, "--help"]) == 0
        assert cmd in capsys.readouterr().out


def test_analyze_json_with_clip_and_stored_profile(shared_data, capsys):
    d = shared_data / "conversations" / "c01"
    assert main(["enroll", "Sam", "--from", str(d / "enroll_ls1688.wav")]) == 0
    capsys.readouterr()
    assert main(["analyze", str(d / "c01.wav"), "--speaker", "Sam",
                 "--speaker", f"Alex={d / 'enroll_ls1998.wav'}", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["speakers"]) == {"Sam", "Alex"}
    assert out["speakers"]["Alex"]["share"] > out["speakers"]["Sam"]["share"]


def test_profiles_list_and_delete(shared_data, capsys):
    d = shared_data / "conversations" / "c01"
    main(["enroll", "Sam", "--from", str(d / "enroll_ls1688.wav")])
    capsys.readouterr()
    assert main(["profiles", "--json"]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)["profiles"]] == ["Sam"]
    assert main(["profiles", "--delete", "Sam"]) == 0
    assert main(["profiles", "--delete", "Sam"]) == 2


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.wav"), "--speaker", "A", "--speaker", "B"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("coach:")
    assert main(["analyze", str(tmp_path / "nope.wav")]) == 2
    assert "--speaker" in capsys.readouterr().err


def test_same_clip_twice_is_refused(shared_data, capsys):
    clip = shared_data / "conversations" / "c01" / "enroll_ls1688.wav"
    assert main(["analyze", str(clip), "--speaker", f"A={clip}", "--speaker", f"B={clip}"]) == 2
    assert "same clip" in capsys.readouterr().err


def test_a_recording_without_talk_says_so_instead_of_an_even_split(shared_data, tmp_path, capsys):
    """Thirty seconds of a quiet room: no talk for anyone. The shares are an even split
    by convention (they add up to 1), which printed as "0.0 s  50.0 %" read like a finding."""
    d = shared_data / "conversations" / "c01"
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, (np.random.default_rng(0).standard_normal(30 * 16000) * 0.001).astype(np.float32), 16000)
    speakers = ["--speaker", f"Sam={d / 'enroll_ls1688.wav'}", "--speaker", f"Alex={d / 'enroll_ls1998.wav'}"]
    assert main(["analyze", str(quiet), *speakers]) == 0
    out = capsys.readouterr().out
    assert "nobody was heard talking" in out and "%" not in out
    assert main(["analyze", str(quiet), *speakers, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(v["talk_s"] == 0 for v in data["speakers"].values())
    assert main(["analyze", str(d / "c01.wav"), *speakers]) == 0
    assert "nobody" not in capsys.readouterr().out


def test_the_table_stays_aligned_with_wide_and_combining_names(shared_data, capsys):
    # A Chinese name takes two terminal columns a character; "Zoe" with a combining
    # diaeresis takes three for four code points. Padding by len() misaligned the table.
    from coach.columns import columns, pad
    assert columns("李雷") == 4 and columns("Zoe\u0308") == 3 and columns("Sam") == 3
    assert columns(pad("李雷", 7)) == 7 and pad("a very long name", 3) == "a very long name"
    d = shared_data / "conversations" / "c01"
    assert main(["analyze", str(d / "c01.wav"), "--speaker", f"李雷={d / 'enroll_ls1688.wav'}",
                 "--speaker", f"Zoe\u0308={d / 'enroll_ls1998.wav'}"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.endswith("%")]
    assert len(rows) == 2
    # the talk figure ends at the same column on both rows
    ends = {columns(line[:line.index(" s ")]) for line in rows}
    assert len(ends) == 1, rows


def test_a_decomposed_name_is_the_same_person_as_the_composed_one(shared_data, capsys):
    # "Zoe" + a combining diaeresis (a name pasted from a Mac's file names) was refused
    # as not a usable name, though it looks exactly like "Zoë".
    d = shared_data / "conversations" / "c01"
    assert main(["enroll", "Zoe\u0308", "--from", str(d / "enroll_ls1998.wav")]) == 0
    capsys.readouterr()
    assert main(["analyze", str(d / "c01.wav"), "--speaker", "Zo\u00eb",
                 "--speaker", f"Sam={d / 'enroll_ls1688.wav'}", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["speakers"]) == {"Zo\u00eb", "Sam"}
