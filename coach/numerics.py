"""Numerical helpers shared by the numpy models (the voice encoder, Silero)."""

from __future__ import annotations

import time

import numpy as np


def exp_tanh(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """tanh(x) as 2 / (1 + exp(-2x)) - 1, into ``out`` (which may be ``x``); within 2e-7
    of ``np.tanh``, and -1 exactly below -20 (where exp would overflow further down).

    Where numpy has no SIMD loop for float32 tanh (a CPU, or a virtual machine's CPU
    flags, below its x86-64-v3 dispatch) its scalar tanh costs ~14 ns a value, while
    exp's SIMD loop costs under 2: see ``fast_tanh``.
    """
    np.maximum(x, -20.0, out=out)
    out *= -2.0
    np.exp(out, out=out)
    out += 1.0
    np.divide(2.0, out, out=out)
    out -= 1.0
    return out


_TANH: list = []


def fast_tanh():
    """``np.tanh`` or ``exp_tanh``, whichever is clearly faster here (timed once, on 64k
    values: about a millisecond).

    The voice encoder's LSTM spends most of its time in tanh. With numpy held to its
    baseline loops (``NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL"`` on the 2-core
    AVX-512 machine), np.tanh took 13.9 ns a value and exp_tanh 1.9, and a 10-minute
    analysis ran at 153x real time with np.tanh, 225x with exp_tanh
    (``scripts/bench_speed.py``); with AVX-512, np.tanh is the faster (0.16 against
    0.58 ns), and with AVX2 alike (0.91 against 0.79).
    """
    if not _TANH:
        x = np.linspace(-8.0, 8.0, 65536, dtype=np.float32)
        out = np.empty_like(x)

        def best(fn) -> float:
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                fn(x, out=out)
                times.append(time.perf_counter() - t0)
            return min(times)
        _TANH.append(exp_tanh if best(exp_tanh) < 0.7 * best(np.tanh) else np.tanh)
    return _TANH[0]
