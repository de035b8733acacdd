"""Talk time arithmetic: unions, command holes, per-turn windows."""

from coach.record import Segment, SessionRecord, TurnRecord
from coach.talk import subtract, talk_by_turn, union


def test_union_and_subtract():
    assert union([(3, 4), (0, 1), (0.5, 2), (2, 2.5)]) == [(0, 2.5), (3, 4)]
    assert subtract([(0, 10)], [(2, 3), (5, 6), (9, 12)]) == [(0, 2), (3, 5), (6, 9)]


def test_talk_by_turn_counts_overlap_for_both_and_skips_commands():
    rec = SessionRecord("id", "evening", "2026-11-26T19:00:00+00:00", ["Alex", "Sam"])
    rec.turns = [TurnRecord("speak", "Alex", 0, 10), TurnRecord("reflect", "Sam", 10, 20)]
    rec.segments = [Segment(1, 6, "Alex"), Segment(5, 7, "Sam"), Segment(9, 12, "Alex"),
                    Segment(13, 18, "Sam"), Segment(18.5, 19, None)]
    talk_by_turn(rec, [(15, 16)])  # "coach pause" said by Sam at 15 s counts for no one
    assert rec.turns[0].talk_s == {"Alex": 6.0, "Sam": 2.0}
    assert rec.turns[1].talk_s == {"Alex": 2.0, "Sam": 4.0}
    assert rec.talk_totals() == {"Alex": 8.0, "Sam": 6.0}
    j = rec.to_json()
    assert abs(sum(p["share"] for p in j["partners"].values()) - 1) < 1e-9
