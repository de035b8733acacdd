"""Text-to-speech backends for the coach's voice: the espeak-ng CLI and pyttsx3, to arrays.

Both render one utterance to 16 kHz mono float32 or raise; ``coach.voice.TtsVoice``
chooses between them, caches, and never lets an error reach the session.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from coach.frames import SAMPLE_RATE_HZ

SYNTH_TIMEOUT_S = 30.0
"""A long prompt renders in well under 1 s (notes §1: RTF 0.001-0.002); 30 s means hung."""
SYNTH_ATTEMPTS = 4
"""pyttsx3 saves tried per utterance (one is lost now and then; see ``_Pyttsx3._save``)."""
LOST_AFTER_S = 0.5
"""A save whose file is still only a header this long after "finished" was lost."""


def espeak_ng(text: str, voice: str, rate_wpm: int, pitch: int | None = None) -> np.ndarray:
    """Render with ``espeak-ng --stdout`` (10 ms a sentence; deterministic).

    Raises:
        RuntimeError, OSError, subprocess.TimeoutExpired: espeak-ng failed or is missing.
    """
    # Text goes on stdin so a prompt starting with "-" is never read as an option.
    cmd = ["espeak-ng", "--stdout", "-v", voice, "-s", str(int(rate_wpm))]
    if pitch is not None:
        cmd += ["-p", str(int(pitch))]
    # espeak-ng connects to the PulseAudio server (and writes ~/.config/pulse) even with
    # --stdout; point it at nothing, so rendering stays a private, local computation.
    env = dict(os.environ, PULSE_SERVER="unix:/dev/null")
    proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=SYNTH_TIMEOUT_S,
                          env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace").strip() or f"exit {proc.returncode}")
    samples, rate_hz = _parse_wav_stream(proc.stdout)
    return to_16k(samples, rate_hz)


def pyttsx3_tts(text: str, voice: str, rate_wpm: int) -> np.ndarray:
    """Render with pyttsx3's save_to_file (any platform's engine).

    Raises:
        Exception: whatever pyttsx3 raises, or RuntimeError when no file appears.
    """
    path = _PYTTSX3.save(text, voice, rate_wpm)
    try:
        import soundfile as sf

        samples, rate_hz = sf.read(str(path), dtype="float32", always_2d=True)
    finally:
        path.unlink(missing_ok=True)
    return to_16k(samples.mean(axis=1), rate_hz)


def to_16k(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """Resample a TTS engine's output (22050 Hz for espeak) to the one rate, once."""
    samples = np.asarray(samples, dtype=np.float32)
    if rate_hz == SAMPLE_RATE_HZ or len(samples) == 0:
        return samples
    from scipy.signal import resample_poly

    ratio = Fraction(SAMPLE_RATE_HZ, rate_hz).limit_denominator(1000)  # 22050 Hz -> 320/441
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def _parse_wav_stream(data: bytes) -> tuple[np.ndarray, int]:
    """Decode ``espeak-ng --stdout``: a 16-bit PCM WAV whose size fields are placeholders
    (it streams), so the samples are everything after the ``data`` chunk header."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RuntimeError("espeak-ng did not write a WAV stream")
    rate_hz = int.from_bytes(data[24:28], "little")
    pos = data.find(b"data", 12)
    if pos < 0:
        raise RuntimeError("espeak-ng WAV stream has no data chunk")
    body = data[pos + 8:]
    pcm = np.frombuffer(body[:len(body) // 2 * 2], dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate_hz


@contextlib.contextmanager
def _stdout_silenced():
    """Send fd 1 and ``sys.stdout`` to nowhere: pyttsx3's espeak driver prints
    "Audio saved to …" from its synthesis thread, and ``--json`` output must stay clean."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 at all (a daemon): nothing to protect
        saved = None
    if saved is not None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


class _Pyttsx3:
    """The process's one pyttsx3 engine, kept for the life of the process.

    One, because the espeak driver's destructor calls ``SetSynthCallback(None)`` globally:
    a second engine being garbage-collected silently breaks the first. The pyttsx3 2.99
    rules (notes §1) apply: one utterance per ``runAndWait()``, a warm-up call after
    ``init()``, and waiting for the finished event because ``runAndWait()`` may return
    before the file is written.
    """

    def __init__(self):
        self._engine = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._tmp: tempfile.TemporaryDirectory | None = None

    def save(self, text: str, voice: str, rate_wpm: int) -> Path:
        """Render ``text`` to a WAV in a private temp folder and return its path."""
        with self._lock, _stdout_silenced():
            if self._engine is None:
                import pyttsx3

                engine = pyttsx3.init()
                engine.connect("finished-utterance", lambda name=None, completed=True: self._done.set())
                self._tmp = tempfile.TemporaryDirectory(prefix="coach-tts-")
                self._engine = engine
                self._save("Okay.").unlink(missing_ok=True)
            with contextlib.suppress(Exception):  # voice names differ per platform: keep the default
                self._engine.setProperty("voice", voice)
            self._engine.setProperty("rate", rate_wpm)
            return self._save(text)

    def _save(self, text: str) -> Path:
        # About 1 save in 35 (27 of 1000 here; 2.99, espeak driver) signals "finished"
        # having written only the WAV header: the utterance was lost. The same text saved
        # again comes out.
        for _ in range(SYNTH_ATTEMPTS):
            path = Path(self._tmp.name) / f"u{time.monotonic_ns()}.wav"
            self._done.clear()
            self._engine.save_to_file(text, str(path))
            self._engine.runAndWait()
            deadline = time.monotonic() + SYNTH_TIMEOUT_S
            done_at = None
            while time.monotonic() < deadline:
                # The driver prints "Audio saved" before it signals, so waiting here also
                # keeps that print inside the silenced stdout.
                if self._done.is_set():
                    if _wav_complete(path):
                        return path
                    done_at = done_at or time.monotonic()
                    if time.monotonic() - done_at > LOST_AFTER_S:
                        break  # finished, and no audio came: say it again
                time.sleep(0.005)
            path.unlink(missing_ok=True)
        raise RuntimeError("pyttsx3 did not finish the file")


_PYTTSX3 = _Pyttsx3()


def _wav_complete(path: Path) -> bool:
    """True once the WAV's header agrees with its size (the espeak driver patches it on
    close). Other platforms' engines may write AIFF: there, a non-empty file will do."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"RIFF":
                return path.stat().st_size > 0
        import wave

        with wave.open(str(path), "rb") as w:
            expected = w.getnframes() * w.getsampwidth() * w.getnchannels()
        return expected > 0 and path.stat().st_size >= expected + 44
    except Exception:
        return False
