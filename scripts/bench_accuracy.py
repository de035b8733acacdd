"""Accuracy benchmark: coach's measurement vs a plain baseline, on ../shared/data.

For every case (conversations c01-c12 with their enrollment clips, the two AMI
excerpts with theirs) and optional robustness variants, prints talk-share error (pp),
each speaker's talk-time error (%), DER with a 0.25 s collar (names fixed by
enrollment), interjections caught and real-time factor (CPU), for coach and for a
baseline measured in the same run (webrtcvad mode 2 + nearest mean-MFCC per 1.5 s window).
"conf" is attribution alone: of the time one partner talks alone, the part given only
to the other (``confusion``); the talk-share error also carries what speech detection
misses or adds, which differs from voice to voice.

``--new-pairs`` adds 34 conversations the corpus does not have: the 17 pairs of its 8
voices that c01-c12 leave out, assembled by the corpus' own script with other shares,
turn lengths and noises, each at 10 and 5 dB (``new_pair_cases``). They came after the
tuning of everything else; they showed the d-vector clustering's failure that
``AttributionSettings.windows_from_voices`` mends, and its ``voice_full_margin`` was
picked on them together with the originals. ``--new-pairs-noise white,pink`` mixes them
with white or pink noise instead of the corpus' clips (``other_noise``), by the corpus'
own script and SNR definition: they showed the voice models' failure under steady
broadband noise that ``AttributionSettings.noise_levels_db`` mends.

``--seeds N`` runs coach N times on each case, its voice models' random draws seeded
0..N-1 (systems coach, coach@1, ...): which of the room's noise rows the models draw
moves single cases by several pp, so compare changes over seeds.

``--prompts`` adds a copy of each case with a synthetic voice (a coach's prompt, in
espeak-ng voices coach's synthetic reference was not made from) between turns, three
times: it should go to nobody, and the line says how much of it went to a partner
(DER is not scored over it). With ``--prompts-flite`` the voice is flite's (another
synthesizer), with ``--prompts-festival`` festival's (a third), with ``--prompts-person`` a real person's, from the corpus' voices that are
not in the conversation (``person_clips``).

Interjections ("ij") are the listener's short turns inside or between the other's long
turns (see ``interjections``): "ij 40/55%" means 40 % of their reference time was given
to the person who said them and 55 % to the other one only (the rest: to nobody).

    python scripts/bench_accuracy.py [--data DIR] [--variants] [--walk] [--kitchen] [--call]
                                     [--prompts [--prompts-flite | --prompts-festival | --prompts-person]] [--other-noises] [--new-pairs [--new-pairs-noise white,pink]]
                                     [--seeds 3] [--only c01,c12]
                                     [--no-baseline] [--voice-band-truth]

The summary also groups the original conversations by their pairs: "same-gender" (MM,
FF) and "mixed". ``--voice-band-truth`` scores the conversations against a truth made
by the corpus' own rule on the sources high-passed at 100 Hz (``voice_band_truth``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import json
import os
import re
import shutil

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one core, as the target says
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.analysis import Analyzer, settings_from  # noqa: E402
from coach.attribution import AttributionSettings  # noqa: E402
from coach.frames import frames_from_array  # noqa: E402
from coach.profiles import EnrollmentRefused, enroll_from_audio  # noqa: E402
from coach.settings import MeasureSettings  # noqa: E402
from coach.sources import read_audio  # noqa: E402

STEP_S = 0.01
COLLAR_S = 0.25


def data_dir(arg: str | None) -> Path:
    for cand in (arg, os.environ.get("COACH_SHARED_DATA"), ROOT.parent / "shared" / "data"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    sys.exit("no shared data folder: pass --data or set COACH_SHARED_DATA")


def read_rttm(path: Path) -> list[tuple[float, float, str]]:
    out = []
    for line in path.read_text().splitlines():
        p = line.split()
        if p and p[0] == "SPEAKER":
            out.append((float(p[3]), float(p[3]) + float(p[4]), p[7]))
    return out


NEW_PAIR_SNRS_DB = (10, 5)
"""Each new pair's conversation is heard at these noise levels (the corpus' SNR definition)."""


def new_pair_cases(root: Path, noises: tuple[str, ...] = ()):
    """Conversations the corpus does not have: the 17 pairs of its 8 voices that c01-c12
    leave out, assembled by the corpus' own ``make_conversations.py`` (imported from
    ``root``, nothing written) with other shares, turn lengths, noises and levels: a
    check that what was tuned on c01-c12 holds for pairings and mixes it never saw.

    ``noises``: kinds of ``other_noise`` (e.g. "white", "pink") the pairs take in turn
    instead of the corpus' clips, mixed by the corpus' script at its SNR definition
    (speech-active power over noise power): the corpus as it would be with noises it
    does not have."""
    import importlib.util

    script = root / "make_conversations.py"
    if not script.exists():
        sys.exit(f"--new-pairs needs {script} (the corpus' assembly script)")
    spec = importlib.util.spec_from_file_location("make_conversations", script)
    mc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mc)
    spk = mc.load_speakers()
    enroll = {sid: mc.pick_enrollment(s) for sid, s in spk.items()}
    used = {frozenset(sp[1:3]) for sp in mc.SPECS}
    pairs = [p for p in itertools.combinations(sorted(mc.GENDER, key=int), 2) if frozenset(p) not in used]
    if noises:
        made, read = {f"{n}.wav": n for n in noises}, mc.read_wav
        mc.read_wav = lambda path: (other_noise(made[Path(path).name], 60 * 16000).astype(np.float64)
                                    if Path(path).name in made else read(path))
        noises = tuple(made)
    else:
        noises = ("running_tap.wav", "doing_the_dishes_60s.wav", "exercise_bike_30s.wav")
    clips = {}
    for sid, (ui, st, en, _, _) in enroll.items():
        clips[f"ls{sid}"] = (mc.fade(spk[sid]["utts"][ui]["x"][st:en]) * spk[sid]["norm"]).astype(np.float32)
    for k, (a, b) in enumerate(pairs):
        share = (0.3, 0.5, 0.7, 0.45, 0.6)[k % 5]
        turn = (2.5, 4.0, 6.0, 9.0)[k % 4]
        noise = noises[k % len(noises)]
        for snr in NEW_PAIR_SNRS_DB:
            # The same seed for every level: the same conversation, only the noise's gain differs.
            spec_k = (f"p{k + 1:02d}", a, b, share, 70, turn, 2, 2, noise, snr)
            mix, _, segments, info = mc.build(spec_k, 100 + k, spk, enroll)
            names = list(info["speakers"])
            yield dict(name=f"p{k + 1:02d}@{snr}", audio=mix.astype(np.float32), new=True,
                       ref=[(t, t + d, who) for t, d, who in segments],
                       genders="".join(info["speakers"][n]["gender"] for n in names),
                       noise=f"{noise.split('_')[0].removesuffix('.wav')} {snr} dB", meta=info,
                       enroll_audio={n: clips[n] for n in names})


def cases(root: Path):
    conv = root / "conversations"
    index = {c["id"]: c for c in json.loads((conv / "index.json").read_text())} \
        if (conv / "index.json").exists() else {}
    for d in sorted(conv.glob("c[0-9]*")):
        meta = json.loads((d / f"{d.name}.json").read_text())
        names = list(meta["speakers"])
        genders = "".join(meta["speakers"][n]["gender"] for n in names)
        noise = meta.get("noise") or index.get(d.name, {}).get("noise") or ""
        if isinstance(noise, dict):
            noise = f"{noise.get('name', noise.get('file', ''))} {noise.get('snr_db', '')}".strip()
        yield dict(name=d.name, wav=d / f"{d.name}.wav", rttm=d / f"{d.name}.rttm", genders=genders,
                   noise=str(noise or "none"), meta=meta,
                   enroll={n: d / meta["speakers"][n]["enrollment_file"] for n in names})
    ami = root / "real" / "ami_excerpts"
    if ami.is_dir():
        clips = json.loads((ami / "enroll" / "enroll.json").read_text())["clips"]
        for wav in sorted(ami.glob("ami_dev*.wav")):
            e = clips[wav.stem]
            yield dict(name=wav.stem, wav=wav, rttm=wav.with_suffix(".rttm"), genders="??",
                       noise="far-field", enroll={n: ami / v["file"] for n, v in e.items()})


VOICE_BAND_HZ = 100.0


def voice_band_truth(root: Path, meta: dict) -> list[tuple[float, float, str]]:
    """The conversation's truth made again by the corpus' own rule (make_conversations.py:
    per-speaker energy threshold on 10 ms cells of the clean source utterances, bursts
    under 30 ms dropped, 20 ms margins, same-speaker pauses under 0.25 s bridged), but on
    the sources high-passed at ``VOICE_BAND_HZ``: thumps and rumble under 100 Hz in some
    LibriSpeech recordings (ls1688's most of all) count as talk in the shipped truth,
    though no voice is in them. With ``VOICE_BAND_HZ = 0`` it gives the shipped RTTM."""
    from scipy.signal import butter, sosfilt

    hop, win = 160, 400

    def frame_db(x):
        y = np.r_[x[:1], x[1:] - 0.97 * x[:-1]]
        n = -(-len(x) // hop)
        yp = np.concatenate([np.zeros((win - hop) // 2), y, np.zeros(win + n * hop - len(y))])
        idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
        return 10 * np.log10(np.mean(yp[idx] ** 2, axis=1) + 1e-12)

    def runs(mask):
        d = np.diff(np.r_[False, mask, False].astype(np.int8))
        return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))

    sos = butter(4, VOICE_BAND_HZ, "highpass", fs=16000, output="sos") if VOICE_BAND_HZ else None
    n_cells = int(np.ceil(meta["duration_s"] * 100)) + 1
    out = []
    for name, info in meta["speakers"].items():
        src_dir = (root / info["enrollment_source"]).parent
        db = {p.name: frame_db(sosfilt(sos, read_audio(p)) if sos is not None else read_audio(p))
              for p in sorted(src_dir.glob("*.wav"))}
        every = np.concatenate(list(db.values()))
        floor, peak = np.percentile(every, 10), np.percentile(every, 97)
        thr = max(floor + 0.3 * (peak - floor), peak - 40.0)
        act = np.zeros(n_cells, bool)
        for piece in meta["pieces"]:
            if piece["speaker"] != name:
                continue
            raw = db[Path(piece["src_file"]).name] > thr
            for a, b in runs(raw):
                if b - a < 3:
                    raw[a:b] = False
            own = raw.copy()
            for a, b in runs(raw):
                own[max(0, a - 2):b + 2] = True
            shift = int(round((piece["dst_start_s"] - piece["src_start_s"]) * 100))  # source cell -> cell
            a, b = (int(round(piece[k] * 100)) for k in ("dst_speech_start_s", "dst_speech_end_s"))
            act[a:b] |= own[a - shift:b - shift]
        spans = runs(act)
        for (_, end), (start, _) in zip(spans[:-1], spans[1:]):
            if start - end < 25:
                act[end:start] = True
        out += [(a / 100, b / 100, name) for a, b in runs(act)]
    return out


def grid(segs, names, dur_s):
    n = int(np.ceil(dur_s / STEP_S))
    g = {k: np.zeros(n, bool) for k in list(names) + [None]}
    for a, b, who in segs:
        g.setdefault(who, np.zeros(n, bool))[int(round(a / STEP_S)):int(round(b / STEP_S))] = True
    return g


def der(ref, hyp, names, dur_s, skip=()) -> float:
    """Diarization error rate (%) with a 0.25 s collar; ``skip``: (start_s, end_s) spans
    not scored (a synthetic voice, which ``synthetic_given`` scores instead)."""
    r, h = grid(ref, names, dur_s), grid(hyp, names, dur_s)
    n = len(r[names[0]])
    score = np.ones(n, bool)
    for a, b in skip:
        score[int(round(a / STEP_S)):int(round(b / STEP_S))] = False
    for a, b, _ in ref:  # no scoring within a collar of a reference boundary
        for t in (a, b):
            score[max(0, int(round((t - COLLAR_S) / STEP_S))):int(round((t + COLLAR_S) / STEP_S))] = False
    nref = sum(r[k].astype(int) for k in names)
    nhyp = sum(h[k].astype(int) for k in h)
    correct = sum((r[k] & h[k]).astype(int) for k in names)
    err = (np.maximum(nref, nhyp) - correct)[score].sum()
    total = nref[score].sum()
    return 100.0 * err / max(total, 1)


INTERJECTION_MAX_S = 2.0
"""A turn this short (seconds) of one speaker can be an interjection..."""
INTERJECTION_GAP_S = 1.5
"""...if a long turn of the other one ends at most this long before it (or spans its
start) and a long turn of theirs starts at most this long after it (or spans its end)."""
TURN_BRIDGE_S = 0.25
"""Reference segments of one speaker closer than this are one turn (coach's own bridge)."""


def interjections(ref, names) -> list[tuple[float, float, str]]:
    """The listener's short turns (≤ 2 s) inside or between long turns (> 2 s) of the other."""
    turns: dict[str, list[list[float]]] = {}
    for a, b, who in sorted(ref):
        t = turns.setdefault(who, [])
        if t and a - t[-1][1] < TURN_BRIDGE_S:
            t[-1][1] = max(t[-1][1], b)
        else:
            t.append([a, b])
    out = []
    for i, x in enumerate(names):
        long_y = [t for t in turns.get(names[1 - i], []) if t[1] - t[0] > INTERJECTION_MAX_S]
        for a, b in turns.get(x, []):
            if b - a > INTERJECTION_MAX_S:
                continue
            before = any(s <= a and e >= a - INTERJECTION_GAP_S for s, e in long_y)
            after = any(e >= b and s <= b + INTERJECTION_GAP_S for s, e in long_y)
            if before and after:
                out.append((a, b, x))
    return sorted(out)


def interjection_hits(ref, hyp, names, dur_s) -> tuple[float, float, float]:
    """(reference seconds of interjections, seconds given to their speaker, seconds given
    only to the other partner)."""
    h = grid(hyp, names, dur_s)
    total = right = wrong = 0.0
    for a, b, x in interjections(ref, names):
        sl = slice(int(round(a / STEP_S)), int(round(b / STEP_S)))
        mine, theirs = h[x][sl], h[names[1 - names.index(x)]][sl]
        total += len(mine) * STEP_S
        right += mine.sum() * STEP_S
        wrong += (theirs & ~mine).sum() * STEP_S
    return total, right, wrong


def confusion(ref, hyp, names, dur_s) -> float:
    """Attribution alone (%): of the time one partner talks alone, the part given only to
    the other one (what speech detection misses or adds is not counted here)."""
    r, h = grid(ref, names, dur_s), grid(hyp, names, dur_s)
    solo = total = 0
    for i, n in enumerate(names):
        other = names[1 - i]
        mine = r[n] & ~r[other]
        total += mine.sum()
        solo += (mine & h[other] & ~h[n]).sum()
    return 100.0 * solo / max(total, 1)


def share_if_perfect(ref, hyp, names, dur_s) -> dict[str, float]:
    """The talk-share error (pp) left if one part of the measurement were perfect:
    - "detection": every truly spoken step found, labelled as coach labelled it where it
      found speech and as the truth does where it missed it;
    - "attribution": the steps coach found labelled as the truth labels them (false
      alarms keep coach's labels);
    - "overlap": coach's labels, plus each found step where both truly talk counted for both.
    What is left with one part perfect is what the other parts cost."""
    r, h = grid(ref, names, dur_s), grid(hyp, names, dur_s)
    a, b = names
    ra, ha = r[a] | r[b], h[a] | h[b]
    both = r[a] & r[b] & ha
    got = {
        "detection": {n: (ra & h[n]).sum() + (r[n] & ~ha).sum() for n in names},
        "attribution": {n: (ha & r[n]).sum() + (ha & ~ra & h[n]).sum() for n in names},
        "overlap": {n: h[n].sum() + (both & ~h[n]).sum() for n in names},
    }
    true_a = r[a].sum() / max(r[a].sum() + r[b].sum(), 1)
    return {k: 100 * abs(g[a] / max(g[a] + g[b], 1) - true_a) for k, g in got.items()}


def talk(segs, names, dur_s):
    g = grid(segs, names, dur_s)
    return {k: g[k].sum() * STEP_S for k in names}


# -- the plain baseline: webrtcvad + nearest mean-MFCC per 1.5 s window ------------------

def baseline(x: np.ndarray, enroll: dict[str, np.ndarray]):
    import webrtcvad
    from scipy.fft import dct
    from coach.features import FFT_SIZE, mel_filterbank

    fb = mel_filterbank(26, 0, 8000)

    def mfcc(sig):
        n = len(sig) // 160 - 2
        idx = np.arange(400)[None, :] + 160 * np.arange(max(n, 0))[:, None]
        p = np.abs(np.fft.rfft(sig[idx] * np.hamming(400), FFT_SIZE)) ** 2
        return dct(np.log(p @ fb + 1e-10), norm="ortho", axis=1)[:, 1:14]

    vad = webrtcvad.Vad(2)

    def speech(sig):
        pcm = (np.clip(sig, -1, 1) * 32767).astype("<i2")
        return np.array([vad.is_speech(pcm[i:i + 480].tobytes(), 16000)
                         for i in range(0, len(pcm) - 479, 480)])

    cents = {}
    for n, e in enroll.items():
        sp = np.repeat(speech(e), 3)
        m = mfcc(e)
        k = min(len(m), len(sp))
        cents[n] = m[:k][sp[:k]].mean(axis=0)
    sp = speech(x)
    m = mfcc(x)
    names = list(enroll)
    segs = []
    win = 50  # 1.5 s of 30 ms frames
    for w0 in range(0, len(sp), win):
        ws = sp[w0:w0 + win]
        if not ws.any():
            continue
        a, b = w0 * 3, min(len(m), (w0 + len(ws)) * 3)
        mm = m[a:b][np.repeat(ws, 3)[:b - a]].mean(axis=0)
        who = min(names, key=lambda n: np.sum((mm - cents[n]) ** 2))
        for i in np.flatnonzero(ws):
            t = (w0 + i) * 0.03
            segs.append((t, t + 0.03, who))
    return segs


# -- robustness variants: built from the data, never stored ------------------------------

def variant(x: np.ndarray, kind: str) -> np.ndarray:
    from scipy.signal import butter, fftconvolve, resample_poly, sosfilt
    rng = np.random.default_rng(1)
    if kind == "phone":  # 8 kHz telephone band, 300-3400 Hz
        y = resample_poly(x, 1, 2)
        y = sosfilt(butter(4, [300, 3400], "bandpass", fs=8000, output="sos"), y)
        return resample_poly(y, 2, 1).astype(np.float32)
    if kind == "reverb":  # exponential-decay room, RT60 ~0.5 s
        t = np.arange(int(0.5 * 16000)) / 16000
        ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.5)
        ir[0] = 6.0
        y = fftconvolve(x, ir)[:len(x)]
        return (y / np.abs(y).max() * np.abs(x).max()).astype(np.float32)
    if kind == "quiet":  # -20 dB: a far-away microphone
        return (x * 0.1).astype(np.float32)
    raise ValueError(kind)


OTHER_NOISES = ("fan", "pan", "white", "pink")


def with_other_noise(x: np.ndarray, kind: str, snr_db: float) -> np.ndarray:
    """``x`` with ``other_noise(kind)`` added ``snr_db`` below its own level (RMS), on top
    of whatever noise it has: ``--other-noises``' copies."""
    z = other_noise(kind, len(x))
    return (x + z * np.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10))).astype(np.float32)


