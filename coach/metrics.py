"""Feedback stage, part one: turn a SessionRecord into talk shares, stretches and listening figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from coach.record import Segment, SessionRecord, TurnRecord

BACKCHANNEL_MAX_S = 1.0
"""Listener speech shorter than this ("mm-hm", "yeah") is a backchannel, not an interruption."""

STRETCH_GAP_S = 1.5
"""Pauses up to this long inside one person's talk do not end a stretch (a breath, a thought)."""

UNSURE_FRACTION_ROUGH = 0.15
"""Above this share of unattributed speech the words say "roughly" instead of "about"."""

REFLECT_MIN_S = 3.0
"""A reflect-back step "happened" when the reflecting partner spoke at least this long in it."""

FLOOR_KINDS = ("speak", "reflect")
"""Steps in which one partner holds the floor and the other listens."""


@dataclass
class TurnMetrics:
    """What happened on one step of the plan.

    Attributes:
        index: position of the step in ``record.turns``.
        kind: the step kind ("speak", "reflect", ...).
        floor: who held the floor, or None.
        listener: the other partner on a floor step, else None.
        duration_s: wall length of the step on audio time.
        talk_s: seconds each partner talked in the step (as the session measured it).
        listener_talk_s: seconds the listener spoke (backchannels + interruptions).
        backchannel_s / backchannels: listener speech shorter than ``BACKCHANNEL_MAX_S``.
        interruption_s / interruptions: longer listener speech, i.e. taking the floor.
        longest_stretch_s: the floor holder's longest uninterrupted stretch, seconds.
        reply_pause_s: silence between the coach's prompt and the floor holder's first word.
        unsure_s: speech in the step nobody could be sure of.
        reflected: for "reflect" steps, whether the reflect-back happened; else None.
    """

    index: int
    kind: str
    floor: str | None
    listener: str | None
    duration_s: float
    talk_s: dict[str, float]
    listener_talk_s: float = 0.0
    backchannel_s: float = 0.0
    backchannels: int = 0
    interruption_s: float = 0.0
    interruptions: int = 0
    longest_stretch_s: float = 0.0
    reply_pause_s: float | None = None
    unsure_s: float = 0.0
    reflected: bool | None = None


@dataclass
class SessionMetrics:
    """Session-wide figures: shares and stretches first, counts only where they are robust.

    Attributes:
        partners: the two names, floor order.
        talk_s: seconds each partner talked.
        share: each partner's fraction of all talk; adds up to 1.
        unsure_s: speech no-one could be attributed to.
        unsure_fraction: ``unsure_s`` over all speech.
        rough: True when the figures are unsure enough to say "roughly".
        longest_stretch_s: each partner's longest uninterrupted stretch, any step.
        interruptions_by: times each partner, as listener, took over the other's floor.
        backchannel_s_by: seconds of backchannel each partner gave as listener.
        let_finish: per partner, True when they listened on at least one floor
            and never interrupted it.
        reply_pause_s: median pause before a reply on floor steps, or None.
        reflect_steps: number of reflect steps; ``reflects_done``: how many happened.
        turns: per-step figures.
    """

    partners: list[str]
    talk_s: dict[str, float]
    share: dict[str, float]
    unsure_s: float = 0.0
    unsure_fraction: float = 0.0
    rough: bool = False
    longest_stretch_s: dict[str, float] = field(default_factory=dict)
    interruptions_by: dict[str, int] = field(default_factory=dict)
    backchannel_s_by: dict[str, float] = field(default_factory=dict)
    let_finish: dict[str, bool] = field(default_factory=dict)
    reply_pause_s: float | None = None
    reflect_steps: int = 0
    reflects_done: int = 0
    turns: list[TurnMetrics] = field(default_factory=list)

    @property
    def imbalance(self) -> float:
        """Distance from an even split: 0 = even, 0.5 = one person did all the talking."""
        if not self.share:
            return 0.0
        return abs(max(self.share.values()) - 0.5)

    def to_json(self) -> dict:
        """A plain, rounded dict for ``--json`` output and the history database."""
        def rounded(value):
            if isinstance(value, float):
                return round(value, 3)
            if isinstance(value, dict):
                return {k: rounded(v) for k, v in value.items()}
            if isinstance(value, list):
                return [rounded(v) for v in value]
            return value
        data = rounded(asdict(self))
        if self.partners:  # rounded shares must still add up to exactly 1
            *first, last = self.partners
            data["share"][last] = round(1 - sum(data["share"][p] for p in first), 3)
        data["imbalance"] = round(self.imbalance, 4)
        return data

    @classmethod
    def from_json(cls, data: dict) -> SessionMetrics:
        """Rebuild from :meth:`to_json` output (ignores derived keys)."""
        data = dict(data)
        data.pop("imbalance", None)
        turns = [TurnMetrics(**t) for t in data.pop("turns", [])]
        return cls(**data, turns=turns)


def _clip(segments: list[Segment], start_s: float, end_s: float) -> list[Segment]:
    """Segments cut to the window [start_s, end_s], empty ones dropped, in time order."""
    out = []
    for seg in segments:
        lo, hi = max(seg.start_s, start_s), min(seg.end_s, end_s)
        if hi > lo:
            out.append(Segment(lo, hi, seg.speaker))
    return sorted(out, key=lambda s: s.start_s)


