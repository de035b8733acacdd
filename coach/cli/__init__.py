"""The `coach` command line: a thin layer over the library; every command has --help.

Each command group lives in its own module with ``register(subparsers)``, which adds
parsers whose ``func`` takes the parsed args and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from coach import __version__
from coach.errors import CoachError

COMMANDS = {
    "start": "coach.cli.session_cmds", "demo": "coach.cli.session_cmds",
    "plans": "coach.cli.session_cmds", "devices": "coach.cli.devices_cmd",
    "history": "coach.cli.history_cmds", "report": "coach.cli.history_cmds",
    "forget": "coach.cli.history_cmds", "analyze": "coach.cli.analyze_cmd",
    "enroll": "coach.cli.profile_cmds", "profiles": "coach.cli.profile_cmds",
    "check": "coach.cli.check_cmd",
}
"""Which module registers each command: a run of one command imports only its module
(the others pull in sqlite, plans and sound libraries: ~40 ms of every `coach analyze`)."""
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))
"""Every command module, in the order `coach --help` lists their commands."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line naming the command and what to try."""

    def error(self, message: str):
        command = self.prog.removeprefix("coach").strip()
        self.exit(2, f"coach: {command + ': ' if command else ''}{message} "
                     f"(see `{self.prog} --help`)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command`` (a known command name) only that command's module is loaded."""
    parser = _Parser(
        prog="coach",
        description="A voice-guided listening coach for two people: timed speak/listen "
                    "turns, spoken prompts, and warm feedback on how the talk was shared.",
    )
    parser.add_argument("--version", action="version", version=f"coach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    modules = [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 bad input, 130 interrupted)."""
    args_in = sys.argv[1:] if argv is None else argv
    first = next((a for a in args_in if not a.startswith("-")), None)
    parser = build_parser(first)
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
    except BrokenPipeError:  # `coach history | head`: the reader left; nothing to say
        return 0
    except Exception as exc:  # a bug: one line, not a traceback; COACH_DEBUG=1 shows it
        if os.environ.get("COACH_DEBUG"):
            raise
        print(f"coach: unexpected error: {type(exc).__name__}: {exc} "
              "(run with COACH_DEBUG=1 for details, and please report it)", file=sys.stderr)
        return 1