def other_noise(kind: str, n_samples: int, seed: int = 11) -> np.ndarray:
    """Kitchen noises the corpus does not have, made in numpy (unit RMS): "fan", an
    extractor fan (brown rumble band-passed to 60-2500 Hz, a 100 Hz motor hum and its
    harmonics, a little hiss); "pan", a sizzling pan (hiss above 2 kHz and ~80 crackles a
    second above 1.5 kHz, swelling and fading every 3 s); "white" and "pink" noise, the two
steady noises of Speech Commands' ``_background_noise_`` folder (where the corpus' tap,
dishes and bike come from) that the corpus does not use."""
    from scipy.signal import butter, lfilter, sosfilt

    rng = np.random.default_rng(seed)
    w = rng.standard_normal(n_samples)
    if kind == "fan":
        rumble = sosfilt(butter(2, [60, 2500], "bandpass", fs=16000, output="sos"), lfilter([1.0], [1.0, -0.98], w))
        t = np.arange(n_samples) / 16000
        hum = sum(0.3 / k * np.sin(2 * np.pi * 100 * k * t + k) for k in range(1, 6))
        hiss = sosfilt(butter(2, 3000, "highpass", fs=16000, output="sos"), w)
        x = rumble / rumble.std() + 0.5 * hum / hum.std() + 0.2 * hiss / hiss.std()
    elif kind == "pan":
        hiss = sosfilt(butter(2, 2000, "highpass", fs=16000, output="sos"), w)
        crack = np.zeros(n_samples)
        at = rng.integers(0, n_samples, size=int(n_samples / 16000 * 80))
        crack[at] = rng.standard_normal(len(at)) * rng.uniform(1, 8, len(at))
        crack = sosfilt(butter(2, 1500, "highpass", fs=16000, output="sos"), lfilter([1.0], [1.0, -0.7], crack))
        x = (hiss / hiss.std() + 1.5 * crack / crack.std()) * (1 + 0.5 * np.sin(2 * np.pi * np.arange(n_samples) / 48000))
    elif kind == "white":
        x = w
    elif kind == "pink":  # power falling 3 dB an octave, shaped exactly in the spectrum
        f = np.fft.rfftfreq(n_samples, 1 / 16000)
        x = np.fft.irfft(np.fft.rfft(w) / np.sqrt(np.maximum(f, 20.0)), n_samples)
    else:
        raise ValueError(kind)
    return (x / x.std()).astype(np.float32)


