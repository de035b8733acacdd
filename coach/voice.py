"""The coach's voice: text rendered to 16 kHz speech (espeak-ng or pyttsx3) and the chimes.

Speech is rendered to an array first and played by an ``Output`` (coach.outputs), so the
session knows exactly when, and for how long, the coach is speaking. Rendering never
raises: a missing or broken engine gives an empty array, and the session goes on with
chimes and on-screen text.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Protocol

import numpy as np

from coach.chimes import CUE_NAMES, synth_cue
from coach.frames import SAMPLE_RATE_HZ
from coach.outputs import (  # noqa: F401  re-exported: the voice and where it goes, one import
    DeviceOutput, NullOutput, Output, RecordingOutput, WavOutput, list_devices, make_output)
from coach.tts import espeak_ng, pyttsx3_tts

ENGINES = ("auto", "espeak-ng", "pyttsx3", "none")
"""Accepted values of ``VoiceSettings.tts``."""

CUES_DIR = Path(__file__).resolve().parent.parent / "audio_cues"
"""The committed chime files; present in a repository checkout, not in a wheel."""

_MAX_FAILURES = 2
"""An engine that fails this many renders in a row is dropped for the rest of the run."""

_EMPTY = np.zeros(0, np.float32)


class Voice(Protocol):
    """Renders the coach's words and chimes as 16 kHz mono float32 arrays."""

    available: bool

    def render(self, text: str) -> np.ndarray: ...

    def cue(self, name: str) -> np.ndarray: ...


_cue_cache: dict[str, np.ndarray] = {}


def load_cue(name: str, cues_dir: Path | None = None) -> np.ndarray:
    """A chime by name: ``audio_cues/<name>.wav`` when present, else synthesised.

    Raises:
        ValueError: ``name`` is not one of ``coach.chimes.CUE_NAMES``.
    """
    if name not in CUE_NAMES:
        raise ValueError(f"unknown cue {name!r}; cues are: {', '.join(CUE_NAMES)}")
    folder = cues_dir or CUES_DIR
    key = f"{folder}/{name}"
    if key not in _cue_cache:
        clip = None
        path = folder / f"{name}.wav"
        if path.is_file():
            try:
                from coach.sources import read_audio

                clip = read_audio(path)
            except Exception:  # a damaged file must not silence the chimes
                clip = None
        _cue_cache[key] = clip if clip is not None and len(clip) else synth_cue(name)
    return _cue_cache[key].copy()


class SilentVoice:
    """No speech at all (``tts = "none"`` or no engine): the chimes still play."""

    available = False
    engine = "none"

    def __init__(self, cues_dir: Path | None = None):
        self.cues_dir = cues_dir

    def render(self, text: str) -> np.ndarray:
        return _EMPTY.copy()

    def cue(self, name: str) -> np.ndarray:
        return load_cue(name, self.cues_dir)


