"""Attribution: who said each 10 ms of speech, by voice models, the floor prior and an HMM.

Each enrolled voice is a Gaussian mixture over denoised cepstra. Speech hops are
decoded by a fixed-lag Viterbi over the partners' states, with a switch penalty (people
talk in stretches, not in 10 ms flickers) and a small bonus for whoever holds the floor
(a prior, so the listener's interjections still come through). The models are adapted
(MAP, means only) to speech they were confidently given in this very recording, so the
room, the microphone and the noise of the conversation are learned as it goes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.features import HOP_S
from coach.profiles import VoiceProfile, gmm_loglik, gmm_posteriors

UNSURE = -1


@dataclass(frozen=True)
class AttributionSettings:
    """Tuning of attribution (see ``MeasureSettings`` for the user-facing subset).

    Attributes:
        switch_penalty: log-probability cost of a change of talker between hops (nats).
        floor_bonus: per-hop log-likelihood bonus for the floor holder (nats).
        lag_s: decisions are final this long after the audio (fixed-lag decoding).
        llr_scale: hops overlap, so their log-likelihoods are not independent; scaled by this.
        llr_clip: largest per-hop log-likelihood ratio counted (nats, after scaling).
        adapt_relevance: MAP relevance factor (higher: trust the enrollment more).
        adapt_min_margin: mean per-hop log-likelihood ratio a run needs to teach the models.
        adapt_every_s: speech seconds between model updates.
    """

    switch_penalty: float = 12.0
    floor_bonus: float = 0.15
    lag_s: float = 2.0
    llr_scale: float = 0.5
    llr_clip: float = 0.5
    adapt_relevance: float = 16.0
    adapt_min_margin: float = 0.6
    adapt_every_s: float = 8.0


class _Model:
    def __init__(self, p: VoiceProfile):
        self.w, self.m0, self.v = p.weights, p.means, p.variances
        self.m = p.means.copy()
        self.n = np.zeros(len(p.weights))
        self.sx = np.zeros_like(p.means)

    def loglik(self, x):
        return gmm_loglik(x, self.w, self.m, self.v)

    def accumulate(self, x):
        post = gmm_posteriors(x, self.w, self.m, self.v)
        self.n += post.sum(axis=0)
        self.sx += post.T @ x

    def adapt(self, relevance):
        a = (self.n / (self.n + relevance))[:, None]
        xbar = self.sx / np.maximum(self.n, 1e-9)[:, None]
        self.m = a * xbar + (1 - a) * self.m0


class Attributor:
    """Streams speech hops in, hands out final (hop index, speaker index | UNSURE) labels.

    Args:
        profiles: one voice profile per partner, in the order of ``names``; may be empty,
            and then speech goes to the floor holder (or UNSURE when nobody holds it).
        names: the partners, in order.
        settings: tuning.
    """

    def __init__(self, profiles: list[VoiceProfile], names: list[str],
                 settings: AttributionSettings = AttributionSettings()):
        self.names = list(names)
        self.settings = settings
        self.models = [_Model(p) for p in profiles] if len(profiles) == len(names) and profiles else []
        self._idx: list[int] = []        # pending speech hops (global hop index)
        self._x: list[np.ndarray] = []
        self._floor: list[int] = []
        self._prev_state: int | None = None
        self._since_adapt = 0

    def push(self, hops: np.ndarray, ceps: np.ndarray, floor: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Add speech hops (global indices, cepstra, floor index or -1); return final labels."""
        if len(hops):
            self._idx.extend(hops.tolist())
            self._x.append(ceps)
            self._floor.extend(floor.tolist())
        return self._decode(final=False)

    def gap(self, hop: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """No speech up to ``hop``: anything pending older than a pause is final."""
        if self._idx and hop - self._idx[-1] > self.settings.lag_s / HOP_S / 2:
            return self._decode(final=True)
        return []

    def flush(self):
        return self._decode(final=True)

    def _decode(self, final: bool):
        if not self._idx:
            return []
        lag = int(self.settings.lag_s / HOP_S)
        n = len(self._idx)
        cut = n if final else n - lag
        if cut <= 0:
            return []
        idx = np.asarray(self._idx)
        floor = np.asarray(self._floor)
        x = np.concatenate(self._x) if len(self._x) > 1 else self._x[0]
        labels = self._viterbi(x, floor)[:cut]
        self._prev_state = int(labels[-1]) if self.models else None
        if self.models:
            self._learn(x[:cut], labels)
        self._idx, self._floor = self._idx[cut:], self._floor[cut:]
        self._x = [x[cut:]] if cut < n else []
        return [(idx[:cut], labels)]

    def _viterbi(self, x: np.ndarray, floor: np.ndarray) -> np.ndarray:
        if not self.models:
            return np.where(floor >= 0, floor, UNSURE)
        s = self.settings
        k = len(self.models)
        ll = np.stack([m.loglik(x) for m in self.models], axis=1) * s.llr_scale
        # Clip each hop's say: a few hops (breaths, clicks, noise bursts) have huge ratios
        # that would otherwise outvote a second of clear speech.
        ll = np.maximum(ll - ll.max(axis=1, keepdims=True), -s.llr_clip)
        ll[np.arange(len(x)), np.clip(floor, 0, None)] += np.where(floor >= 0, s.floor_bonus, 0.0)
        n = len(x)
        back = np.zeros((n, k), np.int8)
        score = np.zeros(k) if self._prev_state is None else np.full(k, -s.switch_penalty)
        if self._prev_state is not None:
            score[self._prev_state] = 0.0
        score = score + ll[0]
        pen = s.switch_penalty
        for t in range(1, n):
            best = int(score.argmax())
            stay = score
            switch = score[best] - pen
            take_switch = switch > stay
            back[t] = np.where(take_switch, best, np.arange(k))
            score = np.where(take_switch, switch, stay) + ll[t]
        path = np.empty(n, np.int64)
        path[-1] = int(score.argmax())
        for t in range(n - 1, 0, -1):
            path[t - 1] = back[t, path[t]]
        self._last_ll = ll
        return path

    def _learn(self, x: np.ndarray, labels: np.ndarray) -> None:
        """Teach each model the runs it won clearly."""
        s = self.settings
        ll = self._last_ll[:len(labels)]
        edges = np.flatnonzero(np.diff(labels)) + 1
        for a, b in zip(np.r_[0, edges], np.r_[edges, len(labels)]):
            spk = labels[a]
            if spk < 0 or b - a < 20:
                continue
            other = np.delete(ll[a:b], spk, axis=1).max(axis=1)
            if (ll[a:b, spk] - other).mean() >= s.adapt_min_margin:
                self.models[spk].accumulate(x[a:b])
                self._since_adapt += b - a
        if self._since_adapt * HOP_S >= s.adapt_every_s:
            for m in self.models:
                m.adapt(s.adapt_relevance)
            self._since_adapt = 0
