"""Where coach keeps settings and data: platform defaults, or one folder named by COACH_HOME."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "coach"


def _home_override() -> Path | None:
    value = os.environ.get("COACH_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """The folder holding ``settings.toml`` (and the user's own plans in ``plans/``)."""
    home = _home_override()
    if home:
        return home
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", Path.home())) / APP
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / APP


def data_dir() -> Path:
    """The folder holding the history database, voice profiles and the prompt cache."""
    home = _home_override()
    if home:
        return home
    if sys.platform == "darwin" or os.name == "nt":
        return config_dir()
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP


def settings_file() -> Path:
    return config_dir() / "settings.toml"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
