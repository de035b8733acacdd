"""Voice-embedding (d-vector) windows as evidence for attribution: clustering them into
the two partners in this recording, and telling windows (and phrases) that sound like
neither partner."""

from __future__ import annotations

import numpy as np

from coach.embedding import PARTIAL_FRAMES as WINDOW_HOPS


def window_sides(first: np.ndarray, idx: np.ndarray, llr: np.ndarray) -> np.ndarray:
    """Which voice model each d-vector window's speech favours on the whole (True: A):
    the mean evidence over the speech hops it covers (0 where it covers none)."""
    csum = np.r_[0.0, np.cumsum(llr, dtype=np.float64)]
    lo, hi = np.searchsorted(idx, first), np.searchsorted(idx, first + WINDOW_HOPS)
    return (csum[hi] - csum[lo]) >= 0


def far_windows(emb: np.ndarray, lab: np.ndarray, below: float, iterations: int = 4):
    """Windows whose cosine similarity to the nearer of the two clusters' centroids is
    under ``below``; the centroids are made from the other windows (a voice that is
    neither partner pulls them towards itself otherwise). Returns (far, centroids)."""
    far = np.zeros(len(emb), bool)
    cents = np.zeros((0, emb.shape[1]), emb.dtype)
    for _ in range(iterations):
        made = []
        for i in range(2):
            keep = (lab == i) & ~far
            if keep.any():
                c = emb[keep].mean(axis=0)
                made.append(c / max(float(np.linalg.norm(c)), 1e-12))
        if not made:
            break
        cents = np.array(made)
        new = (emb @ cents.T).max(axis=1) < below
        if (new == far).all():
            break
        far = new
    return far, cents


def unlike_phrases(idx: np.ndarray, first: np.ndarray, far: np.ndarray, pause_hops: int,
                    min_hops: int) -> np.ndarray:
    """The phrase (speech between pauses of ``pause_hops``; an id per entry of ``idx``,
    -1 for none) of the hops in phrases most of whose d-vector windows are ``far``. A
    window belongs to the phrase holding most of its speech."""
    out = np.full(len(idx), -1, np.int64)
    if not far.any():
        return out
    phrase = np.r_[0, np.cumsum(np.diff(idx) - 1 >= pause_hops)]
    n = int(phrase[-1]) + 1
    mine = np.empty(len(first), np.int64)
    for j, h in enumerate(first.tolist()):
        lo, hi = np.searchsorted(idx, h), np.searchsorted(idx, h + WINDOW_HOPS)
        mine[j] = np.bincount(phrase[lo:hi]).argmax() if hi > lo else -1
    ok = mine >= 0
    total = np.bincount(mine[ok], minlength=n)
    unlike = np.bincount(mine[ok & far], minlength=n)
    size = np.bincount(phrase, minlength=n)
    chosen = (2 * unlike > total) & (size >= min_hops)
    return np.where(chosen[phrase], phrase, -1)


def _flips(first: np.ndarray, lab: np.ndarray, near_hops: int = 250) -> int:
    """How many times the label changes between windows at most ``near_hops`` apart
    (2.5 s: neighbours, as the windows are searched every 2 s of speech)."""
    near = np.diff(first) <= near_hops
    return int(np.count_nonzero(np.diff(lab)[near] != 0))


def more_coherent(first: np.ndarray, lab: np.ndarray, than: np.ndarray) -> bool:
    """Whether ``lab`` changes clearly less often than ``than`` between nearby windows:
    at most 0.6 times as often, and at least 3 changes fewer."""
    a, b = _flips(first, lab), _flips(first, than)
    return a <= 0.6 * b and b - a >= 3


def balanced(lab: np.ndarray, least: float = 0.15) -> bool:
    """Whether each label holds at least ``least`` of the windows (one cluster with nearly
    all of them changes hands seldom whatever it is)."""
    p = float(np.mean(lab == 0))
    return least <= p <= 1 - least


def label_windows(embeddings: np.ndarray, enrolled: np.ndarray, sides: np.ndarray | None = None,
                  iterations: int = 10):
    """Label d-vector windows A or B: cosine k-means started from the enrolled voices, or
    from the windows each voice model favours (``sides``, True for A) when both have some.

    The centroids move to the recording's own windows (its room, its noise) while the
    names stay those of the enrollment, or of the voice models, that seeded them.
    Started from the enrolled d-vectors, noise that moves every window the same way can
    leave one centroid with nearly all of them (``AttributionSettings.windows_from_voices``).

    Seeding from enrollments heard through the recording's noise was measured and not
    taken (2026-11-28, a probe on 15 of ``bench_accuracy.py``'s cases; the noise was
    the recording's pauses, by the truth, added in the encoder's mel power domain at
    the recording's SNR). The noisy seeds sit nearer each other as well as nearer the
    windows. With both seeds moved by the mean shift the noise gave them (8 cases),
    c12+phone (bike at 5 dB, telephone band) went from 18.5 to 3.5 pp talk-share error,
    but the original c06 (two women over the dishes) from 0.1 to 3.3 pp; the other six
    (c06+phone, the c06/c08/c12 calls, c12+reverb, c09) were unchanged. Used as they
    are, or with the recording's channel imposed as well, the noisy seeds broke
    same-gender and call cases (c06+phone 0.8 to 11-15 pp, the c12 call 6.8 to 12-23).
    Centring the seeds' midpoint on the windows' mean, with no noise: c12+phone 4.5 pp,
    but the c06 and c12 calls 26.5 and 19.4 pp (6.2 and 6.8 before).

    Returns:
        (labels, margins): 0/1 per window, and how much closer (cosine) it is to its
        centroid than to the other one.
    """
    cents = enrolled.astype(np.float64)
    if sides is not None and 0 < int(np.sum(sides)) < len(sides):
        cents = np.array([embeddings[sides].mean(axis=0), embeddings[~sides].mean(axis=0)], np.float64)
        cents /= np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-12)
    for _ in range(iterations):
        sim = embeddings @ cents.T
        lab = sim.argmax(axis=1)
        new = np.array([embeddings[lab == i].mean(axis=0) if (lab == i).any() else cents[i]
                        for i in range(len(cents))])
        new /= np.maximum(np.linalg.norm(new, axis=1, keepdims=True), 1e-12)
        if np.allclose(new, cents):
            break
        cents = new
    sim = embeddings @ cents.T
    lab = sim.argmax(axis=1)
    return lab, np.abs(sim[:, 0] - sim[:, 1])
