"""Whole guided sessions on audio time: real espeak-ng prompts, a real analyzer, a recording output.

The sources are synthetic (a quiet room with voiced bursts where someone talks), so every
session runs in a second or two of wall time however long its audio is.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from coach.analysis import Analyzer
from coach.enrollment import Enroller
from coach.frames import SAMPLE_RATE_HZ
from coach.outputs import RecordingOutput
from coach.plans import load_plan
from coach.session import Session
from coach.settings import Settings
from coach.sources import SyntheticSource, read_audio
from coach.voice import TtsVoice

NAMES = ["Alex", "Sam"]
ONE_ROUND = """
name = "one-round"
description = "a welcome, one round with a one-minute floor, the closing"
[[step]]
kind = "welcome"
say = "Hello {a} and {b}."
[[step]]
kind = "round"
speak_s = 60
reflect_s = 15
speak = "{speaker}, you have a minute."
reflect = "{listener}, tell {speaker} what you heard."
[[step]]
kind = "closing"
say = "Thank you both."
"""
_VOICES: dict[str, np.ndarray] = {}


def voice_of(name: str) -> np.ndarray:
    """All of one partner's lines from the bundled demo recording, back to back (speech only)."""
    if not _VOICES:
        import json
        from importlib import resources

        data = json.loads((resources.files("coach") / "data" / "demo.json").read_text())
        audio = read_audio(str(resources.files("coach") / "data" / "demo.ogg"))
        for who in data["names"]:
            parts = [audio[int(g["start_s"] * SAMPLE_RATE_HZ):int(g["end_s"] * SAMPLE_RATE_HZ)]
                     for g in data["segments"] if g["speaker"] == who]
            gap = np.zeros(int(0.15 * SAMPLE_RATE_HZ), np.float32)  # shorter than the 0.25 s bridge
            _VOICES[who] = np.concatenate([x for p in parts for x in (p, gap)])
    return _VOICES[name]


class Room(SyntheticSource):
    """A quiet kitchen (synthetic noise) where partners talk at given audio times.

    Args:
        duration_s: how long the source runs.
        talk: (start_s, end_s, name) spans; the speech is real (the demo's voices).
    """

    def __init__(self, duration_s: float, talk=(), seed: int = 0):
        super().__init__(duration_s=duration_s, noise_dbfs=-62.0, seed=seed)
        self.talk = [(int(a * SAMPLE_RATE_HZ), int(b * SAMPLE_RATE_HZ), voice_of(n)) for a, b, n in talk]

    def frames(self):
        for frame in super().frames():
            n0 = int(round(frame.start_s * SAMPLE_RATE_HZ))
            n1 = n0 + len(frame.samples)
            x = frame.samples
            for a, b, speech in self.talk:
                lo, hi = max(a, n0), min(b, n1)
                if lo < hi:
                    x = x.copy()
                    x[lo - n0:hi - n0] += speech.take(np.arange(lo - a, hi - a), mode="wrap")
            yield dataclasses.replace(frame, samples=x) if x is not frame.samples else frame


class RecordingView:
    """Keeps what the session showed: prompts said and messages, in order."""

    def __init__(self):
        self.said: list[str] = []
        self.messages: list[str] = []
        self.turns: list[tuple[str, str | None]] = []
        self.ticks = 0

    def say(self, text):
        self.said.append(text)

    def message(self, text):
        self.messages.append(text)

    def turn(self, session, turn, record):
        self.turns.append((turn.kind, record.floor))

    def tick(self, session):
        self.ticks += 1

    def countdown(self, remaining_s):
        pass

    def close(self):
        pass


@pytest.fixture
def one_round(tmp_path):
    path = tmp_path / "one-round.toml"
    path.write_text(ONE_ROUND)
    return load_plan(str(path))


@pytest.fixture(scope="session")
def voice(tmp_path_factory):
    """The real espeak-ng voice, its renders cached once for the whole test run."""
    v = TtsVoice("espeak-ng", cache_dir=tmp_path_factory.mktemp("tts-cache"))
    if not v.available:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return v


def settings(**session) -> Settings:
    return Settings().with_overrides(session=session)


