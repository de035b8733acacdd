"""Write the bundled demo recording: coach/data/demo.ogg and its exact truth, demo.json.

Two espeak-ng voices ("Alex" and "Sam") go through the default evening plan as a couple
would: enrollment, two rounds of share-and-reflect, a little free talk. The recording is
quiet wherever the coach would be speaking, so ``coach demo`` can play the whole plan
with this file standing in for the microphone.

Run from the repository root: ``python scripts/make_demo.py`` (about 2 s). The audio
samples are deterministic (fixed texts, fixed seed); the OGG bytes differ run to run
because libsndfile picks a random Ogg stream serial number.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from coach.frames import SAMPLE_RATE_HZ
from coach.tts import espeak_ng

REPO = Path(__file__).resolve().parent.parent

# -- timing of the default evening plan (seconds); change here when the plan changes ----
WELCOME_S = 20.0          # welcome + "Alex, tell me about your day" before the first voice
AFTER_ENROLL_A_S = 14.0   # 12 s floor silence ends the clip, then the prompt for Sam
AFTER_ENROLL_B_S = 24.0   # floor silence, then the prompt that opens round 1
TURN_GAP_S = 26.0         # floor silence (12 s) + next prompt (3-12 s) + chime
ROUND_GAP_S = 30.0        # before rounds 2 and 3: floor silence + round intro + prompt + chime
SENTENCE_PAUSE_S = (0.3, 1.0)   # natural pauses between one speaker's sentences
FREE_TALK_GAP_S = (0.4, 1.2)    # hand-overs in free talk
CLOSING_S = 70.0          # silence while the coach gives its closing feedback
NOISE_DBFS = -60.0        # faint room rumble throughout (RMS): fridge, ventilation
NOISE_LOWPASS_HZ = 300.0  # the rumble's band
HISS_DBFS = -72.0         # broadband hiss under it (see room_noise)
SPEECH_GAIN = 0.7         # espeak-ng peaks near 0.55; this keeps the voices natural, not loud
RATE_WPM = 140
COMPRESSION_LEVEL = 0.95  # Vorbis quality (0 best, 1 smallest): the hiss costs most of the bits
SEED = 20261126

VOICES = {
    "Alex": {"voice": "en-us+m3", "pitch": 40},
    "Sam": {"voice": "en-gb+f4", "pitch": 65},
}

# Each turn: (label, speaker, items); an item is a sentence of the speaker, or
# ("Name", "text") for a listener's backchannel placed in a pause of the turn.
PLAN = [
    ("gap", WELCOME_S),
    ("enroll", "Alex", ["Today was a long one, but a good one.",
                        "I finally finished the budget report, and I walked home the long way, by the river."]),
    ("gap", AFTER_ENROLL_A_S),
    ("enroll", "Sam", ["My day was quieter.",
                       "I spent the morning in the garden, and then I called my sister, "
                       "and we laughed about old holidays."]),
    ("gap", AFTER_ENROLL_B_S),
    ("share", "Alex", ["Lately I've been feeling stretched thin at work.",
                       "There are so many meetings, and I keep carrying things home in my head.",
                       "But this week I helped the new person on my team solve a hard problem on her own, "
                       "and I felt really proud of that.",
                       "It's a small thing, but it reminded me why I like what I do.",
                       "I want to spend less energy worrying, and more on moments like that."]),
    ("gap", TURN_GAP_S),
    ("reflect", "Sam", ["What I heard is that work has been pulling at you from every side.",
                        "And that helping your colleague made you proud. Did I get that right?"]),
    ("gap", TURN_GAP_S),
    ("share", "Sam", ["For me, I've been missing our slow evenings together.",
                      "When we're both busy, I start to feel a little alone, even in the same room.",
                      "I know work is heavy for you right now, so I'm not asking for more time.",
                      "I'd love it if we kept one evening a week just for us, with no phones."]),
    ("gap", TURN_GAP_S),
    ("reflect", "Alex", ["So what I'm hearing is that you miss our slow evenings,",
                         "and that you feel alone when we're both busy. You'd like one evening that's just ours."]),
    ("gap", ROUND_GAP_S),
    ("share", "Alex", ["Lately I've been thinking about what makes me feel at home.",
                       "It's small things, like the smell of coffee on a Sunday, or you humming while you cook.",
                       "I want to notice those moments more, instead of rushing past them.",
                       "Tonight, sitting here with you, is one of them."]),
    ("gap", TURN_GAP_S),
    ("reflect", "Sam", ["What I heard is that home is in the small things for you,",
                        "and you want to slow down and notice them."]),
    ("gap", TURN_GAP_S),
    ("share", "Sam", ["Lately I've been thinking about how I handle stress.",
                      "I tend to go quiet, and try to fix everything by myself.",
                      "I'm learning that it helps to tell you early, even when it feels awkward.",
                      "Thank you for being patient with me while I practise."]),
    ("gap", TURN_GAP_S),
    ("reflect", "Alex", ["So you're learning to share stress early, instead of carrying it alone.",
                         "And you feel I've been patient."]),
    ("gap", ROUND_GAP_S),
    ("free", "Alex", ["This was nice. I feel lighter already."]),
    ("free", "Sam", ["Me too. Shall we pick our evening now?"]),
    ("free", "Alex", ["How about Thursdays?", ("Sam", "Mm-hm."), "I usually finish early on Thursdays."]),
    ("free", "Sam", ["Thursday works. I could cook that lentil soup you like."]),
    ("free", "Alex", ["Yes please. And I'll bring a dessert."]),
    ("free", "Sam", ["Deal. No phones at the table, though."]),
    ("free", "Alex", ["Agreed.", "Maybe we can take a walk afterwards, if the weather is kind.", ("Sam", "Yeah."),
                      "Just around the park."]),
    ("free", "Sam", ["I'd like that. It's nice to have something to look forward to."]),
    ("free", "Alex", ["Remember our walk last spring, when it suddenly started to rain?"]),
    ("free", "Sam", ["How could I forget?", ("Alex", "Yeah."), "We hid under that bakery awning for half an hour."]),
    ("free", "Alex", ["Best croissants I ever had. Thank you for doing this with me tonight."]),
    ("free", "Sam", ["Thank you too. Same time next week?"]),
    ("gap", CLOSING_S),
]


def speak(name: str, text: str) -> np.ndarray:
    """One sentence in ``name``'s voice, trimmed to its sound (the truth boundaries)."""
    v = VOICES[name]
    audio = espeak_ng(text, v["voice"], RATE_WPM, pitch=v["pitch"]) * SPEECH_GAIN
    loud = np.flatnonzero(np.abs(audio) > 0.01)  # espeak pads with digital silence
    return audio[loud[0]:loud[-1] + 1] if len(loud) else audio


