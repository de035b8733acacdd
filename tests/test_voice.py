"""The coach's voice: real espeak-ng / pyttsx3 speech, chimes, outputs, and the demo recording."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from coach.chimes import CUE_NAMES, synth_cue
from coach.errors import CoachError, DeviceError
from coach.frames import SAMPLE_RATE_HZ
from coach.outputs import NullOutput, RecordingOutput, WavOutput, list_devices, make_output
from coach.settings import VoiceSettings
from coach.sources import FileSource
from coach.tts import espeak_ng, pyttsx3_tts
from coach.voice import CUES_DIR, SilentVoice, TtsVoice, load_cue, make_voice

REPO = Path(__file__).resolve().parent.parent
TEXT = "Welcome, both of you. Let's take a few quiet minutes for each other tonight."

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def _reference_duration_s(text: str) -> float:
    """What espeak-ng itself writes for ``text`` (22050 Hz WAV), as the truth for length."""
    out = subprocess.run(["espeak-ng", "-v", "en-us+f3", "-s", "150", "--stdout", text],
                         capture_output=True, check=True).stdout
    samples = (len(out) - 44) // 2
    return samples / 22050


@needs_espeak
def test_espeak_renders_real_speech_at_16k_and_prints_nothing(tmp_path, capfd):
    voice = TtsVoice("espeak-ng", cache_dir=tmp_path / "cache")
    speech = voice.render(TEXT)
    assert voice.last_engine == "espeak-ng"
    assert speech.dtype == np.float32 and speech.ndim == 1
    # Same length as espeak-ng's own 22050 Hz file once resampled: proves the rate is 16 kHz.
    assert len(speech) / SAMPLE_RATE_HZ == pytest.approx(_reference_duration_s(TEXT), abs=0.01)
    assert 3.0 < len(speech) / SAMPLE_RATE_HZ < 8.0   # ~13 words at 150 wpm
    assert _rms(speech) > 0.03
    assert np.max(np.abs(speech)) <= 0.8 + 1e-6      # volume 0.8 on a peak below 1
    out, _ = capfd.readouterr()
    assert out == ""


def test_pyttsx3_renders_and_keeps_stdout_clean(capfd):
    pytest.importorskip("pyttsx3")
    voice = TtsVoice("pyttsx3")
    first = voice.render("Now it is your turn to listen.")
    second = voice.render(TEXT)  # a second utterance: pyttsx3 2.99 loses queued ones
    if voice.last_engine != "pyttsx3":
        pytest.skip(f"pyttsx3 has no working engine here ({voice.last_error})")
    assert 1.0 < len(first) / SAMPLE_RATE_HZ < 4.0
    assert 3.0 < len(second) / SAMPLE_RATE_HZ < 8.0
    assert _rms(first) > 0.03 and _rms(second) > 0.03
    out, _ = capfd.readouterr()
    assert out == "", "pyttsx3's 'Audio saved to …' reached stdout"


@needs_espeak
def test_prompts_are_cached_on_disk(tmp_path):
    cache = tmp_path / "cache"
    voice = TtsVoice("espeak-ng", cache_dir=cache)
    a = voice.render(TEXT)
    b = voice.render(TEXT)
    assert voice.synth_count == 1
    assert len(list(cache.glob("*.wav"))) == 1
    again = TtsVoice("espeak-ng", cache_dir=cache)  # a new run reads the same file
    c = again.render(TEXT)
    assert again.synth_count == 0
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c, atol=1 / 32768)  # 16-bit on disk


def test_unknown_engine_renders_nothing_and_never_raises(capfd):
    voice = TtsVoice("no-such-engine")
    assert voice.available is False
    assert len(voice.render(TEXT)) == 0
    assert len(voice.cue("turn")) > 0            # the chimes still work
    silent = make_voice(VoiceSettings(tts="none"))
    assert isinstance(silent, SilentVoice) and silent.available is False
    assert len(silent.render(TEXT)) == 0 and len(silent.cue("end")) > 0
    assert capfd.readouterr().out == ""


@needs_espeak
def test_a_failing_engine_falls_back_to_the_other():
    pytest.importorskip("pyttsx3")
    with pytest.raises(RuntimeError, match="voice"):
        espeak_ng("hello", "xx-no-such-voice", 150)
    voice = TtsVoice("espeak-ng", voice="xx-no-such-voice")
    speech = voice.render("Hello there.")
    assert len(speech) > 0 and voice.last_engine == "pyttsx3"  # pyttsx3 keeps its default voice


def test_pyttsx3_does_not_lose_utterances(monkeypatch):
    """pyttsx3 2.99 now and then signals an utterance finished having written only the
    WAV header (27 of 1000 saves here; a prompt silently missing, or a 30 s hang before
    it). 200 different sentences in a row must all come back as speech."""
    pytest.importorskip("pyttsx3")
    if TtsVoice("pyttsx3").render("Okay.").size == 0:
        pytest.skip("pyttsx3 has no working engine here")
    monkeypatch.setattr("coach.tts.SYNTH_TIMEOUT_S", 5.0)  # a hang fails in 5 s, not 30

    def spoken(i: int) -> bool:
        try:
            return pyttsx3_tts(f"Sentence number {i}, said once.", "en-us", 170).size >= SAMPLE_RATE_HZ // 2
        except RuntimeError:
            return False

    lost = [i for i in range(200) if not spoken(i)]
    assert not lost


def test_missing_espeak_ng_falls_back_to_pyttsx3(monkeypatch, tmp_path):
    pytest.importorskip("pyttsx3")
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without the espeak-ng program
    voice = TtsVoice("auto")
    speech = voice.render("Hello there.")
    assert voice.last_engine == "pyttsx3" and len(speech) > 0


@pytest.mark.parametrize("name", CUE_NAMES)
def test_cue_files_are_short_quiet_and_current(name):
    path = CUES_DIR / f"{name}.wav"
    assert path.is_file(), "run scripts/make_cues.py"
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE_HZ, 1, "PCM_16")
    clip = load_cue(name)
    assert 0.3 <= len(clip) / SAMPLE_RATE_HZ <= 1.2
    peak_dbfs = 20 * np.log10(np.max(np.abs(clip)))
    assert -16.0 <= peak_dbfs <= -11.5
    assert abs(clip[0]) < 0.01 and abs(clip[-1]) < 0.001          # no click in or out
    np.testing.assert_allclose(clip, synth_cue(name), atol=2 / 32768)  # files match chimes.py


def test_cues_are_synthesised_without_the_folder(tmp_path):
    clip = load_cue("start", cues_dir=tmp_path)
    np.testing.assert_allclose(clip, synth_cue("start"))
    with pytest.raises(ValueError, match="cues are"):
        load_cue("fanfare")


def test_wav_output_places_clips_on_the_session_timeline(tmp_path):
    path = tmp_path / "coach.wav"
    out = WavOutput(path)
    tone = np.full(8000, 0.25, np.float32)  # 0.5 s
    out.play(tone, 1.0)
    out.play(tone, 1.0)          # same audio time (recording ended): follows the first
    out.play(tone, 4.0)
    out.stop(at_s=4.25)          # barge-in 0.25 s into the third clip
    out.play(tone * 2, 6.0)
    out.close()
    audio, rate = sf.read(str(path), dtype="float32")
    assert rate == SAMPLE_RATE_HZ
    on = np.flatnonzero(np.abs(audio) > 0.1) / SAMPLE_RATE_HZ
    starts = [on[0]] + [t for prev, t in zip(on, on[1:]) if t - prev > 0.01]
    assert starts == pytest.approx([1.0, 4.0, 6.0], abs=1e-4)
    assert len(audio) == 6.5 * SAMPLE_RATE_HZ
    assert np.all(audio[:16000] == 0)
    assert np.all(np.abs(audio[16000:32000] - 0.25) < 1e-3)        # 1.0-2.0 s: both clips
    assert np.all(audio[int(4.25 * SAMPLE_RATE_HZ):96000] == 0)    # cut by stop()
    assert np.all(np.abs(audio[96000:] - 0.5) < 1e-3)


def test_make_output_choices(tmp_path):
    assert isinstance(make_output("none", default_device=True), NullOutput)
    assert isinstance(make_output(None, default_device=False), NullOutput)
    wav = make_output(str(tmp_path / "speech.wav"), default_device=True)
    assert isinstance(wav, WavOutput)
    wav.close()
    with pytest.raises(CoachError, match="cannot write"):
        make_output(str(tmp_path / "missing" / "speech.wav"), default_device=True)
    with pytest.raises(DeviceError):
        make_output("no-such-speaker-xyz", default_device=True)


def test_recording_output_can_simulate_a_lost_device():
    out = RecordingOutput(lose_after=1)
    out.play(np.ones(10, np.float32), 0.0)
    out.play(np.ones(10, np.float32), 1.0)   # must not raise: the session goes on
    assert out.lost and len(out.clips) == 1


def test_devices_command_prints_one_json_object(capsys):
    from coach.cli import main

    assert main(["devices", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"input", "output"}
    assert data == list_devices()
    for dev in data["input"] + data["output"]:
        assert {"index", "name", "channels", "default", "hostapi"} <= set(dev)


def test_devices_command_has_help(capsys):
    from coach.cli import main

    assert main(["devices", "--help"]) == 0
    assert "--speaker-device" in capsys.readouterr().out


# -- the bundled demo recording ----------------------------------------------------------

DEMO = REPO / "coach" / "data"


def test_demo_recording_matches_its_truth():
    truth = json.loads((DEMO / "demo.json").read_text())
    source = FileSource(DEMO / "demo.ogg")
    assert source.rate_hz == SAMPLE_RATE_HZ and source.channels == 1
    assert (DEMO / "demo.ogg").stat().st_size < 1.7e6   # commit-sized (1.6 MB: see make_demo.room_noise)
    assert source.duration_s == pytest.approx(truth["duration_s"], abs=0.05)
    assert truth["names"] == ["Alex", "Sam"] and truth["sample_rate_hz"] == SAMPLE_RATE_HZ
    audio = np.concatenate([f.samples for f in source.frames()])
    segs = truth["segments"]
    assert {s["speaker"] for s in segs} == {"Alex", "Sam"}
    assert all(a["end_s"] <= b["start_s"] for a, b in zip(segs, segs[1:]))  # sorted, no overlap

    def span(a_s, b_s):
        return audio[int(a_s * SAMPLE_RATE_HZ):int(b_s * SAMPLE_RATE_HZ)]

    for s in segs:  # speech inside every segment, ending where the truth says
        assert _rms(span(s["start_s"], s["end_s"])) > 0.02, s
        assert _rms(span(s["start_s"], s["start_s"] + 0.1)) > 0.003, s
    gaps = [(a["end_s"], b["start_s"]) for a, b in zip(segs, segs[1:])]
    gaps += [(0.0, segs[0]["start_s"]), (segs[-1]["end_s"], truth["duration_s"])]
    for a_s, b_s in gaps:  # only the faint room noise between segments (-60 dBFS)
        if b_s - a_s > 0.1:
            assert _rms(span(a_s + 0.02, b_s - 0.02)) < 0.002, (a_s, b_s)
    # The evening plan's timing: 20 s welcome first, long quiet gaps for the coach's prompts.
    assert segs[0]["start_s"] == pytest.approx(20.0)
    assert truth["duration_s"] - segs[-1]["end_s"] >= 60.0
    assert sum(1 for a, b in gaps if b - a >= 24.0) >= 9
