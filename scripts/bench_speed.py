"""Speed and memory benchmark: `coach analyze` on long recordings, process start included.

Builds recordings of 10 and 60 minutes by joining the conversations in ../shared/data
(in a temp dir, never kept), then runs, each as its own process:

- coach: ``python -m coach analyze FILE --speaker A=CLIP --speaker B=CLIP --json``
- baseline: decode the file and run the plain webrtcvad + nearest-mean-MFCC baseline
  from ``bench_accuracy.py`` (what a light pipeline costs on this machine, same run)

and prints CPU seconds, real-time factor (audio seconds per CPU second, one core) and
peak resident memory. It also measures the live path: an Analyzer fed 20 ms frames as a
microphone would, as CPU percent of one core, alone (issue 3's target: the measurement)
and with the spoken-command listener beside it.

    python scripts/bench_speed.py [--data DIR] [--minutes 10,60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def data_dir(arg):
    for cand in (arg, os.environ.get("COACH_SHARED_DATA"), ROOT.parent / "shared" / "data"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    sys.exit("no shared data folder: pass --data or set COACH_SHARED_DATA")


def build(root: Path, minutes: float, out: Path) -> None:
    convs = sorted((root / "conversations").glob("c[0-9]*/c*.wav"))
    need = int(minutes * 60 * 16000)
    with sf.SoundFile(str(out), "w", 16000, 1, "PCM_16") as f:
        done = 0
        while done < need:
            for c in convs:
                x, _ = sf.read(str(c), dtype="float32")
                x = x[:need - done]
                f.write(x)
                done += len(x)
                if done >= need:
                    break


def run(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one child process (os.wait4: that child's own usage)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"{' '.join(cmd[:4])}…: failed: {err.strip()[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


BASELINE = """
import os, sys; os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, {scripts!r}); sys.path.insert(0, {root!r})
from bench_accuracy import baseline
from coach.sources import read_audio
x = read_audio({wav!r})
baseline(x, {{"A": read_audio({a!r}), "B": read_audio({b!r})}})
"""


def live_cpu_percent(root: Path, seconds: float = 120.0, commands: bool = True) -> tuple[float, float]:
    """CPU % of one core for the live path, 20 ms frames: the analyzer, and with
    ``commands`` the command listener too (when it can load)."""
    from coach.analysis import Analyzer
    from coach.frames import frames_from_array
    from coach.profiles import enroll_from_audio
    from coach.sources import read_audio

    d = root / "conversations" / "c11"
    x = read_audio(d / "c11.wav")
    x = np.tile(x, int(np.ceil(seconds * 16000 / len(x))))[:int(seconds * 16000)]
    prof = {n: enroll_from_audio(n, read_audio(p)) for n, p in
            (("A", d / "enroll_ls2609.wav"), ("B", d / "enroll_ls3080.wav"))}
    listener = None
    if commands:
        try:
            from coach.commands import CommandListener
            listener = CommandListener()
        except Exception as exc:  # noqa: BLE001 - the live path without commands
            print(f"(commands left out of the live path: {exc})", file=sys.stderr)
    an = Analyzer(prof)
    t = time.process_time()
    for f in frames_from_array(x):
        an.feed(f, floor="A")
        an.speaking
        if listener is not None:
            listener.feed(f)
    per_frames = time.process_time() - t
    an.finish()
    total = time.process_time() - t
    return 100 * per_frames / seconds, 100 * total / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--minutes", default="10,60")
    args = ap.parse_args()
    root = data_dir(args.data)
    a = root / "conversations" / "c01" / "enroll_ls1688.wav"
    b = root / "conversations" / "c01" / "enroll_ls1998.wav"
    py = sys.executable
    print(f"{'recording':<10} {'system':<9} {'wall s':>7} {'CPU s':>7} {'RTF (CPU)':>10} {'peak RSS':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in [float(m) for m in args.minutes.split(",")]:
            wav = Path(tmp) / f"joined_{minutes:g}min.wav"
            build(root, minutes, wav)
            dur = minutes * 60
            systems = [
                ("coach", [py, "-m", "coach", "analyze", str(wav), "--speaker", f"A={a}",
                           "--speaker", f"B={b}", "--json"]),
                ("baseline", [py, "-c", BASELINE.format(scripts=str(ROOT / "scripts"), root=str(ROOT),
                                                        wav=str(wav), a=str(a), b=str(b))]),
            ]
            for name, cmd in systems:
                wall, cpu, rss = run(cmd)
                print(f"{minutes:>5g} min  {name:<9} {wall:7.1f} {cpu:7.1f} {dur / cpu:9.0f}x {rss:7.0f} MB",
                      flush=True)
    print()
    for commands in (False, True):
        feed, total = live_cpu_percent(root, commands=commands)
        print(f"live path ({'analyzer + spoken commands' if commands else 'analyzer: talk time'}, 20 ms frames, "
              f"120 s of audio): {feed:.1f} % of one core while listening, {total:.1f} % including the final "
              "decision", flush=True)


if __name__ == "__main__":
    main()
