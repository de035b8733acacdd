"""Viterbi passes over per-hop voice evidence: two states (A, B), or three (A, B, both).

They run in plain Python floats, a chunk of hops at a time: for two or three states that
is faster than numpy's per-hop calls, and memory stays flat however long the evening.
"""

from __future__ import annotations

import numpy as np


def viterbi3(em: np.ndarray, switch: np.ndarray, overlap_cost: float, chunk: int = 50000) -> np.ndarray:
    """Best path over states A, B, both, for (n, 3) log-emissions; plain floats for speed.

    A↔B costs ``switch[t]``; entering or leaving "both" costs ``overlap_cost``. The
    emissions become Python floats a chunk at a time, so memory stays flat.
    """
    n = len(em)
    if n == 0:
        return np.zeros(0, np.int64)
    o = overlap_cost
    back = bytearray(3 * n)
    a = b = c = None
    for c0 in range(0, n, chunk):
        part = np.asarray(em[c0:c0 + chunk], np.float64)
        ea, eb, ec = (part[:, k].tolist() for k in range(3))
        sw = np.asarray(switch[c0:c0 + chunk], np.float64).tolist()
        start = 0
        if a is None:
            a, b, c, start = ea[0], eb[0], ec[0], 1
        for j in range(start, len(ea)):
            w = sw[j]
            ba, va = 0, a
            if b - w > va:
                ba, va = 1, b - w
            if c - o > va:
                ba, va = 2, c - o
            bb, vb = 1, b
            if a - w > vb:
                bb, vb = 0, a - w
            if c - o > vb:
                bb, vb = 2, c - o
            bc, vc = 2, c
            if a - o > vc:
                bc, vc = 0, a - o
            if b - o > vc:
                bc, vc = 1, b - o
            k = 3 * (c0 + j)
            back[k], back[k + 1], back[k + 2] = ba, bb, bc
            a, b, c = va + ea[j], vb + eb[j], vc + ec[j]
    path = np.empty(n, np.int8)
    st = 0 if a >= b and a >= c else (1 if b >= c else 2)
    for t in range(n - 1, -1, -1):
        path[t] = st
        if t:
            st = back[3 * t + st]
    return path


def viterbi2(llr: np.ndarray, cost: np.ndarray, chunk: int = 50000) -> np.ndarray:
    """Two-state Viterbi on a log-likelihood ratio (A − B), in plain Python floats for speed.

    The emissions become Python floats a chunk at a time, so memory stays flat.
    """
    n = len(llr)
    if n == 0:
        return np.zeros(0, np.int64)
    back = bytearray(2 * n)
    a = b = None
    for c0 in range(0, n, chunk):
        half = (np.asarray(llr[c0:c0 + chunk], np.float64) * 0.5).tolist()
        cost_l = np.asarray(cost[c0:c0 + chunk], np.float64).tolist()
        start = 0
        if a is None:
            a, b, start = half[0], -half[0], 1
        for j in range(start, len(half)):
            t = c0 + j
            c = cost_l[j]
            h = half[j]
            if b - c > a:
                na, back[2 * t] = b - c, 1
            else:
                na = a
            if a - c > b:
                nb, back[2 * t + 1] = a - c, 0
            else:
                nb, back[2 * t + 1] = b, 1
            a, b = na + h, nb - h
    path = np.empty(n, np.int8)
    st = 0 if a >= b else 1
    for t in range(n - 1, -1, -1):
        path[t] = st
        st = back[2 * t + st] if t else st
    return path
