"""The recording's channel and noise against the enrollments': the bands one side lacks
(a telephone line's), and each enrollment heard through this room's noise."""

from __future__ import annotations

import numpy as np

from coach.features import cepstra


def powers(logmel: np.ndarray, rows: np.ndarray | None = None,
            chunk: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Total linear power of each log-mel row and mean power per band, in chunks (memory
    must not grow with the evening); ``rows`` picks the rows (default all)."""
    n = len(logmel) if rows is None else len(rows)
    total, band = np.empty(n, np.float64), np.zeros(logmel.shape[1], np.float64)
    for i in range(0, n, chunk):
        p = np.exp((logmel[i:i + chunk] if rows is None else logmel[rows[i:i + chunk]]).astype(np.float64))
        total[i:i + chunk] = p.sum(axis=1)
        band += p.sum(axis=0)
    return total, band / max(n, 1)


NOISE_SWAMPED = 2.0
"""A band whose speech power (noise included) is under this many times its noise power,
and which seems louder than in the enrollments, is the noise's: it is no sign of another
channel (``comparable_bands``). A sizzling pan 5 dB under a far-field AMI excerpt left
the top band 4.4 nats above the typical gap: taken for a band the enrollments lack, it
sent the excerpt down the telephone path (voice models learned from six d-vector
windows), 34.5 pp off; now 19.1. A telephone line's cut bands are quieter than the
enrollments', not louder. (The band still shapes ``channel_offset``: without it a pan
10 dB under the other AMI excerpt went from 1.2 to 6.6 pp.)"""


def channel_gap(speech_band: np.ndarray, noise_band: np.ndarray, enrollments: list[np.ndarray]) -> np.ndarray:
    """Per-band log gap (nats) between this recording's speech spectrum and the enrollments'.

    The recording's speech spectrum (noise taken off; bands left with nothing but noise
    floored at a twentieth of it) is compared, shape only, with the mean of the
    enrollments'.
    """
    clean = np.maximum(speech_band - noise_band, 0.05 * noise_band + 1e-10)
    enrolled = np.mean([b / b.sum() for b in (powers(e)[1] for e in enrollments)], axis=0)
    return np.log(clean / clean.sum()) - np.log(enrolled + 1e-12)


def channel_offset(gap: np.ndarray, deadzone: float) -> np.ndarray:
    """Per-band log offset that makes the enrollments sound as if heard through this
    recording's channel: of the ``channel_gap``, differences within ``deadzone`` nats are
    the voices' own and stay; beyond it they are the channel's (e.g. a telephone's
    missing highs and lows)."""
    return (np.sign(gap) * np.maximum(np.abs(gap) - deadzone, 0.0)).astype(np.float32)


def comparable_bands(gap: np.ndarray, cut: float, swamped: np.ndarray | None = None) -> np.ndarray | None:
    """Bands the recording and the enrollments both carry (a bool mask), or None for all.

    A band whose gap is more than ``cut`` nats from the median gap was cut away on one
    side (a telephone line passes 300–3400 Hz; a cheap microphone loses the highs): what
    it holds there is noise, which says nothing about the voice. At least 12 bands stay.
    A band the recording's noise swamps (``swamped``: see ``NOISE_SWAMPED``) is not
    taken for one the enrollments lack, however loud it seems.
    """
    typical = np.median(gap)
    if swamped is not None:
        gap = np.where(swamped & (gap > typical), typical, gap)
    dev = np.abs(gap - typical)
    keep = dev <= cut
    if keep.all():
        return None
    if keep.sum() < 12:
        keep = dev <= np.sort(dev)[11]
    return keep


def noisy_enrollment(logmel_speech: np.ndarray, noise_logmel: np.ndarray, speech_power: float,
                     noise_power: float, levels_db: tuple[float, ...], rng: np.random.Generator,
                     bands: np.ndarray | None = None) -> np.ndarray:
    """Cepstra of an enrollment heard through the recording's noise: one copy per level
    of ``levels_db``, relative to the recording's median speech level."""
    enroll = np.exp(logmel_speech.astype(np.float64))
    gain = max(speech_power - noise_power, 1e-12) / max(float(np.median(enroll.sum(axis=1))), 1e-12)
    noise = np.exp(noise_logmel.astype(np.float64))
    rows = [np.log(enroll * (gain * 10 ** (db / 10)) + noise[rng.integers(0, len(noise), len(enroll))] + 1e-10)
            for db in levels_db]
    return cepstra(np.concatenate(rows).astype(np.float32), bands)
