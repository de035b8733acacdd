"""The command decoder: pocketsphinx's bundled English model and a tiny JSGF grammar.

The grammar is ``coach <command>`` or a loop of everyday words ("garbage"). The weight
on the garbage loop is the confidence threshold: the lower it is, the more readily a
stretch of speech is taken for a command. pocketsphinx's own keyphrase (KWS) mode did
far worse on the same audio (../shared/notes/audio-stack.md §5, and the baseline in
scripts/bench_commands.py).

By default the garbage loop is off and a verification step takes its place
(``RecognizerSettings.verify``): the bare grammar always finds its best "coach <command>",
and that is accepted only if its acoustic fit is good enough (see ``verify``). Noise
lowers a true command's fit, so the thresholds are relaxed with the stretch's measured
SNR. A noisy stretch comes from the listener already denoised by DeepFilterNet3
(``coach.denoise``) and is decoded with a cepstral mean and thresholds of its own. A
noisy stretch decoded raw (over the coach's own voice, or when the denoiser cannot
load) keeps the earlier fallback: a second decode after a Wiener gain from the
listener's noise spectrum (``wiener_enhance``). The dictionary is CMUdict with a few
British and reduced pronunciations added (``EXTRA_PRONUNCIATIONS``), and a verified
command must also fit its audio better than a loop of everyday words does
(``RecognizerSettings.min_talk_margin``), and each word must hold about as many syllables
as it has (``RecognizerSettings.syllable_check``). Finally Whisper tiny.en gives a second
opinion on every proposal (``RecognizerSettings.whisper_check``, ``coach.whisper_check``),
which can overrule those checks either way, and name another command when it is sure
of it. Held-out figures: recall 95/92/72 % at 20/10/5 dB, 1 of 30 distractor trials
with a detection (in the talk around the phrase), 0.05 false commands per 9-second trial
of noisy conversation, none in 16 minutes of the corpus conversations (83/82/60 %, 6/30,
0.12 and 11/h without Whisper; figures in ``coach.commands``); recall is still short of
the targets (≥95 % at 10 dB, ≥85 % at 5 dB).
"""

from __future__ import annotations

import math

import numpy as np

from coach.command_settings import COMMAND_WORDS, GARBAGE_WORDS, MEANING, SYLLABLES, RecognizerSettings
from coach.command_signal import band_energy_db, syllable_nuclei, wiener_enhance

def syllable_range(word: str) -> tuple[int, int]:
    """Fewest and most nuclei a word may show: one more than its syllables (a breath, a
    split vowel), and one fewer for a word of three or more ("c'ntinue" said quickly).
    On the bench's tune split, of 120 true commands that passed the acoustic checks,
    "coach" showed one nucleus 109 times and two 11 times; the command word showed its
    syllable count 115 times and one more 5 times, never fewer."""
    n = SYLLABLES[word]
    return n - (1 if n >= 3 else 0), n + 1


def grammar_text(settings: RecognizerSettings) -> str:
    """The JSGF grammar for ``settings``."""
    cmd = " | ".join(COMMAND_WORDS)
    if not settings.use_garbage:
        return f"#JSGF V1.0;\ngrammar coach;\npublic <s> = coach ({cmd});\n"
    garbage = " | ".join(GARBAGE_WORDS)
    return ("#JSGF V1.0;\ngrammar coach;\n"
            f"<cmd> = {cmd};\n<g> = {garbage};\n"
            f"public <s> = /1/ (coach <cmd>) | /{settings.garbage_weight:g}/ (<g>+);\n")


def talk_grammar_text() -> str:
    """The JSGF grammar of ordinary talk: any sequence of ``GARBAGE_WORDS``."""
    return ("#JSGF V1.0;\ngrammar talk;\n"
            f"public <s> = ({' | '.join(GARBAGE_WORDS)})+;\n")


def import_pocketsphinx():
    """Import pocketsphinx lazily: only command listening needs it."""
    try:
        import pocketsphinx
    except ImportError as exc:
        from coach.errors import CoachError

        raise CoachError("spoken commands need pocketsphinx: `pip install pocketsphinx`") from exc
    return pocketsphinx


DITHER_LSB = 1.0
"""Noise added before decoding, in 16-bit steps (std): -90 dBFS, far below any room."""


def _wrote(heard: tuple[str, ...], command: str) -> bool:
    """Whether Whisper's transcript ``heard`` has the word of ``command`` (by meaning)."""
    return any(MEANING.get(w, w) == command for w in heard)


