"""Writes coach/models/synthetic_voices.npz: what synthetic speech looks like.

A recording of a session holds the coach's own prompts, and other recordings may hold
another synthetic voice between turns: neither partner said them. Attribution compares
speech with this reference (heard through the recording's noise, like an enrollment)
and gives what matches it to nobody. Several voices, rates and pitches of two
synthesizers are used (espeak-ng, which pyttsx3 speaks through on Linux, and flite: the
coach's voice is another synthesizer's on macOS or Windows), so the reference covers
synthetic speech in general, not one variant. Made from espeak-ng's voices alone, it let
36 % of a third synthesizer's speech (festival's) go to a partner over the 14 cases of
``bench_accuracy.py --prompts --prompts-festival``; with flite's four voices in it, 23 %
(festival's ked 34 -> 26 %, its slt, the speaker of flite's slt, 66 -> 36 %).
Needs the espeak-ng and flite programs. The file
also holds each voice's d-vector (``coach.embedding``): a window of a recording much
nearer one of them than either enrolled partner is synthetic speech.

    python scripts/make_voice_reference.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.embedding import shared_encoder  # noqa: E402
from coach.features import clip_log_mel  # noqa: E402
from coach.tts import espeak_ng  # noqa: E402
from coach.vad import detect_speech, speech_samples  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from bench_accuracy import synthesized  # noqa: E402

VOICES = [("en-us+f3", 150, 50), ("en-us", 140, 40), ("en-gb", 160, 55), ("en+m3", 150, 35),
          ("en+f4", 170, 65), ("en-us+m7", 130, 45), ("en-gb-scotland", 150, 50), ("en+f2", 145, 60),
          ("flite:slt", 160, 0), ("flite:rms", 150, 0), ("flite:awb", 150, 0), ("flite:kal16", 165, 0)]
SENTENCES = [
    "Welcome, both of you. Let's take twenty minutes for each other.",
    "You have the floor for up to two minutes. Share one real feeling from your day.",
    "Tell your partner what you heard, in your own words.",
    "Here is a question: what has been inspiring you recently?",
    "That's our time. Thank you both for listening so well tonight.",
    "Thirty seconds left. Take your time to finish your thought.",
]
ROWS_PER_VOICE = 500


def say(text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
    """``text`` in an espeak-ng voice, or in another synthesizer's for a voice named
    "flite:NAME" or "festival:NAME" (``bench_accuracy.synthesized``; no pitch)."""
    x = synthesized(text, voice, rate)
    return espeak_ng(text, voice, rate, pitch) if x is None else x


def main() -> None:
    rng = np.random.default_rng(0)
    rows, voiced = [], []
    for voice, rate, pitch in VOICES:
        audio = np.concatenate([np.concatenate([say(s, voice, rate, pitch), np.zeros(4000, np.float32)])
                                for s in SENTENCES])
        logmel = clip_log_mel(audio)
        speech = detect_speech(audio)[:len(logmel)]
        picked = logmel[speech]
        voiced.append(speech_samples(audio, speech))
        rows.append(picked[np.sort(rng.choice(len(picked), min(ROWS_PER_VOICE, len(picked)), replace=False))])
    out = ROOT / "coach" / "models" / "synthetic_voices.npz"
    dvectors = np.array(shared_encoder().embed_many(voiced), np.float32)
    np.savez_compressed(out, logmel=np.concatenate(rows).astype(np.float16), dvectors=dvectors,
                        voices=np.array([v for v, _, _ in VOICES]))
    print(f"wrote {out.relative_to(ROOT)}: {sum(len(r) for r in rows)} rows, {out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
