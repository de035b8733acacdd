"""Keyboard shortcuts for whoever is near the laptop: read single keys without Enter, on a thread."""

from __future__ import annotations

import os
import queue
import sys
import threading


class KeyReader:
    """Reads keys from a terminal in cbreak mode; ``poll()`` returns those pressed since last time.

    Only used when stdin is a terminal; nothing in a session needs it.
    """

    def __init__(self, stream=None):
        self.stream = stream or sys.stdin
        self._queue: queue.Queue[str] = queue.Queue()
        self._saved = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def usable(stream=None) -> bool:
        stream = stream or sys.stdin
        try:
            import termios  # noqa: F401  (POSIX only)
        except ImportError:
            return False
        return stream.isatty()

    def start(self) -> "KeyReader":
        import termios
        import tty

        fd = self.stream.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        self._thread = threading.Thread(target=self._read, name="coach-keys", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:  # runs on its own thread; select() so stop() is honoured
        import select

        fd = self.stream.fileno()
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                ch = os.read(fd, 1).decode(errors="ignore")
                if ch:
                    self._queue.put(ch)

    def poll(self) -> list[str]:
        keys = []
        while True:
            try:
                keys.append(self._queue.get_nowait())
            except queue.Empty:
                return keys

    def stop(self) -> None:
        self._stop.set()
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
