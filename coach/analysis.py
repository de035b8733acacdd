"""The streaming measurement pipeline: frames → features → VAD → attribution → segments.

``Analyzer`` is the one path for both `coach analyze` and the live session. Frames are
buffered and processed in batches (a query such as ``speaking`` processes what is
pending first), so a file streams through fast while a live caller still sees the
state after its last frame. Memory is bounded by the decoding lag, not the length.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.attribution import UNSURE, AttributionSettings, Attributor
from coach.features import HOP_S, HOP_SAMPLES, FeatureExtractor
from coach.frames import Frame
from coach.profiles import VoiceProfile, check_distinct
from coach.record import Segment
from coach.settings import MeasureSettings
from coach.vad import LOOKAHEAD_HOPS, HopScorer, VadMachine, VadSettings

BATCH_S = 2.0
"""Frames wait until this much audio is pending (or someone asks) before processing."""
BRIDGE_S = 0.25
"""Same-speaker pauses shorter than this are bridged: the corpus' definition of talk."""


def _settings_from(ms: MeasureSettings) -> tuple[VadSettings, AttributionSettings]:
    vad = VadSettings(threshold=ms.vad_threshold, min_speech_s=ms.min_speech_s,
                      min_silence_s=ms.min_silence_s)
    att = AttributionSettings(switch_penalty=ms.switch_penalty, floor_bonus=ms.floor_bonus,
                              lag_s=ms.decision_lag_s)
    return vad, att


class _SegmentBuilder:
    """Per-speaker runs of labelled hops → ``Segment``s, bridging short pauses."""

    def __init__(self):
        self.open: dict[str | None, list[float]] = {}
        self.done: list[Segment] = []
        self.talk_s: dict[str | None, float] = {}
        self.last_s: dict[str | None, float] = {}

    def add(self, who: str | None, start_s: float, end_s: float) -> None:
        self.talk_s[who] = self.talk_s.get(who, 0.0) + (end_s - start_s)
        self.last_s[who] = end_s
        run = self.open.get(who)
        if run and start_s - run[1] < BRIDGE_S - 1e-9:
            self.talk_s[who] += start_s - run[1]
            run[1] = end_s
            return
        if run:
            self.done.append(Segment(round(run[0], 3), round(run[1], 3), who))
        self.open[who] = [start_s, end_s]

    def settle(self, now_s: float) -> None:
        """Close runs that can no longer be extended (their bridge window has passed)."""
        for who in [w for w, r in self.open.items() if now_s - r[1] >= BRIDGE_S]:
            a, b = self.open.pop(who)
            self.done.append(Segment(round(a, 3), round(b, 3), who))

    def close_all(self) -> None:
        self.settle(float("inf"))


