"""Faults injected at the edges: a microphone that vanishes, a dead speaker, no TTS, a broken
or locked history, a data dir that cannot be written, a full disk, and signals.

Only the hardware (sounddevice) and the disk are faked or constrained; the session, the
analyzer and the history are the real ones.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_session import Room, listen_start, make_session, settings, voice  # noqa: F401

from coach.cli import main
from coach.errors import DeviceError
from coach.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ
from coach.history import HistoryStore
from coach.outputs import RecordingOutput
from coach.plans import load_plan
from coach.sources import ArraySource, MicSource, ResilientSource
from coach.voice import SilentVoice

PLAN = """
name = "faults"
description = "one round, long turns"
[[step]]
kind = "welcome"
say = "Hello {a} and {b}."
[[step]]
kind = "round"
speak_s = 40
reflect_s = 15
speak = "{speaker}, you have the floor."
reflect = "{listener}, tell {speaker} what you heard."
[[step]]
kind = "closing"
say = "Thank you both."
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("COACH_HOME", str(path))
    return path


@pytest.fixture
def plan_file(tmp_path) -> str:
    """A one-round plan: the CLI fault tests need an evening, not a long one (analysis costs)."""
    path = tmp_path / "faults.toml"
    path.write_text(PLAN.replace("speak_s = 40", "speak_s = 20").replace("reflect_s = 15", "reflect_s = 10"))
    return str(path)


@pytest.fixture
def plan(tmp_path):
    path = tmp_path / "faults-40.toml"
    path.write_text(PLAN)
    return load_plan(str(path))


# --- the microphone ---------------------------------------------------------------------------


class FakeSoundDevice:
    """Stands in for the sounddevice module: a microphone that plays ``room`` to the callback.

    ``script`` says what each open does: "fail" (PortAudio refuses the device), an int (deliver
    that many 20 ms blocks, then fall silent as an unplugged headset does) or None (run on).
    """

    class PortAudioError(Exception):
        pass

    class _Status:
        input_overflow = False

    def __init__(self, room, script):
        self._frames = iter(room.frames())
        self.script = list(script)
        self.opens = 0
        self.streams = []

    def InputStream(self, samplerate, channels, dtype, blocksize, device, callback):  # noqa: N802
        assert samplerate == SAMPLE_RATE_HZ and channels == 1 and blocksize == FRAME_SAMPLES
        self.opens += 1
        what = self.script.pop(0) if self.script else None
        if what == "fail":
            raise self.PortAudioError("Error querying device -1")
        stream = _FakeStream(self, callback, what)
        self.streams.append(stream)
        return stream


class _FakeStream:
    def __init__(self, sd, callback, blocks):
        self.sd, self.callback, self.blocks = sd, callback, blocks
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):  # PortAudio's thread: about 40× real time, so the test stays fast
        n = 0
        while not self._stop.is_set() and (self.blocks is None or n < self.blocks):
            frame = next(self.sd._frames, None)
            if frame is None:
                return
            self.callback(frame.samples[:, None], len(frame.samples), None, FakeSoundDevice._Status())
            n += 1
            time.sleep(0.0005)

    def stop(self, at_s=None):
        self._stop.set()

    def close(self):
        self._stop.set()


def test_resilient_source_continues_the_clock_through_a_loss():
    class Flaky:
        def __init__(self):
            self.opens = 0

        def frames(self):
            self.opens += 1
            if self.opens == 1:
                yield from ArraySource(np.ones(FRAME_SAMPLES * 5, np.float32)).frames()
                raise DeviceError("the microphone stopped sending sound")
            if self.opens == 2:
                raise DeviceError("no microphone could be opened")
            yield from ArraySource(np.full(FRAME_SAMPLES * 3, 0.5, np.float32)).frames()

    sleeps, events = [], []
    src = ResilientSource(Flaky(), retry_every_s=3.0, sleep=sleeps.append)
    src.watch(lambda exc: events.append(("lost", str(exc))), lambda: events.append(("back",)),
              lambda: False)
    frames = list(src.frames())
    assert [f.start_s for f in frames] == pytest.approx([i * 0.02 for i in range(8)])
    assert [float(f.samples[0]) for f in frames] == [1.0] * 5 + [0.5] * 3
    assert sleeps == [3.0, 3.0]  # two failed reopens before it was back
    assert events == [("lost", "the microphone stopped sending sound"), ("back",)]
    assert len(src.gaps) == 1 and src.gaps[0][0] == pytest.approx(0.1)