def make_session(source, voice, plan="short", cfg: Settings | None = None, output=None, keys=None,
                 recent=None, seed=1, on_checkpoint=None, analyzer=None):
    cfg = cfg or Settings()
    view = RecordingView()
    session = Session(load_plan(plan) if isinstance(plan, str) else plan, NAMES, source, voice,
                      output if output is not None else RecordingOutput(), cfg,
                      analyzer or Analyzer(names=NAMES, settings=cfg.measure),
                      enroller=Enroller(None, reuse=False, persist=False), keys=keys, view=view,
                      on_checkpoint=on_checkpoint, compose_feedback=lambda r: "Thank you both.",
                      recent_questions=recent, seed=seed)
    return session, view


def prompts(record) -> list[str]:
    return [u.text for u in record.spoken if not u.text.startswith("[")]


def coach_spans(record, tail_s: float):
    return [(u.t_s, u.t_s + u.duration_s + tail_s) for u in record.spoken if u.duration_s > 0]


def listen_start(record, turn) -> float:
    """When the turn's prompt finished and listening began (the warning chime comes later)."""
    return max(u.t_s + u.duration_s for u in record.spoken if turn.start_s - 1e-6 <= u.t_s < turn.end_s - 1e-6
               and u.text != "[chime:warning]" and not u.text.startswith("[notice:"))


def test_short_plan_runs_in_order_with_the_right_names(voice):
    cfg = settings(silence_end_s=6.0)
    dry, _ = make_session(Room(900), voice, cfg=cfg)
    dry_record = dry.run()
    start = listen_start(dry_record, dry_record.turns[3])
    # Alex talks for 25 s in his minute; the room is quiet otherwise.
    session, view = make_session(Room(900, [(start + 2, start + 27, "Alex")]), voice, cfg=cfg)
    record = session.run()

    kinds = [(t.kind, t.floor) for t in record.turns]
    assert kinds == [("welcome", None), ("enroll", "Alex"), ("enroll", "Sam"), ("speak", "Alex"),
                     ("reflect", "Sam"), ("speak", "Sam"), ("reflect", "Alex"), ("free", None),
                     ("closing", None)]
    assert record.partial is False and record.feedback == "Thank you both."
    said = prompts(record)
    assert said[0].startswith("Welcome, Alex and Sam.")
    assert "Alex, you have a minute" in " ".join(said) and "Sam, you have a minute" in " ".join(said)
    # Reflect prompts name the one reflecting first, then whose words they reflect.
    assert "Sam, tell Alex what you heard." in said and "Alex, tell Sam what you heard." in said
    assert said[-2:] == ["That's it for tonight. Thank you both.", "Thank you both."]
    texts = [u.text for u in record.spoken]
    assert texts[0] == "[chime:start]" and texts[-1] == "[chime:end]"
    # Every timed turn opens with the turn chime before its prompt.
    assert texts.count("[chime:turn]") == 5
    assert view.said == [u.text for u in record.spoken if not u.text.startswith("[")]
    # What the output played is what the record says was spoken, in order and at those times.
    played = [u for u in record.spoken if u.duration_s > 0]
    assert len(session.output.clips) == len(played)
    for (at_s, clip), u in zip(session.output.clips, played):
        assert at_s == pytest.approx(u.t_s, abs=1e-3)
        assert len(clip) / SAMPLE_RATE_HZ == pytest.approx(u.duration_s, abs=1e-3)
    alex_turn = record.turns[3]
    assert alex_turn.talk_s["Alex"] == pytest.approx(25, abs=2.5)
    assert alex_turn.ended_by == "silence" and alex_turn.end_s == pytest.approx(start + 27 + 6, abs=0.5)
    assert record.talk_totals()["Sam"] == pytest.approx(0, abs=0.5)


def test_the_coach_never_measures_itself(voice, one_round):
    # Someone (or a radio) talks without pause for the whole evening: everything heard while
    # the coach speaks, and its short tail, must count for nobody.
    cfg = settings(silence_end_s=0.0)
    source = Room(600, [(0, 600, "Alex")], seed=5)
    session, _ = make_session(source, voice, plan=one_round, cfg=cfg)
    record = session.run()
    tail = cfg.audio.coach_tail_s
    spans = coach_spans(record, tail)
    assert sum(b - a for a, b in spans) > 10  # the coach really talked over the room
    for seg in record.segments:
        for a, b in spans:
            overlap = min(seg.end_s, b) - max(seg.start_s, a)
            assert overlap <= 0.05, (seg, a, b)
    talk = sum(record.talk_totals().values())
    assert talk > 0.5 * record.duration_s - sum(b - a for a, b in spans)


