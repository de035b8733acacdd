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
            m = ll.max(axis=1, keepdims=True)
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
    x64 = x.astype(np.float64)
    x2 = x64 * x64  # once, not twice an iteration
    for _ in range(iterations):
        inv, const = Gmm(weights, means, variances)._terms()
        ll = const - 0.5 * (x2 @ inv.T) + x64 @ (means * inv).T   # component_ll, with x2 reused
        ll -= ll.max(axis=1, keepdims=True)
        post = np.exp(ll, out=ll)
        post /= post.sum(axis=1, keepdims=True)
        nk = post.sum(axis=0) + 1e-6
        weights = nk / nk.sum()
        means = (post.T @ x64) / nk[:, None]
        variances = np.maximum((post.T @ x2) / nk[:, None] - means ** 2, VAR_FLOOR * var0)
    return Gmm(weights.astype(np.float32), means.astype(np.float32), variances.astype(np.float32))
