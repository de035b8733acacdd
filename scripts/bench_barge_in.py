"""Barge-in benchmark: "coach pause" / "coach stop" said while the coach is talking.

The coach's real prompts (every line of the bundled plans, in its own voice) play through
simulated rooms: the sound system's delay, a reverberant path, the coach as loud as or
louder than the partners at the microphone, a running tap or an exercise bike 20 dB
below speech. After a first prompt (the evening's welcome, which the echo canceller
learns from), a second prompt is interrupted 1.5-4 s in by a command in one of the
held-out voices of ``bench_commands.py``. Three things are measured, for the listener
with its echo canceller, the same with the broadband talk-over test (before the
per-band one), without the syllable check, without the talk check, with the talk check's
search on the decoder's own word beam (before ``talk_word_beam``), without decoding the
tail of long talk (before ``tail_dip``), decoding raw audio only (no neural denoiser, as
before it), and without the canceller (the same run):

- recall: the right command heard within 0.6 s of its start, and in time (1.5 s);
- false commands while the coach talks alone (per hour of the coach's speech), and
  while a partner talks over a prompt (corpus conversation, no command): none is the
  only acceptable number, since a false "stop" ends the evening;
- CPU of the listener per second of audio.

    python scripts/bench_barge_in.py [--trials N] [--seed S] [--only "with echo|syllable"]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_commands import HYSTERESIS_CUT, RAW_AUDIO, espeak, level, shared_data  # noqa: E402
from coach.command_settings import RecognizerSettings  # noqa: E402
from coach.commands import CommandListener, CommandListenerSettings  # noqa: E402
from coach.echo import EchoSettings  # noqa: E402
from coach.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame  # noqa: E402
from coach.plans import load_plan  # noqa: E402
from coach.voice import TtsVoice  # noqa: E402

SR = SAMPLE_RATE_HZ
VOICES = ["en+f4", "en-gb-scotland", "en-us+m7", "en+f2", "en-029"]
ROOMS = [  # (delay s, RT60 s, coach's level over the partners' dB, clock drift ppm)
    (0.05, 0.3, 0.0, 0), (0.15, 0.5, 6.0, 60), (0.3, 0.4, 3.0, 0), (0.9, 0.3, 3.0, -60)]
"""A drift is a speaker and a microphone on different clocks (between two PulseAudio
devices the echo drifted by a sample a second, 60 ppm)."""


def prompts() -> list[str]:
    """Every spoken line of the bundled plans, names filled in."""
    lines = []
    for name in ("short", "evening", "long"):
        plan = load_plan(name)
        for step in plan.steps:
            for text in step.values():
                if isinstance(text, str) and len(text) > 40:
                    lines.append(text.replace("{a}", "Alex").replace("{b}", "Sam").replace(
                        "{speaker}", "Alex").replace("{listener}", "Sam").replace("{question}", ""))
    return sorted(set(lines))


def room_path(rng, delay_s: float, rt60: float) -> np.ndarray:
    t = np.arange(int(rt60 * SR)) / SR
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60) * 0.2
    ir[0] = 1.0
    return np.concatenate([np.zeros(int(delay_s * SR)), ir])


def drifted(x: np.ndarray, ppm: float) -> np.ndarray:
    """``x`` played by a clock ``ppm`` parts per million fast (or slow when negative)."""
    if not ppm:
        return x
    t = np.arange(len(x)) * (1 + ppm * 1e-6)
    return np.interp(t, np.arange(len(x)), x, right=0.0).astype(np.float32)


def run(mic: np.ndarray, clips: list[tuple[float, np.ndarray]], speaking, settings) -> tuple[list, float]:
    """The listener over ``mic`` as the session would run it: told what the coach plays."""
    listener = CommandListener(settings)
    heard, ci = [], 0
    t0 = time.process_time()
    for i in range(0, len(mic), FRAME_SAMPLES):
        t = i / SR
        while ci < len(clips) and clips[ci][0] <= t:
            listener.coach_playing(clips[ci][1], clips[ci][0])
            ci += 1
        heard += [(h, (i + FRAME_SAMPLES) / SR) for h in
                  listener.feed(Frame(mic[i:i + FRAME_SAMPLES], t, speaking(t)))]
    return heard, time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24, help="interrupted prompts per detector")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--echo", default="", help='EchoSettings to try beside the default, e.g. "double_talk=6,partitions=24"')
    ap.add_argument("--only", default="", help='run only detectors whose name contains this (or one of "a|b")')
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    root = shared_data()
    noises = [sf.read(root / "noise" / f"{n}.wav", dtype="float32")[0] for n in ("running_tap", "exercise_bike_30s")]
    convs = [sf.read(root / "conversations" / c / f"{c}.wav", dtype="float32")[0] for c in ("c07", "c09", "c11")]
    voice = TtsVoice("espeak-ng", cache_dir=None)
    lines = prompts()
    rendered = [voice.render(t) for t in lines]
    welcome = max(rendered[:3], key=len)
    detectors = [("with echo canceller", CommandListenerSettings()),
                 ("hysteresis cut (before)", HYSTERESIS_CUT),
                 ("echo canceller, no Whisper",
                  CommandListenerSettings(recognizer=RecognizerSettings(whisper_check=False))),
                 ("broadband talk-over (before)",
                  CommandListenerSettings(echo=EchoSettings(band_talk=None))),
                 ("echo canceller, no syllables",
                  CommandListenerSettings(recognizer=RecognizerSettings(syllable_check=False))),
                 ("echo canceller, no talk check",
                  CommandListenerSettings(recognizer=RecognizerSettings(min_talk_margin=None))),
                 ("talk check, wide beam (before)",
                  CommandListenerSettings(recognizer=RecognizerSettings(talk_word_beam=None))),
                 ("no tail decode (before)", CommandListenerSettings(tail_dip=None)),
                 ("echo canceller, raw audio", RAW_AUDIO),
                 ("without (before)", replace(RAW_AUDIO, echo=None))]
    if args.only:
        detectors = [d for d in detectors if any(part in d[0] for part in args.only.split("|"))]
        if not detectors and not args.echo:
            ap.error(f"--only {args.only!r} names no detector")
    if args.echo:
        kw = {k: type(getattr(EchoSettings(), k))(v) for k, v in (i.split("=") for i in args.echo.split(","))}
        detectors.insert(1, (f"echo {args.echo}"[:22], CommandListenerSettings(echo=EchoSettings(**kw))))
    stats = {name: dict(hit=0, late=0, false_alone=0, false_talk=0, cpu=0.0, audio=0.0) for name, _ in detectors}
    coach_s = 0.0
    print(f"{len(lines)} prompts, {args.trials} interrupted prompts, rooms {ROOMS}", flush=True)
    for k in range(args.trials):
        delay, rt60, over, ppm = ROOMS[k % len(ROOMS)]
        path = room_path(rng, delay, rt60)
        second = rendered[int(rng.integers(len(rendered)))]
        word = ("pause", "stop")[k % 2]
        cmd = level(espeak(f"coach {word}", VOICES[k % len(VOICES)], int(rng.integers(140, 181)),
                           int(rng.integers(30, 71))), -26)
        t2 = len(welcome) + SR
        n = t2 + len(second) + 3 * SR
        ref = np.zeros(n, np.float32)
        ref[:len(welcome)] = welcome
        ref[t2:t2 + len(second)] = second
        echo = drifted(np.convolve(ref, path)[:n], ppm)
        echo = level(echo, -26 + over) * np.sqrt(np.mean(echo ** 2)) / np.sqrt(np.mean(echo[np.abs(echo) > 1e-3] ** 2))
        noise = noises[k % 2]
        noise = level(np.tile(noise, n // len(noise) + 1)[:n], -46)
        clips = [(0.0, welcome), (t2 / SR, second)]

        def speaking(t, a=len(welcome) / SR, b=t2 / SR, c=(t2 + len(second)) / SR):
            return t < a + 0.3 or b <= t < c + 0.3
        at = t2 + int(rng.uniform(1.5, min(4.0, len(second) / SR - 1.0)) * SR)
        near = np.zeros(n, np.float32)
        near[at:at + len(cmd)] = cmd[:n - at]
        # A partner talking over the prompt, no command (a stretch of corpus conversation).
        conv = convs[k % len(convs)]
        off = int(rng.integers(0, len(conv) - n))
        talk = level(conv[off:off + n], -26) * (np.arange(n) >= t2)
        coach_s += (len(welcome) + len(second)) / SR
        for name, settings in detectors:
            st = stats[name]
            heard, cpu = run((echo + near + noise).astype(np.float32), clips, speaking, settings)
            st["cpu"] += cpu
            st["audio"] += n / SR
            ok = [h for h, ret in heard if h.command == word and abs(h.t_s - at / SR) < 0.6]
            st["hit"] += bool(ok)
            st["late"] += bool(ok) and all(ret - (at + len(cmd)) / SR > 1.5 for h, ret in heard if h in ok)
            alone, _ = run((echo + noise).astype(np.float32), clips, speaking, settings)
            st["false_alone"] += len(alone)
            over_talk, _ = run((echo + talk + noise).astype(np.float32), clips, speaking, settings)
            st["false_talk"] += len(over_talk)
        print(f"  trial {k + 1}/{args.trials}: room {delay:.2f} s / RT60 {rt60} / +{over:.0f} dB / {ppm:+d} ppm, "
              f"'coach {word}' ({VOICES[k % len(VOICES)]})", flush=True)
    print(f"\n{'listener':<30} {'recall':>7} {'late':>5} {'false, coach alone':>19} {'false/h of coach':>17} "
          f"{'false, talked over':>19} {'CPU %core':>10}")
    for name, _ in detectors:
        st = stats[name]
        print(f"{name:<30} {100 * st['hit'] / args.trials:6.0f}% {st['late']:5d} {st['false_alone']:19d} "
              f"{3600 * st['false_alone'] / max(coach_s, 1e-9):17.1f} {st['false_talk']:19d} "
              f"{100 * st['cpu'] / max(st['audio'], 1e-9):9.1f}%")
    print(f"\n{args.trials} interrupted prompts ({coach_s / 60:.1f} min of the coach's speech); recall: the "
          "command within 0.6 s of its start; late: heard more than 1.5 s after it ended; false: any "
          "command heard in the same prompts with no command said (coach alone; a partner talking over "
          "the second prompt).")


if __name__ == "__main__":
    main()
