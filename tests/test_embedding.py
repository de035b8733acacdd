"""The numpy d-vector encoder: signal plumbing on built signals, identity on real speech."""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from coach.embedding import (ENCODER_FILE, HOP_SAMPLES, N_FFT, PARTIAL_FRAMES, PARTIAL_SAMPLES,
                             VoiceEncoder, normalize_volume, partial_starts,
                             slaney_mel_filterbank)
from coach.frames import SAMPLE_RATE_HZ
from coach.sources import read_audio

REPO = Path(__file__).resolve().parents[1]

# Computed with torch 2.13.0 + Resemblyzer 0.1.4 (librosa 0.11.0):
# VoiceEncoder("cpu").embed_utterance(normalize_volume(wav, -30, increase_only=True)),
# wav read with soundfile as float32, no silence trim; first 8 dims rounded to 1e-4.
# 367-130732-0003 is at -38.6 dBFS, so it also checks the volume normalisation
# (without it that utterance's first 8 dims are off by 0.07).
TORCH_REFERENCE = {
    "2033/2033-164914-0001": [0.2336, 0.0, 0.0175, 0.0, 0.0, 0.035, 0.0043, 0.0146],
    "3331/3331-159605-0005": [0.1603, 0.0363, 0.0571, 0.0, 0.0692, 0.0207, 0.0, 0.0106],
    "367/367-130732-0003": [0.0, 0.0, 0.0, 0.0, 0.0097, 0.0396, 0.0, 0.035],
}


@pytest.fixture(scope="module")
def shared_data() -> Path:
    root = Path(os.environ.get("COACH_SHARED_DATA") or REPO.parent / "shared" / "data")
    if not (root / "speakers" / "librispeech_test-other").is_dir():
        pytest.skip(f"real speech corpus not found at {root} (set COACH_SHARED_DATA)")
    return root


@pytest.fixture(scope="module")
def encoder() -> VoiceEncoder:
    return VoiceEncoder()


@pytest.fixture(scope="module")
def corpus(shared_data, encoder):
    """Every LibriSpeech utterance embedded once: (names, speaker labels, (80, 256) matrix)."""
    paths = sorted((shared_data / "speakers" / "librispeech_test-other").glob("*/*.wav"))
    names = [f"{p.parent.name}/{p.stem}" for p in paths]
    emb = np.stack([encoder.embed(read_audio(p)) for p in paths])
    return names, np.array([n.split("/")[0] for n in names]), emb


