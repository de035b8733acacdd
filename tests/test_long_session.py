"""A long evening (over two hours of audio) on a synthetic source: memory stays flat and
every turn ends within 50 ms of its planned audio time."""

from __future__ import annotations

import os

import pytest
from test_session import listen_start, make_session, settings, voice  # noqa: F401

from coach.plans import load_plan
from coach.sources import SyntheticSource

LONG = """
name = "long-evening"
description = "two rounds of long turns and an hour of free talk"
[[step]]
kind = "welcome"
say = "Hello {a} and {b}. A long one tonight."
[[step]]
kind = "round"
speak_s = 1200
reflect_s = 600
speak = "{speaker}, you have the floor."
reflect = "{listener}, tell {speaker} what you heard."
[[step]]
kind = "free"
duration_s = 3600
say = "An hour of free talk."
[[step]]
kind = "closing"
say = "Thank you both."
"""


class LevelAnalyzer:
    """A light stand-in for the analyzer: the real one costs ~14 ms per second of audio, so two
    hours of it would take minutes; this test is about the session's own memory and clock.
    It keeps a fixed-size state, as the real analyzer promises to (bounded by its lag)."""

    speaking = False

    def __init__(self):
        self.frames = 0

    def feed(self, frame, floor=None):
        self.frames += 1

    def set_profiles(self, profiles):
        pass

    def last_heard_s(self, name=None):
        return None

    def live_talk_s(self):
        return {}

    def segments(self):
        return []

    def finish(self):
        return []


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc for RSS")
def test_two_hours_keep_memory_flat_and_the_clock_exact(voice, tmp_path):
    path = tmp_path / "long.toml"
    path.write_text(LONG)
    plan = load_plan(str(path))
    marks: dict[int, float] = {}
    session, view = make_session(SyntheticSource(duration_s=4 * 3600, seed=1), voice, plan=plan,
                                 cfg=settings(silence_end_s=0.0), analyzer=LevelAnalyzer())

    def tick(s):
        minute = int(s.now_s // 60)
        if minute in (20, 120) and minute not in marks:
            marks[minute] = rss_mb()

    view.tick = tick
    record = session.run()
    assert record.duration_s > 2 * 3600 and record.partial is False
    assert marks[120] - marks[20] < 30, marks
    timed = [t for t in record.turns if t.kind in ("speak", "reflect", "free")]
    assert [t.planned_s for t in timed] == [1200, 600, 1200, 600, 3600]
    for t in timed:
        assert t.ended_by == "time"
        assert t.end_s - listen_start(record, t) == pytest.approx(t.planned_s, abs=0.05)
    # Every frame up to the closing was measured, none twice (the closing words are not).
    assert session.analyzer.frames == pytest.approx(record.turns[-1].start_s / 0.02, abs=1)
