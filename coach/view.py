"""What the session shows on screen: nothing, plain lines, or a live view readable across a kitchen."""

from __future__ import annotations

import sys
from typing import TextIO

_KIND_TITLES = {"welcome": "Welcome", "enroll": "Learning your voices", "speak": "Has the floor",
                "reflect": "Reflecting back", "free": "Free conversation", "closing": "Closing"}

# A 5-row block font for the countdown, so it reads from across the room.
_BIG = {
    "0": ["███", "█ █", "█ █", "█ █", "███"], "1": [" ██", "  █", "  █", "  █", "  █"],
    "2": ["███", "  █", "███", "█  ", "███"], "3": ["███", "  █", "███", "  █", "███"],
    "4": ["█ █", "█ █", "███", "  █", "  █"], "5": ["███", "█  ", "███", "  █", "███"],
    "6": ["███", "█  ", "███", "█ █", "███"], "7": ["███", "  █", "  █", "  █", "  █"],
    "8": ["███", "█ █", "███", "█ █", "███"], "9": ["███", "█ █", "███", "  █", "███"],
    ":": ["   ", " █ ", "   ", " █ ", "   "],
}


def big_text(text: str) -> str:
    """``text`` (digits and colons) in the 5-row block font."""
    rows = ["", "", "", "", ""]
    for ch in text:
        glyph = _BIG.get(ch, ["   "] * 5)
        for i in range(5):
            rows[i] += glyph[i] + " "
    return "\n".join(rows)


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.999))
    return f"{seconds // 60}:{seconds % 60:02d}"


class NullView:
    """Shows nothing (``--json``, tests)."""

    def say(self, text: str) -> None: ...
    def message(self, text: str) -> None: ...
    def turn(self, session, turn, record) -> None: ...
    def tick(self, session) -> None: ...
    def countdown(self, remaining_s: float) -> None: ...
    def close(self) -> None: ...


class PlainView(NullView):
    """One line per prompt and event, with audio time: for logs, pipes and `coach demo`."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self._session = None

    def _line(self, text: str) -> None:
        t = self._session.now_s if self._session is not None else 0.0
        print(f"[{clock(t):>6}] {text}", file=self.stream, flush=True)

    def say(self, text: str) -> None:
        self._line(f"coach: {text}")

    def message(self, text: str) -> None:
        self._line(f"({text})")

    def turn(self, session, turn, record) -> None:
        self._session = session
        who = f" — {record.floor}" if record.floor else ""
        self._line(f"── {_KIND_TITLES.get(turn.kind, turn.kind)}{who}")


class LiveView(PlainView):
    """A full-screen rich view on stderr: phase, floor holder, big countdown, talk bars."""

    def __init__(self, stream: TextIO | None = None):
        from rich.console import Console
        from rich.live import Live

        super().__init__(stream or sys.stderr)
        self.console = Console(file=self.stream)
        self._phase = "Starting"
        self._floor = ""
        self._remaining_s: float | None = None
        self._said = ""
        self._note = ""
        self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
        self._live.start()

    def __rich__(self):
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))
        grid.add_column()
        title = Text(self._phase, style="bold cyan")
        if self._floor:
            title.append(f"   {self._floor}", style="bold yellow")
        grid.add_row(title)
        if self._remaining_s is not None:
            grid.add_row(Text(big_text(clock(self._remaining_s)), style="bold white"))
        if self._session is not None:
            talk = self._session.analyzer.live_talk_s()
            total = max(1e-9, sum(talk.get(n, 0.0) for n in self._session.names))
            for name in self._session.names:
                secs = talk.get(name, 0.0)
                width = int(30 * secs / total) if total > 1e-6 else 0
                grid.add_row(Text(f"{name:>10} {'█' * width}{'·' * (30 - width)} {clock(secs)}",
                                  style="green"))
        if self._said:
            grid.add_row(Text(f"“{self._said}”", style="italic"))
        if self._note:
            grid.add_row(Text(self._note, style="dim"))
        grid.add_row(Text("space pause · n next · r repeat · q quit and save", style="dim"))
        return Panel(grid, title="coach", border_style="cyan")

    def say(self, text: str) -> None:
        self._said = text

    def message(self, text: str) -> None:
        self._note = text

    def turn(self, session, turn, record) -> None:
        self._session = session
        self._phase = turn.title or _KIND_TITLES.get(turn.kind, turn.kind)
        self._floor = f"{record.floor} has the floor" if record.floor and turn.kind in ("speak", "reflect") else (record.floor or "")
        self._remaining_s = turn.duration_s if turn.duration_s and turn.kind != "enroll" else None

    def countdown(self, remaining_s: float) -> None:
        self._remaining_s = remaining_s

    def close(self) -> None:
        self._live.stop()
