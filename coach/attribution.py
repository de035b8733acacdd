"""Attribution: who said each 10 ms of speech — A, B, both at once, or someone else.

Clean enrollment clips rarely sound like a kitchen, so each enrolled voice is first
heard "through" this recording's own noise: its mel power plus noise hops sampled from
the recording's pauses (power adds). Those voice models give a first labelling, which
is smoothed by a Viterbi pass whose switch cost is high inside continuous speech and low
at pauses (people take turns at pauses). Then the models are retrained on the speech
they were given in this very recording, a few times: the room, the mic and the noise are
learned from the conversation itself, while the names stay fixed by enrollment. A last
pass adds a state for overlapping speech (a model of both voices' summed power), so an
interjection over the speaker counts for both. The floor holder gets a small prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.features import HOP_S, cepstra
from coach.gmm import Gmm, fit_gmm

SPEECH_A, SPEECH_B, BOTH, OTHER = 0, 1, 2, 3
NONE = -1


@dataclass(frozen=True)
class AttributionSettings:
    """Tuning of attribution; the numbers were chosen on c01–c06 and checked on the rest.

    Attributes:
        switch_in_speech: cost (nats) of changing talker inside continuous speech.
        switch_at_pause: cost (nats) of changing talker across a pause of at least
            ``pause_s``: most turns change there.
        pause_s: a gap this long (seconds) between speech hops counts as a pause.
        overlap_cost: cost (nats) of entering or leaving the both-talking state.
        floor_bonus: per-hop log-likelihood bonus (nats) for the floor holder: a prior
            that a clear interjection of the listener still overcomes.
        components: mixture components per voice model.
        rounds: how many times the voice models are retrained on the recording.
        noise_copies: how many noisy copies of each enrollment hop are made.
    """

    switch_in_speech: float = 100.0
    switch_at_pause: float = 10.0
    pause_s: float = 0.15
    overlap_cost: float = 30.0
    floor_bonus: float = 0.05
    components: int = 16
    rounds: int = 3
    noise_copies: int = 3


def viterbi3(em: np.ndarray, switch: np.ndarray, overlap_cost: float) -> np.ndarray:
    """Best path over states A, B, both, for (n, 3) log-emissions; plain floats for speed.

    A↔B costs ``switch[t]``; entering or leaving "both" costs ``overlap_cost``.
    """
    n = len(em)
    if n == 0:
        return np.zeros(0, np.int64)
    ea, eb, ec = (em[:, k].tolist() for k in range(3))
    sw = switch.tolist()
    o = overlap_cost
    back = bytearray(3 * n)
    a, b, c = ea[0], eb[0], ec[0]
    for t in range(1, n):
        w = sw[t]
        # into A
        ba, va = 0, a
        if b - w > va:
            ba, va = 1, b - w
        if c - o > va:
            ba, va = 2, c - o
        # into B
        bb, vb = 1, b
        if a - w > vb:
            bb, vb = 0, a - w
        if c - o > vb:
            bb, vb = 2, c - o
        # into both
        bc, vc = 2, c
        if a - o > vc:
            bc, vc = 0, a - o
        if b - o > vc:
            bc, vc = 1, b - o
        k = 3 * t
        back[k], back[k + 1], back[k + 2] = ba, bb, bc
        a, b, c = va + ea[t], vb + eb[t], vc + ec[t]
    path = np.empty(n, np.int64)
    st = 0 if a >= b and a >= c else (1 if b >= c else 2)
    for t in range(n - 1, -1, -1):
        path[t] = st
        if t:
            st = back[3 * t + st]
    return path


def viterbi2(llr: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Two-state Viterbi on a log-likelihood ratio (A − B), in plain Python floats for speed."""
    n = len(llr)
    if n == 0:
        return np.zeros(0, np.int64)
    half = (llr * 0.5).tolist()
    cost_l = cost.tolist()
    back = bytearray(2 * n)
    a, b = half[0], -half[0]
    for t in range(1, n):
        c = cost_l[t]
        h = half[t]
        if b - c > a:
            na, back[2 * t] = b - c, 1
        else:
            na = a
        if a - c > b:
            nb, back[2 * t + 1] = a - c, 0
        else:
            nb, back[2 * t + 1] = b, 1
        a, b = na + h, nb - h
    path = np.empty(n, np.int64)
    s = 0 if a >= b else 1
    for t in range(n - 1, -1, -1):
        path[t] = s
        s = back[2 * t + s] if t else s
    return path


