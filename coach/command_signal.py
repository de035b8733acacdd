"""Signal work around the command decoder: the STFT front end, a Wiener gain for noisy
stretches decoded raw, and the band energy whose peaks count a word's syllables."""

from __future__ import annotations

import numpy as np


STFT_SIZE = 512
"""Front-end analysis window (32 ms) and FFT size; the hop is 10 ms (160 samples)."""

STFT_HOP = 160

_WINDOW = np.hanning(STFT_SIZE + 1)[:-1]


def power_frames(x: np.ndarray) -> np.ndarray:
    """Complex STFT frames (Hann, 512 points, 160-sample hop) of ``x``: frames × 257."""
    n = 1 + max(0, len(x) - STFT_SIZE) // STFT_HOP
    idx = np.arange(STFT_SIZE)[None, :] + STFT_HOP * np.arange(n)[:, None]
    return np.fft.rfft(np.pad(x, (0, max(0, STFT_SIZE - len(x))))[idx] * _WINDOW, axis=1)


def wiener_enhance(x: np.ndarray, noise_psd: np.ndarray, floor: float = 0.1,
                   smoothing: float = 0.98) -> np.ndarray:
    """Denoise ``x`` with a Wiener gain from a noise power spectrum (257 bins of
    ``power_frames``), decision-directed a-priori SNR (Ephraim–Malah), gain floored at
    ``floor``; the same length as ``x``, overlap-added back to a waveform."""
    pad = STFT_SIZE - STFT_HOP
    spec = power_frames(np.concatenate([np.zeros(pad), np.asarray(x, np.float64), np.zeros(STFT_SIZE)]))
    post = np.abs(spec) ** 2 / np.maximum(noise_psd, 1e-20)
    gain = np.empty(post.shape)
    prev = None
    for i, p in enumerate(post):
        ml = np.maximum(p - 1.0, 0.0)
        prio = ml if prev is None else smoothing * prev + (1 - smoothing) * ml
        g = np.maximum(prio / (1.0 + prio), floor)
        gain[i], prev = g, g * g * p
    frames = np.fft.irfft(spec * gain, n=STFT_SIZE, axis=1) * _WINDOW
    n = len(x) + pad + STFT_SIZE + STFT_SIZE
    y, w = np.zeros(n), np.zeros(n)
    idx = np.arange(STFT_SIZE)[None, :] + STFT_HOP * np.arange(len(frames))[:, None]
    np.add.at(y, idx, frames)
    np.add.at(w, idx, np.broadcast_to(_WINDOW ** 2, frames.shape))
    return (y / np.maximum(w, 1e-3))[pad:pad + len(x)].astype(np.float32)


NUCLEUS_BAND_HZ = (300.0, 2500.0)
"""Where vowels carry their energy, above most rumble and below most hiss."""

NUCLEUS_SMOOTH_FRAMES = 5
"""Band energy is smoothed over this many 10 ms frames before peaks are counted."""


def band_energy_db(samples: np.ndarray) -> np.ndarray:
    """Energy (dB) of the ``NUCLEUS_BAND_HZ`` band in pocketsphinx's frames: frame ``i``
    starts at sample 160 i and is 25 ms long, so word frames index it directly."""
    n = (len(samples) - 400) // 160 + 1
    if n <= 0:
        return np.zeros(0)
    view = np.lib.stride_tricks.sliding_window_view(np.asarray(samples, np.float64), 400)[::160][:n]
    power = np.abs(np.fft.rfft(view * np.hanning(400), 512)) ** 2
    freqs = np.arange(257) * 16000 / 512
    band = power[:, (freqs >= NUCLEUS_BAND_HZ[0]) & (freqs <= NUCLEUS_BAND_HZ[1])].sum(axis=1)
    db = 10 * np.log10(band + 1e-10)
    k = NUCLEUS_SMOOTH_FRAMES
    return np.convolve(np.pad(db, k // 2, mode="edge"), np.ones(k) / k, "valid")


def syllable_nuclei(energy_db: np.ndarray, first: int, last: int, prominence_db: float,
                    range_db: float) -> int:
    """Syllable nuclei in frames ``first``..``last`` of ``band_energy_db``: peaks that stand
    ``prominence_db`` above the dips around them (within the word) and lie within
    ``range_db`` of its loudest one."""
    from scipy.signal import find_peaks

    part = energy_db[max(first, 0):last + 1]
    if len(part) < 3:
        return 0
    peaks, _ = find_peaks(np.r_[-1e9, part, -1e9], prominence=prominence_db)
    return int((part[peaks - 1] >= part.max() - range_db).sum())
