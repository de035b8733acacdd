"""Plans: the built-ins load and expand as documented; bad plan files get errors that name file, step and key."""

import random

import pytest

from coach.errors import ConfigError
from coach.plans import available_plans, draw_question, load_plan, question_bank


def test_builtin_plans_have_the_documented_shape():
    assert {"evening", "short", "long"} <= set(available_plans())
    evening = load_plan("evening")
    kinds = [t.kind for t in evening.turns()]
    assert kinds == ["welcome", "enroll", "enroll", "speak", "reflect", "speak", "reflect",
                     "speak", "reflect", "speak", "reflect", "free", "closing"]
    speak = [t for t in evening.turns() if t.kind == "speak"]
    # A speaks then B: floors alternate, and reflect goes to the listener.
    assert [t.floor for t in speak] == [0, 1, 0, 1]
    reflect = [t for t in evening.turns() if t.kind == "reflect"]
    assert [t.floor for t in reflect] == [1, 0, 1, 0]
    assert speak[0].duration_s == 120 and reflect[0].duration_s == 60
    assert next(t for t in evening.turns() if t.kind == "free").duration_s == 300
    # About 20, 7 and 30 minutes of turns (prompts add a minute or two).
    assert 15 * 60 <= evening.planned_s() <= 20 * 60
    assert 4 * 60 <= load_plan("short").planned_s() <= 7 * 60
    assert 26 * 60 <= load_plan("long").planned_s() <= 32 * 60


def test_question_bank_is_large_and_free_of_logistics():
    bank = question_bank()
    assert len(bank) >= 40 and len(set(bank)) == len(bank)
    for q in bank:
        assert q.endswith("?")
        assert not any(w in q.lower() for w in ("groceries", "bills", "schedule", "pick up"))


def test_draw_question_avoids_recent_ones():
    bank = question_bank()
    recent = set(bank[:-1])
    assert draw_question(random.Random(1), recent) == bank[-1]
    # When every question was used recently, it still returns one rather than failing.
    assert draw_question(random.Random(1), set(bank)) in bank


def test_plan_file_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[[step]]\nkind = "free"\nduration_s = 60\nsay = "Talk, {a} and {b}."\n')
    plan = load_plan(str(path))
    assert plan.name == "mine" and [t.kind for t in plan.turns()] == ["free"]


@pytest.mark.parametrize("text, expected", [
    ('[[step]\nkind="welcome"', "not valid TOML"),
    ('[[step]]\nkind="dance"\nsay="x"', "kind = 'dance' is not allowed; use one of welcome, enroll, round, free, closing"),
    ('[[step]]\nkind="round"\nspeak_s="2 min"', "step 1 (round): speak_s = '2 min' must be a number of seconds"),
    ('[[step]]\nkind="free"\nduration_s=5\nsay="x"', "duration_s = 5 must be between 10 and 3600 seconds"),
    ('[[step]]\nkind="free"\nduration_s=60\nsay="hi {nam}"', "unknown placeholder {nam}"),
    ('[[step]]\nkind="free"\nduration_s=60', "missing key 'say'"),
    ('[[step]]\nkind="free"\nduration_s=60\nsay="x"\ncolour="red"', "unknown key 'colour'"),
    ('title = "x"\n[[step]]\nkind="closing"\nsay="bye"', "unknown key 'title' at the top"),
    ('name = "x"', "needs at least one [[step]]"),
])
def test_bad_plans_are_explained(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_plan(str(path))
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_unknown_plan_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown plan 'dinner'; known plans: .*evening"):
        load_plan("dinner")
