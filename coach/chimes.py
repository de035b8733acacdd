"""The coach's chimes: soft bell tones synthesised with numpy, 16 kHz mono float32.

``scripts/make_cues.py`` writes these to ``audio_cues/*.wav``; ``coach.voice`` plays the
files from a checkout and falls back to synthesising here (an installed package).
"""

from __future__ import annotations

import numpy as np

from coach.frames import SAMPLE_RATE_HZ

CUE_NAMES = ("start", "turn", "warning", "end", "ack")
"""Every cue the session may ask for."""

PEAK_DBFS = -12.0
"""Peak of the main cues: audible over a kitchen, never startling."""

SOFT_PEAK_DBFS = -15.0
"""Peak of the small cues (30 s warning, command acknowledged): they must not interrupt."""

_PARTIALS = ((1.0, 1.0, 1.0), (2.0, 0.30, 1.6), (3.01, 0.10, 2.4), (4.17, 0.04, 3.2))
"""(frequency ratio, amplitude, decay speed-up) of a soft bell: a strong fundamental and
a few quiet overtones that die faster, so the tone rounds off instead of ringing."""

_ATTACK_S = 0.015
"""Raised-cosine attack: short enough to sound like a strike, long enough not to click."""

_RELEASE_S = 0.08
"""Raised-cosine fade at the very end so no cue stops on a non-zero sample."""

# Note frequencies (Hz) of a calm pentatonic set: no dissonant intervals between cues.
_C5, _D5, _E5, _G5, _A5, _C6 = 523.25, 587.33, 659.25, 783.99, 880.0, 1046.5


def bell(freq_hz: float, duration_s: float, decay_s: float = 0.35) -> np.ndarray:
    """One soft bell strike.

    Args:
        freq_hz: fundamental frequency.
        duration_s: length of the returned tone, including its fade-out.
        decay_s: time constant of the fundamental's exponential decay.

    Returns:
        float32 samples at ``SAMPLE_RATE_HZ`` with peak about 1.
    """
    n = max(1, int(round(duration_s * SAMPLE_RATE_HZ)))
    t = np.arange(n) / SAMPLE_RATE_HZ
    tone = np.zeros(n)
    for ratio, amp, speed in _PARTIALS:
        tone += amp * np.sin(2 * np.pi * freq_hz * ratio * t) * np.exp(-t * speed / decay_s)
    _fade(tone, _ATTACK_S, _RELEASE_S)
    return (tone / np.max(np.abs(tone))).astype(np.float32)


def _fade(x: np.ndarray, attack_s: float, release_s: float) -> None:
    a = min(len(x), int(attack_s * SAMPLE_RATE_HZ))
    r = min(len(x), int(release_s * SAMPLE_RATE_HZ))
    if a:
        x[:a] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    if r:
        x[-r:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(r) / r)


def _sequence(notes: list[tuple[float, float, float]], total_s: float, decay_s: float) -> np.ndarray:
    """Mix bells (onset_s, freq_hz, gain) into one clip of ``total_s`` seconds."""
    out = np.zeros(int(round(total_s * SAMPLE_RATE_HZ)))
    for onset_s, freq_hz, gain in notes:
        start = int(round(onset_s * SAMPLE_RATE_HZ))
        tone = bell(freq_hz, total_s - onset_s, decay_s)
        out[start:start + len(tone)] += gain * tone[:len(out) - start]
    return out


_RECIPES = {
    # name: (notes as (onset_s, freq_hz, gain), total_s, decay_s, peak_dbfs)
    "start": ([(0.0, _C5, 1.0), (0.22, _G5, 0.8)], 1.1, 0.30, PEAK_DBFS),      # rising: "let's begin"
    "turn": ([(0.0, _G5, 0.9), (0.18, _E5, 1.0)], 0.9, 0.25, PEAK_DBFS),       # gentle two-note hand-over
    "warning": ([(0.0, _A5, 1.0)], 0.6, 0.18, SOFT_PEAK_DBFS),                 # one quiet ping
    "end": ([(0.0, _G5, 0.8), (0.25, _E5, 0.9), (0.5, _C5, 1.0)], 1.2, 0.30, PEAK_DBFS),  # settling down
    "ack": ([(0.0, _D5, 0.8), (0.08, _C6, 0.6)], 0.3, 0.08, SOFT_PEAK_DBFS),   # brief "heard you"
}


def synth_cue(name: str) -> np.ndarray:
    """Synthesise a named cue.

    Args:
        name: one of ``CUE_NAMES``.

    Returns:
        16 kHz mono float32, 0.3–1.2 s, peak at ``PEAK_DBFS`` (or ``SOFT_PEAK_DBFS``).

    Raises:
        ValueError: unknown cue name.
    """
    if name not in _RECIPES:
        raise ValueError(f"unknown cue {name!r}; cues are: {', '.join(CUE_NAMES)}")
    notes, total_s, decay_s, peak_dbfs = _RECIPES[name]
    clip = _sequence(notes, total_s, decay_s)
    _fade(clip, 0.0, _RELEASE_S)
    clip *= 10 ** (peak_dbfs / 20) / np.max(np.abs(clip))
    return clip.astype(np.float32)
