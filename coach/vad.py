"""Voice activity: a QUIET/STARTING/SPEAKING/STOPPING state machine over one model hook.

The machine knows nothing about audio: it takes one confidence per 20 ms frame and
applies hysteresis in seconds. Models turn audio into confidences: ``SpectralVadModel``
(band SNR over a tracked noise floor, voicing, rumble cut) is the default;
``WebRtcVadModel`` wraps webrtcvad for comparison in the benchmark.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from coach import vad_weights
from coach.features import FeatureExtractor, HopFeatures
from coach.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE_HZ


class VadState(enum.Enum):
    QUIET = "quiet"
    STARTING = "starting"
    SPEAKING = "speaking"
    STOPPING = "stopping"


class VadModel(Protocol):
    """The one model hook: how likely a 20 ms frame holds speech (0–1)."""

    def confidence(self, frame: Frame) -> float: ...


@dataclass(frozen=True)
class VadSettings:
    """Hysteresis of the state machine.

    Attributes:
        threshold: confidence at or above which a frame counts as speech.
        min_speech_s: speech must last this long before a segment starts (clicks, clinks).
        min_silence_s: a pause must last this long to end a segment; 0.25 s matches the
            corpus' definition of talk time (same-speaker pauses under 0.25 s bridged).
    """

    threshold: float = 0.5
    min_speech_s: float = 0.08
    min_silence_s: float = 0.25


@dataclass(frozen=True)
class SpeechSpan:
    """A finalised stretch of speech from the VAD, in audio time."""

    start_s: float
    end_s: float


class VadMachine:
    """Hysteresis over per-frame confidences; emits ``SpeechSpan``s once they are final.

    A span ends at the last speech frame (pauses shorter than ``min_silence_s`` are
    bridged), so its length is talk time, not talk time plus a hangover.
    """

    def __init__(self, settings: VadSettings = VadSettings()):
        self.settings = settings
        self.state = VadState.QUIET
        self._start_s = 0.0
        self._last_speech_end_s = 0.0
        self._run_s = 0.0

    def step(self, confidence: float, start_s: float, duration_s: float = FRAME_S) -> SpeechSpan | None:
        """Advance one frame; returns a span when one has just been confirmed over."""
        s = self.settings
        speech = confidence >= s.threshold
        end_s = start_s + duration_s
        st = self.state
        if st is VadState.QUIET:
            if speech:
                self.state, self._start_s, self._last_speech_end_s = VadState.STARTING, start_s, end_s
                self._run_s = duration_s
                if self._run_s >= s.min_speech_s:
                    self.state = VadState.SPEAKING
        elif st is VadState.STARTING:
            if speech:
                self._run_s += duration_s
                self._last_speech_end_s = end_s
                if self._run_s >= s.min_speech_s:
                    self.state = VadState.SPEAKING
            else:
                self.state = VadState.QUIET
        elif st is VadState.SPEAKING:
            if speech:
                self._last_speech_end_s = end_s
            else:
                self.state = VadState.STOPPING
        else:  # STOPPING
            if speech:
                self.state, self._last_speech_end_s = VadState.SPEAKING, end_s
            elif end_s - self._last_speech_end_s >= s.min_silence_s - 1e-9:
                self.state = VadState.QUIET
                return SpeechSpan(self._start_s, self._last_speech_end_s)
        return None

    def flush(self) -> SpeechSpan | None:
        """End of stream: close a segment still open."""
        if self.state in (VadState.SPEAKING, VadState.STOPPING):
            self.state = VadState.QUIET
            return SpeechSpan(self._start_s, self._last_speech_end_s)
        self.state = VadState.QUIET
        return None

    @property
    def speaking(self) -> bool:
        return self.state in (VadState.SPEAKING, VadState.STOPPING)

    @property
    def open_start_s(self) -> float | None:
        """Start of the segment in progress (not yet final), if any."""
        return self._start_s if self.speaking else None


_CONTEXT = (9, 31)
"""Cue averages over 90 ms and 310 ms: speech is syllables, a clink is one hop."""
LOOKAHEAD_HOPS = _CONTEXT[-1] // 2
_W = np.asarray(vad_weights.WEIGHTS, np.float32)


def _base_cues(feats: HopFeatures) -> np.ndarray:
    snr = np.clip(feats.snr_db, 0.0, 30.0) / 10.0
    top = np.sort(snr, axis=1)[:, -8:].mean(axis=1)
    return np.concatenate([snr, feats.harmonicity[:, None], top[:, None]], axis=1).astype(np.float32)


class HopScorer:
    """Streams per-hop speech probabilities, ``LOOKAHEAD_HOPS`` hops behind its input.

    A logistic model over band SNRs (against the tracked noise floor), voicing and
    their short- and medium-term averages (weights in ``coach.vad_weights``).
    """

    def __init__(self):
        self._buf = np.zeros((0, _W.shape[1]), np.float32)
        self._done = 0          # hops of the buffer already scored
        self._started = False

    def push(self, feats: HopFeatures, final: bool = False) -> np.ndarray:
        """Add hops; return probabilities for every hop whose right context is known."""
        base = _base_cues(feats)
        if not self._started and len(base):
            # Pad the start with copies of the first hop ("nearest" edge handling).
            self._buf = np.repeat(base[:1], LOOKAHEAD_HOPS, axis=0)
            self._done = LOOKAHEAD_HOPS
            self._started = True
        buf = np.concatenate([self._buf, base]) if len(base) else self._buf
        if final and len(buf):
            buf = np.concatenate([buf, np.repeat(buf[-1:], LOOKAHEAD_HOPS, axis=0)])
        ready = len(buf) - LOOKAHEAD_HOPS - self._done
        if ready <= 0:
            self._buf = buf
            return np.zeros(0, np.float32)
        c = np.concatenate([np.zeros((1, buf.shape[1]), np.float32), np.cumsum(buf, axis=0, dtype=np.float64)])
        idx = np.arange(self._done, self._done + ready)
        z = buf[idx] @ _W[0]
        for row, width in zip(_W[1:], _CONTEXT):
            h = width // 2
            mean = (c[idx + h + 1] - c[idx - h]) / width
            z = z + mean @ row
        z = z + vad_weights.BIAS
        keep = self._done + ready - LOOKAHEAD_HOPS
        self._buf = buf[keep:]
        self._done = LOOKAHEAD_HOPS
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def frame_confidence(hop_conf: np.ndarray) -> np.ndarray:
    """Pairs of 10 ms hops to 20 ms frames (their mean)."""
    n = len(hop_conf) // 2
    return hop_conf[:2 * n].reshape(n, 2).mean(axis=1)


class SpectralVadModel:
    """Speech confidence from the tracked noise floor, band shape and voicing.

    High-passed at 130 Hz (rumble), band-limited to 3.8 kHz (hiss, telephone), with a
    per-band noise floor from minimum statistics, so a running tap or a fan is learned
    within two seconds and does not count as speech. Answers for a frame
    ``LOOKAHEAD_HOPS`` (150 ms) late, as the model needs that much right context;
    the first frames answer 0.
    """

    latency_frames = (LOOKAHEAD_HOPS + 1) // 2
    """``confidence()`` answers for the frame this many calls back (0 until then)."""

    def __init__(self):
        self._fx = FeatureExtractor()
        self._scorer = HopScorer()
        self._scores = np.zeros(0, np.float32)
        self._first_hop = 0     # hop index of self._scores[0]
        self._calls = 0

    def confidence(self, frame: Frame) -> float:
        self._scores = np.concatenate([self._scores, self._scorer.push(self._fx.push(frame.samples))])
        target = self._calls - self.latency_frames
        self._calls += 1
        if target < 0:
            return 0.0
        i = 2 * target - self._first_hop
        pair = self._scores[i:i + 2]
        self._scores, self._first_hop = self._scores[i + 2:], 2 * target + 2
        return float(pair.mean()) if len(pair) else 0.0


class WebRtcVadModel:
    """webrtcvad (mode 0–3) on 20 ms frames; a comparison model for the benchmark."""

    def __init__(self, mode: int = 2):
        import webrtcvad  # lazy: optional, only the benchmark needs it

        self._vad = webrtcvad.Vad(mode)

    def confidence(self, frame: Frame) -> float:
        if len(frame.samples) != FRAME_SAMPLES:
            return 0.0
        pcm = (np.clip(frame.samples, -1, 1) * 32767).astype("<i2").tobytes()
        return 1.0 if self._vad.is_speech(pcm, SAMPLE_RATE_HZ) else 0.0


def detect_speech(frames, model: VadModel | None = None,
                  settings: VadSettings = VadSettings()) -> list[SpeechSpan]:
    """Run a model and the machine over frames; all spans, final."""
    model = model or SpectralVadModel()
    lag = getattr(model, "latency_frames", 0)
    machine = VadMachine(settings)
    spans, history = [], []
    for frame in frames:
        history.append(frame)
        conf = model.confidence(frame)
        if len(history) > lag:
            old = history.pop(0)
            span = machine.step(0.0 if old.coach_speaking else conf, old.start_s, old.duration_s)
            if span:
                spans.append(span)
    silent = Frame(np.zeros(FRAME_SAMPLES, np.float32), 0.0)
    for old in history:  # drain the model's lookahead with silence
        conf = model.confidence(silent)
        span = machine.step(0.0 if old.coach_speaking else conf, old.start_s, old.duration_s)
        if span:
            spans.append(span)
    last = machine.flush()
    if last:
        spans.append(last)
    return spans
