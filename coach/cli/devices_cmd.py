"""`coach devices`: list the microphones and speakers, to pick one with --mic / --speaker-device."""

from __future__ import annotations

import json
import sys

from coach.outputs import list_devices


def register(sub) -> None:
    p = sub.add_parser("devices", help="list microphones and speakers",
                       description="List the sound devices coach can use. Pass an index or part "
                                   "of a name to `coach start --mic DEVICE` or "
                                   "`--speaker-device DEVICE`; * marks the default.")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    devices = list_devices()  # DeviceError (PortAudio missing) reaches the CLI as one line
    if args.json:
        print(json.dumps(devices))
        return 0
    for kind, title in (("input", "Microphones"), ("output", "Speakers")):
        print(f"{title}:")
        for dev in devices[kind]:
            mark = "*" if dev["default"] else " "
            print(f" {mark} {dev['index']:>3}  {dev['name']}  ({dev['channels']} ch, {dev['hostapi']})")
        if not devices[kind]:
            print("     none found")
    if not devices["input"] and not devices["output"]:
        print("coach: no sound devices found: is a sound card connected, or PulseAudio/PipeWire "
              "running? `coach demo` works without any.", file=sys.stderr)
    return 0