def source_stems(root: Path, meta: dict, n_samples: int) -> dict[str, np.ndarray]:
    """Each person's voice alone on the conversation's timeline, from its source pieces,
    at -26 dBFS of active speech (as the corpus script places them, before its per-talker
    gain)."""
    stems = {k: np.zeros(n_samples, np.float32) for k in meta["speakers"]}
    for p in meta["pieces"]:
        src = read_audio(root / p["src_file"])
        piece = src[int(p["src_start_s"] * 16000):int(p["src_end_s"] * 16000)]
        a = int(p["dst_start_s"] * 16000)
        piece = piece[:max(0, n_samples - a)]
        stems[p["speaker"]][a:a + len(piece)] += piece
    for k, x in stems.items():
        active = np.abs(x) > 1e-3
        stems[k] = x * (10 ** (-26 / 20) / np.sqrt(np.mean(x[active] ** 2) + 1e-12))
    return stems


def walk_away(root: Path, meta: dict, n_samples: int) -> np.ndarray:
    """The conversation rebuilt from its source pieces (each voice at -26 dBFS of active
    speech, as the corpus script places them), where the second person walks away from the
    microphone halfway through: over 3 s their voice fades to -12 dB and a 0.6 s
    reverberant room, while a running tap plays 15 dB below speech. Same timeline, so the
    RTTM still holds; the enrollments stay as recorded (near the microphone)."""
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(2)
    names = list(meta["speakers"])
    stems = source_stems(root, meta, n_samples)
    t = np.arange(int(0.6 * 16000)) / 16000
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.6) * 0.3
    ir[0] = 1.0
    far = fftconvolve(stems[names[1]], ir)[:n_samples] * 10 ** (-12 / 20)
    fade = np.clip((np.arange(n_samples) - n_samples // 2) / (3.0 * 16000), 0.0, 1.0)
    stems[names[1]] = stems[names[1]] * (1 - fade) + far * fade
    tap = read_audio(root / "noise" / "running_tap.wav")
    tap = np.tile(tap, n_samples // len(tap) + 1)[:n_samples]
    mix = sum(stems.values()) + tap * (10 ** (-41 / 20) / np.sqrt(np.mean(tap ** 2)))
    return mix.astype(np.float32)


def kitchen_rirs(seed: int) -> tuple[list[np.ndarray], dict]:
    """Impulse responses of a simulated kitchen (pyroomacoustics' image sources, to the
    order Sabine's formula asks, with air absorption): a shoebox of 3.5-6 x 2.5-4.5 x
    2.4-2.8 m with walls for an RT60 of 0.3-0.6 s by Sabine (the image sources ring a
    little longer), the microphone on a counter 0.35 m from a wall, one person 0.8-1.5 m
    from it and the other 2.0-3.5 m away (horizontally), both standing. Direct-to-
    reverberant ratios come out between about -1 and -9 dB. Returns ([near, far],
    facts); the same seed gives the same room (the image method draws nothing)."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    dims = [rng.uniform(3.5, 6.0), rng.uniform(2.5, 4.5), rng.uniform(2.4, 2.8)]
    rt60 = rng.uniform(0.3, 0.6)
    absorption, order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=16000, materials=pra.Material(absorption), max_order=order,
                       air_absorption=True)
    mic = np.array([rng.uniform(0.5, dims[0] - 0.5), 0.35, 0.95])
    room.add_microphone(mic)
    dists = []
    for lo, hi in ((0.8, 1.5), (2.0, 3.5)):
        for _ in range(1000):
            d, a = rng.uniform(lo, hi), rng.uniform(0.15, np.pi - 0.15)
            src = mic + [d * np.cos(a), d * np.sin(a), 0.0]
            src[2] = rng.uniform(1.45, 1.75)
            if 0.3 < src[0] < dims[0] - 0.3 and 0.3 < src[1] < dims[1] - 0.3:
                break
        room.add_source(src)
        dists.append(float(np.linalg.norm(src - mic)))
    room.compute_rir()
    rirs = [np.asarray(room.rir[0][k], np.float64) for k in range(2)]
    lead = min(int(np.argmax(np.abs(h))) for h in rirs)  # the nearer direct sound at t=0
    return [h[lead:] for h in rirs], dict(rt60=rt60, dists=dists, dims=dims)


def kitchen(root: Path, meta: dict, n_samples: int, enroll: dict[str, np.ndarray], seed: int):
    """The conversation rebuilt from its pieces with each person at their own place in a
    simulated reverberant kitchen (``kitchen_rirs``): the first person near the
    microphone, the second a few metres away, both speaking at the corpus' level, so
    the far one arrives quieter and more reverberant. The case's own noise is added at
    its SNR against the mixture's speech (a running tap 20 dB below it where the case has
    none). Each enrollment is made in the same room, from where that person stands.
    Same timeline, so the RTTM still holds. Returns (audio, enrollments)."""
    from scipy.signal import fftconvolve

    rirs, _ = kitchen_rirs(seed)
    names = list(meta["speakers"])
    stems = source_stems(root, meta, n_samples)
    gain = 1.0 / np.sqrt(np.sum(rirs[0] ** 2))  # the near person at about the corpus' level
    mix = np.zeros(n_samples)
    for k, h in zip(names, rirs):
        x = stems[k] * 10 ** (meta["speakers"][k].get("gain_db", 0.0) / 20)  # the corpus' own level
        mix += fftconvolve(x, h * gain)[:n_samples]
    speech = np.abs(sum(stems.values())) > 1e-3
    p_speech = np.mean(mix[speech] ** 2)
    info = meta.get("noise")
    noise = read_audio(root / (info["file"] if info else "noise/running_tap.wav"))
    snr = info["snr_db"] if info else 20.0
    noise = np.tile(noise, n_samples // len(noise) + 1)[:n_samples]
    mix += noise * np.sqrt(p_speech / 10 ** (snr / 10) / np.mean(noise ** 2))
    heard = {n: fftconvolve(a, rirs[names.index(n)] * gain)[:len(a)].astype(np.float32) for n, a in enroll.items()}
    return mix.astype(np.float32), heard


PROMPT_VOICES = [("en-gb-x-rp", 155, 50), ("en-029", 165, 40), ("en-us-nyc", 145, 60), ("en+f5", 160, 70),
                 ("en-gb-x-gbclan", 150, 45), ("en+m4", 140, 35)]
"""Synthetic voices for ``--prompts``: none of them is in coach's synthetic-voice reference
(scripts/make_voice_reference.py), so the bench does not grade that reference on itself."""
FLITE_VOICES = ("awb", "kal16", "kal")
"""flite's voices for ``--prompts-flite``: another synthesizer than the espeak-ng that
coach's synthetic-voice reference (scripts/make_voice_reference.py) is made from."""
FESTIVAL_VOICES = ("ked_diphone", "cmu_us_slt_arctic_hts")
"""festival's voices for ``--prompts-festival`` (Debian's festvox-kdlpc16k and
festvox-us-slt-hts): a third synthesizer, a diphone voice and an HMM one."""
PROMPT_TEXTS = ["Thank you. Now it's the other person's turn to share.",
                "Take a breath. When you are ready, say back what you heard.",
                "One minute left. There's no need to hurry.",
                "Here is something to talk about: a small moment that made you smile this week."]


FLITE_WPM = 175
"""About flite's own speaking rate (words a minute), as espeak-ng's default."""


def flite(text: str, voice: str, rate_wpm: float = FLITE_WPM) -> np.ndarray:
    """``text`` said by the flite program's ``voice`` at about ``rate_wpm`` words a minute
    (its duration stretched by ``FLITE_WPM / rate_wpm``), at 16 kHz."""
    import subprocess
    import tempfile

    stretch = FLITE_WPM / rate_wpm
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}", "-t", text,
                        "-o", str(path)], check=True, capture_output=True)
        return read_audio(path)


