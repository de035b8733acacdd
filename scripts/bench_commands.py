"""Benchmark spoken-command detection: recall by noise level, false commands, latency, CPU.

Commands are rendered by espeak-ng (several voices, rates and pitches; flite's voices in
the "flite" split, festival's in the "festival" split), optionally
through a room (a synthetic exponentially decaying impulse response, or with ``--room
kitchen`` simulated kitchens), spliced into
real conversation from ../shared/data with kitchen noise at 20, 10 and 5 dB. Voices,
noises and conversations are split: the "tune" split was used to choose the detector's
settings, the "held-out" split is what the headline figures report. Baselines measured in
the same run: the listener cutting speech with hysteresis as before and taking only
commands Whisper agrees with ("hysteresis cut, agree only": off threshold 0.35, 0.15 s
pause, no ``whisper_override_gap``, no word count), the listener without Whisper's second
opinion ("previous: no Whisper check"), and also without the syllable check ("previous: no
syllable check"), the listener decoding raw audio, without the neural denoiser, with the
Wiener fallback ("previous: raw audio, Wiener", the default before it), the verified
grammar as it was before the SNR-aware checks ("previous: verified, fixed": fixed
thresholds -3.2/-4.5, no extra-speech check, no denoised fallback, feature state carried
between decodes), the garbage-loop default before that (1e-10, no verification),
pocketsphinx keyphrase (KWS) mode, and the bare command grammar without verification.

The listener's CPU is also measured on conversations with kitchen noise added at 10 dB,
where the denoiser runs most. ``--noisy-convs`` counts its false commands in all of
c01-c12 under each noise named, 10 dB below the talk (``--noisy-snr``): ordinary
conversation in a noisy kitchen, where most false commands come from.

    /work/venv/bin/python scripts/bench_commands.py [--split held-out|tune|flite|festival] [--quick]
        [--only "verified|rec "] [--recognizer "threshold_per_db=0;enhance_below_snr_db=none"]
        [--room synthetic|kitchen] [--trials-json FILE] [--noisy-convs running_tap,fan,...] [--noisy-snr DB]

``--trials-json FILE`` writes one JSON object per line for every command trial and
detector (the command, voice, noise level, room, hit, latency and every command heard),
to find which trials are missed or slow.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from coach.command_settings import MEANING, RecognizerSettings  # noqa: E402
from coach.commands import CommandListener, CommandListenerSettings  # noqa: E402
from coach.frames import SAMPLE_RATE_HZ, frames_from_array  # noqa: E402

SR = SAMPLE_RATE_HZ
BOOL_FIELDS = ("use_filler", "use_garbage", "verify", "fresh_features", "syllable_check", "whisper_check",
               "whisper_slack_needs_agreement", "whisper_denoised_breaks_ties", "whisper_tie_needs_raw",
               "denoise_while_speaking")
LISTENER_FIELDS = ("max_extra_speech_s", "noise_context_s", "end_silence_s", "pre_roll_s",
                   "denoise_below_snr_db", "denoise_context_s", "threshold", "off_threshold",
                   "min_speech_s", "max_command_s", "join_gap_s", "tail_dip", "denoise_while_speaking",
                   "echo_tail_s")
"""--recognizer keys that set CommandListenerSettings rather than RecognizerSettings."""
RAW_AUDIO = CommandListenerSettings(denoise_below_snr_db=None,
                                    recognizer=RecognizerSettings(enhance_below_snr_db=12.0,
                                                                  whisper_check=False))
"""The listener before the neural denoiser: raw audio, with the Wiener fallback below 12 dB."""
HYSTERESIS_CUT = CommandListenerSettings(off_threshold=0.35, end_silence_s=0.15, recognizer=RecognizerSettings(
    whisper_override_gap=None, whisper_max_words=99, whisper_word_cost=0.0))
"""The listener before the finer cut: hysteresis (0.35) and 0.15 s pauses, and only
commands Whisper agrees with, its transcript's length not counted."""
SPOKEN = ["pause", "resume", "continue", "next", "repeat", "stop"]
DISTRACTORS = ["what's next?", "let's pause for a second", "the coach said to stop",
               "I'll repeat that", "coach, that was nice", "next time let's continue"]
