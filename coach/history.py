"""History stage: a private SQLite store of sessions, turns, metrics and questions used, with migrations."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from coach.errors import CoachError
from coach.history_schema import MIGRATIONS, SCHEMA_VERSION, record_from_json, write_metrics
from coach.metrics import SessionMetrics, session_metrics
from coach.paths import data_dir, ensure_private_dir
from coach.record import SessionRecord

DB_NAME = "history.db"
BUSY_TIMEOUT_S = 5.0
"""How long a write waits for another coach process holding the database, seconds."""

FILE_MODE = 0o600
DIR_MODE = 0o700


class HistoryError(CoachError):
    """The history database cannot be used (busy, unreadable, from a newer coach, unknown session)."""


@dataclass
class HistorySummary:
    """One stored session in brief, as `coach history` lists it and feedback compares against.

    Attributes:
        session_id: the session's id.
        started_at: ISO 8601 local start time.
        plan: the plan's name.
        partners: the two names, floor order.
        talk_s: seconds each partner talked.
        share: each partner's fraction of the talk (adds up to 1).
        duration_s: audio time the session ran.
        partial: stopped before the plan ended.
        demo: a demo session (kept, but left out of trends).
        metrics: the stored figures, or None if none were stored.
    """

    session_id: str
    started_at: str
    plan: str
    partners: list[str]
    talk_s: dict[str, float]
    share: dict[str, float]
    duration_s: float = 0.0
    partial: bool = False
    demo: bool = False
    metrics: SessionMetrics | None = field(default=None, repr=False)

    @property
    def started(self) -> datetime:
        return parse_time(self.started_at)

    @property
    def imbalance(self) -> float:
        """0 for an even split, 0.5 when one partner did all the talking."""
        return abs(max(self.share.values(), default=0.5) - 0.5)

    def to_json(self) -> dict:
        """One object of `coach history --json`."""
        m = self.metrics.to_json() if self.metrics else {}
        m.pop("turns", None)
        m.pop("partners", None)
        shares = {p: round(self.share.get(p, 0.0), 4) for p in self.partners}
        if self.partners:  # rounded shares must still add up to 1
            shares[self.partners[-1]] = round(1 - sum(shares[p] for p in self.partners[:-1]), 4)
        return {
            "session_id": self.session_id, "started_at": self.started_at, "plan": self.plan,
            "duration_s": round(self.duration_s, 2),
            "partners": {p: {"talk_s": round(self.talk_s.get(p, 0.0), 2), "share": shares[p]}
                         for p in self.partners},
            "partial": self.partial, "demo": self.demo, "metrics": m,
        }


def parse_time(text: str) -> datetime:
    """An ISO 8601 time as an aware datetime (local zone if none given; the epoch if unreadable)."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return datetime.fromtimestamp(0).astimezone()
    return value if value.tzinfo else value.astimezone()