def festival(text: str, voice: str, rate_wpm: float = FLITE_WPM) -> np.ndarray:
    """``text`` said by festival's ``voice`` (its text2wave program) at about ``rate_wpm``
    words a minute, as flite's (``FLITE_WPM``), at 16 kHz: a diphone voice's own duration
    stretch is scaled by ``FLITE_WPM / rate_wpm``, an HTS voice's engine speed ("-r") set
    to its inverse; at ``FLITE_WPM`` each voice speaks as it does by default."""
    import subprocess
    import tempfile

    speed = rate_wpm / FLITE_WPM
    rate = f"(set! hts_engine_params (cons (list \"-r\" {speed:.3f}) hts_engine_params))" if voice.endswith("_hts") \
        else f"(Parameter.set 'Duration_Stretch (* (Parameter.get 'Duration_Stretch) {1 / speed:.3f}))"
    with tempfile.TemporaryDirectory() as tmp:
        src, path = Path(tmp) / "say.txt", Path(tmp) / "say.wav"
        src.write_text(text)
        done = subprocess.run(["text2wave", "-eval", f"(voice_{voice})", "-eval", rate,
                               str(src), "-o", str(path)], capture_output=True, text=True)
        if done.returncode != 0 or not path.exists():  # a voice it lacks: "unbound variable"
            said = (done.stderr + done.stdout).strip()[-200:]
            raise RuntimeError(f"festival could not speak in {voice} (sudo apt-get install festvox-kdlpc16k "
                               f"festvox-us-slt-hts): {said}")
        return read_audio(path)