def _stretches(own: list[Segment], breaks: list[Segment]) -> list[float]:
    """Lengths of runs of ``own`` speech joined across short pauses not crossed by a ``break``."""
    runs: list[list[float]] = []
    for seg in own:
        if runs:
            last = runs[-1]
            gap_ok = seg.start_s - last[1] <= STRETCH_GAP_S
            # A real interruption starting in the pause (or during the run) ends the stretch.
            broken = any(last[0] < b.start_s < seg.start_s for b in breaks)
            if gap_ok and not broken:
                last[1] = max(last[1], seg.end_s)
                continue
        runs.append([seg.start_s, seg.end_s])
    return [hi - lo for lo, hi in runs]


def _turn_metrics(index: int, turn: TurnRecord, record: SessionRecord) -> TurnMetrics:
    segs = _clip(record.segments, turn.start_s, turn.end_s)
    floor = turn.floor if turn.kind in FLOOR_KINDS else None
    listener = next((p for p in record.partners if p != floor), None) if floor else None
    tm = TurnMetrics(index=index, kind=turn.kind, floor=floor, listener=listener,
                     duration_s=max(0.0, turn.end_s - turn.start_s), talk_s=dict(turn.talk_s))
    tm.unsure_s = sum(s.duration_s for s in segs if s.speaker is None)
    if floor is None:
        return tm
    own = [s for s in segs if s.speaker == floor]
    heard = [s for s in segs if s.speaker == listener]
    short = [s for s in heard if s.duration_s < BACKCHANNEL_MAX_S]
    long_ = [s for s in heard if s.duration_s >= BACKCHANNEL_MAX_S]
    tm.listener_talk_s = sum(s.duration_s for s in heard)
    tm.backchannel_s, tm.backchannels = sum(s.duration_s for s in short), len(short)
    tm.interruption_s, tm.interruptions = sum(s.duration_s for s in long_), len(long_)
    tm.longest_stretch_s = max(_stretches(own, long_), default=0.0)
    if own:
        first = own[0].start_s
        # The prompt that opened the floor is the last thing the coach said before the reply.
        said = [u for u in record.spoken if turn.start_s <= u.t_s < first]
        prompt_end = max((u.t_s + u.duration_s for u in said), default=turn.start_s)
        tm.reply_pause_s = max(0.0, first - min(prompt_end, first))
    if turn.kind == "reflect":
        tm.reflected = turn.talk_s.get(floor, sum(s.duration_s for s in own)) >= REFLECT_MIN_S
    return tm


def session_metrics(record: SessionRecord) -> SessionMetrics:
    """Measure a session: shares, stretches, listening on each floor, reflect-backs.

    Args:
        record: the finished (or interrupted) session.

    Returns:
        The figures feedback and history use; ``share`` adds up to 1.
    """
    talk = record.talk_totals()
    share = record.shares()
    turns = [_turn_metrics(i, t, record) for i, t in enumerate(record.turns)]
    unsure = sum(s.duration_s for s in record.segments if s.speaker is None)
    speech = unsure + sum(s.duration_s for s in record.segments if s.speaker is not None)
    longest = {p: 0.0 for p in record.partners}
    for tm in turns:
        if tm.floor in longest:
            longest[tm.floor] = max(longest[tm.floor], tm.longest_stretch_s)
    # Outside floor steps (free talk), a stretch is broken by the other's real speech.
    for turn, tm in zip(record.turns, turns):
        if tm.floor is not None:
            continue
        segs = _clip(record.segments, turn.start_s, turn.end_s)
        for p in record.partners:
            own = [s for s in segs if s.speaker == p]
            others = [s for s in segs if s.speaker not in (p, None)
                      and s.duration_s >= BACKCHANNEL_MAX_S]
            longest[p] = max([longest[p], *_stretches(own, others)])
    floors = [tm for tm in turns if tm.floor is not None]
    interruptions = {p: sum(tm.interruptions for tm in floors if tm.listener == p)
                     for p in record.partners}
    listened = {p: any(tm.listener == p for tm in floors) for p in record.partners}
    pauses = sorted(tm.reply_pause_s for tm in floors if tm.reply_pause_s is not None)
    reflects = [tm for tm in turns if tm.kind == "reflect"]
    fraction = unsure / speech if speech > 0 else 0.0
    return SessionMetrics(
        partners=list(record.partners), talk_s=talk, share=share,
        unsure_s=unsure, unsure_fraction=fraction, rough=fraction > UNSURE_FRACTION_ROUGH,
        longest_stretch_s=longest, interruptions_by=interruptions,
        backchannel_s_by={p: sum(tm.backchannel_s for tm in floors if tm.listener == p)
                          for p in record.partners},
        let_finish={p: listened[p] and interruptions[p] == 0 for p in record.partners},
        reply_pause_s=pauses[len(pauses) // 2] if pauses else None,
        reflect_steps=len(reflects), reflects_done=sum(bool(tm.reflected) for tm in reflects),
        turns=turns,
    )
