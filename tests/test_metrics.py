"""Metrics from SessionRecords built in code, and from the real AMI ground truth."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coach.metrics import BACKCHANNEL_MAX_S, SessionMetrics, session_metrics
from coach.record import Segment, SessionRecord, TurnRecord, Utterance

A, B = "Alex", "Sam"


def evening(session_id: str = "20261126-2000", started_at: str = "2026-11-26T20:00:00+01:00",
            *, a_talk: float = 150.0, b_talk: float = 130.0, listener_says: list[float] = (),
            unsure_s: float = 0.0, reflect_s: float = 20.0, partial: bool = False,
            questions: tuple[str, str] = ("What made you laugh this week?",
                                          "What are you looking forward to?"),
            demo: bool = False) -> SessionRecord:
    """A typical guided evening, with talk_s consistent with its segments.

    welcome, Alex speaks (a_talk s), Sam reflects, Sam speaks (b_talk s), Alex reflects,
    closing. Alex talks in 30 s pieces with 1 s breaths; ``listener_says`` are lengths of
    things Sam says during Alex's floor (short ones are backchannels).
    """
    segs: list[Segment] = []
    turns: list[TurnRecord] = []
    spoken: list[Utterance] = [Utterance(0.0, "Welcome, both of you.", 4.0)]
    t = 10.0
    turns.append(TurnRecord("welcome", None, 0.0, t, prompt="Welcome"))

    def floor(kind: str, who: str, other: str, talk: float, question: str | None,
              interjections=()) -> None:
        nonlocal t
        start = t
        spoken.append(Utterance(start, "[chime:turn]", 0.5))
        spoken.append(Utterance(start + 0.5, f"{who}, your turn.", 2.5))
        pos, left = start + 4.0, talk  # 1 s of quiet after the prompt ends
        while left > 0:
            piece = min(30.0, left)
            segs.append(Segment(pos, pos + piece, who))
            pos, left = pos + piece + 1.0, left - piece
        said = {who: talk, other: 0.0}
        for k, dur in enumerate(interjections):
            at = start + 39.0 + 31.0 * k  # in the middle of a piece of talk
            segs.append(Segment(at, at + dur, other))
            said[other] += dur
        t = pos + 2.0
        turns.append(TurnRecord(kind, who, start, t, talk_s=said, prompt=f"{who}, your turn.",
                                question=question, planned_s=talk + 10, ended_by="time"))

    floor("speak", A, B, a_talk, questions[0], listener_says)
    floor("reflect", B, A, reflect_s, None)
    floor("speak", B, A, b_talk, questions[1])
    floor("reflect", A, B, reflect_s, None)
    if unsure_s:
        segs.append(Segment(t, t + unsure_s, None))
        turns.append(TurnRecord("free", None, t, t + unsure_s + 1, talk_s={}))
        t += unsure_s + 1
    spoken.append(Utterance(t, "Thank you.", 2.0))
    turns.append(TurnRecord("closing", None, t, t + 5))
    return SessionRecord(session_id=session_id, plan="gentle", started_at=started_at,
                         partners=[A, B], turns=turns, segments=segs, spoken=spoken,
                         duration_s=t + 5, partial=partial, demo=demo)


def test_shares_and_talk_add_up():
    m = session_metrics(evening(a_talk=150, b_talk=130))
    assert m.talk_s[A] == pytest.approx(170.0)   # 150 speak + 20 reflect
    assert m.talk_s[B] == pytest.approx(150.0)
    assert sum(m.share.values()) == pytest.approx(1.0)
    assert m.share[A] == pytest.approx(170 / 320)
    data = m.to_json()
    assert data["share"][A] + data["share"][B] == pytest.approx(1.0, abs=1e-9)
    json.dumps(data)  # JSON-able


def test_backchannels_are_counted_apart_from_interruptions():
    m = session_metrics(evening(listener_says=[0.4, 0.6, 5.0]))
    alex_floor = m.turns[1]
    assert (alex_floor.floor, alex_floor.listener) == (A, B)
    assert alex_floor.backchannels == 2 and alex_floor.backchannel_s == pytest.approx(1.0)
    assert alex_floor.interruptions == 1 and alex_floor.interruption_s == pytest.approx(5.0)
    assert alex_floor.listener_talk_s == pytest.approx(6.0)
    assert m.interruptions_by == {A: 0, B: 1}
    assert m.let_finish == {A: True, B: False}


def test_backchannels_alone_still_let_the_speaker_finish():
    m = session_metrics(evening(listener_says=[0.3, BACKCHANNEL_MAX_S - 0.1]))
    assert m.let_finish == {A: True, B: True}
    assert m.backchannel_s_by[B] == pytest.approx(1.2)


def test_longest_stretch_joins_breaths_but_breaks_at_an_interruption():
    calm = session_metrics(evening(a_talk=90))
    assert calm.longest_stretch_s[A] == pytest.approx(92.0)   # 3 x 30 s + two 1 s breaths
    cut = session_metrics(evening(a_talk=90, listener_says=[4.0]))  # Sam cuts in at ~39 s
    assert cut.longest_stretch_s[A] == pytest.approx(61.0)
    backchannel = session_metrics(evening(a_talk=90, listener_says=[0.5]))
    assert backchannel.longest_stretch_s[A] == pytest.approx(92.0)


def test_reply_pause_is_measured_from_the_end_of_the_prompt():
    m = session_metrics(evening())
    assert m.turns[1].reply_pause_s == pytest.approx(1.0)
    assert m.reply_pause_s == pytest.approx(1.0)


def test_reflect_steps_happen_or_not():
    assert (session_metrics(evening()).reflects_done, session_metrics(evening()).reflect_steps) == (2, 2)
    missed = session_metrics(evening(reflect_s=1.0))
    assert missed.reflects_done == 0
    assert [t.reflected for t in missed.turns if t.kind == "reflect"] == [False, False]


def test_unsure_speech_makes_the_figures_rough():
    assert not session_metrics(evening()).rough
    m = session_metrics(evening(unsure_s=80))
    assert m.unsure_s == pytest.approx(80)
    assert m.unsure_fraction > 0.15 and m.rough


def test_nobody_talked_gives_an_even_split_not_a_crash():
    rec = SessionRecord("x", "gentle", "2026-11-26T20:00:00+01:00", [A, B],
                        turns=[TurnRecord("speak", A, 0, 60)])
    m = session_metrics(rec)
    assert m.share == {A: 0.5, B: 0.5}
    assert m.turns[0].reply_pause_s is None and m.longest_stretch_s[A] == 0.0


def test_round_trip_through_json():
    m = session_metrics(evening(listener_says=[0.5, 3.0]))
    again = SessionMetrics.from_json(json.loads(json.dumps(m.to_json())))
    assert again.interruptions_by == m.interruptions_by
    assert again.turns[1].backchannels == 1
    assert again.share[A] == pytest.approx(m.share[A], abs=1e-3)


def _shared_data() -> Path | None:
    env = os.environ.get("COACH_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.mark.shared_data
def test_real_ami_ground_truth_stretches_and_talk():
    root = _shared_data()
    if root is None:
        pytest.skip("shared data folder absent (set COACH_SHARED_DATA or provide ../shared/data)")
    base = root / "real" / "ami_excerpts" / "ami_dev00"
    truth = json.loads(base.with_suffix(".json").read_text())
    segs = []
    for line in base.with_suffix(".rttm").read_text().splitlines():
        f = line.split()
        segs.append(Segment(float(f[3]), float(f[3]) + float(f[4]), f[7]))
    names = sorted(truth["speakers"])
    talk = {n: sum(s.duration_s for s in segs if s.speaker == n) for n in names}
    rec = SessionRecord("ami", "real", "2026-11-26T20:00:00+01:00", names,
                        turns=[TurnRecord("free", None, 0.0, 30.0, talk_s=talk)], segments=segs,
                        duration_s=30.0)
    m = session_metrics(rec)
    for n in names:
        assert m.talk_s[n] == pytest.approx(truth["speakers"][n]["talk_seconds"], abs=0.02)
    # MEE009 opens with an 11.9 s monologue (RTTM line 1); nothing of MEE012 breaks it.
    assert m.longest_stretch_s["MEE009"] >= 11.8
    assert m.longest_stretch_s["MEE009"] < truth["speakers"]["MEE009"]["talk_seconds"]
