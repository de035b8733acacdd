"""Privacy as a tested property: no network, no audio on disk unless asked, private file
modes, and nothing written outside the data dir and the paths the user names."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from coach.cli import main
from coach.cli.session_cmds import demo_recording

AUDIO = {".wav", ".ogg", ".flac", ".raw", ".mp3", ".pcm"}
PLAN = """
name = "privacy"
description = "a short evening: what matters here is what it leaves behind"
[[step]]
kind = "welcome"
say = "Hello {a} and {b}."
[[step]]
kind = "round"
speak_s = 20
reflect_s = 10
speak = "{speaker}, you have the floor."
reflect = "{listener}, tell {speaker} what you heard."
[[step]]
kind = "closing"
say = "Thank you both."
"""


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: relative path -> (mode, mtime_ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode, st.st_mtime_ns)
    return out


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A home, a working folder, a temp folder and a data dir, all empty, and no network."""
    dirs = {name: tmp_path / name for name in ("home", "cwd", "tmp", "data")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("TMPDIR", str(dirs["tmp"]))
    monkeypatch.setenv("COACH_HOME", str(dirs["data"]))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.chdir(dirs["cwd"])
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"coach tried to open a network socket: {args}")

    # The one place a patch is right: the network is the edge of the machine.
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "socketpair", refuse)
    dirs["attempts"] = attempts
    plan = tmp_path / "plan" / "privacy.toml"  # a path the user names, read only
    plan.parent.mkdir()
    plan.write_text(PLAN)
    dirs["plan"] = str(plan)
    return dirs


def check_private(data: Path) -> list[Path]:
    """Every file 0600 and folder 0700; returns the audio files found."""
    audio = []
    for p in [data, *data.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        if p.is_dir():
            assert mode == 0o700, f"{p} is {oct(mode)}"
        else:
            assert mode == 0o600, f"{p} is {oct(mode)}"
            if p.suffix.lower() in AUDIO:
                audio.append(p)
    return audio


def test_a_whole_demo_stays_on_the_machine(sandbox, capsys):
    before = {k: snapshot(sandbox[k]) for k in ("home", "cwd", "tmp")}
    assert main(["demo", "--plan", sandbox["plan"], "--json", "--no-commands"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sandbox["attempts"] == []
    for k in ("home", "cwd", "tmp"):
        assert snapshot(sandbox[k]) == before[k], f"coach wrote into {k}"
    data = sandbox["data"]
    audio = check_private(data)
    # The only sound on disk is the coach's own rendered prompts (no one's voice), in cache/.
    assert all(p.parent == data / "cache" for p in audio), audio
    assert not (data / "recordings").exists()
    assert (data / "history.db").exists()
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["session_id"] == result["session_id"]


def test_keep_audio_keeps_exactly_one_private_wav(sandbox, capsys):
    recording = demo_recording()
    before = {k: snapshot(sandbox[k]) for k in ("home", "cwd", "tmp")}
    code = main(["start", "--input", str(recording), "--names", "Alex,Sam", "--plan", sandbox["plan"],
                 "--keep-audio", "--json", "--no-commands", "--tts", "none"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert sandbox["attempts"] == []
    for k in ("home", "cwd", "tmp"):
        assert snapshot(sandbox[k]) == before[k], f"coach wrote into {k}"
    audio = check_private(sandbox["data"])
    kept = sandbox["data"] / "recordings" / f"{result['session_id']}.wav"
    assert audio == [kept]
    import soundfile as sf

    info = sf.info(str(kept))
    assert info.samplerate == 16000 and info.channels == 1
    assert info.duration == pytest.approx(result["duration_s"], abs=0.05)
    # Forgetting the session removes its audio too.
    assert main(["forget", "--session", result["session_id"], "--yes"]) == 0
    assert not kept.exists()


def test_named_output_is_the_only_file_outside_the_data_dir(sandbox, capsys, tmp_path):
    out = tmp_path / "cwd" / "coach-voice.wav"
    assert main(["demo", "--plan", sandbox["plan"], "--output", str(out), "--json", "--no-commands"]) == 0
    capsys.readouterr()
    assert [p.name for p in (tmp_path / "cwd").iterdir()] == ["coach-voice.wav"]
    assert sandbox["attempts"] == []
