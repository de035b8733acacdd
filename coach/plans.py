"""Plans: evenings as TOML files users can read and edit, checked and expanded into turns."""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from coach.errors import ConfigError
from coach.paths import config_dir

STEP_KINDS = ("welcome", "enroll", "round", "free", "closing")
_MIN_TURN_S, _MAX_TURN_S = 10, 3600

# key -> (type, required) per step kind; "say"-like keys are prompts.
_STEP_KEYS: dict[str, dict[str, tuple[type, bool]]] = {
    "welcome": {"say": (str, True)},
    "enroll": {"say": (str, True), "seconds": (float, False)},
    "round": {"title": (str, False), "intro": (str, False), "speak_s": (float, True),
              "reflect_s": (float, True), "speak": (str, True), "reflect": (str, True),
              "question": (bool, False), "questions": (list, False)},
    "free": {"title": (str, False), "duration_s": (float, True), "say": (str, True)},
    "closing": {"say": (str, True)},
}
_PLACEHOLDERS = {"a", "b", "speaker", "listener", "question"}


@dataclass(frozen=True)
class Turn:
    """One timed step as the session runs it.

    Attributes:
        kind: "welcome", "enroll", "speak", "reflect", "free" or "closing".
        floor: index of the partner holding the floor (0 = A, 1 = B), or None.
        prompt: the words the coach says to open it (placeholders not yet filled).
        duration_s: the most time it may take (0 for spoken-only steps).
        title: the round's title, for the live view.
        intro: words said once before the first turn of a round.
        ask_question: draw a question from the bank for this turn.
        questions: the round's own question list (empty: the shared bank).
        round_index: which round of the plan it belongs to.
    """

    kind: str
    floor: int | None
    prompt: str
    duration_s: float = 0.0
    title: str = ""
    intro: str = ""
    ask_question: bool = False
    questions: tuple[str, ...] = ()
    round_index: int = 0


@dataclass(frozen=True)
class Plan:
    name: str
    description: str
    steps: tuple[dict, ...]
    source: str
    """Where the plan came from (file path), for messages."""

    def turns(self) -> list[Turn]:
        """Expand steps into turns: a round becomes speak A, reflect B, speak B, reflect A."""
        out: list[Turn] = []
        for i, step in enumerate(self.steps):
            kind = step["kind"]
            if kind == "enroll":
                secs = float(step.get("seconds", 8.0))
                out += [Turn("enroll", who, step["say"], secs, round_index=i) for who in (0, 1)]
            elif kind == "round":
                qs = tuple(step.get("questions", ()))
                for first, (speaker, listener) in enumerate(((0, 1), (1, 0))):
                    intro = step.get("intro", "") if first == 0 else ""
                    out.append(Turn("speak", speaker, step["speak"], float(step["speak_s"]),
                                    step.get("title", ""), intro,
                                    bool(step.get("question", False)), qs, i))
                    out.append(Turn("reflect", listener, step["reflect"], float(step["reflect_s"]),
                                    step.get("title", ""), round_index=i))
            elif kind == "free":
                out.append(Turn("free", None, step["say"], float(step["duration_s"]),
                                step.get("title", ""), round_index=i))
            else:
                out.append(Turn(kind, None, step["say"], round_index=i))
        return out

    def planned_s(self) -> float:
        return sum(t.duration_s for t in self.turns() if t.kind != "enroll")


