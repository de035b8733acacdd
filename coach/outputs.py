"""Where the coach's voice goes: a sound device, a WAV timeline, nowhere, or a list (tests).

Every output takes 16 kHz mono float32 clips already rendered by ``coach.voice``. Clips
never overlap: one that arrives while another is still playing follows it (the session
says its closing lines back to back once a recording has ended).
``play()`` never blocks and never raises into the session: a device that fails sets
``lost`` (and calls ``on_lost``), and later plays do nothing, so the session carries on
with on-screen prompts.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from coach.errors import CoachError, DeviceError
from coach.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ


class Output(Protocol):
    """A place the coach's speech and chimes are played."""

    lost: bool

    def play(self, audio: np.ndarray, at_s: float) -> None: ...

    def stop(self, at_s: float | None = None) -> None: ...

    def close(self) -> None: ...


class NullOutput:
    """Plays nothing (``--output none``, ``coach demo``)."""

    lost = False

    def play(self, audio: np.ndarray, at_s: float) -> None:
        pass

    def stop(self, at_s: float | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class RecordingOutput:
    """Keeps every clip for tests: ``clips`` is [(at_s, audio)], ``stops`` the stop calls.

    Args:
        lose_after: after this many plays the output acts as a lost device (fault tests).
    """

    def __init__(self, lose_after: int | None = None):
        self.clips: list[tuple[float, np.ndarray]] = []
        self.stops: list[float | None] = []
        self.lost = False
        self.closed = False
        self.lose_after = lose_after

    def play(self, audio: np.ndarray, at_s: float) -> None:
        if self.lose_after is not None and len(self.clips) >= self.lose_after:
            self.lost = True
        if self.lost or self.closed:
            return
        self.clips.append((float(at_s), np.asarray(audio, np.float32).copy()))

    def stop(self, at_s: float | None = None) -> None:
        self.stops.append(at_s)

    def close(self) -> None:
        self.closed = True


class WavOutput:
    """A 16 kHz mono 16-bit WAV of the coach's side: each clip at its ``at_s`` (or right
    after the previous clip, if that is later), silence between. Finalised by ``close()``.

    Args:
        path: the WAV to write (its folder must exist).

    Raises:
        CoachError: the file cannot be created.
    """

    def __init__(self, path: str | Path):
        import soundfile as sf

        from coach.sources import sf_path

        self.path = Path(path)
        self.lost = False
        try:
            self._file = sf.SoundFile(sf_path(self.path), "w", SAMPLE_RATE_HZ, 1, subtype="PCM_16")
        except Exception as exc:
            raise CoachError(f"{self.path}: cannot write the speech file ({exc})") from exc
        self._written = 0                        # samples already in the file
        self._pending = np.zeros(0, np.float32)  # timeline from _written on, not yet written

    def play(self, audio: np.ndarray, at_s: float) -> None:
        if self._file is None:
            return
        # Audio time only moves forward, so everything before this clip is final.
        start = max(self._written + len(self._pending), int(round(at_s * SAMPLE_RATE_HZ)))
        try:
            self._flush_until(start)
        except Exception:  # a full disk: like a lost device, the session goes on without it
            self._give_up()
            return
        self._pending = np.asarray(audio, np.float32).copy()

    def stop(self, at_s: float | None = None) -> None:
        """Cut what is still to play after ``at_s`` (a file has no "now" without it)."""
        if at_s is not None and self._file is not None:
            cut = max(0, int(round(at_s * SAMPLE_RATE_HZ)) - self._written)
            self._pending = self._pending[:cut]

    def _flush_until(self, sample: int) -> None:
        n = sample - self._written
        if n <= 0:
            return
        if len(self._pending) < n:
            self._pending = np.concatenate([self._pending, np.zeros(n - len(self._pending), np.float32)])
        self._file.write(np.clip(self._pending[:n], -1.0, 1.0))
        self._pending = self._pending[n:]
        self._written = sample

    def _give_up(self) -> None:
        self.lost = True
        try:
            self._file.close()
        except Exception:
            pass
        self._file = None

    def close(self) -> None:
        if self._file is None:
            return
        try:
            self._flush_until(self._written + len(self._pending))
        except Exception:
            self._give_up()
            return
        self._file.close()
        self._file = None


class DeviceOutput:
    """A sound device through a sounddevice OutputStream, fed by its callback.

    The stream runs from construction to ``close()`` and plays silence between clips, so
    ``play()`` only appends to a buffer (non-blocking; an idle device starts it within one
    20 ms block) and ``stop()`` empties it (immediate).

    Args:
        device: sounddevice output device (index or part of its name); None: the default.
        on_lost: called once (from any thread) when the device fails.

    Raises:
        DeviceError: PortAudio is missing or the device cannot be opened.
    """

    LOST_AFTER_S = 3.0
    """No callback for this long while the stream should run means the device is gone
    (a null sink without keep-alive delays callbacks by up to ~2 s: audio-stack notes)."""

    def __init__(self, device=None, on_lost: Callable[[], None] | None = None):
        from coach.sources import import_sounddevice

        sd = import_sounddevice()
        self.device = device
        self.on_lost = on_lost
        self.lost = False
        self.error: str | None = None
        self._lock = threading.Lock()
        self._buffer = np.zeros(0, np.float32)
        self._closing = False
        self._last_callback = time.monotonic()
        try:
            self._stream = sd.OutputStream(samplerate=SAMPLE_RATE_HZ, channels=1, dtype="float32",
                                           blocksize=FRAME_SAMPLES, device=device,
                                           callback=self._callback, finished_callback=self._finished)
            self._stream.start()
        except Exception as exc:
            raise DeviceError(f"the speaker could not be opened ({exc}); run `coach devices` "
                              "to list them and pick one with --speaker-device") from exc

    def _callback(self, outdata, frames, time_info, status):  # runs on PortAudio's thread
        self._last_callback = time.monotonic()
        with self._lock:
            n = min(frames, len(self._buffer))
            outdata[:n, 0] = self._buffer[:n]
            outdata[n:, 0] = 0.0
            self._buffer = self._buffer[n:]

    def _finished(self):  # PortAudio's thread: the stream ended, wanted or not
        if not self._closing:
            self._mark_lost("the output stream stopped")

    def _mark_lost(self, why: str) -> None:
        if self.lost:
            return
        self.lost = True
        self.error = why
        with self._lock:
            self._buffer = np.zeros(0, np.float32)
        if self.on_lost is not None:
            try:
                self.on_lost()
            except Exception:  # the session's handler must not break playback bookkeeping
                pass

    def _check_alive(self) -> None:
        try:
            active = self._stream.active
        except Exception as exc:
            self._mark_lost(f"the output stream failed ({exc})")
            return
        if not active:
            self._mark_lost("the output stream is no longer running")
        elif time.monotonic() - self._last_callback > self.LOST_AFTER_S:
            self._mark_lost("the output device stopped asking for sound")

    @property
    def remaining_s(self) -> float:
        """Seconds of audio still queued for the device."""
        return len(self._buffer) / SAMPLE_RATE_HZ

    def play(self, audio: np.ndarray, at_s: float = 0.0) -> None:
        """Start ``audio`` now (or after the clip still playing). Never raises."""
        if self.lost or self._closing:
            return
        self._check_alive()
        if self.lost:
            return
        audio = np.clip(np.asarray(audio, np.float32).ravel(), -1.0, 1.0)
        with self._lock:
            self._buffer = np.concatenate([self._buffer, audio]) if len(self._buffer) else audio

    def stop(self, at_s: float | None = None) -> None:
        """Cut the current playback at once (within one 20 ms block)."""
        with self._lock:
            self._buffer = np.zeros(0, np.float32)

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Block until the queued audio has been handed to the device (CLI and tests)."""
        deadline = time.monotonic() + timeout_s
        while len(self._buffer) and not self.lost and time.monotonic() < deadline:
            time.sleep(0.01)
        return not len(self._buffer)

    def close(self) -> None:
        self._closing = True
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:
            pass


def make_output(spec: str | None, default_device: bool = True, on_lost=None) -> Output:
    """The output a ``--output`` value names.

    Args:
        spec: "none", a path ending in ".wav", a device index or name, or None.
        default_device: what None means: the default device (live) or no sound (demo).
        on_lost: passed to ``DeviceOutput``.

    Raises:
        CoachError: the WAV cannot be written, or the device cannot be opened.
    """
    if spec is None or str(spec).strip() == "":
        return DeviceOutput(None, on_lost) if default_device else NullOutput()
    spec = str(spec).strip()
    if spec.lower() == "none":
        return NullOutput()
    if spec.lower().endswith(".wav"):
        return WavOutput(spec)
    return DeviceOutput(int(spec) if spec.isdigit() else spec, on_lost)


def list_devices() -> dict:
    """Microphones and speakers PortAudio sees.

    Returns:
        {"input": [...], "output": [...]}, each entry {"index", "name", "channels",
        "hostapi", "default"}; empty lists on a machine with no sound devices.

    Raises:
        DeviceError: PortAudio (libportaudio2) or sounddevice is missing.
    """
    from coach.sources import import_sounddevice

    sd = import_sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except Exception as exc:
        raise DeviceError(f"could not list sound devices ({exc})") from exc
    result = {"input": [], "output": []}
    for dev in devices:
        for kind, key, default in (("input", "max_input_channels", default_in),
                                   ("output", "max_output_channels", default_out)):
            if dev[key] > 0:
                result[kind].append({"index": dev["index"], "name": dev["name"], "channels": dev[key],
                                     "hostapi": hostapis[dev["hostapi"]]["name"],
                                     "default": dev["index"] == default})
    return result
