"""Audio sources: a recording file, a live microphone, or a synthetic signal, all as Frames.

Each source converts to 16 kHz mono once; nothing downstream resamples. A file source
yields frames as fast as they are read (audio time, not wall time, is the clock); a live
source yields them in real time.
"""

from __future__ import annotations

import math
import os
import queue
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from coach.errors import AudioFileError, DeviceError
from coach.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, frames_from_array

MAX_FILE_DURATION_S = 24 * 3600
"""Longer recordings are refused: nobody's evening is a day long, and it guards memory."""

_BLOCK_S = 10.0
"""File sources read and resample this much at a time, so memory stays flat."""

_RESAMPLE_PAD_S = 0.05
"""Context on each side of a block so the polyphase filter has no edge clicks."""


def sf_path(path: str | Path) -> str | bytes:
    """``path`` as soundfile should be given it. soundfile encodes a str path strictly, so a
    file name that is not valid UTF-8 (bytes Python keeps as surrogates, from an old
    camera or a Windows share) could not be opened; on POSIX the file system's own bytes
    are passed instead."""
    return os.fsencode(path) if os.name == "posix" else str(path)


class AudioSource(Protocol):
    """Anything that yields Frames on audio time."""

    def frames(self) -> Iterator[Frame]: ...


def _to_mono(block: np.ndarray) -> np.ndarray:
    return block.mean(axis=1) if block.ndim == 2 else block


def _resampler(rate_hz: int):
    if rate_hz == SAMPLE_RATE_HZ:
        return None
    ratio = Fraction(SAMPLE_RATE_HZ, rate_hz).limit_denominator(1000)
    from scipy.signal import resample_poly  # lazy: only non-16 kHz files need scipy

    return lambda x: resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