class Recognizer:
    """Decode one short stretch of 16 kHz audio into a command word, or None."""

    FRAME_RATE_HZ = 100  # pocketsphinx feature frames per second

    def __init__(self, settings: RecognizerSettings | None = None):
        self.settings = settings or RecognizerSettings()
        # remove_noise off: its noise estimate needs more lead-in than a 1 s clip has.
        # fsgusefiller on: silences get their own segments, so word times are exact.
        ps = import_pocketsphinx()
        beam = self.settings.beam
        self._decoder = ps.Decoder(samprate=16000, logfn="/dev/null", remove_noise=False,
                                   fsgusefiller=self.settings.use_filler, beam=beam, pbeam=beam,
                                   wbeam=beam * 1e5)
        for i, (word, phones) in enumerate(self.settings.extra_pronunciations):
            self._decoder.add_word(f"{word}({10 + i})", phones, False)  # alternatives: "stop(10)"
        self._decoder.add_jsgf_string("commands", grammar_text(self.settings))
        if self.settings.min_talk_margin is not None:
            # The talk search reads its word beam when it is made: narrower than the
            # commands', so that its lattice (where its segments come from) stays small.
            wbeam = self._decoder.config["wbeam"]
            if self.settings.talk_word_beam is not None:
                self._decoder.config["wbeam"] = self.settings.talk_word_beam
            try:
                self._decoder.add_jsgf_string("talk", talk_grammar_text())
            finally:
                self._decoder.config["wbeam"] = wbeam
        self._decoder.activate_search("commands")
        self._initial_cmn = self._decoder.get_cmn()
        # Denoised stretches are decoded with a cepstral mean of their own, swapped in
        # and out (a second decoder would hold a second copy of the model: ~90 MB).
        self._clean_cmn: str | None = None
        # Digital silence (a gap in an edited file, a virtual microphone) drives the
        # log-energy features to extremes and no command is heard after it: a fixed
        # one-LSB noise, the same on every call, keeps decoding deterministic.
        self._dither = np.random.default_rng(0).standard_normal(4 * 16000) * DITHER_LSB
        self._whisper = None  # coach.whisper_check.WhisperCheck, loaded when first needed
        self.whisper_error: str | None = None
        """Why proposals are judged without Whisper's second opinion, or None."""

    def recognize(self, samples: np.ndarray, snr_db: float | None = None,
                  noise_psd: np.ndarray | None = None,
                  clean: np.ndarray | None = None,
                  over_speech: bool = False) -> tuple[str, float, float] | None:
        """Return (command word, start_s, end_s) within ``samples``, or None.

        Only a complete "coach <word>" path counts; a partial ("coach" alone) or a
        garbage path is None. ``snr_db``, the speech-to-noise ratio of the stretch
        (None: unknown), relaxes the verification thresholds (``threshold_per_db``);
        with ``noise_psd`` (the noise power per bin of ``power_frames``) a stretch below
        ``enhance_below_snr_db`` is also decoded denoised. ``clean``, the stretch as the
        neural denoiser gives it, is decoded instead of ``samples`` (with the
        ``denoised_*`` thresholds) when given. ``over_speech``: another voice is known to
        be in the audio (the coach's own, its residual echo), so the syllable check only
        refuses words with too few syllables: that voice adds syllables of its own.
        """
        st = self.settings
        drop = st.threshold_drop(snr_db)
        # Whisper's second opinion hears the raw stretch, and the denoised one if there is one.
        opinion = ([samples] + ([clean] if clean is not None else []), snr_db) if st.whisper_check else None
        if clean is not None:
            raw_cmn = self._decoder.get_cmn()
            self._decoder.set_cmn(self._clean_cmn or self._initial_cmn)
            try:
                heard = self._decode(clean, st.denoised_min_frame_score - drop,
                                     st.denoised_min_word_frame_score - drop, st.denoised_min_coach_s,
                                     over_speech, opinion)
            finally:
                self._clean_cmn = self._decoder.get_cmn()
                self._decoder.set_cmn(raw_cmn)
            return heard[:3] if heard is not None else None
        heard = self._decode(samples, st.min_frame_score - drop, st.min_word_frame_score - drop,
                             over_speech=over_speech, opinion=opinion)
        if (heard is None and st.enhance_below_snr_db is not None and noise_psd is not None
                and snr_db is not None and snr_db < st.enhance_below_snr_db):
            wiener = wiener_enhance(samples, noise_psd, st.wiener_floor)
            heard = self._decode(wiener, st.enhanced_min_frame_score, st.enhanced_min_word_frame_score,
                                 over_speech=over_speech, opinion=opinion)
        return heard[:3] if heard is not None else None

    def _decode(self, samples: np.ndarray, min_frame: float, min_word: float,
                min_coach_s: float | None = None, over_speech: bool = False,
                opinion: tuple[list[np.ndarray], float | None] | None = None,
                ) -> tuple[str, float, float, float] | None:
        """(word, start_s, end_s, per-frame score) if the decode is accepted, else None:
        by the checks alone, or with ``opinion`` (the audio Whisper may hear, and the
        stretch's SNR) by Whisper's second opinion (``RecognizerSettings.whisper_check``)."""
        d = self._decoder
        x = np.clip(samples, -1.0, 1.0) * 32767
        x += np.resize(self._dither, len(x))
        pcm = np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()
        if self.settings.fresh_features:
            d.reinit_feat()  # ~0.1 ms
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
        score = self._frame_score(segs)
        st = self.settings
        min_coach_s = st.min_coach_s if min_coach_s is None else min_coach_s

        def checked() -> bool:  # the talk check decodes the stretch again: ask only when needed
            return (not st.verify or self._verified(segs, score, min_frame, min_word, min_coach_s)) \
                and (not st.syllable_check or self._syllables_fit(samples, segs, over_speech)) \
                and (st.min_talk_margin is None or self._talk_margin(pcm, segs) >= st.min_talk_margin)

        whisper = self._second_opinion() if opinion is not None else None
        if whisper is None:
            if not checked():
                return None
        else:
            # Accepted when Whisper's gap reaches ``need`` (raw or denoised), or ``need -
            # slack`` (raw) for a proposal that passed the checks; one scoring below the
            # gate must pass them.
            audios, snr_db = opinion
            below_gate = score < st.whisper_gate_score
            if below_gate and not checked():
                return None
            proposed = MEANING.get(words[1], words[1])
            raw = whisper.judge(audios[0])
            if raw.command != proposed:
                # Whisper reads another command in the raw stretch: only a proposal at
                # the gate, where a command's few words are all Whisper heard, may stand.
                if below_gate or len(raw.words) > st.whisper_max_words:
                    return None
                if st.whisper_override_gap is not None and raw.gap >= st.whisper_override_gap \
                        and raw.gap - raw.others.get(proposed, -np.inf) >= st.whisper_override_margin:
                    words[1] = raw.command  # Whisper is sure of its own, and not torn between the two
                elif st.whisper_denoised_breaks_ties and len(audios) > 1:
                    # pocketsphinx and Whisper's raw reading disagree: Whisper's reading of the
                    # denoised stretch decides. It may side with the proposal if it reaches
                    # the gap asked by itself and the raw reading has the proposal within the
                    # checks' slack, and with the raw reading only if both reach the gap: the
                    # two readings of one stretch are not independent.
                    tie = whisper.judge(audios[1])
                    raw_allows = not st.whisper_tie_needs_raw or raw.others.get(proposed, -np.inf) >= \
                        self._whisper_need(snr_db, raw.words, proposed) - self._slack(raw.words, proposed)
                    sides = (tie.command == proposed and raw_allows) or (
                        tie.command == raw.command and raw.gap >= self._whisper_need(snr_db, raw.words, raw.command))
                    if not sides or tie.gap < self._whisper_need(snr_db, tie.words, tie.command):
                        return None
                    words[1] = tie.command
                else:
                    return None
            else:
                need = self._whisper_need(snr_db, raw.words, proposed)
                slack = self._slack(raw.words, proposed)
                if below_gate:  # the checks passed: their slack is spent here
                    need -= slack
                # The denoised stretch is heard only if the raw one falls short, and must
                # reach ``need`` by itself; the raw one may be within the checks' slack,
                # unless the denoised one contradicts it (whisper_slack_needs_agreement):
                # read as another command, or as a phrase with the command's word in it
                # ("What's next") far behind.
                if raw.gap < need:
                    denoised = [whisper.judge(a) for a in audios[1:]]
                    contradicted = st.whisper_slack_needs_agreement and any(
                        j.command != proposed or (_wrote(j.words, proposed) and j.gap < need - st.whisper_clear_slack)
                        for j in denoised)
                    if not any(j.command == proposed and j.gap >= need for j in denoised) and (
                            below_gate or raw.gap < need - slack
                            or len(raw.words) > st.whisper_max_words or not checked() or contradicted):
                        return None
            if words[1] == "stop" and not over_speech and (
                    (st.stop_min_gap is not None and (raw.command != "stop" or raw.gap < st.stop_min_gap))
                    or (st.stop_from is not None and proposed not in st.stop_from)):
                return None  # a false "stop" ends the evening: Whisper must hear it itself
        start = segs[0].start_frame / self.FRAME_RATE_HZ
        end = (segs[-1].end_frame + 1) / self.FRAME_RATE_HZ
        return words[1], start, end, score

    def _slack(self, heard: tuple[str, ...], proposed: str) -> float:
        """How much further behind the gap asked (nats) a proposal that passed the checks
        may fall: ``whisper_checked_slack``, or ``whisper_clear_slack`` where Whisper wrote
        the proposed command word itself (in "What's next?" it heard the word clearly,
        and something other than "coach" before it)."""
        st = self.settings
        return st.whisper_clear_slack if _wrote(heard, proposed) else st.whisper_checked_slack

    def _whisper_need(self, snr_db: float | None, heard: tuple[str, ...], proposed: str) -> float:
        """The gap (nats) Whisper's reading of the raw stretch must reach for ``proposed``:
        relaxed for the stretch's noise unless Whisper wrote the command word itself (the
        stretch was clear enough to hear words: "What's next?" for "coach next"), and
        raised for every word of its transcript beyond ``whisper_max_words``."""
        st = self.settings
        return st.whisper_gap(None if _wrote(heard, proposed) else snr_db) \
            + st.whisper_word_cost * max(0, len(heard) - st.whisper_max_words)

    def warm_up(self) -> None:
        """Load Whisper and score a moment of silence once, so that the first command
        heard does not wait for either (~0.7 s of a core on an AVX2-only machine)."""
        whisper = self._second_opinion() if self.settings.whisper_check else None
        if whisper is not None:
            whisper.scores(np.zeros(8000, np.float32))

    def _second_opinion(self):
        """The loaded ``WhisperCheck``, or None when it cannot load (``whisper_error`` says
        why; the checks then decide alone)."""
        if self._whisper is None and self.whisper_error is None:
            from coach.errors import CoachError
            from coach.whisper_check import WhisperCheck

            try:
                self._whisper = WhisperCheck(self.settings.whisper_frames, self.settings.whisper_threads)
            except CoachError as exc:
                self.whisper_error = str(exc)
        return self._whisper

    def _talk_margin(self, pcm: bytes, segs) -> float:
        """Per-frame acoustic score of the command's two words minus that of the best
        ordinary talk (``talk_grammar_text``) over the same frames. The cepstral mean is
        left as the command decode left it: this second look must not count the audio
        twice."""
        d = self._decoder
        cmn = d.get_cmn()
        d.activate_search("talk")
        try:
            d.start_utt()
            d.process_raw(pcm, False, True)
            d.end_utt()
            heard = list(d.seg()) if d.hyp() is not None else []
        finally:
            d.activate_search("commands")
            d.set_cmn(cmn)
        a, b = segs[0].start_frame, segs[-1].end_frame
        talk = sum(lg * (min(s.end_frame, b) - max(s.start_frame, a) + 1) / (s.end_frame - s.start_frame + 1)
                   for s, lg in zip(heard, self._logs(heard)) if min(s.end_frame, b) >= max(s.start_frame, a))
        if talk == 0.0:  # nothing decoded as talk there: nothing competes with the command
            return math.inf
        return (sum(self._logs(segs)) - talk) / (b - a + 1)

    @staticmethod
    def _logs(segs) -> list[float]:
        # Segment.ascore is exp() of the log score; it underflows to 0 only for a hopeless fit.
        return [math.log(s.ascore) if s.ascore > 0 else -math.inf for s in segs]

    def _syllables_fit(self, samples: np.ndarray, segs, over_speech: bool = False) -> bool:
        """Whether each word's aligned audio holds about as many syllables as the word
        (over another voice: at least as many)."""
        energy = band_energy_db(samples)
        for seg in segs:
            lo, hi = syllable_range(seg.word.split("(")[0])
            n = syllable_nuclei(energy, seg.start_frame, seg.end_frame,
                                self.settings.nucleus_prominence_db, self.settings.nucleus_range_db)
            if n < lo or (n > hi and not over_speech):
                return False
        return True

    def _frame_score(self, segs) -> float:
        """Per-frame acoustic score of the words together (0 is a perfect fit)."""
        frames = sum(s.end_frame - s.start_frame + 1 for s in segs)
        return sum(self._logs(segs)) / frames if segs else -math.inf

    def _verified(self, segs, score: float, min_frame: float, min_word: float, min_coach_s: float) -> bool:
        """The acoustic checks of ``RecognizerSettings.verify`` on the two word segments."""
        if len(segs) != 2:
            return False
        frames = [s.end_frame - s.start_frame + 1 for s in segs]
        if frames[0] < min_coach_s * self.FRAME_RATE_HZ:
            return False
        if any(lg / n < min_word for lg, n in zip(self._logs(segs), frames)):
            return False
        return score >= min_frame