def _voiced(seconds: float, seed: int = 0) -> np.ndarray:
    """A buzzy glide with noise: enough structure for the LSTM, no corpus needed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE_HZ
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) + 0.05 * rng.standard_normal(len(t))
    return (0.05 * x).astype(np.float32)


# --- shipped files -----------------------------------------------------------------

def test_weights_ship_small_with_their_licence():
    assert ENCODER_FILE.stat().st_size <= 3_000_000
    with np.load(ENCODER_FILE) as npz:
        assert sorted(npz.files) == sorted(
            [f"lstm.{k}_l{n}" for n in range(3) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            + ["linear.weight", "linear.bias"])  # no optimizer or similarity weights
        assert npz["lstm.weight_ih_l0"].shape == (1024, 40)
    text = (ENCODER_FILE.parent / "LICENSE-resemblyzer.txt").read_text()
    assert "Copyright 2019 Resemble.AI" in text and "Apache License" in text
    assert "resemblyzer 0.1.4" in text and "pretrained.pt" in text


def test_converter_refuses_code_in_a_checkpoint(tmp_path):
    spec = importlib.util.spec_from_file_location("convert_encoder", REPO / "scripts" / "convert_encoder.py")
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    bad = tmp_path / "evil.pt"
    with open(bad, "wb") as f:
        for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(obj, f, protocol=2)
        pickle.dump({"model_state": Evil()}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        conv.read_legacy_checkpoint(bad)


# --- preprocessing -----------------------------------------------------------------

def test_mel_filterbank_matches_librosa_slaney():
    fb = slaney_mel_filterbank()
    assert fb.shape == (N_FFT // 2 + 1, 40)
    # librosa.filters.mel(sr=16000, n_fft=400, n_mels=40) (0.11.0): sum and max.
    assert fb.sum() == pytest.approx(0.9994972, rel=1e-5)
    assert fb.max() == pytest.approx(0.01332995, rel=1e-5)
    assert (fb > 0).sum(axis=0).min() >= 1  # no empty band


def test_normalize_volume_only_raises():
    quiet = 0.001 * _voiced(1.0) / np.sqrt(np.mean(_voiced(1.0) ** 2))  # -60 dBFS
    raised = normalize_volume(quiet)
    assert 20 * np.log10(np.sqrt(np.mean(raised.astype(np.float64) ** 2))) == pytest.approx(-30, abs=0.01)
    loud = 0.3 * _voiced(1.0) / np.sqrt(np.mean(_voiced(1.0) ** 2))  # about -10 dBFS
    assert np.array_equal(normalize_volume(loud), loud)
    silence = np.zeros(16000, np.float32)
    assert np.array_equal(normalize_volume(silence), silence)


def test_partial_starts_follow_resemblyzer():
    ten_s = 10 * SAMPLE_RATE_HZ
    assert len(partial_starts(ten_s, 1.3)) == 12   # the notes' counts
    assert len(partial_starts(ten_s, 16)) == 142
    assert np.all(np.diff(partial_starts(ten_s, 1.3)) == 77 * HOP_SAMPLES)
    assert list(partial_starts(8000)) == [0]        # shorter than a window: still one
    with pytest.raises(ValueError):
        partial_starts(ten_s, 0.1)


def test_mel_windows_are_slices_of_the_whole_signal_spectrogram(encoder):
    x = _voiced(3.0)
    # Independent whole-signal STFT, librosa style: centre=True with zero padding.
    pad = np.concatenate([np.zeros(N_FFT // 2), x, np.zeros(N_FFT // 2 + PARTIAL_SAMPLES)])
    n = (len(x) + PARTIAL_SAMPLES) // HOP_SAMPLES
    frames = np.stack([pad[i * HOP_SAMPLES:i * HOP_SAMPLES + N_FFT] for i in range(n)])
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    whole = (np.abs(np.fft.rfft(frames * hann)) ** 2) @ slaney_mel_filterbank()
    starts = np.array([0, 77 * HOP_SAMPLES, 250 * HOP_SAMPLES])   # the last runs past the end
    got = encoder.mel_windows(x, starts)
    assert got.shape == (3, PARTIAL_FRAMES, 40)
    for window, s in zip(got, starts // HOP_SAMPLES):
        np.testing.assert_allclose(window, whole[s:s + PARTIAL_FRAMES], rtol=1e-4, atol=1e-7)


# --- the network -------------------------------------------------------------------

def test_batching_and_chunking_give_the_same_embeddings():
    x = normalize_volume(_voiced(5.0, seed=3))
    starts = np.array([0, 1_234, 8_000, 16_000, 30_000, 40_000, 57_000])  # any offsets, even past the end
    batched = VoiceEncoder(chunk_windows=3).partial_embeddings(x, starts)
    one_by_one = np.stack([VoiceEncoder().partial_embeddings(x, [s])[0] for s in starts])
    np.testing.assert_allclose(batched, one_by_one, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert batched.min() >= 0.0  # ReLU before the norm


def test_exp_tanh_is_tanh_everywhere_and_in_place():
    import warnings
    from coach.numerics import exp_tanh
    x = np.r_[np.linspace(-100, 100, 20001), [0.0, -1e-8, 1e-8, 44.5, -44.5, -89.0, 89.0]].astype(np.float32)
    out = np.empty_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning at the far ends
        exp_tanh(x, out=out)
        y = x.copy()
        exp_tanh(y, out=y)
    np.testing.assert_allclose(out, np.tanh(x), atol=3e-7)
    np.testing.assert_array_equal(y, out)


def test_encoder_with_exp_tanh_matches_numpys_tanh(monkeypatch):
    # The encoder uses whichever tanh is faster on the machine; the embeddings must not
    # depend on which.
    import coach.numerics as numerics
    x = normalize_volume(_voiced(5.0, seed=5))
    starts = np.array([0, 8_000, 30_000])
    monkeypatch.setattr(numerics, "_TANH", [np.tanh])
    a = VoiceEncoder().partial_embeddings(x, starts)
    monkeypatch.setattr(numerics, "_TANH", [numerics.exp_tanh])
    b = VoiceEncoder().partial_embeddings(x, starts)
    np.testing.assert_allclose(a, b, atol=2e-5)


def test_several_clips_embedded_at_once_match_each_alone(encoder):
    # Clips of different lengths (one shorter than a window), loud and quiet: no window
    # of one clip may see the next, so each result equals its own ``embed``.
    clips = [_voiced(3.3, seed=1), 0.01 * _voiced(1.2, seed=2), _voiced(6.1, seed=4)]
    together = encoder.embed_many(clips)
    assert len(together) == 3
    for clip, e in zip(clips, together):
        np.testing.assert_allclose(e, encoder.embed(clip), atol=2e-6)
    assert not np.allclose(together[0], together[2], atol=1e-3)  # not one vector copied
    assert encoder.embed_many([]) == []


def test_silence_and_short_input_give_finite_unit_vectors(encoder):
    for signal in (np.zeros(3 * SAMPLE_RATE_HZ, np.float32), _voiced(0.3)):
        e = encoder.embed(signal)
        assert e.shape == (256,) and np.all(np.isfinite(e))
        assert np.linalg.norm(e) == pytest.approx(1.0, abs=1e-5)


# --- real speech -------------------------------------------------------------------

@pytest.mark.shared_data
def test_matches_resemblyzer_run_with_torch(corpus):
    names, _, emb = corpus
    for name, ref in TORCH_REFERENCE.items():
        np.testing.assert_allclose(emb[names.index(name)][:8], ref, atol=2e-3, err_msg=name)


@pytest.mark.shared_data
def test_embeddings_of_real_speech_are_unit_norm(corpus):
    _, _, emb = corpus
    assert emb.shape == (80, 256)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


@pytest.mark.shared_data
def test_same_speaker_is_closer_than_different_speaker(corpus):
    _, labels, emb = corpus
    sim = emb @ emb.T
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    same_mean = sim[same & off_diagonal].mean()
    diff_mean = sim[~same].mean()
    # Notes (with silence trimmed): same 0.871, different 0.520.
    assert same_mean > diff_mean + 0.2, (same_mean, diff_mean)


@pytest.mark.shared_data
def test_leave_one_out_nearest_centroid_identifies_speakers(corpus):
    _, labels, emb = corpus
    speakers = sorted(set(labels))
    correct = 0
    for i in range(len(labels)):
        keep = np.arange(len(labels)) != i
        centroids = np.stack([emb[keep & (labels == s)].mean(axis=0) for s in speakers])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        correct += speakers[int(np.argmax(centroids @ emb[i]))] == labels[i]
    assert correct / len(labels) >= 0.95, f"{correct}/{len(labels)}"


@pytest.mark.shared_data
def test_batched_partials_equal_single_partials_on_real_speech(shared_data, encoder):
    x = normalize_volume(read_audio(shared_data / "speakers" / "librispeech_test-other"
                                    / "1998" / "1998-15444-0002.wav"))
    starts = partial_starts(len(x), 1.3)
    batched = encoder.partial_embeddings(x, starts)
    single = np.stack([encoder.partial_embeddings(x, [s])[0] for s in starts])
    np.testing.assert_allclose(batched, single, atol=2e-6)