SPLITS = {
    "tune": dict(voices=["en-us", "en+f3", "en-gb", "en-us+m3"], noises=["doing_the_dishes_60s"],
                 convs=["c01", "c02", "c03", "c04", "c05", "c06"]),
    "held-out": dict(voices=["en+f4", "en-gb-scotland", "en-us+m7", "en+f2", "en-029"],
                     noises=["running_tap", "exercise_bike_30s"],
                     convs=["c07", "c08", "c09", "c10", "c11", "c12"]),
}
SPLITS["flite"] = dict(SPLITS["held-out"], voices=["flite:slt", "flite:rms", "flite:awb", "flite:kal16"])
"""The "flite" split is the held-out one said by another synthesizer than espeak-ng (the
flite program: two American voices, a Scottish one and a diphone voice): how much the
figures owe to espeak-ng's voices, which the listener was tuned on."""
SPLITS["festival"] = dict(SPLITS["held-out"], voices=["festival:ked_diphone", "festival:cmu_us_slt_arctic_hts"] * 2)
"""The "festival" split: the held-out one said by a third synthesizer's two voices (an
American man's diphones and an American woman's HTS voice), each twice over with its
own draws of rate, conversation and noise, for as many trials as the flite split."""


def shared_data() -> Path:
    env = os.environ.get("COACH_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not (path / "conversations").is_dir():
        sys.exit(f"shared data not found at {path}: set COACH_SHARED_DATA")
    return path


def espeak(text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
    """``text`` said by espeak-ng's ``voice`` at ``rate`` words a minute and ``pitch``
    (0-99), or by flite's or festival's for a voice named "flite:NAME" or
    "festival:NAME" (its pitch left as the voice has it)."""
    from bench_accuracy import synthesized

    try:
        x = synthesized(text, voice, rate)
    except (FileNotFoundError, RuntimeError) as exc:  # the program or its voice is missing
        sys.exit(f"the {voice.partition(':')[0]} split needs that synthesizer and its voices "
                 f"(apt-get install flite festival festvox-kdlpc16k festvox-us-slt-hts): {exc}")
    if x is None:
        out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text],
                             capture_output=True, check=True).stdout
        x, rate_hz = sf.read(io.BytesIO(out), dtype="float32")
        x = resample_poly(x, 320, 441).astype(np.float32) if rate_hz == 22050 else x
    on = np.nonzero(np.abs(x) > 0.01)[0]
    return x[max(0, on[0] - 80):on[-1] + 80]


def reverb(x: np.ndarray, rng, room: str = "synthetic") -> np.ndarray:
    """``x`` said in a room: the synthetic one (an exponentially decaying noise tail 17 dB
    over the direct sound, RT60 0.3-0.6 s: a talker several metres away in a live room)
    or, with ``--room kitchen``, a simulated kitchen (``bench_accuracy.kitchen_rirs``:
    image sources, the talker 1-3.5 m away, direct-to-reverberant ratio about -1 to
    -9 dB). The synthetic room's draws are made either way, so both rooms' trials share
    their voices, rates, conversation and noise."""
    rt60 = rng.uniform(0.3, 0.6)
    t = np.arange(int(rt60 * SR)) / SR
    h = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60) * 0.3
    h[0] = 1.0
    if room == "kitchen":
        from bench_accuracy import kitchen_rirs

        # one room per rendering, seeded by it: the near or the far place, in turn
        seed = int(np.frombuffer(np.float32(rt60).tobytes(), np.uint32)[0])
        h = kitchen_rirs(seed)[0][seed % 2]
    y = fftconvolve(x, h)[:len(x) + int(0.1 * SR)]
    return (y * np.sqrt(np.mean(x ** 2) / np.mean(y ** 2))).astype(np.float32)


def level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x * (10 ** (dbfs / 20) / np.sqrt(np.mean(x ** 2) + 1e-12))