def test_turns_end_after_silence_end_s_of_quiet(voice):
    source = Room(2000, seed=7)  # nobody says anything
    session, _ = make_session(source, voice, cfg=settings(silence_end_s=4.0))
    record = session.run()
    timed = [t for t in record.turns if t.kind in ("speak", "reflect", "free")]
    assert [t.ended_by for t in timed] == ["silence"] * 5
    for t in timed:
        opened = max(u.t_s + u.duration_s for u in record.spoken if t.start_s <= u.t_s < t.end_s)
        assert t.end_s - opened == pytest.approx(4.0, abs=0.05)


class ScriptedKeys:
    """Presses keys at given audio times, as someone near the laptop would."""

    def __init__(self, presses: list[tuple[float, str]]):
        self.presses = sorted(presses)
        self.session = None

    def __call__(self) -> list[str]:
        now = self.session.now_s
        due = [k for t, k in self.presses if t <= now]
        self.presses = [(t, k) for t, k in self.presses if t > now]
        return due


def test_key_requests_pause_next_and_stop(voice, one_round):
    source = Room(3000, seed=11)
    first_speak = None
    keys = ScriptedKeys([])
    session, view = make_session(source, voice, plan=one_round,
                                 cfg=settings(silence_end_s=0.0, warning_s=0.0), keys=keys)
    keys.session = session
    # Find where Alex's minute starts in an identical dry run, to press keys inside it.
    dry, _ = make_session(Room(3000, seed=11), voice, plan=one_round,
                          cfg=settings(silence_end_s=0.0, warning_s=0.0))
    dry_record = dry.run()
    first_speak = dry_record.turns[1]
    listen_from = max(u.t_s + u.duration_s for u in dry_record.spoken
                      if first_speak.start_s <= u.t_s < first_speak.end_s)
    assert first_speak.ended_by == "time"
    keys.presses = [(listen_from + 10, " "), (listen_from + 40, " "),  # a 30 s pause
                    (listen_from + 95, "n")]  # then "next" in the reflect that follows
    record = session.run()
    speak = record.turns[1]
    assert speak.ended_by == "time"
    # The 30 s pause (and its two acknowledgement chimes) did not count against the minute.
    acks = [u for u in record.spoken if u.text == "[chime:ack]" and speak.start_s <= u.t_s <= speak.end_s]
    assert len(acks) == 2
    # The first chime plays inside the pause; the one on resuming is coach time, not turn time.
    assert speak.end_s - listen_from == pytest.approx(60 + 30 + acks[1].duration_s, abs=0.05)
    assert any("paused" in m for m in view.messages)
    reflect = record.turns[2]
    assert reflect.ended_by == "next"

    # "q" stops the evening at once: the closing is still said and the record is partial.
    keys2 = ScriptedKeys([(listen_from + 5, "q")])
    session2, _ = make_session(Room(3000, seed=2), voice, plan=one_round,
                               cfg=settings(silence_end_s=0.0), keys=keys2)
    keys2.session = session2
    record2 = session2.run()
    assert record2.partial is True
    assert [t.ended_by for t in record2.turns if t.kind == "speak"] == ["stop"]
    assert record2.turns[-1].kind == "closing"
    assert record2.spoken[-1].text == "[chime:end]"


def test_round_two_question_avoids_recent_ones(voice):
    plan = load_plan("evening")
    rounds = [s for s in plan.steps if s.get("question")]
    assert rounds, "the evening plan asks a question in its second round"
    from coach.plans import draw_question  # the bank the session draws from
    import random

    bank = set()
    rng = random.Random(0)
    for _ in range(2000):
        bank.add(draw_question(rng, set(), ()))
    keep = sorted(bank)[:3]
    recent = set(bank) - set(keep)
    session, _ = make_session(Room(3000, seed=1), voice, plan=plan,
                              cfg=settings(silence_end_s=1.0), recent=set(recent))
    record = session.run()
    asked = [t.question for t in record.turns if t.question]
    assert len(asked) == 2 and len(set(asked)) == 2
    assert all(q in keep for q in asked)