def test_mic_source_reports_a_silent_or_failing_device():
    sd = FakeSoundDevice(Room(10), [5, "fail"])
    mic = MicSource(None, lost_timeout_s=0.1, sd=sd)
    got = []
    with pytest.raises(DeviceError, match="stopped sending sound"):
        for frame in mic.frames():
            got.append(frame)
    assert len(got) == 5
    with pytest.raises(DeviceError, match="no microphone could be opened"):
        next(iter(mic.frames()))


def test_session_survives_a_lost_microphone(voice, plan, tmp_path):
    # Alex talks all through his turn; 20 s into it the headset is unplugged, the first
    # reopen fails, the second works.
    dry, _ = make_session(Room(600), voice, plan=plan, cfg=settings(silence_end_s=0.0))
    dry_record = dry.run()
    speak = dry_record.turns[1]
    listen_from = listen_start(dry_record, speak)
    room = Room(600, [(listen_from, listen_from + 60, "Alex")])
    lose_at_s = listen_from + 20
    sd = FakeSoundDevice(room, [int(lose_at_s / 0.02), "fail", None])
    sleeps = []
    source = ResilientSource(MicSource(None, lost_timeout_s=0.1, sd=sd), retry_every_s=3.0,
                             sleep=sleeps.append)
    store = HistoryStore(tmp_path / "history.db")
    output = RecordingOutput()
    session, view = make_session(source, voice, plan=plan, cfg=settings(silence_end_s=0.0),
                                 output=output, on_checkpoint=store.save)
    record = session.run()

    assert sd.opens == 3 and sleeps == [3.0, 3.0]
    assert view.messages[:2] == ["I lost the microphone — I'll keep trying.", "The microphone is back."]
    notices = [u for u in record.spoken if u.text.startswith("[notice:")]
    assert [u.text.split("]")[0] for u in notices] == ["[notice:mic_lost", "[notice:mic_back"]
    assert notices[0].t_s == pytest.approx(lose_at_s, abs=0.05)
    # Both were said aloud too: the speaker still worked.
    assert any(abs(at - notices[0].t_s) < 1e-6 for at, _ in output.clips)
    assert any(abs(at - notices[1].t_s) < 1e-6 for at, _ in output.clips)
    turn = record.turns[1]
    assert turn.ended_by == "time"
    # The turn clock stood still while the mic was gone: the minute is still 40 s of audio.
    assert turn.end_s - listen_from == pytest.approx(40, abs=0.05)
    # The talk before the loss is kept (20 s), and the talk after it is added (Alex goes on).
    assert turn.talk_s["Alex"] > 30
    assert record.partial is False and record.turns[-1].kind == "closing"
    saved = store.load(record.session_id)
    assert saved.turns[1].talk_s["Alex"] == pytest.approx(turn.talk_s["Alex"])
    store.close()


def test_a_lost_speaker_moves_the_prompts_to_the_screen(voice):
    output = RecordingOutput(lose_after=3)
    session, view = make_session(Room(2000), voice, cfg=settings(silence_end_s=2.0), output=output)
    record = session.run()
    assert record.partial is False and record.turns[-1].kind == "closing"
    assert len(output.clips) == 3
    lost = [m for m in view.messages if "speaker stopped" in m]
    assert len(lost) == 1  # said once, not on every prompt
    # Every prompt was still shown, and none waited for audio nobody could hear.
    assert "Thank you both." in view.said
    late = [u for u in record.spoken if u.t_s > output.clips[-1][0] + 10]
    assert late and all(u.duration_s == 0 for u in late)


class MuteVoice:
    """A TTS engine that renders nothing (broken or missing), while the chimes still work."""

    available = False

    def __init__(self):
        self.chimes = SilentVoice()

    def render(self, text):
        return np.zeros(0, np.float32)

    def cue(self, name):
        return self.chimes.cue(name)


