"""The command decoder: pocketsphinx's bundled English model and a tiny JSGF grammar.

The grammar is ``coach <command>`` or a loop of everyday words ("garbage"). The weight
on the garbage loop is the confidence threshold: the lower it is, the more readily a
stretch of speech is taken for a command. pocketsphinx's own keyphrase (KWS) mode did
far worse on the same audio (../shared/notes/audio-stack.md §5, and the baseline in
scripts/bench_commands.py).

By default the garbage loop is off and a verification step takes its place
(``RecognizerSettings.verify``): the bare grammar always finds its best "coach <command>",
and that is accepted only if its acoustic fit is good enough (see ``verify``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

COMMAND_WORDS = ("pause", "resume", "continue", "next", "repeat", "stop")

GARBAGE_WORDS = tuple("the and you it so no what we yeah okay uh well like know i".split())
"""Frequent short English words: ordinary talk is cheaper to explain with these than
with "coach <command>". Deliberately none of the command words. Kept to 15 because the
FSG search cost grows with every word: 60 words ran at ~1 CPU-s per audio second."""

DEFAULT_GARBAGE_WEIGHT = 1e-10
"""JSGF weight of the garbage loop against 1.0 for a command, chosen on the tuning voices
of scripts/bench_commands.py (1e-5 lost half the clean commands; 1e-20 let every
stretch of talk through as a command)."""

BEAM = 1e-20
"""Search beam: 1e-20 decodes at ~0.04 CPU-s per audio second with the garbage loop, the
default 1e-48 at ~0.25 (20 s of c01 and 12 espeak clips, 2 busy cores); the hypotheses
on those 20 s were the same and clip recall 6/12 against 5/12."""


VERIFY_BEAM = 1e-30
"""Beam of the verified bare-grammar decode: ~0.012 CPU-s per decoded audio second."""


@dataclass(frozen=True)
class RecognizerSettings:
    """pocketsphinx decoding settings.

    Attributes:
        garbage_weight: prior weight of "ordinary talk" versus 1.0 for a command;
            higher rejects more (fewer false commands, lower recall).
        use_garbage: False decodes the bare command grammar (a baseline).
        beam: pocketsphinx's search beam (smaller prunes less, and costs more).
        use_filler: let the grammar insert silence/noise fillers between words.
        verify: accept a decoded "coach <command>" only if its acoustic fit passes the
            three checks below. pocketsphinx scores each frame against the best senone of
            that frame, so a segment's acoustic score per frame (natural log of
            ``Segment.ascore`` over its 10 ms frames; 0 is a perfect fit) measures how
            well the words explain the audio against anything the model could say,
            independently of language weights. Talk forced into "coach <command>" fits
            worse, and its "coach" is usually short.
        min_frame_score: lowest per-frame score of "coach" and the command together.
        min_word_frame_score: lowest per-frame score of either word alone.
        min_coach_s: shortest "coach" accepted (seconds).

    Defaults: the bare grammar (no garbage), beam 1e-30, verify on, thresholds chosen on
    the tune split. Measured in one run of
    ``scripts/bench_commands.py --split held-out --quick`` (24 trials a noise level,
    12 distractors, c01–c12), recall at 20/10/5 dB, distractor false alarms, false/h:
        verified bare grammar (this default):  83/38/4 %, 5/12, 11.3/h (CPU 1.3 %)
        previous default (garbage 1e-10, beam 1e-20, no verify): 71/25/0 %, 6/12, 34.0/h (CPU 2.1 %)
    On the tune split (``--split tune``, offline sweep of the same stretches): 85/56/25 %
    against 75/50/23 %, distractors 2 against 8, tune-conversation false 1 against 5.
    """

    garbage_weight: float = DEFAULT_GARBAGE_WEIGHT
    use_garbage: bool = False
    beam: float = VERIFY_BEAM
    use_filler: bool = True
    verify: bool = True
    min_frame_score: float = -3.2
    min_word_frame_score: float = -4.5
    min_coach_s: float = 0.25


def grammar_text(settings: RecognizerSettings) -> str:
    """The JSGF grammar for ``settings``."""
    cmd = " | ".join(COMMAND_WORDS)
    if not settings.use_garbage:
        return f"#JSGF V1.0;\ngrammar coach;\npublic <s> = coach ({cmd});\n"
    garbage = " | ".join(GARBAGE_WORDS)
    return ("#JSGF V1.0;\ngrammar coach;\n"
            f"<cmd> = {cmd};\n<g> = {garbage};\n"
            f"public <s> = /1/ (coach <cmd>) | /{settings.garbage_weight:g}/ (<g>+);\n")


def import_pocketsphinx():
    """Import pocketsphinx lazily: only command listening needs it."""
    try:
        import pocketsphinx
    except ImportError as exc:
        from coach.errors import CoachError

        raise CoachError("spoken commands need pocketsphinx: `pip install pocketsphinx`") from exc
    return pocketsphinx


class Recognizer:
    """Decode one short stretch of 16 kHz audio into a command word, or None."""

    FRAME_RATE_HZ = 100  # pocketsphinx feature frames per second

    def __init__(self, settings: RecognizerSettings | None = None):
        self.settings = settings or RecognizerSettings()
        ps = import_pocketsphinx()
        # remove_noise off: its noise estimate needs more lead-in than a 1 s clip has.
        # fsgusefiller on: silences get their own segments, so word times are exact.
        beam = self.settings.beam
        self._decoder = ps.Decoder(samprate=16000, logfn="/dev/null", remove_noise=False,
                                   fsgusefiller=self.settings.use_filler, beam=beam, pbeam=beam,
                                   wbeam=beam * 1e5)
        self._decoder.add_jsgf_string("commands", grammar_text(self.settings))
        self._decoder.activate_search("commands")

    def recognize(self, samples: np.ndarray) -> tuple[str, float, float] | None:
        """Return (command word, start_s, end_s) within ``samples``, or None.

        Only a complete "coach <word>" path counts; a partial ("coach" alone) or a
        garbage path is None.
        """
        d = self._decoder
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        d.start_utt()
        d.process_raw(pcm, False, True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None:
            return None
        words = hyp.hypstr.split()
        if len(words) != 2 or words[0] != "coach" or words[1] not in COMMAND_WORDS:
            return None
        segs = [s for s in d.seg() if s.word.split("(")[0] in ("coach",) + COMMAND_WORDS]
        if self.settings.verify and not self._verified(segs):
            return None
        start = segs[0].start_frame / self.FRAME_RATE_HZ
        end = (segs[-1].end_frame + 1) / self.FRAME_RATE_HZ
        return words[1], start, end

    def _verified(self, segs) -> bool:
        """The acoustic checks of ``RecognizerSettings.verify`` on the two word segments."""
        st = self.settings
        if len(segs) != 2:
            return False
        frames = [s.end_frame - s.start_frame + 1 for s in segs]
        if frames[0] < st.min_coach_s * self.FRAME_RATE_HZ:
            return False
        # Segment.ascore is exp() of the log score; it underflows to 0 only for a hopeless fit.
        logs = [math.log(s.ascore) if s.ascore > 0 else -math.inf for s in segs]
        if any(lg / n < st.min_word_frame_score for lg, n in zip(logs, frames)):
            return False
        return sum(logs) / sum(frames) >= st.min_frame_score
