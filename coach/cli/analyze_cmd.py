"""`coach analyze`: talk time and share per person in any recording, offline."""

from __future__ import annotations

import json
import sys

from coach.columns import columns, pad
from coach.errors import CoachError


def register(sub) -> None:
    p = sub.add_parser(
        "analyze", help="measure how long each person talks in a recording",
        description="Analyse a WAV/FLAC/OGG recording: talk time and share per enrolled "
                    "person. Name each person with --speaker NAME=ENROLL.wav (a clip of them "
                    "alone, 4 s or more) or --speaker NAME (a stored profile, see `coach enroll`).")
    p.add_argument("recording", help="the recording to analyse (WAV, FLAC or OGG)")
    p.add_argument("--speaker", action="append", default=[], metavar="NAME[=CLIP]",
                   help="a person: NAME=CLIP enrolls from a clip, NAME uses a stored profile "
                        "(give it twice, once per partner)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--commands", action="store_true",
                   help="also list spoken commands (\"coach pause\", …) heard in the recording")
    p.set_defaults(func=run)


def _profiles(specs: list[str]):
    from coach.profiles import ProfileStore, check_distinct, enroll_many, normalize_name
    from coach.sources import read_audio

    store = ProfileStore()
    names, clips, stored = [], {}, {}
    for spec in specs:
        name, _, clip = spec.partition("=")
        name = normalize_name(name)
        if not name:
            raise CoachError(f"--speaker '{spec}': give a name, as NAME=CLIP.wav or NAME")
        if name in names:
            raise CoachError(f"--speaker {name} is given twice; each partner once")
        names.append(name)
        if clip:
            clips[name] = read_audio(clip)
        else:
            stored[name] = store.load(name)
    enrolled = dict(zip(clips, enroll_many(list(clips.items()))))  # one batch for the voice encoder
    out = {name: enrolled[name] if name in enrolled else stored[name] for name in names}
    check_distinct(out)
    return out


class _CommandCollector:
    """Feeds the recording's frames to the live command listener and keeps what it hears."""

    def __init__(self):
        from coach.commands import CommandListener

        self._listener = CommandListener()
        self.heard = []

    def feed(self, frame) -> None:
        from coach.frames import frames_from_array

        # The listener works on 20 ms frames, as the microphone gives them.
        for small in frames_from_array(frame.samples, frame.start_s):
            self.heard += self._listener.feed(small)

    def finish(self) -> list:
        return self.heard + self._listener.flush()


def run(args) -> int:
    from coach.analysis import analyze_file

    if not args.speaker and not args.commands:
        raise CoachError("name the people to measure with --speaker NAME=CLIP.wav "
                         "(or --speaker NAME for a stored profile), once per partner")
    if len(args.speaker) == 1:
        raise CoachError("give --speaker twice, once per partner: one voice alone cannot be told apart")
    profiles = _profiles(args.speaker)
    listeners = []
    if args.commands:
        listeners.append(_CommandCollector())
    result = analyze_file(args.recording, profiles, progress=not args.json, listeners=listeners)
    if listeners:
        heard = listeners[0].finish()
        result.commands = [{"t_s": round(c.t_s, 2), "command": c.command} for c in heard]
        from coach.talk import without_spans

        result.segments = without_spans(result.segments, [(c.t_s, c.end_s) for c in heard])
    data = result.to_json()
    if args.json:
        json.dump(data, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(f"{args.recording}: {data['duration_s']:.1f} s")
    width = max([columns(n) for n in data["speakers"]] + [6])
    heard = any(v["talk_s"] > 0 for v in data["speakers"].values())
    for name, v in data["speakers"].items():
        # With no talk at all the shares are an even split by convention: not a finding.
        share = f"{100 * v['share']:5.1f} %" if heard else "    – "
        print(f"  {pad(name, width)}  {v['talk_s']:7.1f} s  {share}")
    if not heard:
        print("  nobody was heard talking: is this the right recording, and was the microphone on?")
    if data["unsure_s"] > 0:
        print(f"  {pad('unsure', width)}  {data['unsure_s']:7.1f} s")
    for c in data.get("commands", []):
        print(f"  command at {c['t_s']:.1f} s: {c['command']}")
    return 0
