"""Report stage: pictures of one evening (timeline) and of the weeks (share per evening), as PNG or HTML."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from coach.errors import CoachError
from coach.history import HistorySummary, parse_time
from coach.metrics import FLOOR_KINDS, SessionMetrics
from coach.record import SessionRecord
from coach.report_draw import Canvas, mix

PARTNER_COLORS = ("#d9735a", "#3f8fa6")
"""Terracotta for the first partner, teal for the second: distinct for common colour blindness."""
UNSURE_COLOR = "#b8b2ab"
INK, MUTED, GRID, PAPER = "#3a3632", "#8a827a", "#ece6df", "#fffdf9"
FLOOR_TINT = 0.16
"""How strongly a floor is shaded in its holder's colour (0 = paper, 1 = full colour)."""

WIDTH_PX = 1100
LEFT_PX, RIGHT_PX = 112, 36


def partner_color(index: int) -> str:
    return PARTNER_COLORS[index % len(PARTNER_COLORS)]


def floor_color(index: int) -> str:
    return mix(partner_color(index), PAPER, FLOOR_TINT)


def _pct(share: dict[str, float], partners: list[str]) -> dict[str, int]:
    """Whole percentages that add up to 100."""
    out = {p: round(100 * share.get(p, 0.0)) for p in partners[:-1]}
    out[partners[-1]] = 100 - sum(out.values())
    return out


def _tick_step(span: float, most: int = 12) -> float:
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60):
        if span / step <= most:
            return step
    return 120


def _legend(c: Canvas, x: float, y: float, entries: list[tuple[str, str, str]]) -> None:
    """Swatches left to right; each entry is (shape, colour, label), shape "box"/"tri"/"dot"."""
    for shape, color, label in entries:
        if shape == "box":
            c.rect(x, y - 7, x + 18, y + 7, color)
        elif shape == "tri":
            c.polygon([(x + 3, y - 6), (x + 15, y - 6), (x + 9, y + 5)], color)
        else:
            c.circle(x + 9, y, 4, color)
        c.text(x + 24, y, label, 12, INK, "lm")
        x += 24 + 7.5 * len(label) + 22