def synthesized(text: str, voice: str, rate_wpm: float) -> np.ndarray | None:
    """``text`` in another synthesizer's voice than espeak-ng's, named "flite:NAME" or
    "festival:NAME", at about ``rate_wpm`` words a minute (``flite``, ``festival``); None
    for any other name, an espeak-ng voice, which the caller renders with its pitch."""
    kind, _, name = voice.partition(":")
    if kind == "flite":
        return flite(text, name, rate_wpm)
    if kind == "festival":
        return festival(text, name, rate_wpm)
    return None


def person_clips(root: Path, leave_out: set[str], most_s: float = 4.0) -> list[np.ndarray]:
    """Speech of the corpus' LibriSpeech voices other than ``leave_out`` (names as in the
    conversations, "ls1688"): from each source utterance, its first stretches by its RTTM,
    up to ``most_s`` seconds, cut at the end of a stretch (not in a word)."""
    return [c for d in sorted((root / "speakers" / "librispeech_test-other").glob("*"))
            if f"ls{d.name}" not in leave_out for c in _voice_clips(d, most_s)]


@functools.lru_cache(maxsize=None)
def _voice_clips(voice_dir: Path, most_s: float) -> tuple[np.ndarray, ...]:
    """``person_clips`` of one voice, read once per run (every case asks for them)."""
    out = []
    for wav in sorted(voice_dir.glob("*.wav")):
        spans = sorted((a, b) for a, b, _ in read_rttm(wav.with_suffix(".rttm")))
        ends = [b for a, b in spans if b - spans[0][0] <= most_s]
        if ends and ends[-1] - spans[0][0] >= 1.5:
            out.append(read_audio(wav)[int(spans[0][0] * 16000):int(ends[-1] * 16000)])
    return tuple(out)