class Analyzer:
    """Streaming VAD + attribution, the same path for `coach analyze` and the live session.

    Args:
        profiles: enrolled voices by name (None or empty: attribution by the floor alone).
        names: the partners in order; defaults to the profiles' names.
        settings: measurement settings.
    """

    def __init__(self, profiles: dict[str, VoiceProfile] | None = None,
                 names: list[str] | None = None, settings: MeasureSettings | None = None):
        self.settings = settings or MeasureSettings()
        self._vad_settings, self._att_settings = _settings_from(self.settings)
        profiles = dict(profiles or {})
        self.names = list(names) if names else list(profiles)
        self._fx = FeatureExtractor()
        self._scorer = HopScorer()
        self._vad = VadMachine(self._vad_settings)
        self._pending: list[Frame] = []
        self._pending_floor: list[str | None] = []
        self._pending_samples = 0
        self._rest_mute = np.zeros(0, bool)
        self._rest_floor = np.zeros(0, np.int64)
        # Hop-aligned queues, from hop ``_q0`` on, waiting for their VAD decision.
        self._q0 = 0
        self._q_ceps = np.zeros((0, 19), np.float32)
        self._q_mute = np.zeros(0, bool)
        self._q_floor = np.zeros(0, np.int64)
        self._conf = np.zeros(0, np.float32)     # confidences not yet stepped
        self._conf0 = 0                          # hop index of self._conf[0]
        self._span_start: int | None = None
        self._final_upto = 0                     # hops before this have a final VAD label
        self._segments = _SegmentBuilder()
        self._last_heard: dict[str | None, float] = {}
        self._attributor = None
        self.set_profiles(profiles)

    # -- public interface ---------------------------------------------------------------

    def set_profiles(self, profiles: dict[str, VoiceProfile]) -> None:
        """Use these voices from now on (e.g. after in-session enrollment)."""
        self._process()
        if self._attributor is not None:
            self._emit(self._attributor.flush())
        profiles = dict(profiles or {})
        check_distinct(profiles)
        for name in profiles:
            if name not in self.names:
                self.names.append(name)
        ordered = [profiles[n] for n in self.names if n in profiles]
        if len(ordered) != len(self.names):
            ordered = []  # a partner without a profile: fall back to the floor for all
        self._attributor = Attributor(ordered, self.names, self._att_settings)

    def feed(self, frame: Frame, floor: str | None = None) -> None:
        """Add one frame; ``floor`` is who holds the floor now (a prior, not the truth)."""
        self._pending.append(frame)
        self._pending_floor.append(floor)
        self._pending_samples += len(frame.samples)
        if self._pending_samples * HOP_S / HOP_SAMPLES >= BATCH_S:
            self._process()

    @property
    def speaking(self) -> bool:
        """VAD state after the last frame (as of the model's 150 ms lookahead)."""
        self._process()
        return self._vad.speaking

    def last_heard_s(self, name: str | None = None) -> float | None:
        """Audio time ``name`` (anyone when None) was last heard; provisional."""
        self._process()
        if name is None:
            vals = [v for v in self._last_heard.values() if v is not None]
            if self._vad.speaking:
                vals.append(self._conf0 * HOP_S)
            return max(vals) if vals else None
        return self._last_heard.get(name)

    def live_talk_s(self) -> dict[str, float]:
        """Seconds of talk per partner so far (final decisions; a couple of seconds behind)."""
        self._process()
        return {n: round(self._segments.talk_s.get(n, 0.0), 3) for n in self.names}

    def segments(self) -> list[Segment]:
        """Segments that are final so far, in order of start."""
        self._process()
        return sorted(self._segments.done, key=lambda s: (s.start_s, s.end_s))

    def finish(self) -> list[Segment]:
        """Flush everything; all segments of the whole stream."""
        self._process(final=True)
        self._emit(self._attributor.flush())
        self._segments.close_all()
        return sorted(self._segments.done, key=lambda s: (s.start_s, s.end_s))

    # -- pipeline -----------------------------------------------------------------------

    def _process(self, final: bool = False) -> None:
        if self._pending:
            samples = np.concatenate([f.samples for f in self._pending])
            mute = np.concatenate([np.full(len(f.samples), f.coach_speaking) for f in self._pending])
            floor = np.concatenate([np.full(len(f.samples), self._floor_index(w))
                                    for f, w in zip(self._pending, self._pending_floor)])
            self._pending, self._pending_floor, self._pending_samples = [], [], 0
            feats = self._fx.push(samples)
            n = len(feats.ceps)
            # Per-sample flags, with the samples left over from the last batch first.
            mute = np.concatenate([self._rest_mute, mute])
            floor = np.concatenate([self._rest_floor, floor])
            used = n * HOP_SAMPLES
            self._rest_mute, self._rest_floor = mute[used:], floor[used:]
            hop_mute = mute[:used].reshape(n, HOP_SAMPLES).any(axis=1)
            hop_floor = floor[:used].reshape(n, HOP_SAMPLES)[:, -1]
            self._q_ceps = np.concatenate([self._q_ceps, feats.ceps])
            self._q_mute = np.concatenate([self._q_mute, hop_mute])
            self._q_floor = np.concatenate([self._q_floor, hop_floor])
            conf = self._scorer.push(feats)
        else:
            conf = np.zeros(0, np.float32)
        if final:
            tail = self._scorer.push(self._fx.push(np.zeros(0, np.float32)), final=True)
            conf = np.concatenate([conf, tail])
        self._step_vad(conf, final)

    def _floor_index(self, who: str | None) -> int:
        return self.names.index(who) if who in self.names else -1

    def _step_vad(self, conf: np.ndarray, final: bool) -> None:
        base = self._conf0
        mute = self._q_mute[base - self._q0: base - self._q0 + len(conf)]
        conf = np.where(mute[:len(conf)], 0.0, conf[:len(mute)]) if len(conf) else conf
        vad = self._vad
        for i, c in enumerate(conf.tolist()):
            h = base + i
            before = vad.state
            span = vad.step(c, h * HOP_S, HOP_S)
            if span is not None:
                self._label(int(round(span.start_s / HOP_S)), int(round(span.end_s / HOP_S)), h + 1)
            elif vad.speaking and before.name in ("QUIET", "STARTING") and vad.open_start_s is not None:
                self._span_start = int(round(vad.open_start_s / HOP_S))
        self._conf0 = base + len(conf)
        if final:
            span = vad.flush()
            if span is not None:
                self._label(int(round(span.start_s / HOP_S)), int(round(span.end_s / HOP_S)), self._conf0)
            else:
                self._label(None, None, self._conf0)
        elif vad.state.name == "QUIET":
            self._label(None, None, self._conf0)
        elif vad.state.name == "SPEAKING":
            self._label(self._span_start, self._conf0, self._conf0, open_span=True)

    def _label(self, a: int | None, b: int | None, upto: int, open_span: bool = False) -> None:
        """Hops [final_upto, upto) are now final: speech in [a, b), silence elsewhere."""
        lo = self._final_upto
        if upto <= lo:
            return
        idx = np.arange(lo, upto)
        speech = np.zeros(len(idx), bool) if a is None else (idx >= a) & (idx < b)
        q = idx - self._q0
        speech &= ~self._q_mute[q]
        out = []
        if speech.any():
            hops = idx[speech]
            out = self._attributor.push(hops, self._q_ceps[q[speech]], self._q_floor[q[speech]])
        if not open_span:
            out += self._attributor.gap(upto)
        self._emit(out)
        self._final_upto = upto
        drop = upto - self._q0
        self._q_ceps, self._q_mute, self._q_floor = self._q_ceps[drop:], self._q_mute[drop:], self._q_floor[drop:]
        self._q0 = upto
        if open_span:
            self._span_start = max(self._span_start or upto, upto)
        self._segments.settle(self._attributor_frontier() * HOP_S)

    def _attributor_frontier(self) -> int:
        pending = self._attributor._idx
        return pending[0] if pending else self._final_upto

    def _emit(self, decided) -> None:
        for hops, labels in decided:
            if not len(hops):
                continue
            # Runs of consecutive hops with one label become (start, end) pieces.
            brk = np.flatnonzero((np.diff(hops) != 1) | (np.diff(labels) != 0)) + 1
            for a, b in zip(np.r_[0, brk], np.r_[brk, len(hops)]):
                lab = int(labels[a])
                who = self.names[lab] if lab != UNSURE and lab < len(self.names) else None
                s, e = hops[a] * HOP_S, (hops[b - 1] + 1) * HOP_S
                self._segments.add(who, s, e)
                self._last_heard[who] = e


