"""Live audio through real sounddevice streams on virtual PulseAudio devices.

Needs the null sinks of ``.ci/audio-setup.sh`` (``eval "$(.ci/audio-setup.sh)"``): a file
played into ``micfeed`` is what the default microphone (``micfeed.monitor``) hears, and
the coach's voice on the default output lands on ``speaker``, recorded from its monitor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from coach.frames import SAMPLE_RATE_HZ
from coach.tts import espeak_ng

pytestmark = pytest.mark.live


def _pulse_ready() -> str | None:
    """None when the virtual devices are up, else why the tests skip."""
    if shutil.which("pactl") is None or shutil.which("paplay") is None:
        return "pactl/paplay are not installed (apt-get install pulseaudio-utils)"
    info = subprocess.run(["pactl", "info"], capture_output=True, text=True)
    if info.returncode != 0:
        return 'no PulseAudio server answers `pactl info`; start one with eval "$(.ci/audio-setup.sh)"'
    sinks = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True).stdout
    if "speaker" not in sinks or "micfeed" not in sinks:
        return 'PulseAudio runs without the null sinks speaker/micfeed: use .ci/audio-setup.sh'
    if "Default Source: micfeed.monitor" not in info.stdout:
        return "the default source is not micfeed.monitor: use .ci/audio-setup.sh"
    return None


@pytest.fixture(scope="module")
def pulse():
    why = _pulse_ready()
    if why:
        pytest.skip(why)
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")


def _dialog() -> np.ndarray:
    """About 5 s of two espeak voices taking turns, with a pause (real-ish speech)."""
    a = espeak_ng("We should plan a walk this weekend.", "en-us+m3", 160, pitch=40)
    b = espeak_ng("Yes, let's go on Sunday morning.", "en-gb+f4", 160, pitch=65)
    pause = np.zeros(int(0.4 * SAMPLE_RATE_HZ), np.float32)
    return (0.6 * np.concatenate([pause, a, pause, b, pause])).astype(np.float32)


def _align(recorded: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """Best normalised correlation of ``reference`` inside ``recorded``, and its lag."""
    from scipy.signal import correlate

    xc = correlate(recorded, reference, mode="valid", method="fft")
    lag = int(np.argmax(xc))
    piece = recorded[lag:lag + len(reference)]
    corr = float(np.dot(piece, reference) / (np.linalg.norm(piece) * np.linalg.norm(reference) + 1e-12))
    return corr, lag


class _MonitorRecorder:
    """``parec`` on ``speaker.monitor``: what came out of the coach's speaker."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["parec", "-d", "speaker.monitor", "--rate=16000", "--channels=1", "--format=s16le",
             "--latency-msec=10", "--raw"], stdout=subprocess.PIPE)
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        time.sleep(0.3)  # parec connects

    def _read(self):
        while True:
            data = self.proc.stdout.read(640)
            if not data:
                return
            self.chunks.append(data)

    def stop(self) -> np.ndarray:
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self.thread.join(timeout=5)
        raw = b"".join(self.chunks)
        return np.frombuffer(raw[:len(raw) // 2 * 2], "<i2").astype(np.float32) / 32768


def test_mic_source_hears_a_file_played_into_the_virtual_mic(pulse, tmp_path):
    from coach.sources import MicSource

    dialog = _dialog()
    wav = tmp_path / "dialog.wav"
    sf.write(str(wav), dialog, SAMPLE_RATE_HZ, subtype="PCM_16")
    dialog = sf.read(str(wav), dtype="float32")[0]  # what paplay really sends (16-bit)
    want = len(dialog) + int(1.5 * SAMPLE_RATE_HZ)
    frames = MicSource().frames()
    blocks, player = [], None
    t0 = time.monotonic()
    try:
        for frame in frames:
            blocks.append(frame.samples)
            if player is None:  # the stream runs: now play the "voices in the kitchen"
                player = subprocess.Popen(["paplay", "--device=micfeed", str(wav)])
            if sum(len(b) for b in blocks) >= want:
                break
    finally:
        frames.close()
        if player is not None:
            player.wait(timeout=10)
    wall_s = time.monotonic() - t0
    recorded = np.concatenate(blocks)
    assert wall_s == pytest.approx(len(recorded) / SAMPLE_RATE_HZ, rel=0.2)  # a live mic is real time
    assert all(b.dtype == np.float32 for b in blocks)
    corr, lag = _align(recorded, dialog)
    assert corr > 0.95, f"correlation {corr:.3f}"
    assert lag / SAMPLE_RATE_HZ < 1.0  # heard within a second of paplay starting


def test_device_output_plays_the_coachs_speech(pulse):
    from coach.outputs import DeviceOutput
    from coach.voice import TtsVoice

    speech = TtsVoice("espeak-ng", volume=0.8).render("It's Sam's turn to talk now. Alex, just listen.")
    assert len(speech) > SAMPLE_RATE_HZ
    recorder = _MonitorRecorder()
    out = DeviceOutput()
    try:
        t0 = time.monotonic()
        out.play(speech, 0.0)
        assert time.monotonic() - t0 < 0.05           # non-blocking
        assert out.wait(timeout_s=10)
        time.sleep(0.4)
    finally:
        out.close()
        captured = recorder.stop()
    assert not out.lost
    corr, lag = _align(captured, speech)
    assert corr > 0.95, f"correlation {corr:.3f}"
    assert lag / SAMPLE_RATE_HZ < 1.0                 # it started right away
    heard = captured[lag:lag + len(speech)]
    assert np.sqrt(np.mean(heard ** 2)) == pytest.approx(np.sqrt(np.mean(speech ** 2)), rel=0.1)
    before = captured[:max(0, lag - 1600)]
    assert len(before) == 0 or np.max(np.abs(before)) < 0.01  # silence before the speech


def test_device_output_stop_cuts_the_speech(pulse):
    from coach.outputs import DeviceOutput
    from coach.voice import TtsVoice

    speech = TtsVoice("espeak-ng").render(
        "This is a long prompt that the coach will not finish, because someone says coach pause.")
    assert len(speech) > 4 * SAMPLE_RATE_HZ
    recorder = _MonitorRecorder()
    out = DeviceOutput()
    try:
        out.play(speech, 0.0)
        time.sleep(1.0)
        out.stop()
        assert out.remaining_s == 0
        time.sleep(1.5)
    finally:
        out.close()
        captured = recorder.stop()
    head = speech[:int(0.6 * SAMPLE_RATE_HZ)]
    corr, lag = _align(captured, head)
    assert corr > 0.95, f"the start of the speech was not heard ({corr:.3f})"
    after = captured[lag + int(1.4 * SAMPLE_RATE_HZ):]   # stop() came at ~1.0 s
    assert len(after) > SAMPLE_RATE_HZ
    assert np.max(np.abs(after)) < 0.01, "speech went on after stop()"


def test_device_output_reports_a_lost_device(pulse, monkeypatch):
    """A speaker that vanishes mid-session: play() must not raise, ``lost`` and the
    callback report it. The device is a private PulseAudio daemon that the test kills."""
    from coach.outputs import DeviceOutput

    script = Path(__file__).resolve().parent.parent / ".ci" / "audio-setup.sh"
    state = tempfile.mkdtemp(prefix="coach-pa-")  # short: a unix socket path has a length limit
    env = {**os.environ, "COACH_PULSE_DIR": state, "XDG_RUNTIME_DIR": state,
           "PULSE_SERVER": f"unix:{state}/pulse/native"}
    started = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    if started.returncode != 0:
        pytest.skip(f"could not start a second PulseAudio daemon: {started.stderr.strip()}")
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", state)
        monkeypatch.setenv("PULSE_SERVER", f"unix:{state}/pulse/native")
        calls = []
        out = DeviceOutput(on_lost=lambda: calls.append(1))
        out.play(np.zeros(5 * SAMPLE_RATE_HZ, np.float32), 0.0)
        time.sleep(0.3)
        assert not out.lost
        subprocess.run(["pulseaudio", "--kill"], env=env, timeout=10)
        deadline = time.monotonic() + 5
        while not out.lost and time.monotonic() < deadline:
            out.play(np.zeros(160, np.float32), 1.0)  # the session keeps calling: never raises
            time.sleep(0.05)
        assert out.lost and calls == [1]
        assert out.remaining_s == 0
        out.play(np.zeros(160, np.float32), 2.0)
        out.close()
    finally:
        subprocess.run(["bash", str(script), "--stop"], env=env, capture_output=True, timeout=30)
        shutil.rmtree(state, ignore_errors=True)


def test_devices_are_picked_by_index_or_name(pulse):
    """`--mic 1` / `--speaker-device pulse`, as the CLI passes them: strings."""
    from coach.outputs import DeviceOutput, list_devices, make_output
    from coach.sources import MicSource

    devices = list_devices()
    mic = next(d for d in devices["input"] if d["default"])
    frames = MicSource(str(mic["index"])).frames()
    try:
        assert len([next(frames) for _ in range(5)]) == 5
    finally:
        frames.close()
    speaker = next(d for d in devices["output"] if d["default"])
    for spec in (str(speaker["index"]), speaker["name"]):
        out = make_output(spec, default_device=True)
        try:
            assert isinstance(out, DeviceOutput) and not out.lost
        finally:
            out.close()


LONG_WELCOME = (
    "Welcome, {a} and {b}. Tonight is about listening to each other, not about getting anything "
    "done. I will keep the time, so neither of you has to watch the clock. When it is your turn to "
    "listen, stop what you are doing and let the other one finish. Here is a short one, about "
    "seven minutes.")


def test_coach_stop_over_the_coachs_own_voice_end_to_end(pulse, tmp_path):
    """Barge-in through real devices: `coach start --commands` speaks on the virtual
    speaker, which is looped back into the microphone (PulseAudio's module-loopback: a
    laptop's microphone hears its own speaker, here with a sound system's real delay and
    clock drift), and "coach stop" is played into the microphone while the coach is still
    saying its welcome (19 s here). Over the coach's voice a command is heard about three
    times in four (scripts/bench_barge_in.py), so, as anyone would, it is said again when
    the coach talks on, up to three times, all inside the welcome. The first command heard
    must be that "stop" (nothing taken from the coach's own words before it), and the
    evening stops there, with the feedback."""
    import sys

    loop = subprocess.run(["pactl", "load-module", "module-loopback", "source=speaker.monitor",
                           "sink=micfeed", "latency_msec=60"], capture_output=True, text=True)
    if loop.returncode != 0:
        pytest.skip(f"module-loopback is not available: {loop.stderr.strip()}")
    try:
        plan = (Path(__file__).resolve().parents[1] / "coach" / "plans" / "short.toml").read_text()
        plan = plan.replace('"Welcome, {a} and {b}. Here\'s a short one, about seven minutes."',
                            f'"{LONG_WELCOME}"')
        assert LONG_WELCOME in plan
        (tmp_path / "long_welcome.toml").write_text(plan)
        stop = espeak_ng("coach stop", "en-us+m3", 150)
        stop = stop * (10 ** (-24 / 20) / np.sqrt(np.mean(stop[np.abs(stop) > 1e-3] ** 2)))
        wav = tmp_path / "stop.wav"
        sf.write(str(wav), np.concatenate([stop, np.zeros(SAMPLE_RATE_HZ // 2)]).astype(np.float32),
                 SAMPLE_RATE_HZ, subtype="PCM_16")
        env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
                   XDG_CONFIG_HOME=str(tmp_path / "config"))
        proc = subprocess.Popen([sys.executable, "-m", "coach", "start", "--plan",
                                 str(tmp_path / "long_welcome.toml"), "--names", "Alex,Sam", "--commands"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines: list[str] = []
        late = None
        heard = threading.Event()
        timer = threading.Timer(90, proc.kill)  # the plan runs minutes if the command is missed
        timer.start()
        try:
            for line in proc.stdout:  # the plain view: one line per prompt, as it is said
                lines.append(line)
                if "coach: Welcome" in line:
                    # The welcome has just been handed to the speaker; its echo reaches the
                    # microphone up to a second later, and the echo canceller learns the room
                    # from it. Talk over it from 4 s in; say it again a second after each
                    # try the coach talks on (the third try ends ~10.5 s in).
                    def say_stop():
                        time.sleep(4.0)
                        for _ in range(3):
                            subprocess.run(["paplay", "--device=micfeed", str(wav)])
                            if heard.wait(1.0):
                                return

                    threading.Thread(target=say_stop, daemon=True).start()
                    late = threading.Timer(30, proc.kill)  # heard by then, or not at all
                    late.start()
                if "(heard: coach stop)" in line and late is not None:
                    heard.set()
                    late.cancel()
            proc.wait(timeout=120)
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
    finally:
        subprocess.run(["pactl", "unload-module", loop.stdout.strip()], capture_output=True)
    assert proc.returncode == 0, "".join(lines[-20:])
    said = [ln.split("] ", 1)[1].strip() for ln in lines if "] " in ln]
    welcome = next(i for i, x in enumerate(said) if x.startswith("coach: Welcome"))
    assert said[welcome + 1] == "(heard: coach stop)", said  # cut in during the welcome, nothing before
    assert any("partial" in ln for ln in lines), "".join(lines)  # the evening so far, saved
