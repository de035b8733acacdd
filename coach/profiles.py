"""Voice profiles: a small model of each partner's voice from an enrollment clip, kept on disk.

A profile holds features only (a diagonal Gaussian mixture over denoised cepstra and a
fingerprint of the clip), never the audio. Enrollment refuses clips that would make a
poor model, with advice that names the person.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from coach.errors import CoachError
from coach.features import HOP_S, extract
from coach.frames import SAMPLE_RATE_HZ
from coach.paths import data_dir, ensure_private_dir
from coach.vad import HopScorer

PROFILE_VERSION = 1
"""Bumped when the features change; older profiles must be enrolled again."""
MIN_CLIP_S = 4.0
MIN_SPEECH_S = 2.5
"""Under this much detected speech the mixture has too few frames to be a voice."""
MIN_SPEECH_FRACTION = 0.3
MAX_CLIPPED_FRACTION = 0.002
MIN_SNR_DB = 6.0
"""Median band SNR of speech hops; below it the model would learn the noise."""
MIN_LEVEL_DBFS = -65.0
GMM_COMPONENTS = 12
GMM_ITERATIONS = 15
_VAR_FLOOR = 0.05
_NAME_RE = re.compile(r"^[\w][\w .'-]{0,39}$")


class EnrollmentRefused(CoachError):
    """An enrollment clip that would make a poor voice profile; the message is advice."""


@dataclass(frozen=True, eq=False)
class VoiceProfile:
    """A partner's voice, as features only.

    Attributes:
        name: the partner's name.
        weights: (K,) mixture weights.
        means: (K, D) component means of denoised cepstra.
        variances: (K, D) diagonal variances.
        self_ll: mean per-hop log-likelihood of the enrollment speech under this model.
        speech_s: seconds of speech the model was trained on.
        clip_sha256: fingerprint of the enrollment samples (to refuse one clip for two people).
        created_at: ISO 8601 time of enrollment.
        version: feature version (``PROFILE_VERSION``).
    """

    name: str
    weights: np.ndarray = field(repr=False)
    means: np.ndarray = field(repr=False)
    variances: np.ndarray = field(repr=False)
    self_ll: float = 0.0
    speech_s: float = 0.0
    clip_sha256: str = ""
    created_at: str = ""
    version: int = PROFILE_VERSION

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version, "created_at": self.created_at,
                "speech_s": round(self.speech_s, 2), "self_ll": self.self_ll,
                "clip_sha256": self.clip_sha256, "weights": self.weights.tolist(),
                "means": self.means.tolist(), "variances": self.variances.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> "VoiceProfile":
        return cls(name=data["name"], weights=np.asarray(data["weights"], np.float64),
                   means=np.asarray(data["means"], np.float64),
                   variances=np.asarray(data["variances"], np.float64),
                   self_ll=float(data["self_ll"]), speech_s=float(data["speech_s"]),
                   clip_sha256=data.get("clip_sha256", ""), created_at=data.get("created_at", ""),
                   version=int(data.get("version", 0)))


def gmm_loglik(x: np.ndarray, weights, means, variances) -> np.ndarray:
    """Per-row log-likelihood of ``x`` (n, D) under a diagonal mixture."""
    inv = 1.0 / variances
    const = np.log(weights) - 0.5 * (np.log(2 * np.pi * variances).sum(axis=1)
                                     + (means ** 2 * inv).sum(axis=1))
    ll = const - 0.5 * ((x ** 2) @ inv.T) + x @ (means * inv).T
    m = ll.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(ll - m).sum(axis=1, keepdims=True)))[:, 0]


def gmm_posteriors(x, weights, means, variances) -> np.ndarray:
    inv = 1.0 / variances
    const = np.log(weights) - 0.5 * (np.log(2 * np.pi * variances).sum(axis=1)
                                     + (means ** 2 * inv).sum(axis=1))
    ll = const - 0.5 * ((x ** 2) @ inv.T) + x @ (means * inv).T
    ll -= ll.max(axis=1, keepdims=True)
    p = np.exp(ll)
    return p / p.sum(axis=1, keepdims=True)


def train_gmm(x: np.ndarray, k: int = GMM_COMPONENTS, iterations: int = GMM_ITERATIONS, seed: int = 0):
    """EM for a diagonal mixture; deterministic (k-means++-like start from ``seed``)."""
    x = np.asarray(x, np.float64)
    rng = np.random.default_rng(seed)
    k = max(1, min(k, len(x) // 20))
    centers = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min([((x - c) ** 2).sum(axis=1) for c in centers], axis=0)
        centers.append(x[rng.choice(len(x), p=d / d.sum())])
    means = np.array(centers)
    var0 = x.var(axis=0) + _VAR_FLOOR
    variances = np.tile(var0, (k, 1))
    weights = np.full(k, 1.0 / k)
    for _ in range(iterations):
        post = gmm_posteriors(x, weights, means, variances)
        nk = post.sum(axis=0) + 1e-6
        weights = nk / nk.sum()
        means = (post.T @ x) / nk[:, None]
        variances = np.maximum((post.T @ (x ** 2)) / nk[:, None] - means ** 2, _VAR_FLOOR * var0)
    return weights, means, variances


def speech_hops(samples: np.ndarray):
    """Features and a speech mask for a short clip (VAD run to the end of the clip)."""
    feats = extract(samples)
    scorer = HopScorer()
    conf = np.concatenate([scorer.push(feats), scorer.push(extract(np.zeros(0)), final=True)])
    return feats, conf[:len(feats.ceps)] >= 0.5


def enroll_from_audio(name: str, samples: np.ndarray) -> VoiceProfile:
    """Build a profile from a clip of one person talking (16 kHz mono float32).

    Raises:
        EnrollmentRefused: too short, mostly silent, clipped, too quiet or too noisy;
            the message says what to do, naming the person.
    """
    check_name(name)
    x = np.asarray(samples, np.float32)
    dur = len(x) / SAMPLE_RATE_HZ
    if dur < MIN_CLIP_S:
        raise EnrollmentRefused(f"that clip of {name} is only {dur:.1f} s; I need at least "
                                f"{MIN_CLIP_S:.0f} s of {name} talking — please try again")
    if np.mean(np.abs(x) >= 0.99) > MAX_CLIPPED_FRACTION:
        raise EnrollmentRefused(f"{name}'s voice was too loud and got clipped — step back "
                                "a little or speak more softly, and try again")
    feats, speech = speech_hops(x)
    speech_s = float(speech.sum() * HOP_S)
    rms_dbfs = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-12)
    if speech_s < MIN_SPEECH_S or speech_s < MIN_SPEECH_FRACTION * dur or rms_dbfs < MIN_LEVEL_DBFS:
        raise EnrollmentRefused(f"I couldn't hear {name} clearly — move closer and try again")
    snr = float(np.median(np.sort(feats.snr_db[speech], axis=1)[:, -8:].mean(axis=1)))
    if snr < MIN_SNR_DB:
        raise EnrollmentRefused(f"it is too noisy to learn {name}'s voice — turn off the tap "
                                "or fan, or move closer, and try again")
    ceps = feats.ceps[speech].astype(np.float64)
    w, m, v = train_gmm(ceps)
    return VoiceProfile(name=name, weights=w, means=m, variances=v,
                        self_ll=float(gmm_loglik(ceps, w, m, v).mean()), speech_s=speech_s,
                        clip_sha256=hashlib.sha256(x.tobytes()).hexdigest(),
                        created_at=datetime.now().astimezone().isoformat(timespec="seconds"))


def check_distinct(profiles: dict[str, VoiceProfile]) -> None:
    """Refuse one enrollment clip used for two people.

    Raises:
        EnrollmentRefused: two profiles come from the same clip.
    """
    seen: dict[str, str] = {}
    for name, p in profiles.items():
        if p.clip_sha256 and p.clip_sha256 in seen:
            raise EnrollmentRefused(f"{seen[p.clip_sha256]} and {name} were enrolled from the same "
                                    f"clip; each partner needs their own recording — please "
                                    f"enroll {name} again")
        seen[p.clip_sha256] = name


def check_name(name: str) -> None:
    if not _NAME_RE.match(name or ""):
        raise CoachError(f"'{name}' is not a usable name: use 1-40 letters, digits, spaces, "
                         "dots, apostrophes or hyphens, starting with a letter or digit")


class ProfileStore:
    """Profiles as JSON files (mode 0600) in ``data_dir()/profiles`` (mode 0700).

    Args:
        root: the folder; default ``data_dir() / "profiles"``.
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else data_dir() / "profiles"

    def _path(self, name: str) -> Path:
        check_name(name)
        return self.root / (name.casefold().replace(" ", "_") + ".json")

    def save(self, profile: VoiceProfile) -> Path:
        """Write atomically (temp file + rename). Refuses a clip already used for someone else."""
        others = {n: self.load(n) for n in self.names() if n.casefold() != profile.name.casefold()}
        check_distinct({**others, profile.name: profile})
        ensure_private_dir(self.root.parent)
        ensure_private_dir(self.root)
        os.chmod(self.root, 0o700)
        path = self._path(profile.name)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(profile.to_json(), f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        out = []
        for p in sorted(self.root.glob("*.json")):
            try:
                out.append(json.loads(p.read_text(encoding="utf-8"))["name"])
            except (OSError, ValueError, KeyError):
                continue  # a damaged file is skipped, not fatal
        return out

    def has(self, name: str) -> bool:
        return self._path(name).exists()

    def load(self, name: str) -> VoiceProfile:
        """Raises CoachError naming the profile and the known ones if it is missing or stale."""
        path = self._path(name)
        if not path.exists():
            known = ", ".join(self.names()) or "none yet"
            raise CoachError(f"no voice profile for '{name}' (known: {known}); "
                             f"record one with `coach enroll {name}`")
        try:
            profile = VoiceProfile.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CoachError(f"the voice profile for '{name}' ({path}) is damaged ({exc}); "
                             f"enroll {name} again") from exc
        if profile.version != PROFILE_VERSION:
            raise CoachError(f"the voice profile for '{name}' is from an older coach; "
                             f"enroll {name} again with `coach enroll {name}`")
        return profile

    def delete(self, name: str) -> None:
        path = self._path(name)
        if not path.exists():
            known = ", ".join(self.names()) or "none yet"
            raise CoachError(f"no voice profile for '{name}' to delete (known: {known})")
        path.unlink()
