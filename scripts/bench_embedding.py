"""Speed of the numpy speaker encoder, beside a textbook per-gate port measured in the same run.

Usage (one core, as the notes measure)::

    OPENBLAS_NUM_THREADS=1 taskset -c 0 python scripts/bench_embedding.py [--repeats 5]

Prints best-of-N timings: load time, ms per partial window at batch 1/8/32/64, ms per 10 s of speech at
rate 1.3 (and 16), and the tracemalloc peak at rate 16. The baseline runs each window
alone with four gate matmuls per step for both input and state, and
``1 / (1 + exp(-x))`` sigmoids: the straightforward translation of torch's LSTM.
"""

from __future__ import annotations

import os

_ENV_THREADS = os.environ.get("OPENBLAS_NUM_THREADS", "unset")  # before coach sets a default

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402  (imported before coach, as tests and notebooks do)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach.embedding import (ENCODER_FILE, VoiceEncoder, normalize_volume,  # noqa: E402
                             partial_starts)
from coach.sources import read_audio  # noqa: E402


class BaselineEncoder:
    """Torch's LSTM equations transcribed directly: one window, one gate, one step at a time."""

    def __init__(self, path: Path = ENCODER_FILE):
        with np.load(path) as npz:
            self.w = {k: npz[k].astype(np.float32) for k in npz.files}

    def embed_window(self, mel: np.ndarray) -> np.ndarray:
        w, x = self.w, mel
        sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
        for layer in range(3):
            wi, wh = w[f"lstm.weight_ih_l{layer}"], w[f"lstm.weight_hh_l{layer}"]
            b = w[f"lstm.bias_ih_l{layer}"] + w[f"lstm.bias_hh_l{layer}"]
            h = np.zeros(256, np.float32)
            c = np.zeros(256, np.float32)
            outs = []
            for xt in x:
                gates = [wi[k * 256:(k + 1) * 256] @ xt + wh[k * 256:(k + 1) * 256] @ h + b[k * 256:(k + 1) * 256]
                         for k in range(4)]
                i, f, g, o = sig(gates[0]), sig(gates[1]), np.tanh(gates[2]), sig(gates[3])
                c = f * c + i * g
                h = o * np.tanh(c)
                outs.append(h)
            x = np.array(outs)
        e = np.maximum(w["linear.weight"] @ h + w["linear.bias"], 0.0)
        return e / np.linalg.norm(e)


def _best_s(fn, repeats: int) -> float:
    """Best of ``repeats`` (as timeit advises): on a shared 2-core machine the
    other processes only ever add time, so the minimum is the least noisy figure."""
    fn()  # warm caches and BLAS buffers
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _speech_10s(data: Path | None) -> tuple[np.ndarray, str]:
    folder = data / "speakers" / "librispeech_test-other" / "1688" if data else None
    if folder and folder.is_dir():
        x = np.concatenate([read_audio(p) for p in sorted(folder.glob("*.wav"))[:3]])
        return x[:160_000], f"real speech ({folder})"
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(160_000)).astype(np.float32), "white noise (corpus not found)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", type=Path, default=os.environ.get("COACH_SHARED_DATA")
                    or Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args(argv)
    print(f"OPENBLAS_NUM_THREADS={_ENV_THREADS}, "
          f"cpus allowed {len(os.sched_getaffinity(0))}, numpy {np.__version__}")

    t = time.perf_counter()
    enc = VoiceEncoder()
    print(f"load: {1000 * (time.perf_counter() - t):.1f} ms ({ENCODER_FILE.stat().st_size:,} bytes)")

    speech, what = _speech_10s(args.data)
    print(f"signal: 10 s of {what}")
    x = normalize_volume(speech)
    base = BaselineEncoder()
    mel = enc.mel_windows(x, np.array([0]))[0]
    ref = base.embed_window(mel)
    cos = float(ref @ enc.partial_embeddings(x, [0])[0])
    print(f"baseline vs fast, same window: cosine {cos:.7f}")

    base_s = _best_s(lambda: base.embed_window(enc.mel_windows(x, np.array([0]))[0]), max(1, args.repeats // 2))
    print(f"\nms per partial window (best of {args.repeats})")
    print(f"  baseline, B=1          {1000 * base_s:8.2f}")
    for batch in (1, 8, 32, 64):
        starts = (np.arange(batch) * 1_600) % (len(x) - 25_600)
        s = _best_s(lambda: enc.partial_embeddings(x, starts), args.repeats)
        print(f"  fast,     B={batch:<3d}        {1000 * s / batch:8.2f}   ({base_s * batch / s:.1f}x baseline)")

    print("\nms per 10 s of speech (embed: mel + LSTM + mean)")
    for rate in (1.3, 16.0):
        n = len(partial_starts(len(x), rate))
        s = _best_s(lambda: enc.embed(speech, rate=rate), args.repeats)
        print(f"  fast,     rate {rate:4.1f} ({n:3d} partials) {1000 * s:8.1f}   "
              f"(baseline estimate {1000 * base_s * n:8.1f}, {base_s * n / s:.1f}x)")
    free = VoiceEncoder(blas_threads=None)
    s = _best_s(lambda: free.embed(speech, rate=1.3), args.repeats)
    print(f"  blas_threads=None, rate 1.3    {1000 * s:8.1f}   (numpy's own BLAS threads)")
    mel_s = _best_s(lambda: enc.mel_windows(x, partial_starts(len(x), 1.3)), args.repeats)
    print(f"  mel alone, rate  1.3          {1000 * mel_s:8.1f}")

    tracemalloc.start()
    enc.embed(np.tile(speech, 6), rate=16.0)
    print(f"\ntracemalloc peak, 60 s at rate 16: {tracemalloc.get_traced_memory()[1] / 1e6:.1f} MB "
          f"(chunks of {enc.chunk_windows} windows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