class FileSource:
    """A WAV/FLAC/OGG recording of any rate and channel count, streamed block by block.

    Args:
        path: the recording.
        frame_samples: samples per yielded frame (default 20 ms).
    """

    def __init__(self, path: str | Path, frame_samples: int = FRAME_SAMPLES):
        self.path = Path(path)
        self.frame_samples = frame_samples
        info = probe_audio(self.path)
        self.rate_hz: int = info.samplerate
        self.channels: int = info.channels
        self.duration_s: float = info.frames / info.samplerate

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield 16 kHz mono float32 blocks of about 10 s."""
        import soundfile as sf

        resample = _resampler(self.rate_hz)
        block = int(_BLOCK_S * self.rate_hz)
        pad = int(_RESAMPLE_PAD_S * self.rate_hz) if resample else 0
        try:
            with sf.SoundFile(sf_path(self.path)) as f:
                total = f.frames
                for pos in range(0, total, block):
                    start = max(0, pos - pad)
                    f.seek(start)
                    data = f.read(min(total, pos + block + pad) - start, dtype="float32", always_2d=True)
                    if len(data) == 0:
                        break
                    mono = _to_mono(data)
                    if resample is None:
                        yield mono
                        continue
                    lead = int(round((pos - start) * SAMPLE_RATE_HZ / self.rate_hz))
                    want = int(round(min(block, total - pos) * SAMPLE_RATE_HZ / self.rate_hz))
                    yield resample(mono)[lead:lead + want]
        except (RuntimeError, sf.LibsndfileError) as exc:  # truncated or corrupt midway
            raise AudioFileError(f"{self.path}: could not read the audio ({exc}); is the file complete?") from exc

    def frames(self) -> Iterator[Frame]:
        n = 0
        rest = np.zeros(0, np.float32)
        for block in self.blocks():
            buf = np.concatenate([rest, block]) if len(rest) else block
            usable = len(buf) - len(buf) % self.frame_samples
            for i in range(0, usable, self.frame_samples):
                yield Frame(np.ascontiguousarray(buf[i:i + self.frame_samples]), n / SAMPLE_RATE_HZ)
                n += self.frame_samples
            rest = buf[usable:]
        if len(rest):
            yield Frame(rest, n / SAMPLE_RATE_HZ)


def probe_audio(path: Path):
    """Check that ``path`` is a readable recording and return soundfile's info for it.

    Raises:
        AudioFileError: missing, a folder, a pipe or a device, empty, not audio, or longer
            than 24 hours.
    """
    import soundfile as sf

    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not a recording")
    if not path.is_file():  # reading would block, or never end, and a file is sought back and forth
        raise AudioFileError(f"{path}: is a pipe or a device, not a file: save the recording to a file first")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: the file is empty")
    try:
        info = sf.info(sf_path(path))
    except Exception as exc:  # libsndfile says "Format not recognised" etc.
        raise AudioFileError(
            f"{path}: not a recording coach can read (WAV, FLAC or OGG are supported)") from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFileError(f"{path}: the recording holds no audio")
    if not 4000 <= info.samplerate <= 384000:
        raise AudioFileError(f"{path}: sample rate {info.samplerate} Hz is not supported (4–384 kHz)")
    if info.channels > 32:
        raise AudioFileError(f"{path}: {info.channels} channels is not supported (1–32)")
    if info.frames / info.samplerate > MAX_FILE_DURATION_S:
        raise AudioFileError(f"{path}: the recording is longer than 24 hours")
    return info


def read_audio(path: str | Path) -> np.ndarray:
    """Read a whole (short) recording as 16 kHz mono float32, e.g. an enrollment clip."""
    blocks = list(FileSource(path).blocks())
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


class ArraySource:
    """Frames from a signal already in memory (synthetic speech, tests)."""

    def __init__(self, samples: np.ndarray, frame_samples: int = FRAME_SAMPLES):
        self.samples = np.asarray(samples, dtype=np.float32)
        self.frame_samples = frame_samples
        self.duration_s = len(self.samples) / SAMPLE_RATE_HZ

    def frames(self) -> Iterator[Frame]:
        return frames_from_array(self.samples, frame_samples=self.frame_samples)


class SyntheticSource:
    """A deterministic stand-in microphone: quiet pink-ish noise, optional tone bursts.

    Args:
        duration_s: how long it runs (``math.inf`` for endless).
        noise_dbfs: level of the background noise.
        bursts: (start_s, end_s) spans where a voiced, speech-like harmonic signal plays.
        seed: random seed, so runs repeat exactly.
    """

    def __init__(self, duration_s: float = math.inf, noise_dbfs: float = -60.0,
                 bursts: list[tuple[float, float]] | None = None, seed: int = 0):
        self.duration_s = duration_s
        self.noise_rms = 10 ** (noise_dbfs / 20)
        self.bursts = sorted(bursts or [])
        self.seed = seed

    def frames(self) -> Iterator[Frame]:
        rng = np.random.default_rng(self.seed)
        n = 0
        total = math.inf if math.isinf(self.duration_s) else int(self.duration_s * SAMPLE_RATE_HZ)
        while n < total:
            k = int(min(FRAME_SAMPLES, total - n))
            t0 = n / SAMPLE_RATE_HZ
            x = (rng.standard_normal(k) * self.noise_rms).astype(np.float32)
            t = (n + np.arange(k)) / SAMPLE_RATE_HZ
            for a, b in self.bursts:
                if a < t0 + k / SAMPLE_RATE_HZ and b > t0:
                    on = (t >= a) & (t < b)
                    f0 = 140 + 30 * np.sin(2 * np.pi * 3 * t)  # a wobbling voiced pitch
                    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE_HZ
                    v = sum(np.sin(h * phase) / h for h in range(1, 12)) * 0.08
                    v *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2  # syllable rhythm
                    x = x + (v * on).astype(np.float32)
            yield Frame(x, t0)
            n += k


class MicSource:
    """The live microphone through sounddevice: callback → queue → generator.

    Args:
        device: sounddevice input device (index or name substring); None for default.
        block_samples: samples per callback (explicit, as PortAudio prefers).
        lost_timeout_s: if no block arrives for this long, the device is treated as lost.
    """

    def __init__(self, device=None, block_samples: int = FRAME_SAMPLES, lost_timeout_s: float = 2.0,
                 sd=None):
        # `--mic 2` arrives as the string "2", which sounddevice would match against names.
        self.device = int(device) if isinstance(device, str) and device.strip().isdigit() else device
        self.block_samples = block_samples
        self.lost_timeout_s = lost_timeout_s
        self._sd = sd  # the sounddevice module; injected by fault tests, imported lazily otherwise
        self._stream = None
        self._queue: queue.Queue = queue.Queue(maxsize=500)
        self.overflows = 0

    def _callback(self, indata, frames, time_info, status):  # runs on PortAudio's thread
        if status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(indata[:, 0].copy())
        except queue.Full:  # the consumer stalled; drop rather than block the audio thread
            self.overflows += 1

    def open(self) -> None:
        sd = self._sd or import_sounddevice()
        while not self._queue.empty():  # blocks left from a stream that died are stale
            self._queue.get_nowait()
        try:
            self._stream = sd.InputStream(samplerate=SAMPLE_RATE_HZ, channels=1, dtype="float32",
                                          blocksize=self.block_samples, device=self.device,
                                          callback=self._callback)
            self._stream.start()
        except Exception as exc:
            raise DeviceError(f"no microphone could be opened ({exc}); run `coach devices` "
                              "to list them and pick one with --mic") from exc

    def open_and_close(self) -> None:
        """Check that the microphone can be opened (DeviceError if not)."""
        self.open()
        self.close()

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:
                pass
            self._stream = None

    @property
    def backlog_s(self) -> float:
        """Audio captured but not yet taken by ``frames()`` (seconds): how far the consumer
        runs behind the microphone."""
        return self._queue.qsize() * self.block_samples / SAMPLE_RATE_HZ

    def frames(self) -> Iterator[Frame]:
        if self._stream is None:
            self.open()
        n = 0
        try:
            while True:
                try:
                    block = self._queue.get(timeout=self.lost_timeout_s)
                except queue.Empty:
                    # An unplugged USB headset or a closed lid: PortAudio just stops calling back.
                    raise DeviceError("the microphone stopped sending sound") from None
                yield Frame(block, n / SAMPLE_RATE_HZ)
                n += len(block)
        finally:
            self.close()


def import_sounddevice():
    """Import sounddevice lazily, with an actionable error where PortAudio is missing."""
    try:
        import sounddevice as sd
    except OSError as exc:
        raise DeviceError("the PortAudio library is missing: install it with "
                          "`sudo apt-get install libportaudio2`") from exc
    except ImportError as exc:
        raise DeviceError("the sounddevice package is missing: `pip install sounddevice`") from exc
    _quiet_alsa()
    return sd


_ALSA_HANDLER = []


def _quiet_alsa() -> None:
    """Stop libasound printing "underrun occurred" and the like over the live view.

    ALSA reports through its own error handler straight to stderr; coach reports device
    trouble itself, in plain words. The handler must outlive every ALSA call, so it is
    kept in a module-level list.
    """
    if _ALSA_HANDLER:
        return
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("asound")
    if not name:
        _ALSA_HANDLER.append(None)
        return
    try:
        lib = ctypes.CDLL(name)
        handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                        ctypes.c_int, ctypes.c_char_p)
        handler = handler_type(lambda *args: None)
        lib.snd_lib_error_set_handler(handler)
        _ALSA_HANDLER.append(handler)
    except (OSError, AttributeError):
        _ALSA_HANDLER.append(None)


class RealtimeSource:
    """Paces another source to wall-clock time (``--realtime`` with a recording)."""

    def __init__(self, inner):
        self.inner = inner

    def frames(self) -> Iterator[Frame]:
        import time

        t0 = time.monotonic()
        for frame in self.inner.frames():
            delay = t0 + frame.start_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield frame


class ResilientSource:
    """Keeps a live source going through device loss: reopens it every few seconds.

    While the device is gone no frames come, so the session's turn clock stands still.
    Frames after a reopen continue the audio clock where it stopped (the gap is not
    audio time; ``gaps`` keeps how long each lasted in wall time).

    Args:
        inner: a source whose ``frames()`` may raise ``DeviceError`` (``MicSource``);
            calling ``frames()`` again reopens it.
        retry_every_s: wall seconds between reopen attempts.
        sleep: waits between attempts (``time.sleep``; tests pass a fake).
    """

    def __init__(self, inner, retry_every_s: float = 3.0, sleep=None):
        import time

        self.inner = inner
        self.retry_every_s = retry_every_s
        self.sleep = sleep or time.sleep
        self.gaps: list[tuple[float, float]] = []
        """(audio time the device was lost, wall seconds until it was back)."""
        self.on_lost = lambda error: None
        self.on_back = lambda: None
        self.should_stop = lambda: False

    @property
    def backlog_s(self) -> float:
        """The inner source's backlog (seconds; 0 for sources without one)."""
        return float(getattr(self.inner, "backlog_s", 0.0))

    def watch(self, on_lost, on_back, should_stop) -> None:
        """Called by the session: who to tell when the device goes and comes back."""
        self.on_lost, self.on_back, self.should_stop = on_lost, on_back, should_stop

    def frames(self) -> Iterator[Frame]:
        import time

        n = 0
        lost_since: float | None = None
        while True:
            try:
                for frame in self.inner.frames():
                    if lost_since is not None:
                        self.gaps.append((n / SAMPLE_RATE_HZ, time.monotonic() - lost_since))
                        lost_since = None
                        self.on_back()
                    yield Frame(frame.samples, n / SAMPLE_RATE_HZ, frame.coach_speaking)
                    n += len(frame.samples)
                return  # the inner source ended on its own: end of input
            except DeviceError as exc:
                if lost_since is None:
                    lost_since = time.monotonic()
                    self.on_lost(exc)
            if self.should_stop():
                return
            self.sleep(self.retry_every_s)
            if self.should_stop():
                return
