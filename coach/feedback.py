"""Feedback stage, part two: the kind closing words, said aloud and printed, the same for both partners."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from coach.history import HistorySummary, parse_time
from coach.metrics import SessionMetrics
from coach.record import SessionRecord

EVEN_WITHIN = 0.07
"""A share within 7 points of 50 % is "nicely even" (57/43 still feels even over an evening)."""

CLOSE_WITHIN = 0.15
"""Up to 65/35 is "close to even"; beyond that the words gently name who had more room."""

FINE_APART_S = 10.0
"""Two talk times at least this far apart are never spoken as the same amount: when the
rough wording would say both alike, they are said to the nearest 5 seconds."""

TREND_STEP = 0.05
"""A change in balance smaller than 5 points is "about as even", not better or worse."""

QUIET_EVENING_S = 20.0
"""Less talk than this in total and the figures mean little; the words say so kindly."""

LONG_STRETCH_S = 20.0
"""A stretch worth mentioning: someone had room to say a whole thing."""


def _seed(session_id: str) -> int:
    """A stable number from the session id, so phrasing varies between evenings but not between runs."""
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:4], "big")


def _amount(seconds: float, rough: bool) -> str:
    """Spoken length: "about 6 minutes", "roughly a minute", "about 40 seconds"."""
    q = "roughly" if rough else "about"
    if seconds < 8:
        return "only a few seconds"
    if seconds < 50:
        return f"{q} {int(5 * round(seconds / 5))} seconds"
    if seconds < 75:
        return f"{q} a minute"
    if seconds < 105:
        return f"{q} a minute and a half"
    if seconds >= 600:
        return f"{q} {int(seconds / 60 + 0.5)} minutes"
    halves = int(seconds / 30 + 0.5)  # half minutes below ten: 150 s and 170 s should not both be "3"
    whole, half = divmod(halves, 2)
    return f"{q} {whole} and a half minutes" if half else f"{q} {whole} minutes"


def _fine_amount(seconds: float, rough: bool) -> str:
    """Spoken length to the nearest 5 seconds below ten minutes: "about a minute and 40
    seconds"; for two amounts that ``_amount`` would say the same."""
    if seconds < 50 or seconds >= 600:
        return _amount(seconds, rough)
    q = "roughly" if rough else "about"
    whole, rest = divmod(int(5 * round(seconds / 5)), 60)
    if whole == 0:
        return f"{q} {rest} seconds"
    mins = "a minute" if whole == 1 else f"{whole} minutes"
    return f"{q} {mins}" + (f" and {rest} seconds" if rest else "")


def _balance(record: SessionRecord, m: SessionMetrics) -> str:
    a, b = m.partners[:2]
    ta, tb = m.talk_s[a], m.talk_s[b]
    said_a, said_b = _amount(ta, m.rough), _amount(tb, m.rough)
    if said_a == said_b and abs(ta - tb) >= FINE_APART_S:  # 1:38 and 1:15: not both "a minute and a half"
        said_a, said_b = _fine_amount(ta, m.rough), _fine_amount(tb, m.rough)
    said = f"{a} talked for {said_a} and {b} for {said_b}"
    gap = m.imbalance
    if gap <= EVEN_WITHIN:
        return f"{said}: nicely even tonight."
    if gap <= CLOSE_WITHIN:
        return f"{said}: close to even."
    more = max(m.partners, key=lambda p: m.share[p])
    return (f"{said}, so {more} had more of the room tonight; "
            "over an evening, roughly even is what we aim for.")


def _stretch(m: SessionMetrics) -> str | None:
    longest = m.longest_stretch_s
    top = max(longest.values(), default=0.0)
    if top < LONG_STRETCH_S:
        return None
    if all(v >= 0.7 * top for v in longest.values()):
        return f"You each had room to say a whole thing, up to {_amount(top, m.rough)} in one go."
    who = max(longest, key=longest.get)
    return f"{who} had room to speak for {_amount(top, m.rough)} in one go."