def with_prompts(x: np.ndarray, ref, rng, synthesizer: str = "espeak-ng", clips: list[np.ndarray] | None = None):
    """The conversation with a synthetic voice (a coach's prompt) between turns, three times.
    ``synthesizer``: "espeak-ng" (``PROMPT_VOICES``), "flite" (``FLITE_VOICES``) or
    "festival" (``FESTIVAL_VOICES``); or
    ``clips``, speech of people who are neither partner (``person_clips``), instead.

    Each prompt goes into a pause between turns, on a bed of the recording's own
    background (its quietest stretch, repeated), 0.3 s of which lie either side; the
    prompt's level is the conversation's speech level within ±3 dB. The RTTM is shifted
    to match. Returns (audio, reference, prompt spans in seconds)."""
    from coach.tts import espeak_ng

    n = len(x)
    busy = np.zeros(n // 160 + 1, bool)
    for a, b, _ in ref:
        busy[max(0, int(a * 100) - 30):int(b * 100) + 30] = True
    free = np.flatnonzero(~busy[:len(busy) - 1])
    if not len(free):
        return None
    points = sorted({int(free[np.argmin(np.abs(free - n / 160 * q))]) * 160 for q in (0.25, 0.5, 0.75)})
    frame_rms = np.sqrt(np.mean(x[:n // 1600 * 1600].reshape(-1, 1600) ** 2, axis=1))
    q = int(np.argmin(np.convolve(frame_rms, np.ones(5), "valid")))  # the quietest half second
    bed = x[q * 1600:(q + 5) * 1600]
    speech_rms = np.sqrt(np.mean(np.concatenate([x[int(a * 16000):int(b * 16000)] for a, b, _ in ref]) ** 2))
    parts, spans, shifts, last, added = [], [], [], 0, 0
    for i, at in enumerate(points):
        voice, rate, pitch = PROMPT_VOICES[int(rng.integers(len(PROMPT_VOICES)))]
        text = PROMPT_TEXTS[i % len(PROMPT_TEXTS)]
        if clips:
            say = clips[int(rng.integers(len(clips)))]
        elif synthesizer == "flite":
            say = flite(text, FLITE_VOICES[int(rng.integers(len(FLITE_VOICES)))])
        elif synthesizer == "festival":
            say = festival(text, FESTIVAL_VOICES[int(rng.integers(len(FESTIVAL_VOICES)))])
        else:
            say = espeak_ng(text, voice, rate + int(rng.integers(-10, 11)), pitch)
        say = say * (speech_rms * 10 ** (rng.uniform(-3, 3) / 20) / np.sqrt(np.mean(say ** 2) + 1e-12))
        pad = 4800
        chunk = np.resize(bed, len(say) + 2 * pad).astype(np.float32)
        chunk[pad:pad + len(say)] += say.astype(np.float32)
        parts += [x[last:at], chunk]
        start = (at + added) / 16000
        spans.append((start + pad / 16000, start + (pad + len(say)) / 16000))
        shifts.append((at / 16000, len(chunk) / 16000))
        added += len(chunk)
        last = at
    parts.append(x[last:])
    moved = []
    for a, b, w in ref:
        shift = sum(d for t, d in shifts if t <= a)
        moved.append((a + shift, b + shift, w))
    return np.concatenate(parts).astype(np.float32), moved, spans


def synthetic_given(spans, hyp, names, dur_s) -> tuple[float, float]:
    """(seconds of synthetic voice, seconds of it given to either partner)."""
    h = grid(hyp, names, dur_s)
    partner = h[names[0]] | h[names[1]]
    total = given = 0.0
    for a, b in spans:
        sl = slice(int(round(a / STEP_S)), int(round(b / STEP_S)))
        total += (sl.stop - sl.start) * STEP_S
        given += partner[sl].sum() * STEP_S
    return total, given


def _pct(ij: tuple[float, float, float]) -> str:
    total, right, wrong = ij
    if total <= 0:
        return "   -/-   "
    return f"{100 * right / total:3.0f}/{100 * wrong / total:3.0f}%"


def run_coach(x, enroll_audio, names, seed: int = 0, changed: tuple | None = None):
    """coach's segments for one case and the CPU seconds they took; ``seed``: the voice
    models' random draws (``AttributionSettings.seed``); ``changed``: (MeasureSettings,
    AttributionSettings or None) to use instead of the defaults (``coach_with``)."""
    t0 = time.process_time()
    profiles = {n: enroll_from_audio(n, a) for n, a in enroll_audio.items()}
    measure, attribution = changed or (None, None)
    an = Analyzer(profiles, names=names, settings=measure, attribution_seed=seed, attribution=attribution)
    for f in frames_from_array(x):
        an.feed(f)
    segs = an.finish()
    return [(s.start_s, s.end_s, s.speaker) for s in segs], time.process_time() - t0


def coach_with(spec: str) -> tuple:
    """(MeasureSettings, AttributionSettings or None) from "name=value,name=value": fields
    of either (``vad_threshold=0.4``, ``voice_prior=2``); a tuple's items are separated by
    "/". Raises ValueError naming the field and what is allowed."""
    measure_fields = {f.name for f in dataclasses.fields(MeasureSettings)}
    attribution_fields = {f.name for f in dataclasses.fields(AttributionSettings)}
    measure, changes = MeasureSettings(), {}
    for item in filter(None, (i.strip() for i in spec.split(","))):
        name, eq, text = (part.strip() for part in item.partition("="))
        if not eq or name not in measure_fields | attribution_fields:
            raise ValueError(f"{item!r}: expected NAME=VALUE with NAME a field of MeasureSettings or "
                             f"AttributionSettings (e.g. vad_threshold, voice_prior)")
        current = getattr(measure if name in measure_fields else AttributionSettings(), name)
        try:
            if isinstance(current, bool):
                if text.lower() not in ("1", "0", "true", "false"):
                    raise ValueError
                value = text.lower() in ("1", "true")
            elif isinstance(current, tuple):
                value = tuple(type(current[0])(v) for v in text.split("/"))
            else:
                value = type(current)(text)
        except (ValueError, IndexError):
            raise ValueError(f"{item!r}: {name} is {type(current).__name__} ({current!r} by default)") from None
        if name in measure_fields:
            measure = dataclasses.replace(measure, **{name: value})
        else:
            changes[name] = value
    # on top of the attribution settings the measure settings make (their floor bonus)
    return measure, dataclasses.replace(settings_from(measure)[1], **changes) if changes else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--only", metavar="CASE[,CASE]", help="run only these cases (c01, ami_dev00, p01@10...)")
    ap.add_argument("--variants", action="store_true", help="add phone/reverb/quiet copies of each case")
    ap.add_argument("--walk", action="store_true",
                    help="add a copy of each conversation where the second person walks away mid-way")
    ap.add_argument("--kitchen", action="store_true",
                    help="add a copy of each conversation in a simulated reverberant kitchen, the two people "
                         "at different distances from the microphone, each enrolled where they stand "
                         "(needs pyroomacoustics: the bench extra)")
    ap.add_argument("--other-noises", action="store_true",
                    help="add copies of each case with a noise the corpus lacks (a synthetic extractor fan, "
                         "a sizzling pan, white or pink noise) on top of its own, 10 and 5 dB below the recording; "
                         "enrolled as recorded")
    ap.add_argument("--call", action="store_true",
                    help="add a copy of each case heard through a telephone line, with the enrollments as recorded")
    ap.add_argument("--prompts", action="store_true",
                    help="add a copy of each case with a synthetic voice (a coach's prompt) between turns, three times")
    voice_between = ap.add_mutually_exclusive_group()
    voice_between.add_argument("--prompts-flite", action="store_true",
                               help="with --prompts: the synthetic voice is flite's (another synthesizer than "
                                    "espeak-ng; needs the flite program)")
    voice_between.add_argument("--prompts-festival", action="store_true",
                               help="with --prompts: the synthetic voice is festival's (a third synthesizer; "
                                    "needs festival with festvox-kdlpc16k and festvox-us-slt-hts)")
    voice_between.add_argument("--prompts-person", action="store_true",
                    help="with --prompts: the voice between turns is a real person who is neither partner "
                         "(the corpus' other LibriSpeech voices): it should go to nobody too")
    ap.add_argument("--new-pairs", action="store_true",
                    help="add conversations of the 17 pairs of the corpus' voices that c01-c12 leave out, "
                         f"assembled by the corpus' script with other shares and turn lengths, each with one "
                         f"of its noises at {' and '.join(map(str, NEW_PAIR_SNRS_DB))} dB")
    ap.add_argument("--new-pairs-noise", metavar="KIND[,KIND]", default="",
                    help=f"with --new-pairs: mix the pairs with these noises instead of the corpus' clips, in "
                         f"turn (of {', '.join(OTHER_NOISES)})")
    ap.add_argument("--seeds", type=int, default=1, metavar="N",
                    help="also run coach with the voice models' random draws seeded 1..N-1 (systems coach@1...): "
                         "how much a figure owes to the draw")
    ap.add_argument("--coach-with", action="append", default=[], metavar="NAME=VALUE[,NAME=VALUE]",
                    help="also run coach with these settings changed (fields of MeasureSettings or "
                         "AttributionSettings, e.g. vad_threshold=0.4), as system coach#1 (coach#2... when "
                         "repeated), with the same seeds: a change measured in the same run, case for case")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--decompose", action="store_true",
                    help="also print, per case and per group, the talk-share error left if speech detection, "
                         "attribution or overlap were perfect: where the error comes from")
    ap.add_argument("--voice-band-truth", action="store_true",
                    help="score the conversations against their truth made again on the sources "
                         f"high-passed at {VOICE_BAND_HZ:.0f} Hz (see voice_band_truth)")
    args = ap.parse_args()
    try:
        changed = [coach_with(spec) for spec in args.coach_with]
    except ValueError as exc:
        ap.error(f"--coach-with {exc}")
    for i, spec in enumerate(args.coach_with, 1):
        print(f"coach#{i}: coach with {spec}")
    if (args.prompts_flite or args.prompts_festival or args.prompts_person) and not args.prompts:
        ap.error("--prompts-flite, --prompts-festival and --prompts-person choose the voice of --prompts: "
                 "add --prompts")
    if args.prompts_flite and not shutil.which("flite"):
        ap.error("--prompts-flite needs the flite program (sudo apt-get install flite)")
    if args.prompts_festival and not shutil.which("text2wave"):
        ap.error("--prompts-festival needs festival (sudo apt-get install festival festvox-kdlpc16k "
                 "festvox-us-slt-hts)")
    if args.prompts_festival:
        try:
            for voice in FESTIVAL_VOICES:
                festival("Hello.", voice)
        except RuntimeError as exc:
            ap.error(f"--prompts-festival: {exc}")
    root = data_dir(args.data)
    rows = []
    originals = list(cases(root))  # paths and metadata only: the audio is read case by case
    all_cases = originals
    pair_noises = tuple(n for n in args.new_pairs_noise.split(",") if n)
    bad = [n for n in pair_noises if n not in OTHER_NOISES]
    if bad:
        ap.error(f"--new-pairs-noise: unknown noise {bad[0]!r}: use one of {', '.join(OTHER_NOISES)}")
    wanted = [n for n in (args.only or "").split(",") if n]
    known = [c["name"] for c in originals]
    # The new pairs are assembled one by one, so their names are checked by their form.
    unknown = [n for n in wanted if n not in known and not (args.new_pairs and re.fullmatch(r"p\d\d@\d+", n))]
    if unknown:
        ap.error(f"--only: no case is named {unknown[0]!r}; the cases are {', '.join(known)}"
                 + (", and p01@10 ... of --new-pairs" if args.new_pairs else " (and p01@10 ... with --new-pairs)"))
    if args.new_pairs:
        all_cases = itertools.chain(all_cases, new_pair_cases(root, pair_noises))
    for case in all_cases:
        if wanted and case["name"] not in wanted:
            continue
        if "audio" in case:  # assembled here, in memory
            x0, enroll0, ref = case["audio"], case["enroll_audio"], case["ref"]
        else:
            x0 = read_audio(case["wav"])
            enroll0 = {n: read_audio(p) for n, p in case["enroll"].items()}
            ref = read_rttm(case["rttm"])
        names = list(enroll0)
        if args.voice_band_truth and "meta" in case:
            ref = voice_band_truth(root, case["meta"])
        dur = len(x0) / 16000
        kinds = [None] + (["phone", "reverb", "quiet"] if args.variants else [])
        kinds += ["walk"] if args.walk and "pieces" in case.get("meta", {}) else []
        kinds += ["kitchen"] if args.kitchen and "pieces" in case.get("meta", {}) else []
        kinds += [f"{k}{snr}" for k in OTHER_NOISES for snr in (10, 5)] if args.other_noises else []
        kinds += ["call"] if args.call else []
        kinds += ["prompts"] if args.prompts else []
        for kind in kinds:
            ref_k, dur_k, spans = ref, dur, []
            if kind == "walk":  # enrolled near the microphone; one of them walks away later
                x, enroll = walk_away(root, case["meta"], len(x0)), enroll0
            elif kind == "kitchen":  # each person at their own place in a reverberant room
                x, enroll = kitchen(root, case["meta"], len(x0), enroll0, seed=int(case["name"][1:3]) + (100 if case.get("new") else 0))
            elif kind and (noise_kind := kind.rstrip("0123456789")) in OTHER_NOISES:  # over the recording's own
                x = with_other_noise(x0, noise_kind, int(kind[len(noise_kind):]))
                enroll = enroll0
            elif kind == "call":  # the conversation over a phone line; enrolled in the kitchen
                x, enroll = variant(x0, "phone"), enroll0
            elif kind == "prompts":  # a synthetic voice between turns: nobody's talk
                clips = person_clips(root, set(names)) if args.prompts_person else None
                synthesizer = "flite" if args.prompts_flite else "festival" if args.prompts_festival else "espeak-ng"
                made = with_prompts(x0, ref, np.random.default_rng(3), synthesizer, clips)
                if made is None:
                    continue
                (x, ref_k, spans), enroll = made, enroll0
                dur_k = len(x) / 16000
            else:
                x = x0 if kind is None else variant(x0, kind)
                # The enrollment is made in the same room: same channel as the conversation.
                enroll = enroll0 if kind is None else {n: variant(a, kind) for n, a in enroll0.items()}
            label = case["name"] + ("" if kind is None else f"+{kind}")
            truth = talk(ref_k, names, dur_k)
            systems = [("coach", lambda: run_coach(x, enroll, names))]
            systems += [(f"coach@{k}", lambda k=k: run_coach(x, enroll, names, k)) for k in range(1, args.seeds)]
            systems += [(f"coach#{i}" + (f"@{k}" if k else ""), lambda k=k, c=c: run_coach(x, enroll, names, k, c))
                        for i, c in enumerate(changed, 1) for k in range(args.seeds)]
            if not args.no_baseline:
                systems.append(("baseline", lambda: (lambda t: (baseline(x, enroll), time.process_time() - t))(time.process_time())))
            for sysname, fn in systems:
                try:
                    hyp, cpu = fn()
                except EnrollmentRefused as exc:  # a variant too quiet to enroll: say so, go on
                    print(f"{label:<16} {sysname:<8} enrollment refused: {exc}", flush=True)
                    continue
                got = talk(hyp, names, dur_k)
                tot_t, tot_g = sum(truth.values()), sum(got.values())
                share_err = 100 * abs((got[names[0]] / tot_g if tot_g else 0.5) - truth[names[0]] / tot_t)
                terr = [100 * (got[n] - truth[n]) / truth[n] for n in names]
                noise = "running_tap 15 dB" if kind == "walk" else case["noise"]
                rows.append(dict(case=label, system=sysname, noise=noise, genders=case["genders"], new=case.get("new", False),
                                 ref=ref_k, names=names, share=share_err, terr_a=terr[0], terr_b=terr[1],
                                 der=der(ref_k, hyp, names, dur_k, spans), rtf=dur_k / max(cpu, 1e-9),
                                 conf=confusion(ref_k, hyp, names, dur_k),
                                 ij=interjection_hits(ref_k, hyp, names, dur_k),
                                 synthetic=synthetic_given(spans, hyp, names, dur_k),
                                 left=share_if_perfect(ref_k, hyp, names, dur_k) if args.decompose else None))
                r = rows[-1]
                print(f"{label:<16} {sysname:<8} {r['noise'][:18]:<18} {r['genders']:<3} share {r['share']:5.1f} pp  "
                      f"talk {r['terr_a']:+6.1f}% {r['terr_b']:+6.1f}%  DER {r['der']:5.1f}%  conf {r['conf']:4.1f}%  "
                      f"ij {_pct(r['ij'])}  RTF {r['rtf']:6.0f}x"
                      + (f"  voice between turns given to a partner {r['synthetic'][1]:.1f} of {r['synthetic'][0]:.1f} s"
                         if spans else "")
                      + ("  if perfect: " + ", ".join(f"{k} {v:.1f}" for k, v in r["left"].items()) + " pp"
                         if r["left"] else ""),
                      flush=True)
    print()
    for sysname in sorted({r["system"] for r in rows}):
        rs = [r for r in rows if r["system"] == sysname]
        for lab, sel in groups_of(rs):
            if not sel:
                continue
            sh = [r["share"] for r in sel]
            te = [abs(r[k]) for r in sel for k in ("terr_a", "terr_b")]
            de = [r["der"] for r in sel]
            cf = [r["conf"] for r in sel]
            print(f"{sysname:<8} {lab:<11} n={len(sel):2d}  share median {statistics.median(sh):4.1f} pp worst "
                  f"{max(sh):5.1f} pp | |talk err| median {statistics.median(te):5.1f}% worst {max(te):6.1f}% | "
                  f"DER median {statistics.median(de):5.1f}% worst {max(de):5.1f}% | "
                  f"confused {statistics.mean(cf):4.1f}% mean, worst {max(cf):5.1f}% | "
                  f"RTF median {statistics.median(r['rtf'] for r in sel):5.0f}x")
            if sel[0]["left"]:
                print(f"{sysname:<8} {lab:<11} share median if perfect: "
                      + ", ".join(f"{k} {statistics.median(r['left'][k] for r in sel):4.1f} pp" for k in sel[0]["left"]))
            syn = [sum(r["synthetic"][k] for r in sel) for k in range(2)]
            if syn[0]:
                print(f"{sysname:<8} {lab:<11} voice between turns (nobody's): {syn[0]:.1f} s, given to a partner "
                      f"{100 * syn[1] / syn[0]:4.1f}% (worst case {max(r['synthetic'][1] for r in sel):.1f} s)")
            ij = [sum(r["ij"][k] for r in sel) for k in range(3)]
            n_ij = sum(len(interjections(r["ref"], r["names"])) for r in sel)
            print(f"{sysname:<8} {lab:<11} interjections: {n_ij} turns, {ij[0]:.1f} s; given to their speaker "
                  f"{100 * ij[1] / max(ij[0], 1e-9):4.1f}%, to the other only {100 * ij[2] / max(ij[0], 1e-9):4.1f}%")
    compare_changed(rows, len(changed))


def groups_of(rs: list[dict]) -> list[tuple[str, list[dict]]]:
    """The summary's groups of one system's rows: all, the originals (same-gender,
    mixed), the new pairs (same-gender, by SNR), and each kind of copy (+call...)."""
    kinds = sorted({r["case"].split("+", 1)[1] for r in rs if "+" in r["case"]})
    originals = [r for r in rs if "+" not in r["case"] and not r["new"]]
    new = [r for r in rs if "+" not in r["case"] and r["new"]]
    groups = [("all", rs), ("originals", originals),
              ("same-gender", [r for r in originals if r["genders"] in ("MM", "FF")]),
              ("mixed", [r for r in originals if r["genders"] in ("MF", "FM")])]
    groups += [("new pairs", new), ("new, same-g", [r for r in new if r["genders"] in ("MM", "FF")])]
    groups += [(f"new @{snr} dB", [r for r in new if r["case"].endswith(f"@{snr}")]) for snr in NEW_PAIR_SNRS_DB]
    groups += [(f"+{k}", [r for r in rs if r["case"].endswith(f"+{k}")]) for k in kinds]
    return groups


def compare_changed(rows: list[dict], n_changed: int, by_pp: float = 0.3) -> None:
    """coach#i (``--coach-with``) against coach, case for case and seed for seed: per
    group the mean talk-share error, the cases over 5 pp, how many cases moved by more
    than ``by_pp`` either way, and the mean DER. Medians hide what a change trades."""
    def key(r: dict) -> tuple[str, str]:  # the case and the seed ("" for seed 0)
        return r["case"], r["system"].partition("@")[2]
    plain = {key(r): r for r in rows if r["system"].partition("@")[0] == "coach"}
    for i in range(1, n_changed + 1):
        mine = [r for r in rows if r["system"].partition("@")[0] == f"coach#{i}" and key(r) in plain]
        print(f"\ncoach#{i} against coach, case for case over {len({key(r)[1] for r in mine})} seed(s):")
        for lab, sel in groups_of(mine):
            if not sel:
                continue
            before = np.array([plain[key(r)]["share"] for r in sel])
            after = np.array([r["share"] for r in sel])
            der_b = np.mean([plain[key(r)]["der"] for r in sel])
            der_a = np.mean([r["der"] for r in sel])
            print(f"  {lab:<11} n={len(sel):3d}  share mean {before.mean():5.2f} -> {after.mean():5.2f} pp  "
                  f"over 5 pp {int((before > 5).sum()):3d} -> {int((after > 5).sum()):3d}  "
                  f"better {int((after < before - by_pp).sum()):3d}, worse {int((after > before + by_pp).sum()):3d}  "
                  f"DER mean {der_b:5.2f} -> {der_a:5.2f}%")

if __name__ == "__main__":
    main()