@pytest.mark.parametrize("tts", [SilentVoice, MuteVoice])
def test_without_tts_the_evening_runs_on_chimes_and_screen(tts):
    output = RecordingOutput()
    session, view = make_session(Room(2000), tts(), cfg=settings(silence_end_s=2.0), output=output)
    record = session.run()
    assert [t.kind for t in record.turns] == ["welcome", "enroll", "enroll", "speak", "reflect",
                                              "speak", "reflect", "free", "closing"]
    played = [u.text for u in record.spoken if u.duration_s > 0]
    assert played and all(t.startswith("[chime:") for t in played)
    assert len(output.clips) == len(played)
    assert sum("Speech is off" in m for m in view.messages) == 1
    assert view.said[0].startswith("Welcome, Alex and Sam")


def test_demo_with_tts_none_through_the_cli(home, capsys, plan_file):
    assert main(["demo", "--plan", plan_file, "--tts", "none", "--json", "--no-commands"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [t["kind"] for t in result["turns"]] == ["welcome", "speak", "reflect", "speak", "reflect", "closing"]


# --- storage ----------------------------------------------------------------------------------


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines and all(line.startswith("coach:") for line in lines), err
    return " ".join(lines)


def test_a_corrupt_history_is_moved_aside_and_the_evening_saved(home, capsys, plan_file):
    home.mkdir(parents=True)
    junk = b"this is not a database" * 100
    (home / "history.db").write_bytes(junk)
    assert main(["history", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [] and "moved aside" in one_line(err)
    aside = list(home.glob("history.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == junk

    (home / "history.db").write_bytes(junk)
    assert main(["demo", "--plan", plan_file, "--json", "--no-commands"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert "moved aside" in one_line(err)
    assert main(["history", "--json"]) == 0
    assert [r["session_id"] for r in json.loads(capsys.readouterr().out)] == [result["session_id"]]
    assert len(list(home.glob("history.db.corrupt-*"))) == 2


def test_a_locked_history_is_a_clear_message_and_the_evening_is_saved_later(home, capsys, plan_file):
    HistoryStore().close()
    locker = sqlite3.connect(home / "history.db", isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["history"]) == 2
        assert "busy" in one_line(capsys.readouterr().err)
        # Another coach holds the lock for the first part of the evening, then lets go.
        threading.Timer(3.0, locker.rollback).start()
        assert main(["demo", "--plan", plan_file, "--json", "--no-commands"]) == 0
        out, err = capsys.readouterr()
    finally:
        time.sleep(0.1)
        locker.close()
    result = json.loads(out)
    assert "busy" in one_line(err)
    assert main(["history", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["session_id"] for r in rows] == [result["session_id"]] and rows[0]["partial"] is False


def test_an_unusable_data_dir_still_prints_the_evening(tmp_path, monkeypatch, capsys, plan_file):
    # A regular file where a folder should be: even root cannot create anything below it.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("COACH_HOME", str(blocker / "coach"))
    assert main(["history"]) == 2
    assert "cannot use the folder" in one_line(capsys.readouterr().err)
    assert main(["demo", "--plan", plan_file, "--json", "--no-commands"]) == 2
    out, err = capsys.readouterr()
    result = json.loads(out)  # the evening is printed even though it could not be kept
    assert result["duration_s"] > 30 and len(result["turns"]) == 6
    assert "could not be saved in the history" in one_line(err)


def test_a_full_disk_is_a_clear_message(tmp_path, plan_file):
    # RLIMIT_FSIZE makes every write past 44 KiB fail with EFBIG, as a full disk would (and,
    # unlike chmod, it binds root too). An empty history database is exactly 44 KiB; the
    # first evening's rows need another page.
    env = dict(os.environ, COACH_HOME=str(tmp_path / "home"))
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (44 * 1024, 44 * 1024)); "
            "from coach.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "demo", "--plan", plan_file, "--json",
                           "--no-commands", "--tts", "none"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    result = json.loads(proc.stdout)
    assert result["duration_s"] > 30 and len(result["turns"]) == 6
    assert "could not be saved in the history" in one_line(proc.stderr)
