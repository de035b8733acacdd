"""Pictures: render the timeline and the weeks view, then check the pixels and the page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from test_metrics import A, B, evening

from coach.errors import CoachError
from coach.history import HistorySummary
from coach.metrics import session_metrics
from coach.report import (INK, PARTNER_COLORS, UNSURE_COLOR, floor_color, write_timeline,
                          write_weeks)
from coach.report_draw import hex_rgb

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pixels_of(image: np.ndarray, color: str) -> int:
    return int(np.all(image == np.array(hex_rgb(color), dtype=np.uint8), axis=-1).sum())


def load(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def summary(sid: str, day: int, share_a: float, **kw) -> HistorySummary:
    return HistorySummary(sid, f"2026-11-{day:02d}T20:00:00+01:00", "gentle", [A, B],
                          talk_s={A: 600 * share_a, B: 600 * (1 - share_a)},
                          share={A: share_a, B: 1 - share_a}, **kw)


def test_timeline_png_shows_each_partner_in_proportion(tmp_path):
    rec = evening(a_talk=300, b_talk=100, unsure_s=20)
    m = session_metrics(rec)
    out = write_timeline(rec, m, tmp_path / "evening.png")
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    img = load(out)
    assert img.shape[1] == 1100 and 300 < img.shape[0] < 600
    a, b = pixels_of(img, PARTNER_COLORS[0]), pixels_of(img, PARTNER_COLORS[1])
    legend_swatch = 18 * 14
    ratio = (a - legend_swatch) / (b - legend_swatch)
    assert ratio == pytest.approx(m.talk_s[A] / m.talk_s[B], rel=0.08)
    assert pixels_of(img, UNSURE_COLOR) > legend_swatch  # the unsure row is drawn
    # Both floors are shaded: most of the shaded area is floor tint, not talk.
    assert pixels_of(img, floor_color(0)) > 10 * legend_swatch
    assert pixels_of(img, floor_color(1)) > 5 * legend_swatch
    assert pixels_of(img, INK) > 200  # title, labels and the coach's prompt markers


def test_timeline_html_is_a_self_contained_page(tmp_path):
    rec = evening()
    rec.feedback = "Alex talked for about 3 minutes & Sam <too>."
    out = write_timeline(rec, session_metrics(rec), tmp_path / "evening.html")
    page = out.read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)=", page)
    assert "&lt;too&gt;" in page
    svg = page[page.index("<svg"): page.index("</svg>") + 6]
    root = ET.fromstring(svg)  # well-formed XML
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert A in texts and B in texts and "coach prompt" in texts
    assert any("Thursday 26 November 2026" in (t or "") for t in texts)


def test_weeks_png_stacks_shares_with_an_even_line(tmp_path):
    rows = [summary("a", 2, 0.5), summary("b", 9, 0.7), summary("c", 16, 0.3, partial=True)]
    out = write_weeks(rows, 4, tmp_path / "weeks.png")
    img = load(out)
    a, b = pixels_of(img, PARTNER_COLORS[0]), pixels_of(img, PARTNER_COLORS[1])
    # Each bar splits the same height by share; averaged shares are exactly 50/50 here.
    assert a == pytest.approx(b, rel=0.05)
    ink_rows = [(img[y] == hex_rgb(INK)).all(axis=-1).sum() for y in range(img.shape[0])]
    assert max(ink_rows) > 400  # the dashed 50 % line runs across the plot


def test_weeks_html_lists_evenings_and_survives_no_data(tmp_path):
    out = write_weeks([summary("a", 2, 0.55), summary("d", 3, 0.5, demo=True)], 4,
                      tmp_path / "weeks.html", note="demo shown")
    page = out.read_text()
    assert "Share of talk per evening, last 4 weeks" in page and "demo shown" in page
    assert page.count("<tr>") == 3
    ET.fromstring(page[page.index("<svg"): page.index("</svg>") + 6])
    empty = write_weeks([], 2, tmp_path / "empty.png")
    assert empty.read_bytes()[:8] == PNG_SIGNATURE


def test_bad_output_names_are_clear_errors(tmp_path):
    rec = evening()
    with pytest.raises(CoachError, match=r"\.png or \.html"):
        write_timeline(rec, session_metrics(rec), tmp_path / "r.jpg")
    with pytest.raises(CoachError, match="does not exist"):
        write_timeline(rec, session_metrics(rec), tmp_path / "nope" / "r.png")