def noisy_enrollment(logmel_speech: np.ndarray, noise_logmel: np.ndarray, speech_power: float,
                     noise_power: float, copies: int, rng: np.random.Generator) -> np.ndarray:
    """Cepstra of an enrollment heard through the recording's noise, at its speech level."""
    enroll = np.exp(logmel_speech.astype(np.float64))
    gain = max(speech_power - noise_power, 1e-12) / max(float(np.median(enroll.sum(axis=1))), 1e-12)
    noise = np.exp(noise_logmel.astype(np.float64))
    rows = [np.log(enroll * gain + noise[rng.integers(0, len(noise), len(enroll))] + 1e-10)
            for _ in range(copies)]
    return cepstra(np.concatenate(rows).astype(np.float32))


def _overlap_model(logmel_speech: np.ndarray, labels: np.ndarray, noise_logmel: np.ndarray,
                   components: int, rng: np.random.Generator) -> Gmm | None:
    a, b = np.flatnonzero(labels == SPEECH_A), np.flatnonzero(labels == SPEECH_B)
    if len(a) < 100 or len(b) < 100:
        return None
    m = min(12000, 2 * (len(a) + len(b)))
    pa = np.exp(logmel_speech[a[rng.integers(0, len(a), m)]].astype(np.float64))
    pb = np.exp(logmel_speech[b[rng.integers(0, len(b), m)]].astype(np.float64))
    noise = np.median(np.exp(noise_logmel.astype(np.float64)), axis=0)
    both = np.maximum(pa + pb - noise, 0.05 * noise + 1e-10)  # the noise was in both; count it once
    return fit_gmm(cepstra(np.log(both).astype(np.float32)), components, seed=3)


def attribute(logmel: np.ndarray, speech: np.ndarray, floor: np.ndarray, noise_logmel: np.ndarray,
              enrollments: list[np.ndarray], settings: AttributionSettings | None = None) -> np.ndarray:
    """Label every hop: NONE (no speech), SPEECH_A, SPEECH_B or BOTH.

    Args:
        logmel: (n, 32) log-mel rows of the recording.
        speech: (n,) bool speech flags (the coach's own voice already excluded).
        floor: (n,) int floor holder per hop (0, 1, or -1 for nobody).
        noise_logmel: log-mel rows heard in pauses (the room's noise).
        enrollments: log-mel rows of each partner's enrollment speech, A then B.
    """
    s = settings or AttributionSettings()
    labels = np.full(len(speech), NONE, np.int64)
    idx = np.flatnonzero(speech)
    if len(idx) == 0:
        return labels
    rng = np.random.default_rng(0)
    x_mel = logmel[idx].astype(np.float32)
    x = cepstra(x_mel)
    if len(noise_logmel) < 20:  # no pauses heard yet: the quietest hops stand in
        quiet = np.argsort(logmel.sum(axis=1))[:max(20, len(logmel) // 10)]
        noise_logmel = logmel[quiet]
    speech_power = float(np.median(np.exp(x_mel.astype(np.float64)).sum(axis=1)))
    noise_power = float(np.median(np.exp(noise_logmel.astype(np.float64)).sum(axis=1)))
    enrolled = [noisy_enrollment(e, noise_logmel, speech_power, noise_power, s.noise_copies, rng)
                for e in enrollments]
    gap = np.concatenate([[10 ** 6], np.diff(idx) - 1])
    at_pause = gap * HOP_S >= s.pause_s
    cost = np.where(at_pause, s.switch_at_pause, s.switch_in_speech)
    prior = np.where(floor[idx] == 0, s.floor_bonus, np.where(floor[idx] == 1, -s.floor_bonus, 0.0))
    models = [fit_gmm(e, s.components, seed=i) for i, e in enumerate(enrolled)]
    for round_ in range(s.rounds + 1):
        ll_a, ll_b = models[0].loglik(x), models[1].loglik(x)
        lab = viterbi2(ll_a - ll_b + prior, cost)
        if round_ < s.rounds:
            models = [fit_gmm(np.concatenate([x[lab == i], enrolled[i]]), s.components, seed=i)
                      for i in range(2)]
    both = _overlap_model(x_mel, lab, noise_logmel, s.components, rng)
    if both is not None:
        em = np.stack([ll_a + np.maximum(prior, 0), ll_b - np.minimum(prior, 0), both.loglik(x)], axis=1)
        lab = viterbi3(em, cost, s.overlap_cost)
    labels[idx] = lab
    return labels


def floor_labels(speech: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Attribution by the floor alone (no voice profiles): speech goes to the floor holder."""
    labels = np.full(len(speech), NONE, np.int64)
    labels[speech & (floor == 0)] = SPEECH_A
    labels[speech & (floor == 1)] = SPEECH_B
    labels[speech & (floor < 0)] = OTHER
    return labels
