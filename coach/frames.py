"""The one audio type that flows between stages: 16 kHz mono float32 frames on audio time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE_HZ = 16_000
"""Every stage after a source works at this rate; sources convert once."""

FRAME_SAMPLES = 320
"""20 ms blocks: the sounddevice blocksize and the VAD hop (audio-stack notes, §2)."""


@dataclass(frozen=True)
class Frame:
    """A block of mono float32 audio at ``SAMPLE_RATE_HZ``.

    Attributes:
        samples: 1-D float32 array in [-1, 1].
        start_s: audio time of the first sample, in seconds since the source began.
        coach_speaking: True while the coach's own voice (or its short tail) may be
            in the microphone; such frames are never counted as anyone's talk.
    """

    samples: np.ndarray
    start_s: float
    coach_speaking: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE_HZ

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def frames_from_array(samples: np.ndarray, start_s: float = 0.0,
                      frame_samples: int = FRAME_SAMPLES):
    """Yield ``Frame``s over an in-memory 16 kHz mono signal (the last may be short)."""
    samples = np.asarray(samples, dtype=np.float32)
    for i in range(0, len(samples), frame_samples):
        yield Frame(samples[i:i + frame_samples], start_s + i / SAMPLE_RATE_HZ)
