"""The session: runs a plan's turns on audio time — speak, listen, measure, then feedback.

Audio time is the clock: every frame pulled from the source advances ``now_s``. While the
coach talks, the frames it consumes are marked ``coach_speaking`` (plus a short tail for
room echo), so the coach never measures itself. A file source runs as fast as the machine
allows; a live microphone runs in real time — the same code either way.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from typing import Callable

import numpy as np

from coach.frames import SAMPLE_RATE_HZ, Frame
from coach.plans import Plan, Turn, draw_question
from coach.record import Segment, SessionRecord, TurnRecord, Utterance
from coach.settings import Settings
from coach.talk import talk_by_turn, without_spans


class EndOfInput(Exception):
    """The source has no more frames (a recording ended, or the microphone was closed)."""


class StopSession(Exception):
    """Someone asked to stop ("coach stop", q): end now and give the feedback so far."""


def new_session_id(now: datetime | None = None) -> str:
    now = now or datetime.now().astimezone()
    return now.strftime("%Y%m%d-%H%M%S-") + f"{random.randrange(16**4):04x}"


@dataclasses.dataclass
class Controls:
    """Requests from spoken commands or keys, applied at frame boundaries."""

    paused: bool = False
    next_turn: bool = False
    repeat: bool = False
    stop: bool = False


class Session:
    """One guided evening. Build it with its collaborators, then call ``run()``.

    Args:
        plan: the plan to run.
        names: the two partners, floor order.
        source: an AudioSource (microphone, file, synthetic).
        voice: renders prompts and cues (coach.voice.Voice).
        output: plays them (coach.outputs.Output).
        settings: all settings.
        analyzer: coach.analysis.Analyzer (VAD + attribution), fed every frame.
        enroller: callable(session, turn_index, name) -> profile or None; does the enroll step.
        listener: optional CommandListener for spoken commands.
        keys: optional callable returning pressed keys since the last call.
        view: shows prompts and progress (coach.view).
        on_checkpoint: called with the record after every turn (history saves it).
        compose_feedback: callable(record) -> str, the closing words.
        recent_questions: questions to avoid this evening.
        demo: mark the record as a demo.
        seed: random seed for question choice.
    """

    def __init__(self, plan: Plan, names: list[str], source, voice, output, settings: Settings,
                 analyzer, *, enroller=None, listener=None, keys: Callable[[], list[str]] | None = None,
                 view=None, on_checkpoint=None, compose_feedback=None,
                 recent_questions: set[str] | None = None, demo: bool = False, seed: int | None = None,
                 audio_sink=None):
        from coach.view import NullView

        self.plan, self.names, self.settings = plan, list(names), settings
        self.voice, self.output, self.analyzer = voice, output, analyzer
        self.enroller, self.listener, self.keys = enroller, listener, keys
        self.view = view or NullView()
        self.on_checkpoint = on_checkpoint
        self.compose_feedback = compose_feedback
        self.recent_questions = recent_questions or set()
        self.rng = random.Random(seed)
        self.audio_sink = audio_sink
        self.source = source
        self._frames = iter(source.frames())
        if hasattr(source, "watch"):  # a ResilientSource: hear about device loss and return
            source.watch(self.source_lost, self.source_back, self._stop_requested)
        self._notices: set[str] = set()
        self.now_s = 0.0
        self._mute_until_s = -1.0
        self.controls = Controls()
        self.floor: str | None = None
        self.command_spans: list[tuple[float, float]] = []
        self.current_prompt = ""
        self.input_ended = False
        self._measuring = True
        started = datetime.now().astimezone()
        self.record = SessionRecord(new_session_id(started), plan.name, started.isoformat(timespec="seconds"),
                                    list(names), demo=demo)

    # --- the clock -------------------------------------------------------------------------

    def pull(self) -> Frame:
        """Take the next frame: mark coach speech, measure, hear commands. Raises EndOfInput."""
        frame = next(self._frames, None)
        if frame is None:
            self.input_ended = True
            raise EndOfInput
        if frame.start_s < self._mute_until_s and not frame.coach_speaking:
            frame = dataclasses.replace(frame, coach_speaking=True)
        self.now_s = frame.end_s
        if self._measuring:
            self.analyzer.feed(frame, floor=self.floor)
        if self.audio_sink is not None:
            self.audio_sink.write(frame.samples)
        if self.listener is not None:
            for heard in self.listener.feed(frame):
                self._command(heard.command, heard.t_s, heard.end_s)
        self._poll_keys()
        self.view.tick(self)
        return frame

    def _poll_keys(self) -> None:
        if self.keys is not None:
            for key in self.keys():
                self._key(key)

    def _stop_requested(self) -> bool:
        self._poll_keys()
        return self.controls.stop

    # --- faults: said once, on screen and (while a speaker works) aloud ----------------------

    def notice(self, kind: str, text: str, speak: bool = True, once: bool = True) -> None:
        """Tell the couple about a fault without waiting on the microphone (it may be gone)."""
        if once and kind in self._notices:
            return
        self._notices.add(kind)
        self.view.message(text)
        self.record.spoken.append(Utterance(round(self.now_s, 3), f"[notice:{kind}] {text}"))
        if speak and not self.output.lost:
            audio = self.voice.render(text)
            if len(audio):
                self._output_play(audio)
                # The next frames may carry this message back through the microphone.
                self._mute_until_s = max(self._mute_until_s, self.now_s + len(audio) / SAMPLE_RATE_HZ
                                         + self.settings.audio.coach_tail_s)

    def source_lost(self, error: Exception) -> None:
        """The microphone went away: the turn clock stands still until it is back."""
        self.notice("mic_lost", "I lost the microphone — I'll keep trying.", once=False)
        self._notices.discard("mic_back")

    def source_back(self) -> None:
        self.notice("mic_back", "The microphone is back.")

    def _check_output(self) -> None:
        if self.output.lost and "output_lost" not in self._notices:
            self.notice("output_lost", "The speaker stopped working; I'll show the prompts here "
                                       "and carry on.", speak=False)

    def _command(self, command: str, t_s: float, end_s: float) -> None:
        if command == "resume" and not self.controls.paused:
            # Nothing to resume: most likely talk heard as a command (3 of the 5 false
            # commands in c01-c12 under seven noises 5 dB below the talk were "resume"),
            # so nothing is shown and its words stay the talk they were.
            return
        self.command_spans.append((t_s, end_s))
        self.view.message(f"heard: coach {command}")
        self._apply(command)
        self.record.spoken.append(Utterance(self.now_s, f"[command:{command}]"))

    def _key(self, key: str) -> None:
        mapping = {" ": "pause_toggle", "n": "next", "r": "repeat", "q": "stop"}
        action = mapping.get(key.lower())
        if action == "pause_toggle":
            action = "resume" if self.controls.paused else "pause"
        if action:
            self._apply(action)

    def _apply(self, action: str) -> None:
        c = self.controls
        if action == "pause":
            c.paused = True
            self._output_stop()
        elif action == "resume":
            c.paused = False
        elif action == "next":
            c.next_turn, c.paused = True, False
        elif action == "repeat":
            c.repeat = True
        elif action == "stop":
            c.stop = True
            self._output_stop()

    # --- speaking --------------------------------------------------------------------------

    def _output_play(self, audio: np.ndarray) -> None:
        """Play ``audio`` now, and tell the command listener: it takes the coach's voice
        out of the microphone, so "coach stop" can be said over it (barge-in). The sound
        starts now in the room, which is ahead of ``now_s`` by the microphone audio not
        yet taken (a live source's backlog)."""
        self.output.play(audio, self.now_s)
        heard = getattr(self.listener, "coach_playing", None)
        if heard is not None:
            heard(audio, self.now_s + float(getattr(self.source, "backlog_s", 0.0)))

    def _output_stop(self) -> None:
        self.output.stop(at_s=self.now_s)
        cut = getattr(self.listener, "coach_stopped", None)
        if cut is not None:
            cut(self.now_s)

    def _play(self, audio: np.ndarray, label: str, text: str) -> None:
        self._check_output()
        if self.output.lost:  # nobody hears it, so nothing to wait for or keep out of the mic
            audio = audio[:0]
        if len(audio):
            self._output_play(audio)
        self._check_output()
        if self.output.lost:  # it failed on this very clip
            audio = audio[:0]
        duration_s = len(audio) / SAMPLE_RATE_HZ
        self.record.spoken.append(Utterance(round(self.now_s, 3), text, round(duration_s, 3)))
        if self.input_ended or not len(audio):  # nothing left to listen to, or nothing said
            return
        end_s = self.now_s + duration_s
        self._mute_until_s = end_s + self.settings.audio.coach_tail_s
        stopping_before = self.controls.stop
        echo = getattr(self.listener, "expect_echo", None)
        if echo is not None:  # "say coach pause any time" must not pause the session
            echo(text if label == "say" else None)
        try:
            while self.now_s < end_s:
                self.pull()
                if self.controls.paused or (self.controls.stop and not stopping_before):
                    self._output_stop()  # barge-in: cut the coach off at once
                    self._mute_until_s = self.now_s + self.settings.audio.coach_tail_s
                    break
        finally:
            if echo is not None:
                echo(None)

    def say(self, text: str) -> None:
        """Speak ``text`` (rendered first, so its duration is known), showing it on screen."""
        self.view.say(text)
        audio = self.voice.render(text)
        if not len(audio) and text.strip() and "tts" not in self._notices:
            self.notice("tts", "Speech is off, so the prompts are shown here and chimes mark "
                               "the turns.", speak=False)
        self._play(audio, "say", text)

    def chime(self, name: str) -> None:
        self._play(self.voice.cue(name), "chime", f"[chime:{name}]")

    def acknowledge(self) -> None:
        self._play(self.voice.cue("ack"), "chime", "[chime:ack]")

    # --- turns -----------------------------------------------------------------------------

    def fill(self, text: str, turn: Turn, question: str | None = None) -> str:
        a, b = self.names
        speaker = self.names[turn.floor] if turn.floor is not None else a
        listener = self.names[1 - turn.floor] if turn.floor is not None else b
        if turn.kind == "reflect":  # the floor is the listener's now: {speaker} is who spoke before
            speaker, listener = listener, speaker
        return text.format(a=a, b=b, speaker=speaker, listener=listener, question=question or "")

    def wait_while_paused(self) -> None:
        if not self.controls.paused:
            return
        self.view.message("paused — say “coach resume” or press space")
        self.acknowledge()
        while self.controls.paused and not self.controls.stop:
            self.pull()
        if not self.controls.stop:
            self.acknowledge()

    def listen(self, turn: Turn, record: TurnRecord) -> str:
        """Listen until the turn's time is up, its floor holder falls silent, or a request.

        Returns:
            why it ended: "time", "silence", "next" or "stop".
        """
        s = self.settings.session
        elapsed = 0.0
        silence_from = self.now_s
        warned = turn.duration_s <= 2 * s.warning_s or s.warning_s <= 0
        while True:
            before = self.now_s
            was_paused = self.controls.paused
            self.pull()
            if self.controls.paused:
                self.wait_while_paused()
                silence_from = self.now_s
                continue
            if not was_paused:
                elapsed += self.now_s - before
            self.view.countdown(max(0.0, turn.duration_s - elapsed))
            if self.controls.stop:
                return "stop"
            if self.controls.next_turn:
                self.controls.next_turn = False
                return "next"
            if self.controls.repeat:
                self.controls.repeat = False
                self.say(self.current_prompt)
                silence_from = self.now_s
            if elapsed >= turn.duration_s:
                return "time"
            if not warned and turn.duration_s - elapsed <= s.warning_s:
                warned = True
                chimed_from = self.now_s
                self.chime("warning")
                elapsed += self.now_s - chimed_from  # the turn's time runs on under the chime
            if s.silence_end_s > 0:
                heard = self.analyzer.last_heard_s(self.floor)
                last = max(silence_from, heard if heard is not None else silence_from)
                if self.now_s - last >= s.silence_end_s and not self.analyzer.speaking:
                    return "silence"

    def run_turn(self, index: int, turn: Turn) -> None:
        self.floor = self.names[turn.floor] if turn.floor is not None else None
        question = None
        if turn.ask_question:
            question = draw_question(self.rng, self.recent_questions, turn.questions)
            self.recent_questions.add(question)
        record = TurnRecord(turn.kind, self.floor, round(self.now_s, 3), round(self.now_s, 3), prompt="",
                            question=question, planned_s=turn.duration_s)
        self.record.turns.append(record)
        self.view.turn(self, turn, record)
        try:
            if turn.intro:
                self.say(self.fill(turn.intro, turn))
            if turn.kind in ("speak", "reflect", "free"):
                self.chime("turn")
            self.current_prompt = self.fill(turn.prompt, turn, question)
            record.prompt = self.current_prompt
            if turn.kind == "enroll":
                record.ended_by = self.enroller(self, turn, self.floor) if self.enroller else "done"
            else:
                self.say(self.current_prompt)
                if turn.kind == "welcome" and self.listener is not None:
                    self.say("If you need me, say the word coach, then pause, next, repeat or stop.")
                if turn.kind in ("speak", "reflect", "free"):
                    record.ended_by = self.listen(turn, record)
                    if record.ended_by in ("next", "stop"):
                        self.acknowledge()
        except EndOfInput:
            record.ended_by = "end_of_input"
            raise
        finally:
            record.end_s = round(self.now_s, 3)  # the precision utterances are kept at
        if self.controls.stop:
            raise StopSession

    # --- the whole evening -----------------------------------------------------------------

    def measure(self, final: bool) -> None:
        """Fill each turn's talk seconds from the analyzer's segments.

        Checkpoints between turns use the analyzer's quick, floor-based segments: deciding
        voices over the whole evening after every turn would cost more each time, and a
        checkpoint only has to survive a crash. The end of the evening decides properly.
        """
        if final:
            segments = self.analyzer.finish()
        else:
            quick = getattr(self.analyzer, "quick_segments", None)
            segments = quick() if quick else self.analyzer.segments()
        self._measuring = not final
        # Plain floats: segments may carry numpy scalars, which JSON and SQLite refuse.
        # The words of a spoken command are nobody's talk.
        self.record.segments = without_spans(
            [Segment(float(g.start_s), float(g.end_s), g.speaker) for g in segments], self.command_spans)
        self.record.duration_s = self.now_s
        talk_by_turn(self.record)  # the segments hold no command words any more

    def run(self) -> SessionRecord:
        """Run every turn, then measure and give feedback; always returns the record.

        KeyboardInterrupt propagates after the record is measured and checkpointed
        (marked partial), so the caller can save it.
        """
        turns = self.plan.turns()
        closing = next((t for t in turns if t.kind == "closing"), None)
        self.chime("start")
        try:
            for index, turn in enumerate(turns):
                if turn.kind == "closing":
                    break
                self.run_turn(index, turn)
                self.measure(final=False)
                self.record.partial = True
                self._checkpoint()
            self.record.partial = False
        except StopSession:
            self.record.partial = True
        except EndOfInput:
            self.record.partial = True
        except KeyboardInterrupt:
            self.record.partial = True
            self.measure(final=True)
            self._checkpoint()
            raise
        self.floor = None
        self.measure(final=True)
        self._close(closing)
        self._checkpoint()
        return self.record

    def _close(self, closing: Turn | None) -> None:
        record = TurnRecord("closing", None, round(self.now_s, 3), round(self.now_s, 3), prompt=closing.prompt if closing else "")
        self.record.turns.append(record)
        self.controls = Controls()
        feedback = self.compose_feedback(self.record) if self.compose_feedback else ""
        self.record.feedback = feedback
        try:
            if closing:
                self.say(self.fill(closing.prompt, closing))
            if feedback:
                self.say(feedback)
            self.chime("end")
        except (EndOfInput, StopSession):
            pass
        record.end_s = round(self.now_s, 3)
        self.record.duration_s = self.now_s

    def _checkpoint(self) -> None:
        if self.on_checkpoint is not None:
            self.on_checkpoint(self.record)
