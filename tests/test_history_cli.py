"""`coach history`, `coach report` and `coach forget` through main(), with COACH_HOME in tmp_path."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import datetime, timedelta

import pytest
from test_metrics import A, B, evening

from coach.cli import main
from coach.history import HistoryStore


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("COACH_HOME", str(path))
    return path


def recent(days_ago: float) -> str:
    return (datetime.now().astimezone() - timedelta(days=days_ago)).isoformat(timespec="seconds")


@pytest.fixture
def two_evenings(home):
    with HistoryStore() as store:
        store.save(evening("s-old", recent(8), a_talk=300, b_talk=100))
        store.save(evening("s-new", recent(1), listener_says=[0.5], partial=True))
        store.save(evening("s-demo", recent(2), demo=True))
    return home


def test_every_command_has_help(capsys):
    for cmd in ("history", "report", "forget"):
        assert main([cmd, "--help"]) == 0
        assert "usage: coach " + cmd in capsys.readouterr().out


def test_history_json_lists_sessions_with_metrics(two_evenings, capsys):
    assert main(["history", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["session_id"] for r in rows] == ["s-new", "s-demo", "s-old"]
    new = rows[0]
    assert new["partial"] is True and new["demo"] is False and new["plan"] == "gentle"
    assert new["partners"][A]["share"] + new["partners"][B]["share"] == pytest.approx(1.0)
    assert new["partners"][A]["talk_s"] == pytest.approx(170.0)
    assert new["metrics"]["backchannel_s_by"][B] == pytest.approx(0.5)
    assert rows[1]["demo"] is True


def test_history_table_and_csv(two_evenings, capsys):
    assert main(["history"]) == 0
    table = capsys.readouterr().out
    assert "s-old" in table and "demo" in table and "partial" in table
    assert main(["history", "--csv", "--no-demo"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["session_id"] for r in rows] == ["s-new", "s-old"]
    assert float(rows[1]["partner1_share"]) == pytest.approx(320 / 440, abs=1e-3)


def test_history_on_an_empty_home(home, capsys):
    assert main(["history"]) == 0
    assert "No sessions yet" in capsys.readouterr().out
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert stat.S_IMODE((home / "history.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_report_last_png_and_weeks_html(two_evenings, tmp_path, capsys):
    png, html = tmp_path / "r.png", tmp_path / "r.html"
    assert main(["report", "--last", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["report", "--session", "s-old", "--out", str(tmp_path / "old.png")]) == 0
    assert main(["report", "--weeks", "4", "--out", str(html)]) == 0
    page = html.read_text()
    assert "<svg" in page and "last 4 weeks" in page
    assert "s-demo" not in page and page.count("<tr>") == 3  # header + 2 real evenings


def test_report_weeks_with_only_demos_shows_them(home, tmp_path):
    with HistoryStore() as store:
        store.save(evening("d1", recent(1), demo=True))
    out = tmp_path / "w.html"
    assert main(["report", "--weeks", "4", "--out", str(out)]) == 0
    assert "Only demo sessions so far" in out.read_text()


def test_report_errors_are_one_line(home, tmp_path, capsys):
    assert main(["report", "--last", "--out", str(tmp_path / "r.png")]) == 2
    assert "no sessions" in capsys.readouterr().err
    with HistoryStore() as store:
        store.save(evening("x"))
    assert main(["report", "--session", "nope", "--out", str(tmp_path / "r.png")]) == 2
    assert main(["report", "--last", "--out", str(tmp_path / "r.gif")]) == 2
    err = capsys.readouterr().err
    assert "no session 'nope'" in err and ".png or .html" in err and "Traceback" not in err


def test_forget_session_and_all(two_evenings, capsys):
    assert main(["forget", "--session", "s-old", "--yes"]) == 0
    assert main(["forget", "--session", "s-old", "--yes"]) == 2
    assert main(["forget", "--all"]) == 0  # not a terminal: nobody to ask
    capsys.readouterr()
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_forget_asks_first_on_a_terminal(two_evenings, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", FakeTerminal("n\n"))
    assert main(["forget", "--all"]) == 1
    assert "Forget all 3 sessions for good?" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", FakeTerminal("y\n"))
    assert main(["forget", "--session", "s-new"]) == 0
    monkeypatch.setattr("sys.stdin", FakeTerminal(""))
    assert main(["forget", "--all", "--yes"]) == 0
    with HistoryStore() as store:
        assert store.summaries() == []


def test_corrupt_history_is_moved_aside_without_a_traceback(home, capsys):
    home.mkdir(mode=0o700)
    (home / "history.db").write_bytes(b"\x00garbage" * 512)
    assert main(["history", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "damaged" in captured.err and "history.db.corrupt-" in captured.err
    assert len(list(home.glob("history.db.corrupt-*"))) == 1