def _guarded(method):
    """Turn sqlite errors inside a store method into one-line HistoryErrors (never a traceback)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise HistoryError(f"the history database {self.path} is busy (is another coach "
                                   "running?); try again in a moment") from None
            raise HistoryError(f"the history database {self.path} could not be used: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"the history database {self.path} is damaged ({exc}); "
                               "run the command again to move it aside and start afresh") from None
    return wrapper


class HistoryStore:
    """The couple's private history: one SQLite file, mode 0600, in a 0700 folder.

    Args:
        path: the database file; default ``data_dir()/history.db``.
        busy_timeout_s: how long to wait for another process's write lock.

    Attributes:
        recovered_from: where a damaged database was moved aside on opening, else None.
    """

    def __init__(self, path: Path | None = None, busy_timeout_s: float = BUSY_TIMEOUT_S):
        default = path is None
        self.path = Path(path) if path is not None else data_dir() / DB_NAME
        self.busy_timeout_s = busy_timeout_s
        self.recovered_from: Path | None = None
        try:
            ensure_private_dir(self.path.parent)
            if default:  # our own folder: make sure nobody else can list it, even if it pre-existed
                os.chmod(self.path.parent, DIR_MODE)
        except OSError as exc:  # a file where the folder should be, a read-only disk, …
            raise HistoryError(f"cannot use the folder {self.path.parent} for the history: "
                               f"{exc.strerror or exc}") from None
        try:
            self._conn = self._open()
        except OSError as exc:
            raise HistoryError(f"cannot open the history database {self.path}: {exc.strerror or exc}") from None
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise HistoryError(f"the history database {self.path} is busy (is another coach "
                                   "running?); try again in a moment") from None
            raise HistoryError(f"cannot open the history database {self.path}: {exc}") from None
        except sqlite3.DatabaseError:
            self.recovered_from = self._move_aside()
            self._conn = self._open()

    @property
    def recordings_dir(self) -> Path:
        """Where audio kept with ``--keep-audio`` lives (``<session_id>.*``); forget removes it."""
        return self.path.parent / "recordings"

    def _open(self) -> sqlite3.Connection:
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
        os.chmod(self.path, FILE_MODE)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so a write takes the lock up front.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")  # forgotten rows are overwritten, not just unlinked
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(f"the history database {self.path} was written by a newer coach "
                               f"(schema {version}, this one knows {SCHEMA_VERSION}); please upgrade")
        for number in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for step in MIGRATIONS[number]:
                    if callable(step):
                        step(conn)
                    else:
                        for statement in filter(str.strip, step.split(";")):
                            conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _move_aside(self) -> Path:
        """Rename a damaged database (and its journal) to ``history.db.corrupt-<timestamp>``."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target, n = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}"), n + 1
        os.replace(self.path, target)
        for suffix in ("-journal", "-wal", "-shm"):
            # A leftover journal would be replayed into the fresh file: keep it with the old one.
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    @contextlib.contextmanager
    def _transaction(self):
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @_guarded
    def save(self, record: SessionRecord, metrics: SessionMetrics | None = None) -> None:
        """Insert or replace a session (checkpoints after each turn, then the final save).

        Args:
            record: the session so far; ``record.partial`` should be True until it ends.
            metrics: its figures; computed from ``record`` when None.
        """
        metrics = metrics or session_metrics(record)
        started_ts = parse_time(record.started_at).timestamp()
        row = (record.session_id, record.started_at, started_ts, record.plan,
               json.dumps(record.partners), record.duration_s, int(record.demo),
               int(record.partial), record.feedback, json.dumps(record.as_dict()),
               datetime.now().astimezone().isoformat(timespec="seconds"))
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?)", row)
            conn.execute("DELETE FROM turns WHERE session_id = ?", (record.session_id,))
            conn.executemany(
                "INSERT INTO turns VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(record.session_id, i, t.kind, t.floor, t.start_s, t.end_s, t.planned_s,
                  t.ended_by, t.prompt, t.question, json.dumps(t.talk_s))
                 for i, t in enumerate(record.turns)])
            write_metrics(conn, record, metrics)

    @_guarded
    def recent_questions(self, sessions: int = 7) -> set[str]:
        """Questions asked in the last ``sessions`` real (non-demo) sessions, to avoid repeats."""
        rows = self._conn.execute(
            "SELECT DISTINCT t.question FROM turns t WHERE t.question IS NOT NULL AND t.session_id IN "
            "(SELECT session_id FROM sessions WHERE demo = 0 "
            " ORDER BY started_ts DESC, session_id DESC LIMIT ?)", (sessions,))
        return {q for (q,) in rows}

    @_guarded
    def summaries(self, include_demo: bool = True, limit: int | None = None,
                  since: datetime | None = None) -> list[HistorySummary]:
        """Stored sessions in brief, newest first.

        Args:
            include_demo: keep demo sessions (trends pass False).
            limit: at most this many.
            since: only sessions that started at or after this time.
        """
        sql = ("SELECT s.session_id, s.started_at, s.plan, s.partners, s.duration_s, s.partial, "
               "s.demo, m.metrics FROM sessions s LEFT JOIN metrics m USING (session_id) WHERE 1=1")
        params: list = []
        if not include_demo:
            sql += " AND s.demo = 0"
        if since is not None:
            sql += " AND s.started_ts >= ?"
            params.append(since.timestamp())
        sql += " ORDER BY s.started_ts DESC, s.session_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        out = []
        for sid, started, plan, partners, dur, partial, demo, mtext in self._conn.execute(sql, params):
            metrics = SessionMetrics.from_json(json.loads(mtext)) if mtext else None
            talk = self._conn.execute("SELECT name, talk_s, share FROM partner_talk "
                                      "WHERE session_id = ?", (sid,)).fetchall()
            out.append(HistorySummary(
                session_id=sid, started_at=started, plan=plan, partners=json.loads(partners),
                talk_s={n: t for n, t, _ in talk}, share={n: sh for n, _, sh in talk},
                duration_s=dur, partial=bool(partial), demo=bool(demo), metrics=metrics))
        return out

    @_guarded
    def load(self, session_id: str) -> SessionRecord:
        """The full stored record of one session; HistoryError if there is none."""
        row = self._conn.execute("SELECT record FROM sessions WHERE session_id = ?",
                                 (session_id,)).fetchone()
        if row is None:
            raise HistoryError(f"no session {session_id!r} in the history; `coach history` lists them")
        return record_from_json(json.loads(row[0]))

    def _remove_recordings(self, pattern: str) -> None:
        if self.recordings_dir.is_dir():
            for file in self.recordings_dir.glob(pattern):
                file.unlink(missing_ok=True)

    @_guarded
    def forget(self, session_id: str) -> bool:
        """Delete one session for real (rows, freed pages, kept audio). True if it existed."""
        with self._transaction() as conn:
            gone = conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,)).rowcount
        self._conn.execute("VACUUM")  # rebuild the file so no trace stays in free pages
        self._remove_recordings(f"{session_id}.*")
        return gone > 0

    @_guarded
    def forget_all(self) -> int:
        """Delete every session (and all kept audio); returns how many sessions were removed."""
        with self._transaction() as conn:
            gone = conn.execute("DELETE FROM sessions").rowcount
        self._conn.execute("VACUUM")
        self._remove_recordings("*")
        return gone

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        if getattr(self, "_conn", None) is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