def _listening(m: SessionMetrics, seed: int) -> str | None:
    a, b = m.partners[:2]
    praise = ["that's deep listening", "that is what listening looks like"][seed % 2]
    if m.let_finish.get(a) and m.let_finish.get(b):
        return f"You both let each other finish every time; {praise}."
    for listener, speaker in ((a, b), (b, a)):
        if m.let_finish.get(listener):
            if m.backchannel_s_by.get(listener, 0.0) > 0:
                return (f"{listener} let {speaker} finish every time, with just a quiet "
                        f"mm-hm here and there; {praise}.")
            return f"{listener} let {speaker} finish every time; {praise}."
    return None


def _reflects(m: SessionMetrics) -> str | None:
    if m.reflect_steps and m.reflects_done == m.reflect_steps:
        if m.reflect_steps == 1:
            return "The reflect-back happened, and that is where being heard starts."
        return "Every reflect-back happened: each of you heard your own words come back."
    return None


def _trend(record: SessionRecord, m: SessionMetrics, earlier: list[HistorySummary]) -> str | None:
    now = parse_time(record.started_at)
    past = [s for s in earlier if not s.demo and s.session_id != record.session_id
            and s.share and parse_time(s.started_at) < now]
    if not past:
        return None
    week_ago = [s for s in past if timedelta(days=5) <= now - s.started <= timedelta(days=10)]
    ref, name = (week_ago[0], "last week") if week_ago else (past[0], "last time")
    change = ref.imbalance - m.imbalance
    if change >= TREND_STEP:
        return f"That's more even than {name}."
    if change <= -TREND_STEP:
        return f"A little less even than {name}; evenings differ, and that's fine."
    if m.imbalance <= CLOSE_WITHIN:
        return f"About as even as {name}: a steady habit."
    return None


def _suggestion(m: SessionMetrics, seed: int) -> str:
    """One small thing for next time, from the three practices."""
    if any(m.interruptions_by.values()):
        return ("Next time, try letting whoever holds the floor reach the very end before "
                "anyone answers; the listener's quiet is the gift.")
    if m.reflect_steps and m.reflects_done < m.reflect_steps:
        return "Next time, try saying back in your own words what you heard, before you reply."
    if m.imbalance > CLOSE_WITHIN:
        quieter = min(m.partners, key=lambda p: m.share[p])
        return f"Next time, {quieter}, you might open with one real feeling from your week."
    return [
        "Next time, try asking a question that has nothing to do with the week's logistics.",
        "Next time, try sharing one real feeling, even a small one, before anything practical.",
    ][seed % 2]


def compose_feedback(record: SessionRecord, metrics: SessionMetrics,
                     earlier: list[HistorySummary]) -> str:
    """The closing words: a few short, kind sentences for speech and print.

    Leads with shares and stretches (talk volume is measured reliably; turn counts are
    not), praises good listening by name, notes trends against earlier real evenings,
    and ends with one small suggestion. Says "roughly" when the measurement was unsure.

    Args:
        record: the session that just ended (or was stopped).
        metrics: ``session_metrics(record)``.
        earlier: previous non-demo sessions, newest first (demo ones are ignored anyway).

    Returns:
        The words, one paragraph; deterministic for the same inputs.
    """
    seed = _seed(record.session_id)
    parts: list[str | None] = []
    if record.partial:
        parts.append("We stopped early tonight, and what you shared still counts.")
    if len(metrics.partners) < 2 or sum(metrics.talk_s.values()) < QUIET_EVENING_S:
        parts.append("It was a quiet one tonight; sometimes just sitting together is the point.")
        parts.append("Next time, try asking each other one question that isn't about logistics.")
        return " ".join(p for p in parts if p)
    parts.append(_balance(record, metrics))
    if metrics.rough:
        parts.append("It was hard to hear everything clearly, so take these as rough figures.")
    parts += [_stretch(metrics), _listening(metrics, seed), _reflects(metrics),
              _trend(record, metrics, earlier), _suggestion(metrics, seed), "Thank you both."]
    return " ".join(p for p in parts if p)