@dataclass
class AnalysisResult:
    """What `coach analyze` reports for one recording."""

    duration_s: float
    names: list[str]
    segments: list[Segment] = field(default_factory=list)
    commands: list | None = None

    def talk_s(self) -> dict[str | None, float]:
        out: dict[str | None, float] = {n: 0.0 for n in self.names}
        out[None] = 0.0
        for s in self.segments:
            out[s.speaker] = out.get(s.speaker, 0.0) + s.duration_s
        return out

    def to_json(self) -> dict:
        talk = self.talk_s()
        total = sum(talk[n] for n in self.names)
        speakers = {n: {"talk_s": round(talk[n], 2),
                        "share": round(talk[n] / total, 4) if total > 0 else round(1 / max(1, len(self.names)), 4)}
                    for n in self.names}
        out = {"duration_s": round(self.duration_s, 2), "speakers": speakers,
               "unsure_s": round(talk[None], 2),
               "segments": [{"start_s": round(s.start_s, 2), "end_s": round(s.end_s, 2), "speaker": s.speaker}
                            for s in self.segments]}
        if self.commands is not None:
            out["commands"] = self.commands
        return out


def analyze_file(path, profiles: dict[str, VoiceProfile], progress: bool = False,
                 settings: MeasureSettings | None = None, listeners=()) -> AnalysisResult:
    """Analyse a WAV/FLAC/OGG recording in one streaming pass.

    Args:
        path: the recording.
        profiles: enrolled voices by name.
        progress: show a progress bar on stderr (only when it is a terminal).
        settings: measurement settings.
        listeners: extra objects with ``feed(frame)`` given the same frames (e.g. commands).
    """
    from coach.sources import FileSource

    source = FileSource(Path(path))
    analyzer = Analyzer(profiles, settings=settings)
    bar = _Progress(source.duration_s) if progress and sys.stderr.isatty() else None
    for frame in source.frames():
        analyzer.feed(frame)
        for listener in listeners:
            listener.feed(frame)
        if bar is not None:
            bar.update(frame.end_s)
    segs = analyzer.finish()
    if bar is not None:
        bar.close()
    return AnalysisResult(source.duration_s, analyzer.names, segs)


class _Progress:
    """A plain one-line progress bar on stderr, redrawn at most once per 1 % of the file."""

    def __init__(self, total_s: float):
        self.total_s = max(total_s, 1e-9)
        self._shown = -1

    def update(self, t_s: float) -> None:
        pct = int(100 * min(1.0, t_s / self.total_s))
        if pct != self._shown:
            self._shown = pct
            bar = "#" * (pct // 4)
            sys.stderr.write(f"\ranalysing [{bar:<25}] {pct:3d}%")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\r" + " " * 45 + "\r")
        sys.stderr.flush()
