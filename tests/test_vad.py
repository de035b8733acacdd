"""VAD: the state machine on scripted confidences, the model on real speech and real noise."""

import os
from pathlib import Path

import numpy as np
import pytest

from coach.frames import frames_from_array
from coach.sources import read_audio
from coach.vad import SpectralVadModel, VadMachine, VadSettings, VadState, detect_speech


@pytest.fixture
def shared_data() -> Path:
    root = Path(os.environ.get("COACH_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    if not root.is_dir():
        pytest.skip(f"real speech corpus not found at {root} (set COACH_SHARED_DATA)")
    return root


def run(confs, settings=VadSettings()):
    m = VadMachine(settings)
    spans, states = [], []
    for i, c in enumerate(confs):
        s = m.step(c, i * 0.02, 0.02)
        states.append(m.state)
        if s:
            spans.append((round(s.start_s, 2), round(s.end_s, 2)))
    last = m.flush()
    if last:
        spans.append((round(last.start_s, 2), round(last.end_s, 2)))
    return spans, states


def test_machine_goes_through_the_four_states():
    confs = [0] * 5 + [1] * 10 + [0] * 20
    spans, states = run(confs, VadSettings(min_speech_s=0.06, min_silence_s=0.2))
    assert states[5] is VadState.STARTING and states[7] is VadState.SPEAKING
    assert states[15] is VadState.STOPPING and states[-1] is VadState.QUIET
    assert spans == [(0.1, 0.3)]  # ends at the last speech frame, not after the hangover


def test_short_pauses_are_bridged_and_clicks_ignored():
    confs = [1] * 10 + [0] * 10 + [1] * 10 + [0] * 30 + [1] + [0] * 30
    spans, _ = run(confs, VadSettings(min_speech_s=0.08, min_silence_s=0.25))
    assert spans == [(0.0, 0.6)]  # 0.2 s pause bridged; the single-frame click never started


def test_silence_gives_no_speech_and_flush_closes_open_segment():
    assert run([0] * 100)[0] == []
    assert run([1] * 10)[0] == [(0.0, 0.2)]


def test_model_ignores_steady_noise_and_finds_voice():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(16000 * 6).astype(np.float32) * 0.05
    assert detect_speech(frames_from_array(noise)) == []
    t = np.arange(16000) / 16000
    f0 = 140 + 20 * np.sin(2 * np.pi * 3 * t)
    ph = 2 * np.pi * np.cumsum(f0) / 16000
    voice = sum(np.sin(h * ph) / h for h in range(1, 15)) * 0.1 * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)
    x = noise.copy()
    x[3 * 16000:4 * 16000] += voice.astype(np.float32) * 3
    spans = detect_speech(frames_from_array(x))
    assert len(spans) >= 1
    assert spans[0].start_s == pytest.approx(3.0, abs=0.15) and spans[-1].end_s == pytest.approx(4.0, abs=0.15)


def test_confidence_hook_answers_per_frame():
    model = SpectralVadModel()
    out = [model.confidence(f) for f in frames_from_array(np.zeros(16000, np.float32))]
    assert len(out) == 50 and all(0.0 <= c <= 1.0 for c in out)


def rttm_speech_s(path):
    spans = [tuple(map(float, l.split()[3:5])) for l in path.read_text().splitlines() if l.startswith("SPEAKER")]
    grid = np.zeros(20000, bool)
    for a, d in spans:
        grid[int(a * 100):int((a + d) * 100)] = True
    return grid.sum() / 100


@pytest.mark.parametrize("case", ["c01", "c04", "c12"])
def test_model_on_real_conversations(shared_data, case):
    d = shared_data / "conversations" / case
    spans = detect_speech(frames_from_array(read_audio(d / f"{case}.wav")))
    got = sum(s.end_s - s.start_s for s in spans)
    truth = rttm_speech_s(d / f"{case}.rttm")
    assert got == pytest.approx(truth, rel=0.3)


@pytest.mark.parametrize("clip", ["running_tap.wav", "doing_the_dishes_60s.wav", "exercise_bike_30s.wav"])
def test_kitchen_noise_is_not_speech(shared_data, clip):
    x = read_audio(shared_data / "noise" / clip)
    spans = detect_speech(frames_from_array(x))
    assert sum(s.end_s - s.start_s for s in spans) < 0.05 * len(x) / 16000


def test_rumble_below_the_voice_band_is_not_speech():
    t = np.arange(16000 * 5) / 16000
    rumble = (0.2 * np.sin(2 * np.pi * 60 * t) + 0.1 * np.sin(2 * np.pi * 90 * t)).astype(np.float32)
    assert detect_speech(frames_from_array(rumble)) == []
