"""What a session produced: segments of talk, turns, what the coach said. Plain data, JSON-ready."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Segment:
    """A stretch of speech on audio time.

    Attributes:
        start_s: start, seconds since the source began.
        end_s: end, seconds.
        speaker: the enrolled name, or None where unsure who spoke.
    """

    start_s: float
    end_s: float
    speaker: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class TurnRecord:
    """One step of the plan as it ran.

    Attributes:
        kind: "welcome", "enroll", "speak", "reflect", "free" or "closing".
        floor: who held the floor (a partner's name) or None for both/none.
        start_s: audio time the step began.
        end_s: audio time it ended.
        talk_s: seconds each partner talked within the step.
        prompt: what the coach said to open it.
        question: the question drawn from the bank, if any.
        planned_s: the time the plan allowed.
        ended_by: "time", "silence", "next", "stop", "end_of_input" or "done".
    """

    kind: str
    floor: str | None
    start_s: float
    end_s: float
    talk_s: dict[str, float] = field(default_factory=dict)
    prompt: str = ""
    question: str | None = None
    planned_s: float = 0.0
    ended_by: str = "done"


@dataclass(frozen=True)
class Utterance:
    """Something the coach said (or chimed), at audio time ``t_s``."""

    t_s: float
    text: str
    duration_s: float = 0.0


@dataclass
class SessionRecord:
    """Everything measured in one session, the input to feedback and history.

    Attributes:
        session_id: unique id (time-based, sortable).
        plan: the plan's name.
        started_at: ISO 8601 local time with offset.
        partners: the two names, floor order.
        turns: every step that ran, the one cut short included.
        segments: attributed speech segments over the whole session.
        spoken: the coach's prompts in order.
        duration_s: audio time the session ran.
        demo: True for `coach demo` and bundled recordings.
        partial: True when it was stopped (Ctrl-C, stop, end of input) before the plan ended.
        feedback: the words said at the end.
    """

    session_id: str
    plan: str
    started_at: str
    partners: list[str]
    turns: list[TurnRecord] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    spoken: list[Utterance] = field(default_factory=list)
    duration_s: float = 0.0
    demo: bool = False
    partial: bool = False
    feedback: str = ""

    def talk_totals(self) -> dict[str, float]:
        """Seconds each partner talked, summed over turns."""
        totals = {name: 0.0 for name in self.partners}
        for turn in self.turns:
            for name, secs in turn.talk_s.items():
                totals[name] = totals.get(name, 0.0) + secs
        return totals

    def shares(self) -> dict[str, float]:
        """Fraction of all talk per partner; they add up to 1 (an even split when nobody talked)."""
        totals = self.talk_totals()
        whole = sum(totals.values())
        if whole <= 0:
            return {name: 1 / len(totals) for name in totals}
        return {name: secs / whole for name, secs in totals.items()}

    def to_json(self) -> dict:
        """The `--json` object of `coach start` / `coach demo`."""
        totals, shares = self.talk_totals(), self.shares()
        shares = {n: round(v, 4) for n, v in shares.items()}
        shares[self.partners[-1]] = round(1 - sum(shares[n] for n in self.partners[:-1]), 4)
        return {
            "session_id": self.session_id,
            "plan": self.plan,
            "started_at": self.started_at,
            "partial": self.partial,
            "demo": self.demo,
            "duration_s": round(self.duration_s, 2),
            "partners": {n: {"talk_s": round(totals[n], 2), "share": shares[n]}
                         for n in self.partners},
            "turns": [{"kind": t.kind, "floor": t.floor, "start_s": round(t.start_s, 2),
                       "end_s": round(t.end_s, 2), "ended_by": t.ended_by,
                       "talk_s": {n: round(v, 2) for n, v in t.talk_s.items()}}
                      for t in self.turns],
            "spoken": [u.text for u in self.spoken],
            "feedback": self.feedback,
        }

    def as_dict(self) -> dict:
        """A full plain-dict copy (for storage)."""
        return asdict(self)
