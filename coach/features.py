"""Feature extraction for measurement: 10 ms spectra, a tracked noise floor, denoised cepstra.

Everything is vectorised over blocks of hops, so a recording streams through in
large chunks while a live microphone can still be handled frame by frame. The same
``FeatureExtractor`` serves the VAD (band SNRs) and the voice models (cepstra), so
enrollment clips and conversations are described identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import dct, rfft
from scipy.signal import lfilter

from coach.frames import SAMPLE_RATE_HZ

HOP_SAMPLES = 160
"""10 ms hops: twice the frame rate, so short voice models get enough observations."""
HOP_S = HOP_SAMPLES / SAMPLE_RATE_HZ
WINDOW_SAMPLES = 400
"""25 ms analysis window, the usual speech compromise between time and pitch resolution."""
FFT_SIZE = 512

MEL_BANDS = 32
MEL_LOW_HZ = 130.0
"""Below this sits rumble (LibriSpeech speaker 2609, fans, traffic), not voice."""
MEL_HIGH_HZ = 3800.0
"""Above this a telephone line has nothing; keeping below it makes enrolment on a
wideband mic comparable with band-limited or distant speech."""
N_CEPS = 19
"""Cepstra 1..19 (c0, the loudness, is left out: distance must not decide identity)."""

NOISE_WINDOW_S = 2.0
"""The noise floor is the minimum of smoothed band energy over this long; speech has
pauses between words far more often than that (minimum statistics, Martin 2001)."""
_SUB_HOPS = 25
_N_SUBS = int(round(NOISE_WINDOW_S / (_SUB_HOPS * HOP_S)))
NOISE_BIAS = 1.8
"""A minimum underestimates the mean noise power; ~2.5 dB is the usual correction."""
SUBTRACT_OVER = 1.0
SUBTRACT_FLOOR = 0.08
"""Spectral subtraction keeps at least 8 % of a band's power, which avoids musical noise."""
_EPS = 1e-10


def _mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_inv(mel):
    return 700.0 * (10 ** (np.asarray(mel) / 2595.0) - 1.0)


