"""Talk time from segments: union per speaker, minus spoken commands, within each turn's window."""

from __future__ import annotations

from coach.record import Segment, SessionRecord

Span = tuple[float, float]


def union(spans: list[Span]) -> list[Span]:
    """Merge overlapping or touching spans into a sorted, disjoint list."""
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    """``spans`` minus ``holes`` (both disjoint and sorted)."""
    out: list[Span] = []
    holes = union(holes)
    for a, b in spans:
        cur = a
        for h0, h1 in holes:
            if h1 <= cur or h0 >= b:
                continue
            if h0 > cur:
                out.append((cur, h0))
            cur = max(cur, h1)
            if cur >= b:
                break
        if cur < b:
            out.append((cur, b))
    return out


def overlap_s(spans: list[Span], start_s: float, end_s: float) -> float:
    """Seconds of ``spans`` (disjoint) that fall in [start_s, end_s)."""
    return sum(max(0.0, min(b, end_s) - max(a, start_s)) for a, b in spans)


def speaker_spans(segments: list[Segment], name: str | None, holes: list[Span] = ()) -> list[Span]:
    return subtract(union([(s.start_s, s.end_s) for s in segments if s.speaker == name]), list(holes))


def without_spans(segments: list[Segment], holes: list[Span], min_s: float = 0.05) -> list[Segment]:
    """``segments`` with ``holes`` (e.g. spoken commands: nobody's talk) cut out; pieces
    shorter than ``min_s`` are dropped."""
    if not holes:
        return list(segments)
    out = []
    for seg in segments:
        out += [Segment(round(a, 3), round(b, 3), seg.speaker)
                for a, b in subtract([(seg.start_s, seg.end_s)], holes) if b - a >= min_s]
    return out


def talk_by_turn(record: SessionRecord, command_spans: list[Span] = ()) -> None:
    """Set every turn's ``talk_s`` from ``record.segments``; spoken commands count for no one."""
    spans = {name: speaker_spans(record.segments, name, command_spans) for name in record.partners}
    for turn in record.turns:
        turn.talk_s = {name: round(overlap_s(spans[name], turn.start_s, turn.end_s), 3)
                       for name in record.partners}
