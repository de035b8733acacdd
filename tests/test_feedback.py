"""The closing words: kind, specific, shares first, one suggestion, trends from real evenings only."""

from __future__ import annotations

import re

from test_metrics import A, B, evening  # the test folder is on sys.path (pytest rootdir-less import)

from coach.feedback import compose_feedback
from coach.history import HistorySummary
from coach.metrics import session_metrics

SCOLDING = re.compile(r"\b(too much|should have|failed|bad|wrong|stop talking|dominat)", re.I)


def words(record, earlier=()):
    return compose_feedback(record, session_metrics(record), list(earlier))


def past(session_id: str, started_at: str, share_a: float, demo: bool = False) -> HistorySummary:
    return HistorySummary(session_id, started_at, "gentle", [A, B],
                          talk_s={A: 600 * share_a, B: 600 * (1 - share_a)},
                          share={A: share_a, B: 1 - share_a}, demo=demo)


def test_even_evening_leads_with_shares_and_praises_listening_by_name():
    text = words(evening(a_talk=150, b_talk=130))
    first = text.split(". ")[0]
    assert first.startswith("Alex talked for about 3 minutes and Sam for about 2 and a half minutes")
    assert "nicely even" in text
    assert "You both let each other finish every time" in text
    assert text.count("Next time") == 1
    assert not SCOLDING.search(text)


def test_one_listener_praised_by_name_and_suggestion_is_about_listening():
    text = words(evening(listener_says=[6.0]))  # Sam took over Alex's floor once
    assert "Alex let Sam finish every time" in text
    assert "Sam let Alex finish" not in text
    assert "Next time, try letting whoever holds the floor reach the very end" in text
    assert not SCOLDING.search(text)


def test_backchannels_do_not_spoil_the_praise():
    text = words(evening(listener_says=[0.4, 0.5]))
    assert "You both let each other finish every time" in text


def test_uneven_evening_names_the_aim_kindly_and_invites_the_quieter_one():
    text = words(evening(a_talk=420, b_talk=60))
    assert "Alex had more of the room tonight" in text
    assert "roughly even is what we aim for" in text
    assert "Next time, Sam, you might open with one real feeling" in text
    assert not SCOLDING.search(text)


def test_unsure_measurement_says_roughly():
    text = words(evening(unsure_s=100))
    assert "roughly" in text.split(". ")[0] and "about" not in text.split(". ")[0]
    assert "rough figures" in text
    assert "roughly" not in words(evening()).split(". ")[0]


def test_missed_reflect_back_becomes_the_suggestion():
    text = words(evening(reflect_s=1.0))
    assert "Every reflect-back happened" not in text
    assert "Next time, try saying back in your own words what you heard" in text


def test_trend_compares_with_last_week_and_ignores_demo():
    now = "2026-11-26T20:00:00+01:00"
    uneven_last_week = past("w", "2026-11-19T20:00:00+01:00", 0.75)
    assert "more even than last week" in words(evening(started_at=now), [uneven_last_week])
    even_demo = past("d", "2026-11-25T20:00:00+01:00", 0.80, demo=True)
    text = words(evening(started_at=now), [even_demo, uneven_last_week])
    assert "more even than last week" in text and "last time" not in text
    assert "than last time" in words(evening(started_at=now, a_talk=400, b_talk=50),
                                     [past("y", "2026-11-24T20:00:00+01:00", 0.5)])


def test_partial_and_quiet_sessions_are_met_kindly():
    text = words(evening(partial=True))
    assert text.startswith("We stopped early tonight")
    quiet = words(evening(a_talk=4, b_talk=3, reflect_s=1))
    assert "quiet one" in quiet and not SCOLDING.search(quiet)


def test_deterministic_and_short_enough_to_say():
    rec = evening(listener_says=[0.5])
    assert words(rec) == words(rec)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", words(rec)) if s]
    assert 3 <= len(sentences) <= 8
    assert all(len(s) < 200 for s in sentences)


def test_different_talk_times_are_not_spoken_the_same():
    # 98 s and 75 s both round to "a minute and a half"; a listener could not tell them apart.
    first = words(evening(a_talk=78, b_talk=55)).split(". ")[0]  # plus 20 s of reflecting each
    assert first.startswith("Alex talked for about a minute and 40 seconds and Sam for about a minute and 15 seconds")
    # Close amounts keep the rough wording.
    first = words(evening(a_talk=72, b_talk=68)).split(". ")[0]
    assert first.startswith("Alex talked for about a minute and a half and Sam for about a minute and a half")
    # Under a minute it stays in seconds (52 s and 70 s are both "about a minute").
    first = words(evening(a_talk=32, b_talk=50)).split(". ")[0]
    assert first.startswith("Alex talked for about 50 seconds and Sam for about a minute and 10 seconds")