def test_checkpoints_after_every_turn_mark_partial_until_the_end(voice):
    seen = []
    session, _ = make_session(Room(2000, seed=1), voice,
                              cfg=settings(silence_end_s=2.0),
                              on_checkpoint=lambda r: seen.append((len(r.turns), r.partial)))
    record = session.run()
    assert [n for n, _ in seen[:-1]] == list(range(1, 9))
    assert all(partial for _, partial in seen[:-1])
    assert seen[-1] == (9, False) and record.partial is False


def test_a_recording_that_ends_early_gives_a_partial_evening(voice):
    session, _ = make_session(Room(150, [(80, 100, "Sam")], seed=1), voice,
                              cfg=settings(silence_end_s=0.0))
    record = session.run()
    assert record.partial is True
    assert record.turns[-2].ended_by == "end_of_input"
    assert record.turns[-1].kind == "closing"
    assert record.duration_s == pytest.approx(150, abs=0.03)
    assert sum(record.talk_totals().values()) > 5


def test_frames_are_marked_while_the_coach_talks(voice):
    class Spy(Analyzer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.marked = []

        def feed(self, frame, floor=None):
            self.marked.append((frame.start_s, frame.coach_speaking))
            super().feed(frame, floor)

    spy = Spy(names=NAMES)
    session, _ = make_session(Room(200, seed=1), voice,
                              cfg=settings(silence_end_s=2.0), analyzer=spy)
    record = session.run()
    starts = np.array([t for t, _ in spy.marked])
    marked = np.array([m for _, m in spy.marked])
    assert np.allclose(np.diff(starts), 0.02)  # one contiguous clock, no gaps or repeats
    u = next(u for u in record.spoken if u.text.startswith("Welcome"))
    inside = (starts >= u.t_s) & (starts < u.t_s + u.duration_s)
    assert inside.sum() > 50 and marked[inside].all()
    assert not marked[starts > record.turns[1].start_s + 60].all()
    assert dataclasses.is_dataclass(record)


def test_the_command_hint_is_spoken_only_when_commands_are_listened_for(voice):
    """The welcome tells people how to give a spoken command only if coach listens for them,
    and the coach's own hint is announced to the listener as an echo to ignore."""
    from coach.commands import CommandListener

    class Spy(CommandListener):
        echoes: list = []

        def expect_echo(self, text):
            Spy.echoes.append(text)
            super().expect_echo(text)

    without, _ = make_session(Room(400, seed=3), voice, cfg=settings(silence_end_s=3.0))
    rec = without.run()
    assert not any("say the word coach" in p for p in prompts(rec))
    with_, _ = make_session(Room(400, seed=3), voice, cfg=settings(silence_end_s=3.0))
    with_.listener = Spy()
    rec = with_.run()
    hint = [p for p in prompts(rec) if "say the word coach" in p]
    assert len(hint) == 1 and hint[0] in Spy.echoes


class RoomWithClips(Room):
    """A Room where, besides the partners' talk, given clips are said at given times."""

    def __init__(self, duration_s: float, talk=(), clips=(), seed: int = 0):
        super().__init__(duration_s, talk, seed)
        self.clips = [(int(t * SAMPLE_RATE_HZ), c) for t, c in clips]

    def frames(self):
        for frame in super().frames():
            n0 = int(round(frame.start_s * SAMPLE_RATE_HZ))
            x = frame.samples
            for a, clip in self.clips:
                lo, hi = max(a, n0), min(a + len(clip), n0 + len(x))
                if lo < hi:
                    x = x.copy()
                    x[lo - n0:hi - n0] += clip[lo - a:hi - a]
            yield dataclasses.replace(frame, samples=x) if x is not frame.samples else frame


def _spoken(text: str) -> np.ndarray:
    """``text`` said by an espeak-ng voice other than the coach's, at a talking level."""
    import io
    import shutil
    import subprocess

    import soundfile as sf
    from scipy.signal import resample_poly

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    wav = subprocess.run(["espeak-ng", "-v", "en-us+m3", "-s", "150", "--stdout", text],
                         capture_output=True, check=True).stdout
    x, rate = sf.read(io.BytesIO(wav), dtype="float32")
    x = resample_poly(x, SAMPLE_RATE_HZ, rate).astype(np.float32)
    on = np.nonzero(np.abs(x) > 0.01)[0]
    x = x[on[0]:on[-1] + 1]
    return x * (10 ** (-26 / 20) / np.sqrt(np.mean(x ** 2)))


def test_spoken_repeat_and_stop_steer_a_whole_session(voice, one_round):
    """Said into the microphone after talk, "coach repeat" has the floor prompt said again and
    "coach stop" ends the evening with the feedback; the command words are nobody's talk.
    ("coach next" is left out: pocketsphinx hears this voice's "next" as "repeat", see
    tests/test_commands.py.)"""
    pytest.importorskip("pocketsphinx")
    from coach.commands import CommandListener

    cfg = settings(silence_end_s=30.0)
    dry, _ = make_session(Room(200), voice, plan=one_round, cfg=cfg)
    dry.listener = CommandListener()  # the welcome then has the command hint: same timing
    dry_record = dry.run()
    floor_turn = dry_record.turns[1]
    start = next(u.t_s + u.duration_s for u in dry_record.spoken if u.text == floor_turn.prompt)
    again, stop = _spoken("coach repeat"), _spoken("coach stop")
    t_again, t_stop = start + 12.0, start + 30.0
    room = RoomWithClips(200, talk=[(start + 1, start + 11, "Alex")],
                         clips=[(t_again, again), (t_stop, stop)])
    session, view = make_session(room, voice, plan=one_round, cfg=cfg)
    session.listener = CommandListener()
    record = session.run()

    assert [m for m in view.messages if m.startswith("heard:")] == ["heard: coach repeat",
                                                                    "heard: coach stop"]
    floor_prompt = record.turns[1].prompt
    assert prompts(record).count(floor_prompt) == 2
    again_said = [u.t_s for u in record.spoken if u.text == floor_prompt][1]
    assert t_again < again_said < t_again + len(again) / SAMPLE_RATE_HZ + 1.5
    assert record.partial is True and record.feedback == "Thank you both."
    stopped = [t for t in record.turns if t.ended_by == "stop"]
    assert [(t.kind, t.floor) for t in stopped] == [("speak", "Alex")]
    assert record.turns[-1].kind == "closing"
    assert t_stop < stopped[0].end_s < t_stop + len(stop) / SAMPLE_RATE_HZ + 1.5
    # Alex's ten seconds are his; the words of the commands count for nobody.
    talk = {name: sum(t.talk_s.get(name, 0.0) for t in record.turns) for name in NAMES}
    assert 8.0 <= talk["Alex"] <= 11.5
    assert talk["Sam"] < 0.5


def test_a_resume_heard_while_nothing_is_paused_changes_nothing(voice):
    """A "coach resume" heard while the turn clock runs is most likely talk taken for a
    command: nothing is shown, and its words are not taken out of anyone's talk. Heard
    while paused, it resumes, and its words are nobody's."""
    session, view = make_session(Room(5), voice)
    session._command("resume", 1.0, 2.2)
    assert session.command_spans == [] and not [m for m in view.messages if m.startswith("heard:")]
    session.controls.paused = True
    session._command("resume", 3.0, 4.1)
    assert session.controls.paused is False
    assert session.command_spans == [(3.0, 4.1)] and "heard: coach resume" in view.messages


BARGE_IN = """
name = "barge-in"
description = "a long welcome, one round with a long floor prompt, the closing"
[[step]]
kind = "welcome"
say = "Hello {a} and {b}. Tonight you take turns. One of you shares something real from the day, and the other one listens, without planning a reply, and then says back what they heard."
[[step]]
kind = "round"
speak_s = 60
reflect_s = 15
speak = "{speaker}, the floor is yours for a minute. Share one feeling from today, something small is fine, and {listener}, just listen, let them finish, and notice what you feel while you listen."
reflect = "{listener}, tell {speaker} what you heard."
[[step]]
kind = "closing"
say = "Thank you both."
"""


class EchoingRoom(RoomWithClips):
    """A RoomWithClips whose microphone also hears the coach: whatever ``output`` plays,
    80 ms later, through a short reverberant path, 4 dB louder than the partners' voices
    (a laptop speaker beside its microphone), and cut where the output was stopped."""

    def __init__(self, duration_s: float, output: RecordingOutput, clips=(), seed: int = 0):
        super().__init__(duration_s, clips=clips, seed=seed)
        self.output = output
        rng = np.random.default_rng(11)
        t = np.arange(int(0.25 * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
        self.ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.25) * 0.15
        self.ir[0] = 1.0
        self.delay = int(0.08 * SAMPLE_RATE_HZ)
        self._echoes: dict[int, np.ndarray] = {}

    def _echo(self, i: int, at: int, clip: np.ndarray) -> np.ndarray:
        if i not in self._echoes:
            y = np.convolve(clip, self.ir)
            level = np.sqrt(np.mean(clip[np.abs(clip) > 1e-3] ** 2))
            self._echoes[i] = (y * 10 ** ((-26 + 4) / 20) / level).astype(np.float32)
        echo = self._echoes[i]
        cuts = [int(round(s * SAMPLE_RATE_HZ)) for s in self.output.stops if s is not None and s * SAMPLE_RATE_HZ > at]
        if cuts:  # stopped: the room still rings for the length of the response
            echo = echo[:min(cuts) - at + len(self.ir)]
        return echo

    def frames(self):
        for frame in super().frames():
            n0 = int(round(frame.start_s * SAMPLE_RATE_HZ))
            x = frame.samples
            for i, (at_s, clip) in enumerate(self.output.clips):
                a = int(round(at_s * SAMPLE_RATE_HZ)) + self.delay
                echo = self._echo(i, a - self.delay, clip)
                lo, hi = max(a, n0), min(a + len(echo), n0 + len(x))
                if lo < hi:
                    x = x.copy()
                    x[lo - n0:hi - n0] += echo[lo - a:hi - a]
            yield dataclasses.replace(frame, samples=x) if x is not frame.samples else frame


@pytest.mark.parametrize("cancel", [True, False])
def test_coach_stop_said_over_the_coachs_own_voice(voice, tmp_path, cancel):
    """Barge-in: "coach stop" said while the coach is still talking (its voice 4 dB louder in
    the microphone than the speaker's) ends the evening within 1.5 s. The listener takes
    the coach's voice out of the microphone; without that, the command drowns in it."""
    pytest.importorskip("pocketsphinx")
    from coach.commands import CommandListener, CommandListenerSettings

    path = tmp_path / "barge-in.toml"
    path.write_text(BARGE_IN)
    plan = load_plan(str(path))
    cfg = settings(silence_end_s=30.0)
    dry_out = RecordingOutput()
    dry, _ = make_session(EchoingRoom(300, dry_out), voice, plan=plan, cfg=cfg, output=dry_out)
    dry.listener = CommandListener()
    dry_record = dry.run()
    floor = next(u for u in dry_record.spoken if u.text.endswith("notice what you feel while you listen."))
    assert floor.duration_s > 8.0
    stop = _spoken("coach stop")
    t_stop = floor.t_s + 3.0  # well inside the prompt
    out = RecordingOutput()
    session, view = make_session(EchoingRoom(300, out, clips=[(t_stop, stop)]), voice, plan=plan,
                                 cfg=cfg, output=out)
    session.listener = CommandListener(CommandListenerSettings() if cancel
                                       else CommandListenerSettings(echo=None))
    record = session.run()
    heard = [m for m in view.messages if m.startswith("heard:")]
    if not cancel:
        assert heard == [] and record.partial is False  # the evening ran to its end
        return
    assert heard == ["heard: coach stop"]
    cut = [s for s in out.stops if s is not None and floor.t_s < s < floor.t_s + floor.duration_s]
    assert cut and t_stop < cut[0] < t_stop + len(stop) / SAMPLE_RATE_HZ + 1.5
    assert record.partial is True and record.feedback == "Thank you both."