class TtsVoice:
    """Speech from espeak-ng (CLI) or pyttsx3, rendered one utterance at a time.

    Args:
        engine: "auto" (espeak-ng, else pyttsx3), "espeak-ng" or "pyttsx3". Anything
            else gives a voice that renders nothing (``available`` is False).
        voice: espeak-ng voice name, e.g. "en-us+f3".
        rate_wpm: speaking rate in words per minute.
        volume: gain applied to the rendered speech, 0–1.
        cache_dir: folder for rendered prompts (``data_dir()/cache``); None: memory only.
        cues_dir: folder with the chime WAVs; default ``audio_cues/`` of the checkout.
    """

    def __init__(self, engine: str = "auto", voice: str = "en-us+f3", rate_wpm: int = 150,
                 volume: float = 0.8, cache_dir: Path | None = None, cues_dir: Path | None = None):
        self.engine = engine
        self.voice = voice
        self.rate_wpm = int(rate_wpm)
        self.volume = float(min(max(volume, 0.0), 1.0))
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.cues_dir = cues_dir
        self.last_error: str | None = None
        """Why the last failed render failed (for a log line); None after a success."""
        order = {"auto": ["espeak-ng", "pyttsx3"], "espeak-ng": ["espeak-ng", "pyttsx3"],
                 "pyttsx3": ["pyttsx3", "espeak-ng"]}.get(engine, [])
        self._engines = [e for e in order if self._installed(e)]
        self._failures = {e: 0 for e in self._engines}
        self.last_engine: str | None = None
        """The engine that gave the last non-empty render (or its cached copy)."""
        self.synth_count = 0
        """How many renders went to an engine (the rest came from the cache)."""
        self._memory: dict[str, np.ndarray] = {}
        self._available: bool | None = None

    @staticmethod
    def _installed(engine: str) -> bool:
        if engine == "espeak-ng":
            return shutil.which("espeak-ng") is not None
        try:
            import importlib.util

            return importlib.util.find_spec("pyttsx3") is not None
        except (ImportError, ValueError):
            return False

    @property
    def available(self) -> bool:
        """True when an engine really renders speech (checked once, with a short word)."""
        if self._available is None:
            self._available = len(self.render("Okay.")) > 0
        return self._available

    def cue(self, name: str) -> np.ndarray:
        return load_cue(name, self.cues_dir)

    def render(self, text: str) -> np.ndarray:
        """Speech for ``text`` as 16 kHz mono float32; empty if no engine works. Never raises."""
        text = " ".join(str(text).split())
        if not text:
            return _EMPTY.copy()
        for engine in list(self._engines):
            key = hashlib.sha256(f"{engine}|{self.voice}|{self.rate_wpm}|{text}".encode()).hexdigest()[:32]
            speech = self._cached(key)
            if speech is None:
                try:
                    self.synth_count += 1
                    speech = self._synth(engine, text)
                    if len(speech) == 0:
                        raise RuntimeError("no audio came back")
                except Exception as exc:  # any engine fault: try the next, never raise
                    self.last_error = f"{engine}: {exc}"
                    self._failures[engine] += 1
                    if self._failures[engine] >= _MAX_FAILURES:
                        self._engines.remove(engine)
                    continue
                self._store(key, speech)
            self._failures[engine] = 0
            self.last_error = None
            self.last_engine = engine
            return (speech * self.volume).astype(np.float32)
        return _EMPTY.copy()

    # -- cache: 16 kHz 16-bit WAVs named by a hash of engine, voice, rate and text ------

    def _cached(self, key: str) -> np.ndarray | None:
        if key in self._memory:
            return self._memory[key]
        if self.cache_dir is None:
            return None
        path = self.cache_dir / f"{key}.wav"
        try:
            import soundfile as sf

            from coach.sources import sf_path

            speech, rate_hz = sf.read(sf_path(path), dtype="float32")
        except Exception:  # missing or damaged: render again
            return None
        if rate_hz != SAMPLE_RATE_HZ or speech.ndim != 1 or len(speech) == 0:
            return None
        self._memory[key] = speech
        return speech

    def _store(self, key: str, speech: np.ndarray) -> None:
        self._memory[key] = speech
        if self.cache_dir is None:
            return
        try:
            import soundfile as sf

            from coach.paths import ensure_private_dir
            from coach.sources import sf_path

            ensure_private_dir(self.cache_dir)
            tmp = self.cache_dir / f".{key}.{os.getpid()}.wav"
            sf.write(sf_path(tmp), speech, SAMPLE_RATE_HZ, subtype="PCM_16")
            os.chmod(tmp, 0o600)  # like every file in the data dir: the owner's only
            os.replace(tmp, self.cache_dir / f"{key}.wav")  # atomic: a reader never sees half a file
        except Exception:  # a full or read-only disk only costs a re-render next time
            pass

    # -- engines ------------------------------------------------------------------------

    def _synth(self, engine: str, text: str) -> np.ndarray:
        if engine == "espeak-ng":
            return espeak_ng(text, self.voice, self.rate_wpm)
        return pyttsx3_tts(text, self.voice, self.rate_wpm)


def make_voice(settings, cache_dir: Path | None = None) -> Voice:
    """The voice the settings ask for.

    Args:
        settings: a ``VoiceSettings`` (``tts``, ``voice``, ``rate_wpm``, ``volume``).
        cache_dir: where rendered prompts are kept, normally ``data_dir() / "cache"``.

    Returns:
        ``SilentVoice`` for ``tts = "none"``, else a ``TtsVoice`` (whose ``available`` is
        False, and whose renders are empty, when no engine works).
    """
    if settings.tts == "none":
        return SilentVoice()
    return TtsVoice(settings.tts, settings.voice, settings.rate_wpm, settings.volume, cache_dir)