def under_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``x`` with ``noise`` (repeated to its length) ``snr_db`` below its mean power."""
    return (x + level(np.resize(noise, len(x)), 10 * np.log10(np.mean(x ** 2)) - snr_db)).astype(np.float32)


def noise_clip(root: Path, name: str) -> np.ndarray:
    """A noise by name: a clip of the corpus (``running_tap``...) or one of the noises
    ``bench_accuracy.other_noise`` makes (``fan``, ``pan``, ``white``, ``pink``; 60 s)."""
    from bench_accuracy import OTHER_NOISES, other_noise

    if name in OTHER_NOISES:
        return other_noise(name, 60 * SR)
    path = root / "noise" / f"{name}.wav"
    if not path.is_file():
        sys.exit(f"--noise: no noise named {name!r}: use one of {', '.join(OTHER_NOISES)} "
                 f"or a clip in {root / 'noise'}")
    return sf.read(path, dtype="float32")[0]


class Material:
    def __init__(self, root: Path, split: str, room: str = "synthetic", noises: list[str] | None = None):
        s = SPLITS[split]
        self.room = room  # where a reverberant command is said (``reverb``)
        self.voices = s["voices"]
        self.convs = [sf.read(root / "conversations" / c / f"{c}.wav", dtype="float32")[0] for c in s["convs"]]
        self.noises = [noise_clip(root, n) for n in (noises or s["noises"])]

    def trial(self, phrase: str, voice: str, snr_db: float, room: bool, rng):
        """Return (audio, phrase_start_s, phrase_end_s): the phrase spliced into conversation."""
        cmd = espeak(phrase, voice, int(rng.integers(130, 191)), int(rng.integers(30, 71)))
        cmd = level(reverb(cmd, rng, self.room) if room else cmd, -26 + rng.uniform(-3, 3))
        conv = self.convs[rng.integers(len(self.convs))]
        cut = int(rng.uniform(4.0, len(conv) / SR - 3.0) * SR)
        gap1, gap2 = (np.zeros(int(rng.uniform(a, b) * SR), np.float32) for a, b in ((0.2, 0.6), (0.3, 0.8)))
        parts = [conv[cut - 4 * SR:cut], gap1, cmd, gap2, conv[cut:cut + 3 * SR]]
        x = np.concatenate(parts)
        t0 = (4 * SR + len(gap1)) / SR
        noise = self.noises[rng.integers(len(self.noises))]
        reps = int(np.ceil(len(x) / len(noise))) + 1
        off = int(rng.integers(len(noise)))
        n = np.tile(noise, reps)[off:off + len(x)]
        x = x + level(n, 10 * np.log10(np.mean(cmd ** 2)) - snr_db)
        return x.astype(np.float32), t0, t0 + len(cmd) / SR


def run_listener(x: np.ndarray, settings, warm: bool = True) -> list[tuple]:
    """Stream x; return (HeardCommand, when it takes effect). Live, the listener's thread
    does the work of each feed() after its frame has arrived and the feeds before it are
    done: the audio time of its frame or the end of the work before it, whichever is
    later, plus the time the feed took. That time is wall-clock, because Whisper's
    judgements use two threads where the machine has two cores
    (``RecognizerSettings.whisper_threads``): run the bench alone, or other work on the
    machine counts too. ``warm``: the listener loads its models first, as a session does
    before it starts (``CommandListener.warm_up``); not counted."""
    listener = CommandListener(settings)
    if warm:
        listener.warm_up(denoiser=True)
    out, done = [], 0.0
    for frame in frames_from_array(x):
        t = time.perf_counter()
        heard = listener.feed(frame)
        done = max(done, frame.end_s) + time.perf_counter() - t
        out += [(h, done) for h in heard]
    out += [(h, max(done, len(x) / SR)) for h in listener.flush()]
    return out


def run_kws(x: np.ndarray, threshold: float) -> list[tuple]:
    """Baseline: pocketsphinx keyphrase spotting, continuous, in 100 ms blocks."""
    import pocketsphinx

    with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as f:
        for w in SPOKEN:
            f.write(f"coach {w} /{threshold:g}/\n")
    d = pocketsphinx.Decoder(kws=f.name, samprate=SR, logfn="/dev/null")
    os.unlink(f.name)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    out = []
    d.start_utt()
    for i in range(0, len(pcm), 1600):
        d.process_raw(pcm[i:i + 1600].tobytes(), False, False)
        if d.hyp() is not None:
            word = d.hyp().hypstr.split()[-1]
            seg = list(d.seg())
            t = seg[0].start_frame / 100 if seg else i / SR
            from coach.commands import HeardCommand
            out.append((HeardCommand(t, MEANING.get(word, word), (i + 1600) / SR), (i + 1600) / SR))
            d.end_utt()
            d.start_utt()
    d.end_utt()
    return out


def noisy_conversation_false(root: Path, convs: list[np.ndarray], noises: list[str], snr_db: float = 10.0) -> list[str]:
    """False commands of the listener in ordinary conversation with each noise ``snr_db``
    below the talk (the clean conversations' count is the main table's "conv false"):
    one line per noise and one for them all, printed as they come."""
    rows, total, hours = [], 0, 0.0
    for name in noises:
        noise = noise_clip(root, name)
        heard = []
        for c in convs:
            heard += [h.command for h, _ in run_listener(under_noise(c, noise, snr_db), None, warm=False)]
        these_h = sum(len(c) for c in convs) / SR / 3600
        total, hours = total + len(heard), hours + these_h
        rows.append(f"conversation over {name} at {snr_db:g} dB: {len(heard)} false commands in {60 * these_h:.1f} min "
                    f"({len(heard) / these_h:.1f}/h){': ' + ', '.join(heard) if heard else ''}")
        print(rows[-1], flush=True)
    if len(noises) > 1:
        rows.append(f"conversation over all {len(noises)} noises: {total} false commands in {60 * hours:.1f} min "
                    f"({total / hours:.1f}/h)")
    return rows


def score(heard, phrase, t0, t1):
    """(hit, false_count, latency_s) for one command trial."""
    want = MEANING.get(phrase, phrase)
    hit, lat, false = False, None, 0
    for h, returned_s in heard:
        if not hit and h.command == want and abs(h.t_s - t0) <= 0.5:
            hit, lat = True, returned_s - t1
        else:
            false += 1
    return hit, false, lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="held-out", choices=list(SPLITS))
    ap.add_argument("--quick", action="store_true", help="one rendering per command per condition")
    ap.add_argument("--weights", default="", help="comma list of garbage weights to compare (tuning)")
    ap.add_argument("--recognizer", default="",
                    help='";"-separated recognizer settings to compare, e.g. "beam=1e-30,use_filler=0" '
                         '(also the listener fields in LISTENER_FIELDS; \"none\" for None)')
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--room", default="synthetic", choices=["synthetic", "kitchen"],
                    help="the reverberant trials' room: the synthetic one (the headline figures) or simulated "
                         "kitchens (needs pyroomacoustics: the bench extra)")
    ap.add_argument("--noise", default="",
                    help="comma list of noises for the command trials instead of the split's: clips of the "
                         "corpus (running_tap, doing_the_dishes_60s, exercise_bike_30s) or noises made in numpy "
                         "(fan, pan, white, pink)")
    ap.add_argument("--max-convs", type=int, default=12,
                    help="use c01.. up to this many for false/h (0: none, for a quicker run of the trials)")
    ap.add_argument("--only", default="", help='run only detectors whose name contains this (or one of "a|b")')
    ap.add_argument("--trials-json", metavar="FILE", type=argparse.FileType("w"),
                    help="also write one JSON line per command trial and detector (voice, noise, room, "
                         "hit, latency, every command heard) to FILE, to find the slow or missed ones")
    ap.add_argument("--noisy-convs", default="", metavar="NOISE[,NOISE]",
                    help="also count the listener's false commands in all of c01-c12 with each of these noises "
                         "(names as for --noise) below the talk (--noisy-snr): ordinary conversation in a noisy "
                         "kitchen")
    ap.add_argument("--noisy-snr", type=float, default=10.0, metavar="DB",
                    help="with --noisy-convs: how far below the talk the noise is (default 10 dB)")
    args = ap.parse_args()
    if args.max_convs < 0 or (args.max_convs == 0 and args.noisy_convs):
        ap.error("--max-convs: 0 or more conversations (at least 1 with --noisy-convs)")
    detail = args.trials_json
    root = shared_data()
    mat = Material(root, args.split, args.room, [n for n in args.noise.split(",") if n] or None)
    detectors = {"coach (verified grammar)": lambda x, **kw: run_listener(x, None, **kw)}
    for w in filter(None, args.weights.split(",")):
        st = CommandListenerSettings(recognizer=RecognizerSettings(
            garbage_weight=float(w), use_garbage=True, beam=1e-20, verify=False))
        detectors[f"garbage weight {w}"] = lambda x, st=st, **kw: run_listener(x, st, **kw)
    for spec in filter(None, args.recognizer.split(";")):  # e.g. "beam=1e-30,use_filler=0"
        kw = {k: (None if v == "none" else float(v) if k not in BOOL_FIELDS else v not in ("0", "false"))
              for k, v in (item.split("=") for item in spec.split(","))}
        lkw = {k: kw.pop(k) for k in list(kw) if k in LISTENER_FIELDS}
        st = CommandListenerSettings(recognizer=RecognizerSettings(**kw), **lkw)
        detectors[f"rec {spec}"] = lambda x, st=st, **kw: run_listener(x, st, **kw)
    detectors["hysteresis cut, agree only"] = lambda x, **kw: run_listener(x, HYSTERESIS_CUT, **kw)
    no_whisper = CommandListenerSettings(recognizer=RecognizerSettings(whisper_check=False))
    detectors["previous: no Whisper check"] = lambda x, **kw: run_listener(x, no_whisper, **kw)
    no_syllables = CommandListenerSettings(recognizer=RecognizerSettings(syllable_check=False,
                                                                         whisper_check=False))
    detectors["previous: no syllable check"] = lambda x, **kw: run_listener(x, no_syllables, **kw)
    detectors["previous: raw audio, Wiener"] = lambda x, **kw: run_listener(x, RAW_AUDIO, **kw)
    cmudict = CommandListenerSettings(recognizer=RecognizerSettings(extra_pronunciations=(),
                                                                    whisper_check=False))
    detectors["previous: CMUdict only"] = lambda x, **kw: run_listener(x, cmudict, **kw)
    fixed = CommandListenerSettings(max_extra_speech_s=None, denoise_below_snr_db=None, recognizer=RecognizerSettings(
        min_frame_score=-3.2, min_word_frame_score=-4.5, threshold_per_db=0.0, enhance_below_snr_db=None,
        fresh_features=False, whisper_check=False))
    detectors["previous: verified, fixed"] = lambda x, **kw: run_listener(x, fixed, **kw)
    old = CommandListenerSettings(max_extra_speech_s=None, denoise_below_snr_db=None,
                                  recognizer=RecognizerSettings(use_garbage=True, beam=1e-20, verify=False,
                                                                enhance_below_snr_db=None, fresh_features=False,
                                                                whisper_check=False))
    detectors["previous: garbage 1e-10"] = lambda x, **kw: run_listener(x, old, **kw)
    bare = CommandListenerSettings(max_extra_speech_s=None, denoise_below_snr_db=None,
                                   recognizer=RecognizerSettings(use_garbage=False, verify=False,
                                                                 enhance_below_snr_db=None, fresh_features=False,
                                                                 whisper_check=False))
    detectors["baseline: bare grammar"] = lambda x, **kw: run_listener(x, bare, **kw)
    detectors["baseline: KWS 1e-30"] = lambda x, **kw: run_kws(x, 1e-30)

    chosen = [name for name in detectors if any(part in name for part in args.only.split("|"))]
    if not chosen:
        ap.error(f"--only {args.only!r} names no detector; they are: {'; '.join(detectors)}")
    conditions = [(snr, room) for snr in (20, 10, 5) for room in (False, True)]
    voices = mat.voices[:2] if args.quick else mat.voices
    rng = np.random.default_rng(args.seed)
    trials = [(p, v, snr, room, mat.trial("coach " + p, v, snr, room, rng))
              for snr, room in conditions for v in voices for p in SPOKEN]
    # The phrases at 20 dB, then (drawn after them, so the 20 dB draws stay as they were)
    # at 10 dB, where the noise lets Whisper hear "what's" more like "coach".
    dtrials = {snr: [mat.trial(p, v, snr, False, rng) for v in voices for p in DISTRACTORS] for snr in (20, 10)}
    print(f"split={args.split}: voices {voices}, {len(trials)} command trials, "
          f"{len(dtrials[20])} distractor trials at 20 and at 10 dB, seed {args.seed}\n")
    header = (f"{'detector':26} {'20dB':>6} {'10dB':>6} {'5dB':>6} {'dry':>6} {'room':>6} "
              f"{'false/trial':>11} {'distr@20dB':>10} {'distr@10dB':>10} {'lat p50':>7} {'lat p90':>7} {'lat max':>7} "
              f"{'conv false':>10} {'false/h':>7} {'CPU %core':>9}")
    rows = []
    convs = sorted((root / "conversations").glob("c[0-9][0-9]/c[0-9][0-9].wav"))
    conv_audio = [sf.read(p, dtype="float32")[0] for p in convs[:args.max_convs]]
    conv_hours = sum(len(c) for c in conv_audio) / SR / 3600
    for name in chosen:
        detect = detectors[name]
        hits, n, false_cmd, lats = {}, {}, 0, []
        for i, (p, v, snr, room, (x, t0, t1)) in enumerate(trials):
            heard = detect(x)
            hit, false, lat = score(heard, p, t0, t1)
            if detail:
                detail.write(json.dumps(dict(detector=name, trial=i, command=p, voice=v, snr_db=snr, room=room,
                                             t0_s=round(t0, 3), t1_s=round(t1, 3), hit=hit, latency_s=lat,
                                             heard=[[h.command, h.t_s, round(r, 3)] for h, r in heard])) + "\n")
                detail.flush()
            for key in (snr, "room" if room else "dry"):
                hits[key] = hits.get(key, 0) + hit
                n[key] = n.get(key, 0) + 1
            false_cmd += false
            if lat is not None:
                lats.append(lat)
        distractor_false = {snr: sum(len(detect(x)) for x, _, _ in these) for snr, these in dtrials.items()}
        t = time.process_time()
        conv_false = sum(len(detect(c, warm=False)) for c in conv_audio)
        # --max-convs 0: no conversation, so no rate and no CPU figure ("nan")
        cpu = (time.process_time() - t) / (conv_hours * 3600) if conv_hours else float("nan")
        pct = {k: 100 * hits[k] / n[k] for k in n}
        rows.append(f"{name:26} {pct[20]:5.0f}% {pct[10]:5.0f}% {pct[5]:5.0f}% {pct['dry']:5.0f}% "
                    f"{pct['room']:5.0f}% {false_cmd / len(trials):11.2f} {distractor_false[20]:10d} {distractor_false[10]:10d} "
                    f"{np.median(lats) if lats else float('nan'):6.2f}s "
                    f"{np.percentile(lats, 90) if lats else float('nan'):6.2f}s {max(lats) if lats else float('nan'):6.2f}s "
                    f"{conv_false:10d} {conv_false / conv_hours if conv_hours else float('nan'):7.1f} {100 * cpu:8.1f}%")
        print(rows[-1], flush=True)
    # The denoiser runs only on noisy stretches: the listener's cost in a noisy kitchen.
    noise = mat.noises[0]
    noisy = [under_noise(c, noise, 10) for c in conv_audio[:4]]
    cpu_rows = []
    for name, st in (("coach (verified grammar)", None), ("previous: no Whisper check", no_whisper),
                     ("previous: raw audio, Wiener", RAW_AUDIO)) if noisy else ():
        t = time.process_time()
        heard = sum(len(run_listener(c, st, warm=False)) for c in noisy)
        secs = sum(len(c) for c in noisy) / SR
        cpu_rows.append(f"{name:26} CPU {100 * (time.process_time() - t) / secs:.1f} % of a core, "
                        f"{heard} false commands, on {secs / 60:.1f} min of conversation with noise at 10 dB")
        print(cpu_rows[-1], flush=True)
    noisy_rows = noisy_conversation_false(root, conv_audio, [n for n in args.noisy_convs.split(",") if n],
                                          args.noisy_snr)
    print("\n" + header + "\n" + "\n".join(rows) + "\n" + "\n".join(cpu_rows + noisy_rows))
    print(f"\nrecall: right command within 0.5 s of its true start; false/trial: other detections in a"
          f" ~9 s trial; distr@20dB, distr@10dB: detections in {len(dtrials[20])} trials of ordinary"
          f" phrases using the words, with the noise that far below them; conv false: detections over {len(conv_audio)} of c01-c12 ({conv_hours * 60:.1f} min, no commands);"
          f" latency: from the command's end to when the feed() that returned it is done (that feed's frame"
          f" or the work before it, whichever ends later, plus the feed's wall time: run the bench alone), the"
          f" listener warmed up as a session does;"
          f" CPU: process time per audio second on those conversations.")


if __name__ == "__main__":
    main()
