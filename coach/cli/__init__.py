"""The `coach` command line: a thin layer over the library; every command has --help.

Each command group lives in its own module with ``register(subparsers)``, which adds
parsers whose ``func`` takes the parsed args and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from coach import __version__
from coach.errors import CoachError

COMMAND_MODULES = [
    "coach.cli.session_cmds",   # start, demo, plans, devices
    "coach.cli.devices_cmd",    # devices
    "coach.cli.history_cmds",   # history, report, forget
    "coach.cli.analyze_cmd",    # analyze
    "coach.cli.profile_cmds",   # enroll, profiles
    "coach.cli.check_cmd",      # check
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coach",
        description="A voice-guided listening coach for two people: timed speak/listen "
                    "turns, spoken prompts, and warm feedback on how the talk was shared.",
    )
    parser.add_argument("--version", action="version", version=f"coach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except CoachError as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("coach: interrupted", file=sys.stderr)
        return 130
