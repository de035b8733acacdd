"""`coach start`, `coach demo` end to end through the CLI: the --json shape, a long real
recording as the microphone, and Ctrl-C / SIGTERM / SIGHUP through real processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from coach.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("COACH_HOME", str(path))
    return path


def test_an_evening_without_talk_shows_no_share(home, capsys, tmp_path):
    # A plan of one welcome: nobody talks, and 50 % each would be a convention, not a finding.
    plan = tmp_path / "hello.toml"
    plan.write_text('name = "hello"\n[[step]]\nkind = "welcome"\nsay = "Hello {a} and {b}."\n')
    assert main(["demo", "--plan", str(plan), "--no-commands"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "talked" in line]
    assert len(rows) == 2 and all(line.rstrip().endswith("–") and "%" not in line for line in rows), rows
    assert main(["history"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if "hello" in line]
    assert len(listed) == 1 and "%" not in listed[0], listed


def test_demo_json_is_one_object_with_the_evening(home, capsys):
    assert main(["demo", "--json", "--no-commands"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out)  # the whole of stdout is exactly one JSON object
    assert out.strip().startswith("{") and out.count("\n") == 1
    assert result["demo"] is True and set(result["partners"]) == {"Alex", "Sam"}
    assert len([t for t in result["turns"] if t["kind"] in ("speak", "reflect", "free")]) >= 4
    assert len([s for s in result["spoken"] if not s.startswith("[")]) >= 6
    talk = {n: p["talk_s"] for n, p in result["partners"].items()}
    assert talk["Alex"] > 30 and talk["Sam"] > 30
    assert sum(p["share"] for p in result["partners"].values()) == pytest.approx(1.0, abs=1e-6)
    assert len(result["feedback"]) > 40
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["session_id"] == result["session_id"]


def test_start_on_three_joined_conversations(shared_data, home, tmp_path, capsys):
    parts = [sf.read(shared_data / "conversations" / c / f"{c}.wav", dtype="float32")[0]
             for c in ("c01", "c05", "c09")]
    joined = tmp_path / "evening.wav"
    sf.write(joined, np.concatenate(parts), 16000, subtype="PCM_16")
    code = main(["start", "--input", str(joined), "--names", "Alex,Sam", "--plan", "short",
                 "--json", "--no-commands", "--tts", "none"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    total = sum(len(p) for p in parts) / 16000
    assert result["duration_s"] <= total + 0.05
    assert result["partial"] is (result["duration_s"] >= total - 0.05)
    assert all(p["talk_s"] > 0 for p in result["partners"].values())
    assert [t["kind"] for t in result["turns"]][:3] == ["welcome", "enroll", "enroll"]


def test_start_without_a_microphone_is_one_clear_line(home):
    # Point PulseAudio clients at nothing, so a virtual mic on the CI machine is not found.
    proc = subprocess.run([sys.executable, "-m", "coach", "start", "--names", "Alex,Sam"],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, COACH_HOME=str(home), PULSE_SERVER="unix:/nonexistent"))
    if proc.returncode == 0:
        pytest.skip("this machine has a working microphone")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("coach: ") and len(proc.stderr.strip().splitlines()) == 1


# --- signals ----------------------------------------------------------------------------------


def _history_rows(home: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "coach", "history", "--json"], capture_output=True,
                          text=True, env=dict(os.environ, COACH_HOME=str(home)), timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _checkpointed(home: Path) -> bool:
    db = home / "history.db"
    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5) as conn:
            return conn.execute("SELECT count(*) FROM sessions").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def test_signals_leave_a_partial_evening_in_the_history(tmp_path):
    # Four real `coach demo --realtime` processes at once (they mostly sleep, pacing the
    # recording): Ctrl-C, SIGTERM and SIGHUP once the first turn is saved, and a double Ctrl-C.
    cases = {"int": [signal.SIGINT], "term": [signal.SIGTERM], "hup": [signal.SIGHUP],
             "int-int": [signal.SIGINT, signal.SIGINT]}
    procs = {}
    for name in cases:
        home = tmp_path / name
        procs[name] = (home, subprocess.Popen(
            [sys.executable, "-m", "coach", "demo", "--realtime", "--no-commands", "--tts", "none"],
            env=dict(os.environ, COACH_HOME=str(home)), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=tmp_path))
    try:
        deadline = time.monotonic() + 90
        pending = dict(procs)
        while pending and time.monotonic() < deadline:
            for name, (home, proc) in list(pending.items()):
                if _checkpointed(home):
                    for i, sig in enumerate(cases[name]):
                        if i:
                            time.sleep(0.05)  # the second Ctrl-C lands while the first is saving
                        proc.send_signal(sig)
                    del pending[name]
                else:  # not signalled yet: it must still be running (a just-signalled one may be gone)
                    assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
        assert not pending, f"no checkpoint within 90 s in {sorted(pending)}"
        outcomes = {name: (proc.wait(timeout=60), *proc.communicate()) for name, (_, proc) in procs.items()}
    finally:
        for _, proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    for name in ("int", "term", "hup"):
        code, out, err = outcomes[name]
        assert code == 130, err
        assert "Traceback" not in err and "Stopped early" in out
        rows = _history_rows(procs[name][0])
        assert len(rows) == 1 and rows[0]["partial"] is True
    code, out, err = outcomes["int-int"]
    assert code in (130, -signal.SIGINT) and "Traceback" not in err
    db = procs["int-int"][0] / "history.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = _history_rows(procs["int-int"][0])
    assert len(rows) == 1 and rows[0]["partial"] is True
