"""Voice profiles: what each partner's voice looks like, from an enrollment clip, kept on disk.

A profile holds features only — the 32-band log-mel rows of the clip's speech (about
10 ms each, not invertible to intelligible audio) and a fingerprint of the clip — never
the audio. Attribution hears these rows "through" each recording's own noise, so one
profile serves a quiet evening and a noisy one. Enrollment refuses clips that would make
a poor profile, with advice that names the person.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from coach.errors import CoachError
from coach.features import HOP_S, clip_log_mel
from coach.frames import SAMPLE_RATE_HZ
from coach.paths import data_dir, ensure_private_dir

PROFILE_VERSION = 2
"""Bumped when the features change; older profiles must be enrolled again."""
MIN_CLIP_S = 4.0
MIN_SPEECH_S = 2.5
"""Under this much detected speech there are too few hops to describe a voice."""
MIN_SPEECH_FRACTION = 0.3
MAX_CLIPPED_FRACTION = 0.002
"""More than 0.2 % of samples at full scale: the voice is distorted."""
MIN_SNR_DB = 4.5
"""Speech this close to the level of the room in the clip's pauses is mostly noise.
Measured on ls1688 with a running tap: at 10 dB SNR it reads 7.9 dB here (and still
makes a good profile, as attribution hears voices through the room's noise); at 5 dB
4.8, at 0 dB 3.2."""
NOISE_PERCENTILE = 10
"""The room's level is that of the quietest tenth of the pause hops, not of their median.
In a reverberant room the "pauses" hold the tail of each word and the onsets the speech
detector is slow to take up (it missed the first 0.7 s of ls367 in a simulated kitchen 3 m
from the microphone), so their median read a clip with no noise at all as too noisy,
and the advice named a tap. Over the 12 enrollment clips of ../shared/data (a probe,
2026-11-28), with the tap, the dishes or the bike added, refused at 10/5/3/0 dB:
1/34, 15/35, 18/36 and 27/35 clips, against 1/34, 14/35, 16/36 and 29/35 by the median
and 3 dB; through simulated kitchens (``scripts/bench_accuracy.py``'s ``kitchen_rirs``,
6 rooms a clip, no noise) 0 of 69 against 5, and through a harsher synthetic room 0 of
12 against 1."""
MIN_PAUSE_HOPS = 50
"""The noise level is judged only from at least 0.5 s of pauses; a clip of speech alone
(no pauses to hear the room in) is not refused for noise."""
MIN_LEVEL_DBFS = -62.0
"""Speech quieter than this (far from the mic) is mostly room and noise."""
_NAME_RE = re.compile(r"^[\w][\w .'-]{0,39}$")


class EnrollmentRefused(CoachError):
    """An enrollment clip that would make a poor voice profile; the message is advice."""


@dataclass(frozen=True, eq=False)
class VoiceProfile:
    """A partner's voice, as features only.

    Attributes:
        name: the partner's name.
        logmel: (n, 32) log-mel rows of the clip's speech hops (float16).
        dvector: (256,) speaker embedding of the clip's speech (see ``coach.embedding``).
        speech_s: seconds of speech in the clip.
        clip_sha256: fingerprint of the enrollment samples (to refuse one clip for two people).
        created_at: ISO 8601 time of enrollment.
        version: feature version (``PROFILE_VERSION``).
    """

    name: str
    logmel: np.ndarray = field(repr=False)
    dvector: np.ndarray | None = field(default=None, repr=False)
    speech_s: float = 0.0
    clip_sha256: str = ""
    created_at: str = ""
    version: int = PROFILE_VERSION

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version, "created_at": self.created_at,
                "speech_s": round(self.speech_s, 2), "clip_sha256": self.clip_sha256,
                "logmel": np.round(self.logmel.astype(np.float32), 2).tolist(),
                "dvector": None if self.dvector is None else np.round(self.dvector, 5).tolist()}

    @classmethod
    def from_json(cls, data: dict) -> "VoiceProfile":
        logmel = np.asarray(data["logmel"], np.float16)
        if logmel.ndim != 2 or logmel.shape[1] != 32 or len(logmel) < 50:
            raise ValueError("its features have the wrong shape")
        dvector = data.get("dvector")
        if dvector is not None:
            dvector = np.asarray(dvector, np.float32)
            if dvector.shape != (256,):
                raise ValueError("its voice embedding has the wrong shape")
        return cls(name=data["name"], logmel=logmel, dvector=dvector, speech_s=float(data["speech_s"]),
                   clip_sha256=data.get("clip_sha256", ""), created_at=data.get("created_at", ""),
                   version=int(data.get("version", 0)))


def embed_speech(samples: np.ndarray) -> np.ndarray | None:
    """The d-vector of some speech, or None where the encoder's weights are missing."""
    from coach.embedding import shared_encoder

    encoder = shared_encoder()
    return None if encoder is None else encoder.embed(samples)


def enroll_from_audio(name: str, samples: np.ndarray) -> VoiceProfile:
    """Build a profile from a clip of one person talking (16 kHz mono float32).

    Raises:
        EnrollmentRefused: too short, mostly silent, clipped, too quiet or too noisy;
            the message says what to do, naming the person.
    """
    profile, voiced = _checked_profile(name, samples)
    return dataclasses.replace(profile, dvector=embed_speech(voiced))


def enroll_many(clips: list[tuple[str, np.ndarray]]) -> list[VoiceProfile]:
    """``enroll_from_audio`` for several people at once: their voice embeddings are
    computed in one batch (faster, same values). Refuses as it does, at the first bad clip."""
    from coach.embedding import shared_encoder

    checked = [_checked_profile(name, samples) for name, samples in clips]
    encoder = shared_encoder()
    dvectors = (encoder.embed_many([voiced for _, voiced in checked]) if encoder is not None
                else [None] * len(checked))
    return [dataclasses.replace(p, dvector=d) for (p, _), d in zip(checked, dvectors)]


def _checked_profile(name: str, samples: np.ndarray) -> tuple[VoiceProfile, np.ndarray]:
    """The profile of a clip that passes every check, without its voice embedding, and the
    clip's voiced audio to embed."""
    from coach.levels import without_offset
    from coach.vad import VadSettings, detect_speech, speech_samples

    name = normalize_name(name)
    check_name(name)
    # A faulty microphone's constant offset would go into the spectra and the embedding.
    x = without_offset(np.asarray(samples, np.float32), VadSettings().dc_limit)
    dur = len(x) / SAMPLE_RATE_HZ
    if dur < MIN_CLIP_S:
        raise EnrollmentRefused(f"that clip of {name} is only {dur:.1f} s; I need at least "
                                f"{MIN_CLIP_S:.0f} s of {name} talking — please try again")
    if np.mean(np.abs(x) >= 0.99) > MAX_CLIPPED_FRACTION:
        raise EnrollmentRefused(f"{name}'s voice was too loud and got clipped — step back "
                                "a little or speak more softly, and try again")
    logmel = clip_log_mel(x)
    speech = detect_speech(x)[:len(logmel)]
    speech_s = float(speech.sum() * HOP_S)
    power_db = 10 * np.log10(np.exp(logmel.astype(np.float64)).sum(axis=1) / 512 ** 2 * 4 + 1e-12)
    level_dbfs = float(np.median(power_db[speech])) if speech.any() else -120.0
    if speech_s < MIN_SPEECH_S or speech_s < MIN_SPEECH_FRACTION * dur or level_dbfs < MIN_LEVEL_DBFS:
        raise EnrollmentRefused(f"I couldn't hear {name} clearly — move closer and try again")
    if (~speech).sum() >= MIN_PAUSE_HOPS:
        snr_db = level_dbfs - float(np.percentile(power_db[~speech], NOISE_PERCENTILE))
        if snr_db < MIN_SNR_DB:
            raise EnrollmentRefused(f"it is too noisy to learn {name}'s voice — turn off the tap "
                                    "or fan, or move closer, and try again")
    voiced = speech_samples(x, speech)
    return VoiceProfile(name=name, logmel=logmel[speech].astype(np.float16),
                        dvector=None, speech_s=speech_s,
                        clip_sha256=hashlib.sha256(x.tobytes()).hexdigest(),
                        created_at=datetime.now().astimezone().isoformat(timespec="seconds")), voiced


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


def normalize_name(name: str) -> str:
    """``name`` as coach keeps it: stripped, and in Unicode's composed form (NFC). A name
    pasted from a Mac's file names comes decomposed ("Zoe" and a combining diaeresis):
    it looks the same as "Zoë", and must be the same person."""
    return unicodedata.normalize("NFC", (name or "").strip())


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
        name = normalize_name(name)
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
