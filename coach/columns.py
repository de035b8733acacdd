"""Terminal columns for the plain-text tables: a name in Chinese, Japanese or Korean
takes two columns a character, so padding by ``len`` would break the alignment."""

from __future__ import annotations

import unicodedata


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: two for each wide or full-width
    character, none for a combining mark, one for the rest."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` columns (never cut)."""
    return text + " " * max(0, width - columns(text))