def mel_filterbank(n_bands: int = MEL_BANDS, low_hz: float = MEL_LOW_HZ,
                   high_hz: float = MEL_HIGH_HZ) -> np.ndarray:
    """Triangular mel filters as a (FFT_SIZE//2+1, n_bands) matrix."""
    freqs = np.arange(FFT_SIZE // 2 + 1) * SAMPLE_RATE_HZ / FFT_SIZE
    edges = _mel_inv(np.linspace(_mel(low_hz), _mel(high_hz), n_bands + 2))
    fb = np.zeros((len(freqs), n_bands), np.float32)
    for b in range(n_bands):
        lo, mid, hi = edges[b:b + 3]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[:, b] = np.clip(np.minimum(up, down), 0, None)
    return fb


_FB = mel_filterbank()
_WIN = np.hamming(WINDOW_SAMPLES).astype(np.float32)
_FB_BACK = (_FB / np.maximum(_FB.sum(axis=0, keepdims=True), 1e-9)).T
"""Band energies back to bins: each bin gets the mean per-bin noise of its bands."""


@dataclass
class HopFeatures:
    """Features of a block of 10 ms hops.

    Attributes:
        band_db: (n, MEL_BANDS) band energies in dB.
        snr_db: (n, MEL_BANDS) band energy over the tracked noise floor, dB.
        ceps: (n, N_CEPS) cepstra of the noise-subtracted bands.
        level_db: (n,) total band energy in dB (for loudness checks).
        harmonicity: (n,) peak normalised autocorrelation at a voice pitch lag (0–1).
    """

    band_db: np.ndarray
    snr_db: np.ndarray
    ceps: np.ndarray
    level_db: np.ndarray
    harmonicity: np.ndarray


class FeatureExtractor:
    """Turns a stream of 16 kHz samples into per-hop features, keeping the noise floor.

    Call ``push(samples)`` with any number of samples; it returns features for every
    complete hop so far. State (the window's tail, the noise tracker) carries over.
    """

    def __init__(self):
        self._tail = np.zeros(WINDOW_SAMPLES - HOP_SAMPLES, np.float32)
        self._rest = np.zeros(0, np.float32)
        self._smooth = None
        self._subs: list[np.ndarray] = []
        self._cur_min = None
        self._cur_n = 0
        self.hops_done = 0

    def push(self, samples: np.ndarray) -> HopFeatures:
        """Add samples; return features for the hops they complete."""
        x = np.concatenate([self._rest, np.asarray(samples, np.float32)])
        n = len(x) // HOP_SAMPLES
        self._rest = x[n * HOP_SAMPLES:]
        if n == 0:
            return _empty()
        buf = np.concatenate([self._tail, x[:n * HOP_SAMPLES]])
        self._tail = buf[len(buf) - (WINDOW_SAMPLES - HOP_SAMPLES):]
        idx = np.arange(WINDOW_SAMPLES)[None, :] + HOP_SAMPLES * np.arange(n)[:, None]
        frames = buf[idx]
        frames = frames - frames.mean(axis=1, keepdims=True)
        spec = rfft(frames * _WIN, FFT_SIZE, axis=1)
        power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
        bands = power @ _FB + _EPS
        noise = self._track_noise(bands)
        clean = np.maximum(bands - SUBTRACT_OVER * noise, SUBTRACT_FLOOR * bands)
        ceps = dct(np.log(clean), type=2, norm="ortho", axis=1)[:, 1:N_CEPS + 1]
        self.hops_done += n
        return HopFeatures(
            band_db=10 * np.log10(bands),
            snr_db=10 * np.log10(bands / noise),
            ceps=ceps.astype(np.float32),
            level_db=10 * np.log10(bands.sum(axis=1)),
            harmonicity=_harmonicity(power, noise),
        )

    def _track_noise(self, bands: np.ndarray) -> np.ndarray:
        """Minimum statistics per band over ``NOISE_WINDOW_S``, one value per hop."""
        n = len(bands)
        out = np.empty_like(bands)
        # Smooth over ~50 ms (one-pole) so single low hops do not define the floor.
        a = 0.3
        zi = ((1 - a) * (bands[0] if self._smooth is None else self._smooth))[None, :]
        sm, _ = lfilter([a], [1.0, -(1 - a)], bands, axis=0, zi=zi)
        self._smooth = sm[-1]
        i = 0
        while i < n:
            take = min(n - i, _SUB_HOPS - self._cur_n)
            chunk = sm[i:i + take]
            run = np.minimum.accumulate(chunk, axis=0)
            if self._cur_min is not None:
                run = np.minimum(run, self._cur_min)
            if self._subs:
                past = np.min(self._subs, axis=0)
                out[i:i + take] = np.minimum(run, past)
            else:
                out[i:i + take] = run
            self._cur_min = run[-1]
            self._cur_n += take
            i += take
            if self._cur_n == _SUB_HOPS:
                self._subs.append(self._cur_min)
                if len(self._subs) > _N_SUBS:
                    self._subs.pop(0)
                self._cur_min, self._cur_n = None, 0
        return out * NOISE_BIAS + _EPS


_LAG_LO = SAMPLE_RATE_HZ // 400   # 400 Hz: a high child's or soprano's voice
_LAG_HI = SAMPLE_RATE_HZ // 70    # 70 Hz: a low bass voice
_WHITEN = (np.arange(FFT_SIZE // 2 + 1) * SAMPLE_RATE_HZ / FFT_SIZE > 250) & \
          (np.arange(FFT_SIZE // 2 + 1) * SAMPLE_RATE_HZ / FFT_SIZE < 3000)


def _harmonicity(power: np.ndarray, noise_bands: np.ndarray) -> np.ndarray:
    """Voicing cue: the autocorrelation peak at a pitch lag, of what rises above the noise.

    The tracked noise floor is subtracted first, so a steady hum or whine (a fan, a
    motor, mains rumble) has nothing left to be periodic with; the rest is compressed
    (cube root) so one strong partial cannot pass for a harmonic series.
    """
    noise = (noise_bands @ _FB_BACK) * _WHITEN
    total = np.cbrt(np.where(_WHITEN, power, 0.0)).sum(axis=1)
    p = np.where(_WHITEN, np.cbrt(np.maximum(power - 2.0 * noise, 0.0)), 0.0)
    ac = np.fft.irfft(p, FFT_SIZE, axis=1)
    # Normalised by the whole band's energy, so a residue that is tiny stays tiny.
    return np.clip(ac[:, _LAG_LO:_LAG_HI].max(axis=1) / (total / FFT_SIZE * 2 + _EPS), 0, 1)


def _empty() -> HopFeatures:
    z = np.zeros((0, MEL_BANDS), np.float32)
    return HopFeatures(z, z, np.zeros((0, N_CEPS), np.float32), np.zeros(0), np.zeros(0))


def extract(samples: np.ndarray) -> HopFeatures:
    """Features of a whole (short) signal, e.g. an enrollment clip."""
    return FeatureExtractor().push(samples)
