"""Spoken commands: the wake word "coach" plus one word, heard offline in the microphone stream.

A light VAD (webrtcvad) cuts the stream into speech stretches; only stretches short
enough to be a command (or the tail of a longer one) are decoded by pocketsphinx
against a tiny grammar whose only alternative to ``coach <command>`` is a loop of
everyday words, so most ordinary talk maps to that loop instead of a command. Accuracy,
false commands per hour, latency and CPU are measured by scripts/bench_commands.py; the
targets of issue 5 are not met yet (see the figures there).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from coach.command_grammar import Recognizer, RecognizerSettings
from coach.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame

COMMANDS = ("pause", "resume", "next", "repeat", "stop")
"""What a command can mean; "continue" is heard as "resume"."""

BARGE_IN_COMMANDS = frozenset({"pause", "stop"})
"""The only commands accepted while the coach itself is speaking."""


@dataclass(frozen=True)
class CommandListenerSettings:
    """How speech is cut into command candidates.

    Attributes:
        vad_mode: webrtcvad aggressiveness 0–3 (3 rejects most noise).
        end_silence_s: a candidate ends after this much non-speech (seconds).
        min_speech_s: shorter speech is not decoded (a cough, a clink).
        max_command_s: the longest "coach <word>" we expect; longer speech is decoded
            only over its last ``max_command_s`` (a command glued after other talk).
        max_open_s: speech that never pauses (talk over a running tap) is still decoded
            every ``max_open_s - max_command_s`` seconds, so a command in it is heard.
        pre_roll_s: audio kept before the VAD onset, so the first consonant is not cut.
        isolated_only: decode only short stretches of speech with pauses around them (a
            command said on its own). Decoding the tail of every long stretch, as well,
            found some glued commands but gave ~126 false commands an hour of ordinary
            conversation on the bench: a false "stop" ends an evening.
        recognizer: decoder settings (grammar weights, beams).
    """

    # vad_mode 3 and a 0.2 s pause were chosen on the bench's tune split (10 dB, 12 trials):
    # 8/12 right against 3/12 with mode 2 and 0.3 s, because in kitchen noise mode 2
    # rarely finds the short pause that separates a command from the talk around it.
    vad_mode: int = 3
    end_silence_s: float = 0.20
    min_speech_s: float = 0.35
    max_command_s: float = 1.8
    max_open_s: float = 3.4
    pre_roll_s: float = 0.20
    isolated_only: bool = True
    recognizer: RecognizerSettings = RecognizerSettings()


@dataclass(frozen=True)
class HeardCommand:
    """A recognised spoken command.

    Attributes:
        t_s: audio time the command started being said.
        command: one of ``COMMANDS``.
        end_s: audio time the command's speech ended, so the session can leave it out of talk.
    """

    t_s: float
    command: str
    end_s: float


class _Vad:
    """webrtcvad on 20 ms frames; imported lazily so the rest of coach never needs it."""

    def __init__(self, mode: int):
        import webrtcvad  # from webrtcvad-wheels

        self._vad = webrtcvad.Vad(mode)

    def is_speech(self, samples: np.ndarray) -> bool:
        if len(samples) != FRAME_SAMPLES:  # webrtcvad takes 10/20/30 ms only
            samples = np.resize(samples, FRAME_SAMPLES) if len(samples) else np.zeros(FRAME_SAMPLES)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        return self._vad.is_speech(pcm, SAMPLE_RATE_HZ)


class CommandListener:
    """Streaming: feed every microphone Frame, get commands as soon as they are recognised.

    Frames with ``coach_speaking=True`` are fed too (barge-in): while the coach talks only
    "pause" and "stop" are accepted, and never a command whose words the coach is saying
    right now (see ``expect_echo``).

    Args:
        settings: cutting and decoding settings; defaults when None.
        recognizer: an already loaded recognizer to share (loading takes ~0.3 s).
    """

    def __init__(self, settings: CommandListenerSettings | None = None,
                 recognizer: Recognizer | None = None):
        self.settings = settings or CommandListenerSettings()
        self._recognizer = recognizer or Recognizer(self.settings.recognizer)
        self._vad = _Vad(self.settings.vad_mode)
        keep_s = self.settings.max_open_s + self.settings.pre_roll_s + 1.0
        self._frames: deque[Frame] = deque(maxlen=int(keep_s * SAMPLE_RATE_HZ / FRAME_SAMPLES) + 1)
        self._speech_start_s: float | None = None
        self._window_start_s: float | None = None
        self._last_speech_end_s = 0.0
        self._silence_s = 0.0
        self._last_heard_end_s = -1.0
        self._echo_words: set[tuple[str, str]] = set()
        self.decoded_s = 0.0
        """Seconds of audio handed to the decoder so far (the CPU cost driver)."""

    def expect_echo(self, text: str | None) -> None:
        """Tell the listener what the coach is saying now (None when it stops).

        A prompt such as "say coach pause any time" contains a command; its echo in the
        microphone must not pause the session, so while coach_speaking frames arrive,
        a command spoken in ``text`` is ignored.
        """
        words = (text or "").lower().replace(",", " ").replace(".", " ").split()
        self._echo_words = {(a, b) for a, b in zip(words, words[1:]) if a == "coach"}

    def feed(self, frame: Frame) -> list[HeardCommand]:
        """Take one frame; return the commands recognised up to its end (usually none)."""
        s = self.settings
        self._frames.append(frame)
        speech = self._vad.is_speech(frame.samples)
        if speech:
            if self._speech_start_s is None:
                self._speech_start_s = frame.start_s
                self._window_start_s = frame.start_s
            self._last_speech_end_s = frame.end_s
            self._silence_s = 0.0
            if not s.isolated_only and frame.end_s - self._window_start_s >= s.max_open_s:
                # Speech without a pause: decode what we have, keep the overlap for a
                # command that straddles the cut.
                found = self._decode(self._window_start_s, frame.end_s)
                self._window_start_s = frame.end_s - s.max_command_s
                return found
            return []
        if self._speech_start_s is None:
            return []
        self._silence_s += frame.duration_s
        if self._silence_s < s.end_silence_s:
            return []
        start, end = self._window_start_s, self._last_speech_end_s
        self._speech_start_s = self._window_start_s = None
        if end - start < s.min_speech_s:
            return []
        if s.isolated_only and end - start > s.max_command_s:
            return []
        return self._decode(max(start, end - s.max_command_s), end)

    def flush(self) -> list[HeardCommand]:
        """End of stream: decode any speech still open."""
        if self._speech_start_s is None:
            return []
        start, end = self._window_start_s, self._last_speech_end_s
        self._speech_start_s = self._window_start_s = None
        if end - start < self.settings.min_speech_s:
            return []
        return self._decode(max(start, end - self.settings.max_command_s), end)

    def _decode(self, start_s: float, end_s: float) -> list[HeardCommand]:
        lo = start_s - self.settings.pre_roll_s
        picked = [f for f in self._frames if f.end_s > lo and f.start_s < end_s + self.settings.end_silence_s]
        if not picked:
            return []
        audio = np.concatenate([f.samples for f in picked])
        t0 = picked[0].start_s
        self.decoded_s += len(audio) / SAMPLE_RATE_HZ
        heard = self._recognizer.recognize(audio)
        if heard is None:
            return []
        word, a_s, b_s = heard
        t_s, e_s = t0 + a_s, t0 + b_s
        if self.settings.isolated_only:  # the whole stretch was the command: none of it is talk
            t_s, e_s = min(t_s, max(start_s, t0)), max(e_s, end_s)
        if t_s < self._last_heard_end_s - 0.1:  # the overlap of an open window saw it already
            return []
        command = "resume" if word == "continue" else word
        during = [f for f in picked if f.end_s > t_s and f.start_s < e_s]
        if any(f.coach_speaking for f in during):
            if command not in BARGE_IN_COMMANDS or ("coach", word) in self._echo_words:
                return []
        self._last_heard_end_s = e_s
        return [HeardCommand(round(t_s, 3), command, round(e_s, 3))]


def detect_commands(frames: Iterable[Frame],
                    settings: CommandListenerSettings | None = None) -> list[HeardCommand]:
    """Find the commands in a recording; the same code path as the live listener.

    Args:
        frames: the recording as Frames (e.g. ``FileSource(path).frames()``).
        settings: as for ``CommandListener``.

    Returns:
        The commands heard, in time order.
    """
    listener = CommandListener(settings)
    found: list[HeardCommand] = []
    for frame in frames:
        found.extend(listener.feed(frame))
    found.extend(listener.flush())
    return found
