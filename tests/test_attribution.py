"""Attribution on real voices: the right partner, the floor as a prior, interjections caught."""


import numpy as np
import pytest

from coach.analysis import Analyzer
from coach.frames import Frame, frames_from_array
from coach.profiles import enroll_from_audio
from coach.sources import read_audio


def voices(shared_data, a="ls1688", b="ls3080"):
    spk = shared_data / "speakers" / "librispeech_test-other"
    ea = read_audio(shared_data / "conversations" / "enrollment" / f"{a}.wav")
    eb = read_audio(shared_data / "conversations" / "enrollment" / f"{b}.wav")
    ua = read_audio(sorted((spk / a[2:]).glob("*.wav"))[0] if (spk / a[2:]).exists() else sorted(spk.glob(f"*{a[2:]}*/*.wav"))[0])
    ub = read_audio(sorted((spk / b[2:]).glob("*.wav"))[0] if (spk / b[2:]).exists() else sorted(spk.glob(f"*{b[2:]}*/*.wav"))[0])
    return {"A": enroll_from_audio("A", ea), "B": enroll_from_audio("B", eb)}, ua, ub


def talk(segs):
    out = {}
    for s in segs:
        out[s.speaker] = out.get(s.speaker, 0) + s.duration_s
    return out


@pytest.mark.xfail(strict=True, reason="known weakness: a 0.7 s phrase of A right after a pause, "
                   "not covered by a voice-embedding window, goes to B (83 % of B's talk is B's, not 85 %)")
def test_each_voice_goes_to_its_owner(shared_data):
    prof, ua, ub = voices(shared_data)
    gap = np.zeros(16000, np.float32)
    x = np.concatenate([ua, gap, ub])
    an = Analyzer(prof)
    for f in frames_from_array(x):
        an.feed(f)
    segs = an.finish()
    t = talk(segs)
    cut = (len(ua) + len(gap) / 2) / 16000
    a_in_a = sum(s.duration_s for s in segs if s.speaker == "A" and s.end_s <= cut)
    b_in_b = sum(s.duration_s for s in segs if s.speaker == "B" and s.start_s >= cut)
    assert a_in_a > 0.85 * t.get("A", 0) and b_in_b > 0.85 * t.get("B", 0)
    assert t["A"] > 0.6 * len(ua) / 16000 and t["B"] > 0.6 * len(ub) / 16000


def test_floor_alone_without_profiles(shared_data):
    _, ua, _ = voices(shared_data)
    an = Analyzer(None, names=["A", "B"])
    for f in frames_from_array(ua):
        an.feed(f, floor="B")
    t = talk(an.finish())
    assert set(t) == {"B"} and t["B"] > 0.5 * len(ua) / 16000


def test_interjection_of_the_listener_is_caught(shared_data):
    prof, ua, ub = voices(shared_data)
    x = np.concatenate([ua[:6 * 16000], ub[:int(1.5 * 16000)], ua[6 * 16000:12 * 16000]])
    an = Analyzer(prof)
    for f in frames_from_array(x):
        an.feed(f, floor="A")
    t = talk(an.finish())
    assert 0.8 < t.get("B", 0) < 2.5


def test_coach_speaking_frames_never_count(shared_data):
    prof, ua, _ = voices(shared_data)
    an = Analyzer(prof)
    for f in frames_from_array(ua):
        an.feed(Frame(f.samples, f.start_s, coach_speaking=True))
    assert an.finish() == []


def _phone_line(x: np.ndarray) -> np.ndarray:
    """A telephone line: 8 kHz, 300-3400 Hz."""
    from scipy.signal import butter, resample_poly, sosfilt

    y = resample_poly(x, 1, 2)
    return resample_poly(sosfilt(butter(4, [300, 3400], "bandpass", fs=8000, output="sos"), y), 2, 1).astype(np.float32)


def test_channel_offset_only_for_a_different_channel(shared_data):
    from coach.attribution import _powers, channel_gap, channel_offset, comparable_bands
    from coach.features import clip_log_mel

    prof, ua, ub = voices(shared_data)
    enrolled = [prof["A"].logmel, prof["B"].logmel]
    noise = np.log(np.full((100, 32), 1e-6, np.float32))
    same = channel_gap(_powers(clip_log_mel(np.concatenate([ua, ub])))[1], _powers(noise)[1], enrolled)
    assert not channel_offset(same, 3.0).any()
    assert comparable_bands(same, 4.0) is None  # same microphone: every band is compared
    phone = channel_gap(_powers(clip_log_mel(_phone_line(np.concatenate([ua, ub]))))[1], _powers(noise)[1], enrolled)
    off = channel_offset(phone, 3.0)
    assert off[-4:].max() < -3 and off[0] < 0  # the highs and lows the line cut
    bands = comparable_bands(phone, 4.0)
    assert bands is not None and not bands[-4:].any() and bands[4:20].all()


def test_a_phone_call_with_kitchen_enrollments(shared_data):
    """The conversation heard through a telephone line, the voices enrolled at home: the
    enrollments' highs are nowhere in the call. Before the voices were learned from the
    call itself (seeded by the d-vector windows), c04 came out 25 pp off."""
    import json

    case = shared_data / "conversations" / "c04"
    meta = json.loads((case / "c04.json").read_text())
    names = list(meta["speakers"])
    prof = {n: enroll_from_audio(n, read_audio(case / meta["speakers"][n]["enrollment_file"])) for n in names}
    an = Analyzer(prof, names=names)
    for f in frames_from_array(_phone_line(read_audio(case / "c04.wav"))):
        an.feed(f)
    t = talk(an.finish())
    truth = {n: meta["speakers"][n]["talk_seconds"] for n in names}
    share = t.get(names[0], 0) / (t.get(names[0], 0) + t.get(names[1], 0))
    assert abs(share - truth[names[0]] / sum(truth.values())) < 0.08
    assert t.get(None, 0) < 3.0  # the call is not taken for the synthetic voice


def test_two_women_over_the_dishes_a_few_wild_hops_do_not_outvote_a_turn(shared_data):
    """c06: two women at 10 dB under the dishes. Before each hop's evidence was bounded
    (``AttributionSettings.llr_clip``), a few hops in ls3080's turns that her model
    had never learned scored 13-30 nats each for ls3331 (the median hop: 3), and a dozen
    stretches of 0.2-0.5 s in ls3080's turns went to ls3331: she got 15 % more talk than
    she had, and the share was 4.3 pp off."""
    import json

    case = shared_data / "conversations" / "c06"
    meta = json.loads((case / "c06.json").read_text())
    names = list(meta["speakers"])
    prof = {n: enroll_from_audio(n, read_audio(case / meta["speakers"][n]["enrollment_file"])) for n in names}
    an = Analyzer(prof, names=names)
    for f in frames_from_array(read_audio(case / "c06.wav")):
        an.feed(f)
    segs = an.finish()
    t = talk(segs)
    truth = {n: meta["speakers"][n]["talk_seconds"] for n in names}
    share = t.get(names[0], 0) / (t.get(names[0], 0) + t.get(names[1], 0))
    assert abs(share - truth[names[0]] / sum(truth.values())) < 0.02
    assert abs(t.get(names[1], 0) - truth[names[1]]) < 0.05 * truth[names[1]]
    # inside ls3080's turns (the RTTM: she talks alone 13.1-15.8 s and 53.3-59.2 s)
    for a, b in [(13.2, 15.7), (53.4, 59.1)]:
        assert not any(s.speaker == names[1] and s.end_s > a and s.start_s < b for s in segs), (a, b)
