"""History stage, schema: the SQLite tables, their migrations, and (de)serialising a record."""

from __future__ import annotations

import json
import sqlite3
from typing import Callable

from coach.metrics import SessionMetrics, session_metrics
from coach.record import Segment, SessionRecord, TurnRecord, Utterance

_V1 = """
CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, started_ts REAL NOT NULL,
    plan TEXT NOT NULL, partners TEXT NOT NULL, duration_s REAL NOT NULL DEFAULT 0,
    demo INTEGER NOT NULL DEFAULT 0, partial INTEGER NOT NULL DEFAULT 0,
    feedback TEXT NOT NULL DEFAULT '', record TEXT NOT NULL, saved_at TEXT NOT NULL);
CREATE TABLE turns (
    session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, kind TEXT NOT NULL, floor TEXT, start_s REAL, end_s REAL,
    planned_s REAL, ended_by TEXT, prompt TEXT, question TEXT, talk TEXT,
    PRIMARY KEY (session_id, idx));
"""
_V2 = """
CREATE TABLE metrics (
    session_id TEXT PRIMARY KEY REFERENCES sessions(session_id) ON DELETE CASCADE,
    metrics TEXT NOT NULL);
CREATE TABLE partner_talk (
    session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    name TEXT NOT NULL, talk_s REAL NOT NULL, share REAL NOT NULL,
    PRIMARY KEY (session_id, name));
CREATE INDEX sessions_started ON sessions(started_ts);
CREATE INDEX turns_question ON turns(question);
"""


def _backfill_v2(conn: sqlite3.Connection) -> None:
    """Sessions saved by a v1 coach get their metrics computed from the stored record."""
    for (text,) in conn.execute("SELECT record FROM sessions").fetchall():
        record = record_from_json(json.loads(text))
        write_metrics(conn, record, session_metrics(record))


# Each entry brings the schema from version i to i + 1; never edit a released one, append.
MIGRATIONS: list[list[str | Callable[[sqlite3.Connection], None]]] = [[_V1], [_V2, _backfill_v2]]
SCHEMA_VERSION = len(MIGRATIONS)


def record_from_json(data: dict) -> SessionRecord:
    """Rebuild a SessionRecord from ``SessionRecord.as_dict()`` output."""
    data = dict(data)
    turns = [TurnRecord(**t) for t in data.pop("turns", [])]
    segments = [Segment(**s) for s in data.pop("segments", [])]
    spoken = [Utterance(**u) for u in data.pop("spoken", [])]
    return SessionRecord(**data, turns=turns, segments=segments, spoken=spoken)


def write_metrics(conn: sqlite3.Connection, record: SessionRecord, metrics: SessionMetrics) -> None:
    sid = record.session_id
    conn.execute("INSERT OR REPLACE INTO metrics VALUES (?, ?)", (sid, json.dumps(metrics.to_json())))
    conn.execute("DELETE FROM partner_talk WHERE session_id = ?", (sid,))
    conn.executemany("INSERT INTO partner_talk VALUES (?, ?, ?, ?)",
                     [(sid, p, metrics.talk_s.get(p, 0.0), metrics.share.get(p, 0.0))
                      for p in record.partners])