def timeline_canvas(record: SessionRecord, metrics: SessionMetrics) -> Canvas:
    """One evening: who spoke when, a row and colour per partner, floors shaded, prompts marked.

    Args:
        record: the session (segments, turns, what the coach said).
        metrics: its figures (for the shares in the title).
    """
    partners = list(record.partners)
    unsure = [s for s in record.segments if s.speaker is None]
    rows = partners + (["unsure"] if unsure else [])
    row_h, gap = 46, 10
    top = 116  # below title, subtitle and the floor-label strip
    coach_y = top - 16
    rows_top = top + 8
    rows_bottom = rows_top + len(rows) * (row_h + gap) - gap
    height = rows_bottom + 118
    started = parse_time(record.started_at)
    pct = _pct(metrics.share, partners)
    title = (f"{started:%A %-d %B %Y}, {started:%H:%M}  ·  "
             + "  ·  ".join(f"{p} {pct[p]} %" for p in partners))
    c = Canvas(WIDTH_PX, height, PAPER, title)
    end_s = max([record.duration_s, *(t.end_s for t in record.turns),
                 *(s.end_s for s in record.segments), 1.0])
    plot_w = WIDTH_PX - LEFT_PX - RIGHT_PX

    def x(t: float) -> float:
        return LEFT_PX + plot_w * min(max(t, 0.0), end_s) / end_s

    c.text(LEFT_PX, 14, title, 20, INK, "la", bold=True)
    notes = [f"plan “{record.plan}”", f"{end_s / 60:.0f} min"]
    if record.partial:
        notes.append("stopped early")
    if record.demo:
        notes.append("demo")
    if metrics.rough:
        notes.append("rough figures: much of the speech was hard to attribute")
    c.text(LEFT_PX, 44, "  ·  ".join(notes), 13, MUTED, "la")
    for turn in record.turns:
        if turn.kind in FLOOR_KINDS and turn.floor in partners:
            i = partners.index(turn.floor)
            c.rect(x(turn.start_s), rows_top - 5, x(turn.end_s), rows_bottom + 5, floor_color(i))
            label = f"{turn.floor} {'speaks' if turn.kind == 'speak' else 'reflects'}"
            if x(turn.end_s) - x(turn.start_s) > 7 * len(label) + 8:
                c.text(x(turn.start_s) + 5, rows_top - 56, label, 11,
                       mix(partner_color(i), INK, 0.6), "la")
    for turn in record.turns:  # a paper-thin gap where one floor hands over to the next
        if turn.kind in FLOOR_KINDS and turn.start_s > 0:
            c.line(x(turn.start_s), rows_top - 5, x(turn.start_s), rows_bottom + 5, PAPER, 2)
    step = _tick_step(end_s / 60)
    minute = 0.0
    while minute * 60 <= end_s + 1e-6:  # grid over the shading, under the talk
        c.line(x(minute * 60), coach_y - 8, x(minute * 60), rows_bottom + 6, GRID)
        c.text(x(minute * 60), rows_bottom + 14, f"{minute:g}", 12, MUTED, "ma")
        minute += step
    c.text(WIDTH_PX - RIGHT_PX, rows_bottom + 34, "minutes", 12, MUTED, "ra")
    c.text(LEFT_PX - 12, coach_y, "coach", 12, MUTED, "rm")
    c.line(LEFT_PX, coach_y, WIDTH_PX - RIGHT_PX, coach_y, GRID)
    for u in record.spoken:
        if u.text.startswith("[chime"):
            c.circle(x(u.t_s), coach_y, 3, MUTED)
        else:
            px = x(u.t_s)
            c.polygon([(px - 5, coach_y - 7), (px + 5, coach_y - 7), (px, coach_y + 5)], INK)
    for r, name in enumerate(rows):
        y0 = rows_top + r * (row_h + gap)
        color = UNSURE_COLOR if name == "unsure" else partner_color(r)
        c.text(LEFT_PX - 12, y0 + row_h / 2, name, 14, INK if name != "unsure" else MUTED,
               "rm", bold=name != "unsure")
        speaker = None if name == "unsure" else name
        for seg in record.segments:
            if seg.speaker == speaker:
                # At least 1.5 px wide, so a half-second "mm-hm" still shows on a long evening.
                x0 = x(seg.start_s)
                c.rect(x0, y0 + 6, max(x(seg.end_s), x0 + 1.5), y0 + row_h - 6, color)
    entries = [("box", partner_color(i), p) for i, p in enumerate(partners)]
    if unsure:
        entries.append(("box", UNSURE_COLOR, "unsure who"))
    entries += [("box", floor_color(i), f"{p}'s floor") for i, p in enumerate(partners)]
    entries += [("tri", INK, "coach prompt"), ("dot", MUTED, "chime")]
    _legend(c, LEFT_PX, height - 34, entries)
    return c


def weeks_canvas(summaries: list[HistorySummary], weeks: int) -> Canvas:
    """Share of talk per evening over the weeks: a stacked bar per session and a 50 % line.

    Args:
        summaries: the sessions to show (any order; drawn oldest to newest).
        weeks: how many weeks the picture covers (for the title).
    """
    sessions = sorted((s for s in summaries if s.partners), key=lambda s: s.started)
    height, top, bottom = 470, 96, 360
    span = "last week" if weeks == 1 else f"last {weeks} weeks"
    title = f"Share of talk per evening, {span}"
    c = Canvas(WIDTH_PX, height, PAPER, title)
    c.text(LEFT_PX, 14, title, 20, INK, "la", bold=True)
    plot_w = WIDTH_PX - LEFT_PX - RIGHT_PX
    names = sessions[-1].partners if sessions else ["", ""]
    if sessions:
        mean = {p: sum(s.share.get(p, 0) for s in sessions if p in s.share) / len(sessions)
                for p in names}
        pct = _pct(mean, names)
        evenings = "evening" if len(sessions) == 1 else "evenings"
        c.text(LEFT_PX, 44, f"{len(sessions)} {evenings}; on average "
               + "  ·  ".join(f"{p} {pct[p]} %" for p in names), 13, MUTED, "la")
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        y = bottom - (bottom - top) * frac
        c.line(LEFT_PX, y, WIDTH_PX - RIGHT_PX, y, GRID)
        c.text(LEFT_PX - 10, y, f"{round(frac * 100)} %", 12, MUTED, "rm")
    if not sessions:
        c.text(LEFT_PX + plot_w / 2, (top + bottom) / 2, f"No evenings in the {span} yet.",
               16, MUTED, "mm")
    slot = plot_w / max(len(sessions), 1)
    bar_w = min(56.0, slot * 0.7)
    for k, s in enumerate(sessions):
        cx = LEFT_PX + slot * (k + 0.5)
        y = bottom
        for i, p in enumerate(s.partners):
            h = (bottom - top) * s.share.get(p, 0.0)
            c.rect(cx - bar_w / 2, y - h, cx + bar_w / 2, y, partner_color(i))
            if h > 22 and bar_w > 26:
                c.text(cx, y - h / 2, f"{round(100 * s.share.get(p, 0))}", 11, "#ffffff", "mm")
            y -= h
        if slot > 46 or k % max(1, round(46 / slot)) == 0:
            c.text(cx, bottom + 10, f"{s.started:%a}", 11, MUTED, "ma")
            c.text(cx, bottom + 26, f"{s.started:%-d %b}", 11, MUTED, "ma")
        if s.partial or s.demo:
            c.text(cx, bottom + 42, "demo" if s.demo else "partial", 10, MUTED, "ma")
    c.line(LEFT_PX, (top + bottom) / 2, WIDTH_PX - RIGHT_PX, (top + bottom) / 2, INK, 2, dash=6)
    c.text(WIDTH_PX - RIGHT_PX, top - 10, "50 % line = even", 12, MUTED, "rs")
    _legend(c, LEFT_PX, height - 30, [("box", partner_color(i), p) for i, p in enumerate(names)
                                      if p])
    return c


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, "DejaVu Sans", sans-serif; background: {paper}; color: {ink};
       max-width: 1140px; margin: 2em auto; padding: 0 1em; line-height: 1.5; }}
svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ padding: .25em .9em; border-bottom: 1px solid {grid}; text-align: left; }}
.muted {{ color: {muted}; }}
</style></head>
<body>
<h1>{title}</h1>
{body}
<p class="muted">Made by coach on this computer; nothing here was sent anywhere.</p>
</body></html>
"""


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=escape(title), body=body, paper=PAPER, ink=INK, grid=GRID, muted=MUTED)


def _write(out: Path, canvas: Canvas, html_body: str, page_title: str) -> Path:
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".html", ".htm"):
        raise CoachError(f"cannot write a report to {out}: the name must end in .png or .html")
    if not out.parent.exists():
        raise CoachError(f"cannot write a report to {out}: the folder {out.parent} does not exist")
    # The picture shows private evenings: readable by the user alone, like the database.
    os.close(os.open(out, os.O_CREAT | os.O_WRONLY, 0o600))
    if suffix == ".png":
        canvas.to_png(out)
    else:
        out.write_text(_page(page_title, html_body), encoding="utf-8")
    return out


def write_timeline(record: SessionRecord, metrics: SessionMetrics, out: Path) -> Path:
    """Write the timeline of one evening to ``out`` (.png, or .html with inline SVG and the words)."""
    canvas = timeline_canvas(record, metrics)
    pct = _pct(metrics.share, record.partners)
    rows = "".join(f"<tr><td>{escape(p)}</td><td>{metrics.talk_s[p] / 60:.1f} min</td>"
                   f"<td>{pct[p]} %</td><td>{metrics.longest_stretch_s.get(p, 0) / 60:.1f} min</td></tr>"
                   for p in record.partners)
    body = (canvas.to_svg()
            + "<table><tr><th>partner</th><th>talk</th><th>share</th><th>longest stretch</th></tr>"
            + rows + "</table>"
            + (f"<p>{escape(record.feedback)}</p>" if record.feedback else ""))
    return _write(out, canvas, body, canvas.title)


def write_weeks(summaries: list[HistorySummary], weeks: int, out: Path, note: str = "") -> Path:
    """Write the weeks picture to ``out`` (.png, or .html with inline SVG and a table)."""
    canvas = weeks_canvas(summaries, weeks)
    rows = []
    for s in sorted(summaries, key=lambda s: s.started, reverse=True):
        pct = _pct(s.share, s.partners) if s.partners else {}
        flags = ", ".join(f for f, on in (("partial", s.partial), ("demo", s.demo)) if on)
        rows.append(f"<tr><td>{s.started:%a %-d %b %Y %H:%M}</td><td>{escape(s.plan)}</td><td>"
                    + " · ".join(f"{escape(p)} {s.talk_s.get(p, 0) / 60:.1f} min ({pct[p]} %)"
                                 for p in s.partners)
                    + f"</td><td>{flags}</td></tr>")
    body = (canvas.to_svg() + (f'<p class="muted">{escape(note)}</p>' if note else "")
            + "<table><tr><th>evening</th><th>plan</th><th>talk</th><th></th></tr>"
            + "".join(rows) + "</table>")
    return _write(out, canvas, body, canvas.title)
