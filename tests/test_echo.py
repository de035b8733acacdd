"""The echo canceller on the coach's real voice (espeak-ng) through a simulated room."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from coach.echo import EchoCanceller, EchoSettings
from coach.frames import SAMPLE_RATE_HZ as SR

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def _prompt() -> np.ndarray:
    from coach.tts import espeak_ng

    return espeak_ng("Now it is your turn to listen. Let them finish, then tell them what you heard, "
                     "in your own words. Take your time.", "en-us+f3", 150)


def _room(x: np.ndarray, delay_s: float, drift_ppm: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(4)
    t = np.arange(int(0.3 * SR)) / SR
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.3) * 0.2
    ir[0] = 1.0
    y = np.concatenate([np.zeros(int(delay_s * SR)), np.convolve(x, ir)])[:len(x)]
    if drift_ppm:
        y = np.interp(np.arange(len(y)) * (1 + drift_ppm * 1e-6), np.arange(len(y)), y, right=0.0)
    return (1.5 * y).astype(np.float32)


def _run(mic: np.ndarray, ref: np.ndarray, chunk: int) -> tuple[np.ndarray, EchoCanceller]:
    aec = EchoCanceller()
    aec.reference(ref, 0.0)
    out = np.concatenate([aec.process(mic[i:i + chunk], i / SR) for i in range(0, len(mic), chunk)])
    return out[aec.settings.block:], aec


def test_the_coachs_voice_is_taken_out_and_its_delay_found():
    prompt = _prompt()
    mic = _room(np.concatenate([prompt, np.zeros(SR, np.float32)]), 0.15, drift_ppm=60)
    out, aec = _run(mic, prompt, 320)
    late = slice(3 * SR, len(prompt))  # after the first seconds of learning
    erle = 10 * np.log10(np.mean(mic[late] ** 2) / np.mean(out[late] ** 2))
    assert erle > 10, f"echo reduced by {erle:.1f} dB"  # 13 dB when written
    drifted = 0.15 * SR - 60e-6 * len(prompt)  # the delay at the end: a fast clock shortens it
    assert aec.delay == pytest.approx(drifted, abs=3)


def test_a_voice_over_the_coach_stays_and_opens_the_listener():
    prompt = _prompt()
    from coach.tts import espeak_ng

    voice = espeak_ng("coach, stop please, I need a moment", "en-gb+m3", 160)  # someone talking over it
    at = 4 * SR
    near = np.zeros(len(prompt), np.float32)
    near[at:at + len(voice)] = voice
    echo = _room(prompt, 0.08)
    near *= np.sqrt(np.mean(echo ** 2) / np.mean(voice ** 2))  # as loud as the coach's echo
    mic = echo + near
    aec = EchoCanceller()
    aec.reference(prompt, 0.0)
    outs, opened = [], []
    for i in range(0, len(mic), 320):
        outs.append(aec.process(mic[i:i + 320], i / SR))
        opened.append(aec.open.copy())
    n = aec.settings.block
    out, opened = np.concatenate(outs)[n:], np.concatenate(opened)[n:]
    during = slice(at, at + len(voice))
    kept = np.mean(out[during] ** 2) / np.mean(near[during] ** 2)
    assert 0.5 < kept < 2.0  # the voice is still there, the echo mostly not
    env = np.sqrt(np.convolve(near ** 2, np.ones(480) / 480, "same"))
    talking = (env > 0.3 * env.max())[:len(opened)]
    assert opened[talking].mean() > 0.4  # the listener hears it (55 % of its loud parts when written)...
    assert opened[2 * SR:at - SR // 2].mean() < 0.2  # ...and not the coach's residual before it


def test_a_quieter_voice_opens_the_listener_band_by_band_and_noise_does_not():
    """A partner 6 dB below the coach's echo, with a noise bed 20 dB below it: the voice
    fills the bands between the coach's harmonics, so the per-band test hears it, where
    the residual as a whole (the broadband test, once the default) hardly rises."""
    prompt = _prompt()
    from coach.tts import espeak_ng

    voice = espeak_ng("coach, stop please, I need a moment", "en-gb+m3", 160)
    at = 4 * SR
    echo = _room(prompt, 0.08)
    near = np.zeros(len(prompt), np.float32)
    near[at:at + len(voice)] = voice * np.sqrt(np.mean(echo ** 2) / np.mean(voice ** 2)) * 10 ** (-6 / 20)
    noise = np.random.default_rng(2).standard_normal(len(prompt)) * np.sqrt(np.mean(echo ** 2)) * 0.1
    mic = (echo + near + noise).astype(np.float32)
    env = np.sqrt(np.convolve(near ** 2, np.ones(480) / 480, "same"))
    talking = env > 0.3 * env.max()

    def opened(settings: EchoSettings) -> np.ndarray:
        aec = EchoCanceller(settings)
        aec.reference(prompt, 0.0)
        flags = []
        for i in range(0, len(mic), 320):
            aec.process(mic[i:i + 320], i / SR)
            flags.append(aec.open.copy())
        return np.concatenate(flags)[settings.block:]

    band, broad = opened(EchoSettings()), opened(EchoSettings(band_talk=None))
    n = len(band)
    assert band[talking[:n]].mean() > 0.6  # 73 % of its loud parts when written...
    assert broad[talking[:n]].mean() < 0.5  # ...against 36 % for the broadband test
    assert band[2 * SR:at - SR // 2].mean() < 0.05  # the coach's residual alone: 0 % (broadband: 22 %)


def test_the_same_whatever_the_frame_size_and_untouched_without_the_coach():
    prompt = _prompt()[:3 * SR]
    mic = _room(prompt, 0.1)
    a, _ = _run(mic, prompt, 320)
    b, _ = _run(mic, prompt, 1000)
    assert np.array_equal(a[:len(b)], b[:len(a)])
    quiet = np.random.default_rng(1).standard_normal(2 * SR).astype(np.float32) * 0.01
    aec = EchoCanceller()  # nothing played: the microphone passes, one block late
    out = np.concatenate([aec.process(quiet[i:i + 320], i / SR) for i in range(0, len(quiet), 320)])
    assert np.array_equal(out[aec.settings.block:], quiet[:len(quiet) - aec.settings.block])
