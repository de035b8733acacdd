"""Commands over the private history: `history` (list), `report` (pictures), `forget` (delete for real)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

from coach.columns import columns, pad
from coach.errors import CoachError
from coach.history import HistoryStore, HistorySummary
from coach.metrics import session_metrics


def register(subparsers) -> None:
    """Add the `history`, `report` and `forget` commands."""
    p = subparsers.add_parser(
        "history", help="list past sessions: talk time and share per partner",
        description="List the sessions kept in the private history database, newest first.")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print a JSON list, one object per session, with its metrics")
    fmt.add_argument("--csv", action="store_true", help="print CSV, one row per session")
    p.add_argument("--limit", type=int, metavar="N", help="show only the newest N sessions")
    p.add_argument("--no-demo", action="store_true", help="leave out demo sessions")
    p.set_defaults(func=run_history)

    p = subparsers.add_parser(
        "report", help="draw an evening's timeline or the share of talk over weeks (PNG or HTML)",
        description="Draw a picture from the history: the timeline of one evening (who spoke "
                    "when, floors shaded, the coach's prompts marked), or the share of talk per "
                    "evening over the last weeks. The file type follows --out: .png or .html "
                    "(a self-contained page, no network).")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--last", action="store_true", help="the most recent session (default)")
    which.add_argument("--session", metavar="ID", help="one session, by id (see `coach history`)")
    which.add_argument("--weeks", type=int, metavar="N", help="share of talk per evening, last N weeks")
    p.add_argument("--out", required=True, type=Path, metavar="FILE",
                   help="where to write: FILE.png or FILE.html")
    p.add_argument("--include-demo", action="store_true",
                   help="with --weeks: show demo sessions too (they are left out of trends)")
    p.set_defaults(func=run_report)

    p = subparsers.add_parser(
        "forget", help="delete sessions from the history for good",
        description="Delete sessions for real: their rows, the freed space in the database "
                    "file, and any audio kept with --keep-audio. Asks first on a terminal.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", metavar="ID", help="forget one session")
    which.add_argument("--all", action="store_true", help="forget every session")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=run_forget)


def open_store() -> HistoryStore:
    """The user's history, telling them (on stderr) if a damaged file had to be moved aside."""
    store = HistoryStore()
    if store.recovered_from is not None:
        print(f"coach: the history database was damaged; it was moved aside to "
              f"{store.recovered_from} and a fresh one was started", file=sys.stderr)
    return store


def _fmt_row(s: HistorySummary) -> list[str]:
    heard = any(s.talk_s.get(p, 0) > 0 for p in s.partners)  # no talk: no share (not 50 % each)
    talk = "  ".join(f"{p} {s.talk_s.get(p, 0) / 60:4.1f} min "
                     + (f"{100 * s.share.get(p, 0):3.0f} %" if heard else "  –")
                     for p in s.partners)
    flags = ",".join(f for f, on in (("partial", s.partial), ("demo", s.demo)) if on)
    return [s.session_id, f"{s.started:%Y-%m-%d %H:%M}", s.plan, talk, flags]


def run_history(args: argparse.Namespace) -> int:
    with open_store() as store:
        rows = store.summaries(include_demo=not args.no_demo, limit=args.limit)
    if args.json:
        print(json.dumps([s.to_json() for s in rows], indent=2, ensure_ascii=False))
        return 0
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["session_id", "started_at", "plan", "duration_s", "partner1",
                         "partner1_talk_s", "partner1_share", "partner2", "partner2_talk_s",
                         "partner2_share", "partial", "demo", "unsure_fraction"])
        for s in rows:
            j = s.to_json()
            cells = [s.session_id, s.started_at, s.plan, j["duration_s"]]
            for p in (s.partners + ["", ""])[:2]:
                part = j["partners"].get(p, {})
                cells += [p, part.get("talk_s", ""), part.get("share", "")]
            cells += [int(s.partial), int(s.demo), j["metrics"].get("unsure_fraction", "")]
            writer.writerow(cells)
        return 0
    if not rows:
        print("No sessions yet. `coach start` begins one; `coach demo` shows how it works.")
        return 0
    table = [["session", "started", "plan", "talk and share", "flags"]] + [_fmt_row(s) for s in rows]
    widths = [max(columns(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(pad(cell, w) for cell, w in zip(r, widths)).rstrip())
    return 0


def run_report(args: argparse.Namespace) -> int:
    from coach.report import write_timeline, write_weeks  # lazy: Pillow only when drawing
    with open_store() as store:
        if args.weeks is not None:
            if args.weeks < 1:
                raise CoachError(f"--weeks must be 1 or more, not {args.weeks}")
            since = datetime.now().astimezone() - timedelta(weeks=args.weeks)
            rows = store.summaries(include_demo=args.include_demo, since=since)
            note = ""
            if not rows and not args.include_demo:
                rows = store.summaries(include_demo=True, since=since)
                if rows:
                    note = ("Only demo sessions so far: they are shown here, but left out of "
                            "the trends in the spoken feedback.")
            out = write_weeks(rows, args.weeks, args.out, note=note)
        else:
            if args.session:
                record = store.load(args.session)
            else:
                latest = store.summaries(limit=1)
                if not latest:
                    raise CoachError("no sessions in the history yet; run `coach start` or `coach demo`")
                record = store.load(latest[0].session_id)
            out = write_timeline(record, session_metrics(record), args.out)
    print(f"wrote {out}")
    return 0


def _confirm(question: str) -> bool:
    """Ask on a terminal; anywhere else (scripts, pipes) there is nobody to ask."""
    if not sys.stdin.isatty():
        return True
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def run_forget(args: argparse.Namespace) -> int:
    with open_store() as store:
        if args.all:
            n = len(store.summaries())
            if not args.yes and not _confirm(f"Forget all {n} sessions for good?"):
                print("Nothing was deleted.")
                return 1
            gone = store.forget_all()
            print(f"Forgot {gone} session{'s' if gone != 1 else ''}.")
            return 0
        store.load(args.session)  # a clear error for an unknown id, before asking
        if not args.yes and not _confirm(f"Forget session {args.session} for good?"):
            print("Nothing was deleted.")
            return 1
        store.forget(args.session)
        print(f"Forgot session {args.session}.")
        return 0
