"""Diagonal Gaussian mixtures: the voice models that attribution fits and scores, in numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VAR_FLOOR = 0.01
"""Variances never fall below this fraction of the data's variance (no collapsed components)."""


@dataclass(frozen=True)
class Gmm:
    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def _terms(self):
        inv = 1.0 / self.variances
        const = np.log(self.weights) - 0.5 * (np.log(2 * np.pi * self.variances).sum(axis=1)
                                              + (self.means ** 2 * inv).sum(axis=1))
        return inv, const

    def component_ll(self, x: np.ndarray) -> np.ndarray:
        inv, const = self._terms()
        return const - 0.5 * ((x * x) @ inv.T) + x @ (self.means * inv).T

    def loglik(self, x: np.ndarray, chunk: int = 20000) -> np.ndarray:
        """Per-row log-likelihood of ``x`` (n, D), in chunks so memory stays flat."""
        out = np.empty(len(x), np.float32)
        for i in range(0, len(x), chunk):
            ll = self.component_ll(x[i:i + chunk])
            # The row maxima a column at a time: numpy's max over 16-long rows is 3x
            # slower than the whole log-sum-exp otherwise (same values: max is exact).
            m = ll[:, 0].copy()
            for j in range(1, ll.shape[1]):
                np.maximum(m, ll[:, j], out=m)
            m = m[:, None]
            out[i:i + chunk] = (m + np.log(np.exp(ll - m).sum(axis=1, keepdims=True)))[:, 0]
        return out


def fit_gmm(x: np.ndarray, k: int = 16, iterations: int = 12, seed: int = 0,
            max_rows: int = 12000) -> Gmm:
    """EM for a diagonal mixture; deterministic for a given seed.

    Rows beyond ``max_rows`` are subsampled: a voice is learned from a few minutes of
    speech, and the cost must not grow with the length of the evening.
    """
    x = np.asarray(x, np.float32)
    rng = np.random.default_rng(seed)
    if len(x) > max_rows:
        x = x[np.sort(rng.choice(len(x), max_rows, replace=False))]
    k = max(1, min(k, len(x) // 24))
    means = x[rng.choice(len(x), k, replace=False)].astype(np.float64)
    var0 = x.var(axis=0).astype(np.float64) + 1e-6
    variances = np.tile(var0, (k, 1))
    weights = np.full(k, 1.0 / k)
    # Components along rows, data along columns: the reductions over components (max,
    # sum) then run as whole-row operations instead of many 16-long ones, and each step
    # is one matrix product over [x, x^2] (n, 2D) rather than two: twice as fast.
    d = x.shape[1]
    feats = np.empty((2 * d, len(x)), np.float64)   # rows: x^T then (x^2)^T
    feats[:d] = x.T
    np.multiply(feats[:d], feats[:d], out=feats[d:])
    feats_t = feats.T                               # (n, 2D) view for the M step
    coef = np.empty((k, 2 * d), np.float64)
    for _ in range(iterations):
        inv, const = Gmm(weights, means, variances)._terms()
        coef[:, :d] = means * inv
        coef[:, d:] = -0.5 * inv
        ll = coef @ feats                           # (k, n): component_ll without const
        ll += const[:, None]
        ll -= ll.max(axis=0)
        post = np.exp(ll, out=ll)
        post /= post.sum(axis=0)
        nk = post.sum(axis=1) + 1e-6
        weights = nk / nk.sum()
        moments = (post @ feats_t) / nk[:, None]    # (k, 2D): E[x], E[x^2] per component
        means = moments[:, :d]
        variances = np.maximum(moments[:, d:] - means ** 2, VAR_FLOOR * var0)
    return Gmm(weights.astype(np.float32), means.astype(np.float32), variances.astype(np.float32))
