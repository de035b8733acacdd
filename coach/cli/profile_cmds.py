"""`coach enroll` and `coach profiles`: record, list and delete voice profiles."""

from __future__ import annotations

import json

import numpy as np

from coach.errors import CoachError
from coach.frames import SAMPLE_RATE_HZ


def register(sub) -> None:
    p = sub.add_parser(
        "enroll", help="record a partner's voice profile (about 8 s of talking)",
        description="Learn a partner's voice from about 8 s of talking, from the microphone "
                    "or a clip. Only features are stored, never the audio.")
    p.add_argument("name", help="the partner's name")
    p.add_argument("--from", dest="from_file", metavar="FILE", help="enroll from a recording instead of the mic")
    p.add_argument("--mic", metavar="DEVICE", help="input device (index or part of its name)")
    p.add_argument("--seconds", type=float, default=8.0, help="how long to record (default 8)")
    p.set_defaults(func=run_enroll)
    q = sub.add_parser("profiles", help="list stored voice profiles, or delete one",
                       description="List the stored voice profiles, or delete one with --delete.")
    q.add_argument("--delete", metavar="NAME", help="delete this person's profile")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=run_profiles)


def _record(seconds: float, device) -> np.ndarray:
    from coach.sources import MicSource

    if not 4 <= seconds <= 60:
        raise CoachError(f"--seconds {seconds:g} is not allowed: use 4 to 60")
    src = MicSource(device)
    want = int(seconds * SAMPLE_RATE_HZ)
    got, n = [], 0
    for frame in src.frames():
        got.append(frame.samples)
        n += len(frame.samples)
        if n >= want:
            break
    src.close()
    return np.concatenate(got)[:want]


def run_enroll(args) -> int:
    from coach.profiles import ProfileStore, check_name, enroll_from_audio, normalize_name
    from coach.sources import read_audio

    args.name = normalize_name(args.name)
    check_name(args.name)
    if args.from_file:
        samples = read_audio(args.from_file)
    else:
        print(f"{args.name}: please talk for {args.seconds:g} seconds — tell me about your day…")
        samples = _record(args.seconds, args.mic)
    profile = enroll_from_audio(args.name, samples)
    path = ProfileStore().save(profile)
    print(f"saved {args.name}'s voice profile ({profile.speech_s:.1f} s of speech) to {path}")
    return 0


def run_profiles(args) -> int:
    from coach.profiles import ProfileStore

    store = ProfileStore()
    if args.delete:
        store.delete(args.delete)
        if args.json:
            print(json.dumps({"deleted": args.delete}))
        else:
            print(f"deleted {args.delete}'s voice profile")
        return 0
    rows = []
    for name in store.names():
        try:
            p = store.load(name)
            rows.append({"name": name, "created_at": p.created_at, "speech_s": round(p.speech_s, 1)})
        except CoachError:
            rows.append({"name": name, "created_at": None, "speech_s": None, "stale": True})
    if args.json:
        print(json.dumps({"profiles": rows}))
    elif not rows:
        print("no voice profiles yet; record one with `coach enroll NAME`")
    else:
        for r in rows:
            extra = "  (enroll again: older format)" if r.get("stale") else f"  {r['speech_s']} s  {r['created_at']}"
            print(f"{r['name']}{extra}")
    return 0