def _check_step(step, index: int, source: str) -> dict:
    where = f"{source}: step {index + 1}"
    if not isinstance(step, dict):
        raise ConfigError(f"{where}: each step must be a table, written [[step]]")
    kind = step.get("kind")
    if kind not in STEP_KINDS:
        raise ConfigError(f"{where}: kind = {kind!r} is not allowed; use one of "
                          + ", ".join(STEP_KINDS))
    where += f" ({kind})"
    keys = _STEP_KEYS[kind]
    for key, value in step.items():
        if key == "kind":
            continue
        if key not in keys:
            raise ConfigError(f"{where}: unknown key '{key}'; allowed: " + ", ".join(keys))
        want = keys[key][0]
        if want is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{where}: {key} = {value!r} must be a number of seconds")
            if not _MIN_TURN_S <= value <= _MAX_TURN_S and key != "seconds":
                raise ConfigError(f"{where}: {key} = {value} must be between "
                                  f"{_MIN_TURN_S} and {_MAX_TURN_S} seconds")
            if key == "seconds" and not 4 <= value <= 30:
                raise ConfigError(f"{where}: seconds = {value} must be between 4 and 30")
        elif want is list:
            if not isinstance(value, list) or not value or not all(isinstance(q, str) and q.strip() for q in value):
                raise ConfigError(f"{where}: {key} must be a non-empty list of question strings")
        elif not isinstance(value, want):
            raise ConfigError(f"{where}: {key} = {value!r} must be "
                              + ("true or false" if want is bool else "a string"))
        if isinstance(value, str):
            _check_placeholders(value, f"{where}: {key}")
    for key, (_, required) in keys.items():
        if required and key not in step:
            raise ConfigError(f"{where}: missing key '{key}'")
    return dict(step)


def _check_placeholders(text: str, where: str) -> None:
    import string

    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc} (write {{{{ and }}}} for a literal brace)") from exc
    bad = names - _PLACEHOLDERS
    if bad:
        raise ConfigError(f"{where}: unknown placeholder {{{sorted(bad)[0]}}}; allowed: "
                          + ", ".join("{" + p + "}" for p in sorted(_PLACEHOLDERS)))


def parse_plan(text: str, source: str, default_name: str = "plan") -> Plan:
    """Parse and check a plan's TOML text.

    Raises:
        ConfigError: naming ``source``, the step and key, and what is allowed.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"name", "description", "step"}
    if unknown:
        raise ConfigError(f"{source}: unknown key '{sorted(unknown)[0]}' at the top; "
                          "allowed: name, description, [[step]]")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{source}: {key} must be a string")
    steps = data.get("step")
    if not isinstance(steps, list) or not steps:
        raise ConfigError(f"{source}: a plan needs at least one [[step]]")
    checked = tuple(_check_step(s, i, source) for i, s in enumerate(steps))
    kinds = [s["kind"] for s in checked]
    if kinds.count("enroll") > 1:
        raise ConfigError(f"{source}: only one enroll step is allowed (it asks each partner)")
    return Plan(data.get("name", default_name), data.get("description", ""), checked, source)


def _builtin_dir():
    return resources.files("coach") / "plans"


def _user_dir() -> Path:
    return config_dir() / "plans"


def available_plans() -> dict[str, str]:
    """Plan name -> where it lives (built-ins first; user plans of the same name win)."""
    found = {}
    for entry in sorted(_builtin_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml") and entry.name != "questions.toml":
            found[entry.name[:-5]] = f"built-in:{entry.name}"
    user = _user_dir()
    if user.is_dir():
        for path in sorted(user.glob("*.toml")):
            found[path.stem] = str(path)
    return found


def load_plan(name_or_path: str) -> Plan:
    """Load a plan by name (`coach plans`) or by path to a TOML file.

    Raises:
        ConfigError: unknown name, unreadable file, or a bad plan.
    """
    looks_like_path = name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path
    if looks_like_path:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: no such plan file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read: {exc}") from exc
        return parse_plan(text, str(path), path.stem)
    plans = available_plans()
    if name_or_path not in plans:
        raise ConfigError(f"unknown plan '{name_or_path}'; known plans: {', '.join(plans)} "
                          "(or give a path to a .toml file)")
    where = plans[name_or_path]
    if where.startswith("built-in:"):
        text = (_builtin_dir() / where.split(":", 1)[1]).read_text(encoding="utf-8")
        return parse_plan(text, where, name_or_path)
    return load_plan(where)


def question_bank() -> list[str]:
    """The shared questions (none about logistics)."""
    data = tomllib.loads((_builtin_dir() / "questions.toml").read_text(encoding="utf-8"))
    return list(data["questions"])


def draw_question(rng: random.Random, avoid: set[str], own: tuple[str, ...] = ()) -> str:
    """A question not in ``avoid`` (recently used), from the round's own list or the bank."""
    pool = list(own) or question_bank()
    fresh = [q for q in pool if q not in avoid]
    return rng.choice(fresh or pool)