def room_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rumble below 300 Hz at ``NOISE_DBFS`` plus a broadband hiss at ``HISS_DBFS``.

    Why both: Vorbis spends ~25-33 kbit/s on white noise at any level, so a -60 dBFS white
    floor alone makes a 1.8 MB file; rumble alone is cheap, but leaves the speech band
    near digital silence, where coach's spectral VAD took 12 % of the quiet frames for
    speech (0 % with the hiss; measured on this file, see the report).
    """
    from scipy.signal import butter, sosfilt

    rumble = sosfilt(butter(4, NOISE_LOWPASS_HZ, fs=SAMPLE_RATE_HZ, output="sos"), rng.standard_normal(n))
    rumble *= 10 ** (NOISE_DBFS / 20) / np.sqrt(np.mean(rumble ** 2))
    hiss = rng.standard_normal(n) * 10 ** (HISS_DBFS / 20)
    return (rumble + hiss).astype(np.float32)


def build() -> tuple[np.ndarray, dict]:
    """Lay the plan out on one timeline; returns (audio, truth as in demo.json)."""
    rng = np.random.default_rng(SEED)
    pieces: list[tuple[int, np.ndarray]] = []
    segments, turns = [], []
    t = 0.0
    prev_kind = None
    for kind, *rest in PLAN:
        if kind == "gap":
            t += rest[0]
            prev_kind = kind
            continue
        speaker, items = rest
        if kind == "free" and prev_kind == "free":
            t += rng.uniform(*FREE_TALK_GAP_S)
        turn_start = t
        for i, item in enumerate(items):
            if i:
                t += rng.uniform(*SENTENCE_PAUSE_S)
            who, text = (speaker, item) if isinstance(item, str) else item
            audio = speak(who, text)
            start = int(round(t * SAMPLE_RATE_HZ))
            pieces.append((start, audio))
            end_s = (start + len(audio)) / SAMPLE_RATE_HZ
            segments.append({"speaker": who, "start_s": round(start / SAMPLE_RATE_HZ, 3),
                             "end_s": round(end_s, 3), "text": text})
            t = end_s
        turns.append({"kind": kind, "speaker": speaker, "start_s": round(turn_start, 3), "end_s": round(t, 3)})
        prev_kind = kind
    total = int(round(t * SAMPLE_RATE_HZ))
    audio = room_noise(total, rng)
    for start, clip in pieces:
        audio[start:start + len(clip)] += clip
    truth = {
        "names": list(VOICES),
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "duration_s": round(total / SAMPLE_RATE_HZ, 3),
        "voices": {name: {"engine": "espeak-ng", "rate_wpm": RATE_WPM, **v} for name, v in VOICES.items()},
        "noise_dbfs": {"rumble_below_300_hz": NOISE_DBFS, "hiss": HISS_DBFS},
        "segments": segments,
        "turns": turns,
        "talk_s": {name: round(sum(s["end_s"] - s["start_s"] for s in segments if s["speaker"] == name), 3)
                   for name in VOICES},
    }
    return np.clip(audio, -1.0, 1.0), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "coach" / "data", help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    audio, truth = build()
    ogg = args.out / "demo.ogg"
    # libsndfile 1.2.2 segfaults writing minutes of Vorbis in one call: write 1 s at a time.
    with sf.SoundFile(str(ogg), "w", SAMPLE_RATE_HZ, 1, format="OGG", subtype="VORBIS",
                      compression_level=COMPRESSION_LEVEL) as f:
        for i in range(0, len(audio), SAMPLE_RATE_HZ):
            f.write(audio[i:i + SAMPLE_RATE_HZ])
    (args.out / "demo.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    print(f"{ogg}: {truth['duration_s']:.1f} s, {ogg.stat().st_size / 1e6:.2f} MB; talk "
          + ", ".join(f"{k} {v:.1f} s" for k, v in truth["talk_s"].items())
          + f"; {len(truth['segments'])} segments")
    for turn in truth["turns"]:
        print(f"  {turn['kind']:8s} {turn['speaker']:5s} {turn['start_s']:7.2f}-{turn['end_s']:7.2f} "
              f"({turn['end_s'] - turn['start_s']:.1f} s)")


if __name__ == "__main__":
    main()
