"""The SQLite history: save/upsert, summaries, questions, migrations, privacy, faults."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest
from test_metrics import A, B, evening

from coach.history import SCHEMA_VERSION, HistoryError, HistoryStore
from coach.metrics import session_metrics


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path):
    with HistoryStore(tmp_path / "home" / "history.db") as s:
        yield s


def test_file_is_private_and_schema_current(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    monkeypatch.setenv("COACH_HOME", str(home))
    with HistoryStore() as s:
        s.save(evening())
        assert s.path == home / "history.db"
    assert mode(home / "history.db") == 0o600
    assert mode(home) == 0o700
    with sqlite3.connect(home / "history.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_save_is_an_upsert_and_the_record_round_trips(store):
    rec = evening("s1", partial=True)
    rec.turns = rec.turns[:2]
    store.save(rec)  # a checkpoint after the first turns
    full = evening("s1", listener_says=[0.5])
    full.feedback = "Thank you both."
    store.save(full, session_metrics(full))
    rows = store.summaries()
    assert [s.session_id for s in rows] == ["s1"]
    assert rows[0].partial is False
    loaded = store.load("s1")
    assert loaded == full
    assert rows[0].metrics.backchannel_s_by[B] == pytest.approx(0.5)


def test_summaries_newest_first_with_demo_filter_and_shares(store):
    store.save(evening("a", "2026-11-01T20:00:00+01:00"))
    store.save(evening("b", "2026-11-08T20:00:00+01:00", demo=True))
    store.save(evening("c", "2026-11-15T20:00:00+01:00", a_talk=300, b_talk=100))
    assert [s.session_id for s in store.summaries()] == ["c", "b", "a"]
    assert [s.session_id for s in store.summaries(include_demo=False)] == ["c", "a"]
    assert [s.session_id for s in store.summaries(limit=1)] == ["c"]
    c = store.summaries()[0].to_json()
    assert c["partners"][A]["share"] + c["partners"][B]["share"] == pytest.approx(1.0)
    assert c["partners"][A]["talk_s"] == pytest.approx(320.0)
    assert set(c) >= {"session_id", "started_at", "plan", "partners", "partial", "demo", "metrics"}
    json.dumps(c)


def test_recent_questions_cover_the_last_real_evenings(store):
    for k in range(4):
        store.save(evening(f"s{k}", f"2026-11-0{k + 1}T20:00:00+01:00",
                           questions=(f"q{k}a", f"q{k}b")))
    store.save(evening("demo", "2026-11-09T20:00:00+01:00", questions=("dq1", "dq2"), demo=True))
    assert store.recent_questions(2) == {"q3a", "q3b", "q2a", "q2b"}
    assert len(store.recent_questions()) == 8


def test_forget_one_and_all_deletes_for_real(store):
    store.save(evening("keep"))
    secret = evening("secret", questions=("What do you whisper to the cat?", "q2"))
    store.save(secret)
    store.recordings_dir.mkdir()
    (store.recordings_dir / "secret.wav").write_bytes(b"RIFF")
    assert store.forget("secret") is True
    assert store.forget("secret") is False
    assert not (store.recordings_dir / "secret.wav").exists()
    assert b"whisper to the cat" not in store.path.read_bytes()  # no trace in free pages
    assert store.forget_all() == 1
    assert store.summaries() == []


def test_unknown_session_is_a_clear_error(store):
    with pytest.raises(HistoryError, match="no session 'nope'"):
        store.load("nope")


def test_corrupt_database_is_moved_aside_and_a_fresh_one_started(tmp_path):
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not a database at all" * 100)
    (tmp_path / "history.db-journal").write_bytes(b"junk")
    with HistoryStore(path) as s:
        assert s.recovered_from is not None
        assert s.recovered_from.name.startswith("history.db.corrupt-")
        assert s.recovered_from.read_bytes().startswith(b"this is not")
        assert not (tmp_path / "history.db-journal").exists()
        s.save(evening())
        assert len(s.summaries()) == 1
    assert mode(path) == 0o600


def test_truncated_database_is_recovered(tmp_path):
    path = tmp_path / "history.db"
    with HistoryStore(path) as s:
        for k in range(30):
            s.save(evening(f"s{k}"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with HistoryStore(path) as s:
        assert s.recovered_from is not None
        assert s.summaries() == []


def test_locked_database_gives_a_clear_message(tmp_path):
    path = tmp_path / "history.db"
    with HistoryStore(path, busy_timeout_s=0.1) as s:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(HistoryError, match="busy"):
                s.save(evening())
        finally:
            other.execute("ROLLBACK")
            other.close()
        s.save(evening())  # and works again once the other writer is done


def test_newer_schema_is_refused_not_damaged(tmp_path):
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(HistoryError, match="newer coach"):
        HistoryStore(path)
    assert path.exists()


def test_a_v1_database_is_migrated_and_backfilled(tmp_path):
    from coach.history import MIGRATIONS
    path = tmp_path / "history.db"
    rec = evening("old", listener_says=[0.5])
    with sqlite3.connect(path) as conn:  # what a first-release coach wrote
        conn.executescript(MIGRATIONS[0][0])
        conn.execute("INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     ("old", rec.started_at, 0.0, rec.plan, json.dumps(rec.partners),
                      rec.duration_s, 0, 0, "", json.dumps(rec.as_dict()), rec.started_at))
        conn.execute("PRAGMA user_version = 1")
    with HistoryStore(path) as s:
        (row,) = s.summaries()
        assert row.metrics is not None and row.metrics.backchannel_s_by[B] == pytest.approx(0.5)
        assert row.share[A] == pytest.approx(session_metrics(rec).share[A])
