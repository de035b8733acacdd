"""Voice profiles: enrollment checks with advice, the on-disk store, one clip for two people."""

import stat

import numpy as np
import pytest

from coach.errors import CoachError
from coach.profiles import EnrollmentRefused, ProfileStore, enroll_from_audio
from coach.sources import read_audio


@pytest.fixture
def clip(shared_data):
    return read_audio(shared_data / "conversations" / "enrollment" / "ls1688.wav")


def test_enroll_real_voice_and_store_roundtrip(tmp_path, clip):
    p = enroll_from_audio("Sam", clip)
    assert p.speech_s > 4 and p.logmel.shape == (int(round(p.speech_s / 0.01)), 32)
    assert p.dvector is not None and abs(float(np.linalg.norm(p.dvector)) - 1) < 1e-3
    store = ProfileStore(tmp_path / "profiles")
    path = store.save(p)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.names() == ["Sam"]
    back = store.load("Sam")
    np.testing.assert_allclose(back.logmel.astype(float), p.logmel.astype(float), atol=0.01)
    np.testing.assert_allclose(back.dvector, p.dvector, atol=1e-4)
    assert "samples" not in path.read_text()
    store.delete("Sam")
    assert store.names() == []


def test_missing_profile_names_it_and_lists_known(tmp_path, clip):
    store = ProfileStore(tmp_path)
    store.save(enroll_from_audio("Sam", clip))
    with pytest.raises(CoachError, match=r"'Alex'.*known: Sam"):
        store.load("Alex")


def test_same_clip_for_both_partners_is_refused(tmp_path, clip):
    store = ProfileStore(tmp_path)
    store.save(enroll_from_audio("Sam", clip))
    with pytest.raises(EnrollmentRefused, match="same clip"):
        store.save(enroll_from_audio("Alex", clip))


def test_short_silent_clipped_and_noisy_clips_are_refused_with_advice(clip):
    with pytest.raises(EnrollmentRefused, match="Sam.*at least 4 s"):
        enroll_from_audio("Sam", clip[:3 * 16000])
    silent = np.random.default_rng(0).standard_normal(8 * 16000).astype(np.float32) * 1e-3
    with pytest.raises(EnrollmentRefused, match="I couldn't hear Sam clearly — move closer"):
        enroll_from_audio("Sam", silent)
    with pytest.raises(EnrollmentRefused, match="too loud"):
        enroll_from_audio("Sam", np.clip(clip * 50, -1, 1))
    noisy = clip + np.random.default_rng(1).standard_normal(len(clip)).astype(np.float32) * 0.3
    with pytest.raises(EnrollmentRefused, match="Sam"):
        enroll_from_audio("Sam", noisy)


def test_four_seconds_of_speech_is_enough(clip):
    assert enroll_from_audio("Sam", clip[:int(4.5 * 16000)]).speech_s >= 2.5


def test_noisy_kitchen_clip_is_refused_only_when_the_voice_is_lost(shared_data, clip):
    """A tap at 10 dB still makes a profile (voices are heard through the noise later);
    a tap as loud as the voice is refused, with advice naming the person."""
    tap = read_audio(shared_data / "noise" / "running_tap.wav")[:len(clip)]

    def mix(snr_db):
        gain = np.sqrt(np.mean(clip ** 2) / np.mean(tap ** 2)) / 10 ** (snr_db / 20)
        return (clip + gain * tap).astype(np.float32)

    assert enroll_from_audio("Sam", mix(10)).speech_s > 4
    with pytest.raises(EnrollmentRefused, match="too noisy to learn Sam's voice"):
        enroll_from_audio("Sam", mix(0))


def test_reverberant_clip_without_noise_is_not_refused_as_noisy(shared_data):
    """In a live room the pauses hold the words' tails and the onsets the speech detector
    takes up late; that is not noise, and the profile it makes is the room's own (read by
    the pauses' median, this clip was refused as too noisy). A tap as loud as the voice
    in that room is still refused."""
    from scipy.signal import fftconvolve

    clip = read_audio(shared_data / "conversations" / "enrollment" / "ls367.wav")
    t = np.arange(8000) / 16000
    room = np.random.default_rng(0).standard_normal(len(t)) * np.exp(-6.9 * t / 0.4)
    room[0] = 20.0  # RT60 0.4 s, the direct sound as loud as the tail (about 1.5 m away)
    far = fftconvolve(clip, room)[:len(clip)]
    far = (far * np.sqrt(np.mean(clip ** 2) / np.mean(far ** 2))).astype(np.float32)
    assert enroll_from_audio("Sam", far).speech_s > 4
    tap = read_audio(shared_data / "noise" / "running_tap.wav")[:len(clip)]
    loud = far + tap * np.sqrt(np.mean(far ** 2) / np.mean(tap ** 2))
    with pytest.raises(EnrollmentRefused, match="too noisy to learn Sam's voice"):
        enroll_from_audio("Sam", loud.astype(np.float32))
