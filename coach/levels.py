"""Input levels before speech detection: a faulty microphone's constant offset taken
out, and a quiet recording raised to a level the speech model hears."""

from __future__ import annotations

import numpy as np

from coach.frames import SAMPLE_RATE_HZ


def _frame_rms(frames: np.ndarray) -> np.ndarray:
    """RMS of each row, the same arithmetic for one row as for many."""
    return np.sqrt(np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / frames.shape[1])


class OffsetRemover:
    """Takes a constant offset (a faulty microphone's DC) out of a stream.

    The offset is the mean of 100 ms frames, smoothed over about ``track_s`` seconds
    (one pole). Each sample has the estimate made before its frame began taken out,
    weighted from 0 where the estimate is ``limit`` to all of it at twice ``limit``, so
    the result is the same whatever the block sizes pushed, and a stream whose mean
    stays within ``limit`` passes untouched (the same array).
    """

    FRAME = 1600

    def __init__(self, limit: float, track_s: float = 0.8):
        self.limit = limit
        self._pole = float(np.exp(-self.FRAME / SAMPLE_RATE_HZ / track_s))
        self.offset = 0.0
        self._sum, self._n = 0.0, 0  # the frame in progress

    def apply(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        if n == 0:
            return x
        starts = np.r_[0, np.arange(self.FRAME - self._n, n, self.FRAME)]
        sums = np.add.reduceat(x, starts, dtype=np.float64)
        counts = np.diff(np.r_[starts, n])
        before = np.empty(len(starts))
        e, s_, c = self.offset, self._sum, self._n
        for k, (sk, ck) in enumerate(zip(sums.tolist(), counts.tolist())):
            before[k] = e
            s_, c = s_ + sk, c + ck
            if c == self.FRAME:
                e, s_, c = self._pole * e + (1 - self._pole) * s_ / self.FRAME, 0.0, 0
        self.offset, self._sum, self._n = e, s_, c
        w = np.clip(np.abs(before) / self.limit - 1.0, 0.0, 1.0)
        if not w.any():
            return x
        return np.asarray(x, np.float32) - np.repeat((w * before).astype(np.float32), counts)


def without_offset(x: np.ndarray, limit: float) -> np.ndarray:
    """A whole clip (an enrollment) without its mean, where that is beyond ``limit``
    (``VadSettings.dc_limit``); otherwise the clip itself."""
    mean = float(np.mean(x, dtype=np.float64)) if len(x) else 0.0
    return (x - np.float32(mean)).astype(np.float32) if limit > 0 and abs(mean) > limit else x


class LevelGain:
    """A causal gain that raises a quiet recording's speech level to a target.

    The level is the 95th percentile (the nearest rank below) of the 100 ms RMS values of
    the last ``window_s`` (speech, whenever someone talked in at least a twentieth of that
    time; a single clatter does not set it). The gain for each sample depends only on the
    frames completed before it, so the result is the same whatever the block sizes
    pushed. It starts at 1, is re-decided every second once 10 s have been heard (a few
    seconds of a quiet start would pass for a quiet recording), rises by at most
    ``rise_db_s`` per second, and never goes below 1.
    """

    FRAME = 1600
    EVERY = 10
    MIN_FRAMES = 100

    def __init__(self, target: float, max_gain: float, window_s: float, rise_db_s: float = 6.0):
        self.target, self.max_gain = target, max_gain
        self._recent = np.zeros(max(self.MIN_FRAMES, int(round(window_s * SAMPLE_RATE_HZ / self.FRAME))), np.float32)
        self._frames = 0
        self._buf = np.zeros((1, self.FRAME), np.float32)  # the frame in progress
        self._n = 0
        self.gain = 1.0
        self._rise = 10 ** (rise_db_s * self.EVERY * self.FRAME / SAMPLE_RATE_HZ / 20)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``x`` times the gain of each of its samples (``x`` itself while the gain is 1)."""
        spans: list[tuple[int, int, float]] = []  # (first, end, gain) of x
        i = self._part(x, 0, spans)
        k = (len(x) - i) // self.FRAME  # whole frames: their RMS at once, the gains in order
        if k:
            rms = _frame_rms(x[i:i + k * self.FRAME].reshape(k, self.FRAME))
            for j in range(k):
                spans.append((i + j * self.FRAME, i + (j + 1) * self.FRAME, self.gain))
                self._completed(float(rms[j]))
            i += k * self.FRAME
        self._part(x, i, spans)
        if all(g == 1.0 for _, _, g in spans):
            return x
        out = x.copy()
        for lo, hi, g in spans:
            if g != 1.0:
                out[lo:hi] *= g
        return out

    def _part(self, x: np.ndarray, i: int, spans: list) -> int:
        """Samples from ``i`` up to the end of the frame in progress (or of ``x``)."""
        if i >= len(x) or (self._n == 0 and len(x) - i >= self.FRAME):
            return i
        take = min(self.FRAME - self._n, len(x) - i)
        spans.append((i, i + take, self.gain))
        self._buf[0, self._n:self._n + take] = x[i:i + take]
        self._n += take
        if self._n == self.FRAME:
            self._completed(float(_frame_rms(self._buf)[0]))
            self._n = 0
        return i + take

    def _completed(self, rms: float) -> None:
        self._recent[self._frames % len(self._recent)] = rms
        self._frames += 1
        if self._frames >= self.MIN_FRAMES and self._frames % self.EVERY == 0:
            seen = self._recent[:min(self._frames, len(self._recent))]
            level = float(np.partition(seen, int(0.95 * (len(seen) - 1)))[int(0.95 * (len(seen) - 1))])
            want = min(self.max_gain, max(1.0, self.target / max(level, 1e-12)))
            self.gain = min(want, self.gain * self._rise)
