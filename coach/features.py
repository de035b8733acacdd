"""Features for measurement: a 32-band log-mel spectrum every 10 ms, streamed block by block.

One representation serves enrollment and conversation alike: log-mel energies are what
the voice models compare (as cepstra), and their linear power is what lets a clean
enrollment be heard "through" the room's noise (power adds).
"""

from __future__ import annotations

import numpy as np

from coach.frames import SAMPLE_RATE_HZ

HOP_SAMPLES = 160
"""10 ms hops: the resolution of speech flags, voice decisions and segments."""
HOP_S = HOP_SAMPLES / SAMPLE_RATE_HZ
WINDOW_SAMPLES = 400
"""25 ms analysis window, the usual speech compromise between time and pitch resolution."""
FFT_SIZE = 512
MEL_BANDS = 32
MEL_LOW_HZ = 100.0
"""Below this sits rumble (fans, traffic, LibriSpeech speaker 2609's room), not voice."""
MEL_HIGH_HZ = 7600.0
N_CEPS = 20
"""Cepstra 1..20; c0 (loudness) is left out so distance from the mic does not decide identity."""
_LEAD = (WINDOW_SAMPLES - HOP_SAMPLES) // 2
"""Windows are centred on their hop: hop i covers samples [160 i − 120, 160 i + 280)."""
_FLOOR = 1e-10


def _mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_inv(mel):
    return 700.0 * (10 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_bands: int = MEL_BANDS, low_hz: float = MEL_LOW_HZ,
                   high_hz: float = MEL_HIGH_HZ) -> np.ndarray:
    """Triangular mel filters as a (FFT_SIZE//2 + 1, n_bands) float32 matrix."""
    freqs = np.arange(FFT_SIZE // 2 + 1) * SAMPLE_RATE_HZ / FFT_SIZE
    edges = _mel_inv(np.linspace(_mel(low_hz), _mel(high_hz), n_bands + 2))
    fb = np.zeros((len(freqs), n_bands), np.float32)
    for b in range(n_bands):
        lo, mid, hi = edges[b:b + 3]
        fb[:, b] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return fb


_FB = mel_filterbank()
_WIN = np.hamming(WINDOW_SAMPLES).astype(np.float32)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Log-mel energies of every complete window in ``samples`` (already hop-aligned)."""
    n = 1 + (len(samples) - WINDOW_SAMPLES) // HOP_SAMPLES if len(samples) >= WINDOW_SAMPLES else 0
    if n <= 0:
        return np.zeros((0, MEL_BANDS), np.float32)
    view = np.lib.stride_tricks.sliding_window_view(samples, WINDOW_SAMPLES)[::HOP_SAMPLES][:n]
    spec = np.fft.rfft(view * _WIN, FFT_SIZE)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return np.log(power @ _FB + _FLOOR).astype(np.float32)


def _dct_matrix(n: int = MEL_BANDS, first: int = 1, last: int = N_CEPS) -> np.ndarray:
    """Orthonormal DCT-II rows ``first``..``last`` as an (n, last - first + 1) float32 matrix."""
    k = np.arange(first, last + 1)[None, :]
    i = np.arange(n)[:, None]
    return (np.sqrt(2.0 / n) * np.cos(np.pi * k * (2 * i + 1) / (2 * n))).astype(np.float32)


_DCT = _dct_matrix()


_DCT_BANDS: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}


def cepstra(logmel: np.ndarray, bands: np.ndarray | None = None) -> np.ndarray:
    """Cepstra c1..c20 from log-mel rows (float32): an orthonormal DCT-II, as a matrix
    product (scipy.fft's import alone costs more than all the DCTs of an hour).

    ``bands`` (a bool mask over the 32 bands) restricts the cepstra to those bands: the
    DCT then runs over them alone (at most one cepstrum fewer than bands), so that a
    band a telephone line cut away says nothing about who is talking.
    """
    if bands is None or bands.all():
        return np.asarray(logmel, np.float32) @ _DCT
    key = np.asarray(bands, bool).tobytes()
    if key not in _DCT_BANDS:
        k = int(np.count_nonzero(bands))
        _DCT_BANDS[key] = (np.flatnonzero(bands), _dct_matrix(k, 1, min(N_CEPS, k - 1)))
    cols, dct = _DCT_BANDS[key]
    return np.asarray(logmel, np.float32)[:, cols] @ dct


class FeatureStream:
    """Turns audio pushed in any block size into one log-mel row per 10 ms hop.

    Hop ``i`` is centred on samples [160 i, 160 i + 160); ``flush()`` completes the last
    hops with zeros so that a stream of N samples gives ceil(N / 160) rows in all.
    """

    def __init__(self):
        self._buf = np.zeros(_LEAD, np.float32)  # the first window reaches back before t=0
        self.samples_in = 0
        self.hops_out = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, np.float32)
        self.samples_in += len(samples)
        self._buf = np.concatenate([self._buf, samples]) if len(self._buf) else samples
        rows = log_mel(self._buf)
        self._buf = self._buf[len(rows) * HOP_SAMPLES:]
        self.hops_out += len(rows)
        return rows

    def flush(self) -> np.ndarray:
        want = -(-self.samples_in // HOP_SAMPLES) - self.hops_out
        if want <= 0:
            return np.zeros((0, MEL_BANDS), np.float32)
        need = (want - 1) * HOP_SAMPLES + WINDOW_SAMPLES - len(self._buf)
        rows = log_mel(np.concatenate([self._buf, np.zeros(max(0, need), np.float32)]))[:want]
        self.hops_out += len(rows)
        self._buf = np.zeros(0, np.float32)
        return rows


def clip_log_mel(samples: np.ndarray) -> np.ndarray:
    """Log-mel rows of a whole clip (e.g. an enrollment), ceil(N / 160) of them."""
    fs = FeatureStream()
    return np.concatenate([fs.push(samples), fs.flush()])
