"""`coach start`, `coach demo` and `coach plans`: run a guided evening, or list the plans."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from importlib import resources
from pathlib import Path

from coach.errors import CoachError, DeviceError
from coach.plans import available_plans, load_plan
from coach.settings import load_settings

DEMO_NAMES = ("Alex", "Sam")


def _names(text: str | None, fallback) -> list[str]:
    from coach.profiles import normalize_name

    names = [normalize_name(n) for n in (text.split(",") if text else fallback)]
    if len(names) != 2 or not all(names):
        raise CoachError("--names needs two names separated by a comma, e.g. --names Alex,Sam")
    if names[0].casefold() == names[1].casefold():
        raise CoachError("--names: the two partners need different names")
    for n in names:
        if len(n) > 40 or any(c in n for c in "{}\n\t"):
            raise CoachError(f"--names: '{n}' is not a usable name (at most 40 letters, no braces)")
    return names


def demo_recording() -> Path:
    return Path(str(resources.files("coach") / "data" / "demo.ogg"))


def _add_session_args(p: argparse.ArgumentParser, demo: bool) -> None:
    p.add_argument("--plan", help="plan name (see `coach plans`) or path to a plan .toml file "
                                  "(default: evening, or [session] plan in settings)")
    if not demo:
        p.add_argument("--names", help="the two partners, floor order, e.g. Alex,Sam")
        p.add_argument("--input", metavar="FILE",
                       help="use a recording (WAV/FLAC/OGG) as the microphone; runs as fast as "
                            "the machine allows unless --realtime")
        p.add_argument("--mic", metavar="DEVICE", help="microphone (index or part of its name; see `coach devices`)")
        p.add_argument("--or-demo", action="store_true",
                       help="if no microphone can be opened, run the demo instead")
        p.add_argument("--keep-audio", action="store_true",
                       help="keep a WAV of the session's microphone in the data dir (off by default)")
    p.add_argument("--realtime", action="store_true", help="run a recording at normal speed")
    p.add_argument("--output", metavar="none|DEVICE|FILE.wav",
                   help="where the coach's speech goes (default: the speaker; with --input or "
                        "in the demo, none unless named)")
    p.add_argument("--speaker-device", metavar="DEVICE", help="speaker for the coach's voice")
    p.add_argument("--silence-end", type=float, metavar="SECONDS",
                   help="end a turn after the floor holder is silent this long (default 12; 0 = never)")
    p.add_argument("--commands", action="store_true",
                   help="listen for spoken commands (\"coach pause\", \"coach next\", …); "
                        "experimental, off by default: it still hears false commands")
    p.add_argument("--no-commands", action="store_true", help="do not listen for spoken commands")
    p.add_argument("--tts", choices=["auto", "espeak-ng", "pyttsx3", "none"],
                   help="speech engine (none: on-screen text and chimes only)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with the results on stdout (progress goes to stderr)")
    p.add_argument("--quiet", action="store_true", help="no live view or prompt lines")
    p.add_argument("--seed", type=int, help=argparse.SUPPRESS)


def register(sub) -> None:
    p = sub.add_parser("start", help="run a guided evening with the microphone",
                       description="Run a guided conversation: spoken prompts, timed turns, "
                                   "measured talk, and feedback at the end. Hands-free: turns "
                                   "end by time or silence (spoken commands with --commands).")
    _add_session_args(p, demo=False)
    p.set_defaults(func=lambda a: run_session_command(a, demo=False))

    p = sub.add_parser("demo", help="the whole evening on a bundled recording, no sound hardware needed",
                       description="Run the default plan with a bundled two-voice recording "
                                   "standing in for the microphone; the coach's speech goes to no "
                                   "device. Prints what the coach said and what it measured.")
    _add_session_args(p, demo=True)
    p.set_defaults(func=lambda a: run_session_command(a, demo=True))

    p = sub.add_parser("plans", help="list the plans", description="List the plans you can run "
                       "with --plan, and where each lives (copy one to edit it).")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--show", metavar="NAME", help="print a plan's TOML, to copy and edit")
    p.set_defaults(func=run_plans)


def run_plans(args) -> int:
    if args.show:
        plan = load_plan(args.show)
        where = plan.source
        if where.startswith("built-in:"):
            print((resources.files("coach") / "plans" / where.split(":", 1)[1]).read_text(), end="")
        else:
            print(Path(where).read_text(), end="")
        return 0
    rows = []
    for name, where in available_plans().items():
        plan = load_plan(name)
        rows.append({"name": name, "minutes": round(plan.planned_s() / 60 + 2), "description": plan.description,
                     "source": where})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']:<10} ~{r['minutes']:>2} min  {r['description']}")
        print("\nCopy one with `coach plans --show evening > my.toml`, edit it, then `coach start --plan my.toml`.")
    return 0


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: treated like Ctrl-C, so the evening so far is saved."""


def _install_signals():
    def on_term(signum, frame):
        raise _Terminated()

    def on_int(signum, frame):
        # A second Ctrl-C quits at once; SQLite's transactions keep the database whole.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        raise KeyboardInterrupt()

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.signal(signal.SIGINT, on_int)
    return previous


def run_session_command(args, demo: bool) -> int:
    from coach.runner import SessionOptions, run_guided

    settings = load_settings()
    names = list(DEMO_NAMES) if demo else _names(args.names, settings.session.names)
    plan = load_plan(args.plan or settings.session.plan)
    opts = SessionOptions(
        names=names, plan=plan, demo=demo,
        input_path=Path(demo_recording()) if demo else (Path(args.input) if args.input else None),
        realtime=args.realtime, output=args.output, speaker_device=args.speaker_device,
        mic=getattr(args, "mic", None), json=args.json, quiet=args.quiet,
        silence_end_s=args.silence_end, tts=args.tts,
        commands=True if args.commands else (False if args.no_commands else None),
        keep_audio=getattr(args, "keep_audio", False), seed=args.seed,
    )
    if opts.input_path is None:
        try:
            from coach.sources import MicSource

            MicSource(opts.mic).open_and_close()
        except DeviceError as exc:
            if not getattr(args, "or_demo", False):
                raise
            print(f"coach: {exc}; running the demo instead", file=sys.stderr)
            return run_session_command(argparse.Namespace(**{**vars(args), "plan": args.plan}), demo=True)
    previous = _install_signals()
    try:
        result, interrupted, unsaved = run_guided(opts, settings)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    try:
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        if unsaved:
            print(f"coach: this evening could not be saved in the history ({unsaved}); "
                  "its results are printed above", file=sys.stderr, flush=True)
    except OSError:  # a closed terminal (SIGHUP) has nowhere to print; the history has it
        pass
    if interrupted:
        return 130
    return 2 if unsaved else 0
