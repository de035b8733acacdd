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


def test_each_voice_goes_to_its_owner(shared_data):
    """Two voices one after the other, each enrolled. A 0.7 s phrase of A right after a
    pause, which no voice-embedding window covers, went to B until the voice models
    learned the enrollments at louder levels too (``AttributionSettings.noise_levels_db``)."""
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
    from coach.channel import channel_gap, channel_offset, comparable_bands, powers
    from coach.features import clip_log_mel

    prof, ua, ub = voices(shared_data)
    enrolled = [prof["A"].logmel, prof["B"].logmel]
    noise = np.log(np.full((100, 32), 1e-6, np.float32))
    same = channel_gap(powers(clip_log_mel(np.concatenate([ua, ub])))[1], powers(noise)[1], enrolled)
    assert not channel_offset(same, 3.0).any()
    assert comparable_bands(same, 4.0) is None  # same microphone: every band is compared
    phone = channel_gap(powers(clip_log_mel(_phone_line(np.concatenate([ua, ub]))))[1], powers(noise)[1], enrolled)
    off = channel_offset(phone, 3.0)
    assert off[-4:].max() < -3 and off[0] < 0  # the highs and lows the line cut
    bands = comparable_bands(phone, 4.0)
    assert bands is not None and not bands[-4:].any() and bands[4:20].all()


def test_a_sizzle_in_the_highs_is_not_taken_for_another_channel():
    """A sizzling pan 5 dB under the far-field ami_dev01 left its top band 4.4 nats above
    the typical gap between recording and enrollments: it looked like highs the
    enrollments lack, i.e. another microphone, and the excerpt went down the telephone
    path (34.5 pp off). There the noise swamps the speech, so it is the noise's. A phone
    line's cut bands, swamped too, are still cut: they are quieter, not louder."""
    from coach.channel import comparable_bands

    # per-band gaps less their median, as measured on ami_dev01 + pan 5 dB and c12 + call
    sizzle = np.array([-0.1, -0.1, -0.2, -0.3, -0.1, 0.0, -0.1, -0.7, -0.2, -0.0, -0.1, -1.2, -1.6, -1.6,
                       -1.1, -0.4, 0.0, -0.1, 0.1, 0.4, 1.0, 0.8, 0.3, 1.1, 1.3, 1.0, 0.6, 0.5, 0.6, 0.9,
                       2.1, 4.4])
    call = np.array([-2.9, -1.2, 0.2, 0.8, 0.1, -0.2, 0.2, 0.0, 0.4, 0.6, 0.7, 0.3, -0.0, -0.6, -0.4,
                     0.3, 0.5, 0.7, 0.5, 0.3, 0.7, 1.1, -0.1, -4.1, -8.3, -8.5, -9.3, -9.4, -9.6, -8.3,
                     -7.6, -7.6])
    swamped = np.arange(32) >= 23  # the noise outweighs the speech in the top bands
    assert comparable_bands(sizzle, 4.0) is not None
    assert comparable_bands(sizzle, 4.0, swamped) is None
    bands = comparable_bands(call, 4.0, swamped)
    assert bands is not None and not bands[23:].any() and bands[:23].all()


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
    she had, and the share was 4.3 pp off. Since the d-vector windows are clustered from
    the voice models' sides and weighed by their margin, the first 0.3 s of her turn at
    53.3 s goes to ls3331 (who spoke until 52.8 s): an onset, not a wild hop.

    c06 is the corpus' most fragile case: which noise rows the voice models happen to
    draw moves it by 1.8-5.9 pp (six seeds, 2026-11-29), so it is judged on the median of
    three draws. Without the bounds, the first three draws give 6.3, 1.7 and 6.8 pp off
    (ls3331 with 22, 4 and 23 % more talk than she had); with them, 4.6, 2.3 and 4.3 pp
    (14, 7 and 13 %)."""
    import json

    case = shared_data / "conversations" / "c06"
    meta = json.loads((case / "c06.json").read_text())
    names = list(meta["speakers"])
    prof = {n: enroll_from_audio(n, read_audio(case / meta["speakers"][n]["enrollment_file"])) for n in names}
    x = read_audio(case / "c06.wav")
    truth = {n: meta["speakers"][n]["talk_seconds"] for n in names}
    share_err, extra = [], []
    for seed in range(3):
        an = Analyzer(prof, names=names, attribution_seed=seed)
        for f in frames_from_array(x):
            an.feed(f)
        segs = an.finish()
        t = talk(segs)
        share = t.get(names[0], 0) / (t.get(names[0], 0) + t.get(names[1], 0))
        share_err.append(abs(share - truth[names[0]] / sum(truth.values())))
        extra.append(t.get(names[1], 0) / truth[names[1]] - 1)
        # inside ls3080's turns (the RTTM: she talks alone 13.1-15.8 s and 53.3-59.2 s): a
        # dozen wild stretches would be 2.4-6 s
        for a, b in [(13.2, 15.7), (53.4, 59.1)]:
            wrong = sum(min(s.end_s, b) - max(s.start_s, a) for s in segs
                        if s.speaker == names[1] and s.end_s > a and s.start_s < b)
            assert wrong < 1.0, (seed, a, b, wrong)
    assert np.median(share_err) < 0.055, share_err
    assert np.median(extra) < 0.18, extra


def test_windows_drawn_towards_one_enrolled_voice_are_still_told_apart():
    """The room's noise can move every window's d-vector the same way, until all of
    them sit nearer one enrolled voice. Clustering started from the enrolled voices
    then gives nearly every window to that voice; started from the windows each voice
    model favours, it finds both clusters and keeps their names."""
    from coach.attribution import AttributionSettings
    from coach.voice_windows import label_windows

    rng = np.random.default_rng(1)
    dim = 256

    def unit(v):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    enrolled = unit(rng.normal(size=(2, dim)))
    shift = 2.2 * unit(enrolled[1] - enrolled[0] + 0.5 * unit(rng.normal(size=dim)))
    truth = np.r_[np.zeros(20, int), np.ones(12, int)]
    windows = unit(enrolled[truth] + shift + 0.25 * rng.normal(size=(len(truth), dim)) / np.sqrt(dim) * 4)
    assert ((windows @ enrolled.T).argmax(axis=1) == 1).all()  # all nearer B's enrollment

    seeded, _ = label_windows(windows, enrolled)
    assert (seeded != truth).sum() >= 15  # the failure this guards against
    sides = truth == 0
    sides[[0, 1, 25]] = ~sides[[0, 1, 25]]  # the voice models are wrong about a few windows
    labels, margins = label_windows(windows, enrolled, sides)
    assert (labels == truth).all()
    assert np.median(margins) > AttributionSettings().voice_margin  # evidence the labelling uses


def _analyze_case(bench, case, seed: int = 0):
    """Run a ``bench_accuracy`` case (audio in memory) as the bench does (``run_coach``):
    its names, the segments as (start_s, end_s, speaker), its length and the talk-share
    error (0-1). ``seed``: the voice models' random draws (``AttributionSettings.seed``)."""
    names = list(case["enroll_audio"])
    hyp, _ = bench.run_coach(case["audio"], case["enroll_audio"], names, seed)
    dur = len(case["audio"]) / 16000
    truth, got = bench.talk(case["ref"], names, dur), bench.talk(hyp, names, dur)
    share_error = abs(got[names[0]] / sum(got.values()) - truth[names[0]] / sum(truth.values()))
    return names, hyp, dur, share_error


def _over_three_draws(bench, case) -> tuple[list[float], list[float]]:
    """A case run with three seeds of the voice models' draws: its talk-share errors
    (0-1) and its confusion (%, ``bench_accuracy.confusion``)."""
    errors, confused = [], []
    for seed in range(3):
        names, hyp, dur, share_error = _analyze_case(bench, case, seed)
        errors.append(share_error)
        confused.append(bench.confusion(case["ref"], hyp, names, dur))
    return errors, confused


def test_a_pair_the_corpus_never_mixed_under_a_running_tap(shared_data, bench_accuracy):
    """ls367 (F) and ls1688 (M), never paired in c01-c12, under a running tap at 10 dB:
    the first pair of ``bench_accuracy.py --new-pairs``. The tap moved every d-vector
    window nearer ls367's enrollment, and clustering the windows from the enrolled
    voices gave 14 of ls1688's 24 to her: the share came out 10.5 pp off and 3.1 s of
    his talk went to her. Started from the windows the voice models favour, the
    clusters are his and hers."""
    if not (shared_data / "make_conversations.py").exists():
        pytest.skip("the corpus' make_conversations.py is not in the shared data")
    bench = bench_accuracy
    case = next(bench.new_pair_cases(shared_data))
    assert case["name"] == "p01@10" and set(case["enroll_audio"]) == {"ls367", "ls1688"}
    names, hyp, dur, share_error = _analyze_case(bench, case)
    assert share_error < 0.05
    ref, h = bench.grid(case["ref"], names, dur), bench.grid(hyp, names, dur)
    his, hers = ("ls1688", "ls367")
    given_to_her = (ref[his] & ~ref[hers] & h[hers] & ~h[his]).sum() * bench.STEP_S
    assert given_to_her < 1.5


def test_a_man_and_a_woman_under_pink_noise(shared_data, bench_accuracy):
    """ls1688 (M) and ls3080 (F) under pink noise at 5 dB (``bench_accuracy.py
    --new-pairs --new-pairs-noise white,pink``: p08@5). With the enrollments heard
    through the noise only at the recording's median speech level, her loud hops looked
    more like his model than hers (72 % of those 10-15 dB over the noise went to him),
    and the windows' clusters followed the voice models: 18.2 pp off, 18.4 % of the talk
    confused. Heard 3 and 6 dB louder too (``AttributionSettings.noise_levels_db``), the
    models know her at her level: 0.2 pp. Which noise rows the models draw moves this
    case too (2026-11-29, three seeds: 4.8, 2.2 and 1.6 pp off, 5.7, 0.0 and 2.8 %
    confused), so it is judged on the median of three draws."""
    if not (shared_data / "make_conversations.py").exists():
        pytest.skip("the corpus' make_conversations.py is not in the shared data")
    bench = bench_accuracy
    case = next(c for c in bench.new_pair_cases(shared_data, ("white", "pink")) if c["name"] == "p08@5")
    assert set(case["enroll_audio"]) == {"ls1688", "ls3080"} and case["noise"] == "pink 5 dB"
    errors, confused = _over_three_draws(bench, case)
    assert np.median(errors) < 0.05, errors
    assert np.median(confused) < 5.0, confused


def test_two_women_over_a_fan_keep_their_own_windows(shared_data, bench_accuracy):
    """c06 (ls3080 and ls3331, two women, over the dishes) with the bench's synthetic
    extractor fan 5 dB below it (``bench_accuracy.py --other-noises``: c06+fan5). The
    enrollments heard through that noise gave a quarter of ls3080's talk to ls3331, and
    the windows' clustering, started from those voice models, followed them: 16.4 pp
    off, 14.9 % of the talk confused. Started from the enrolled d-vectors, the windows
    split into the two voices, and that split changes hands half as often between
    nearby windows, as a conversation does (``AttributionSettings.windows_coherence``).
    The case is chaotic (the draws of the voice models' noise decide much), so it is
    judged over three seeds of them: before, 16.4 / 5.6 / 24.0 pp and 14.9 / 4.0 / 19.6 %
    confused; after, 1.6 / 1.1 / 8.0 pp and 2.4 / 1.8 / 7.3 %."""
    bench = bench_accuracy
    case = next(c for c in bench.cases(shared_data) if c["name"] == "c06")
    audio = bench.with_other_noise(read_audio(case["wav"]), "fan", 5)
    enroll = {n: read_audio(p) for n, p in case["enroll"].items()}
    made = dict(audio=audio, enroll_audio=enroll, ref=bench.read_rttm(case["rttm"]))
    errors, confused = _over_three_draws(bench, made)
    assert np.mean(errors) < 0.07, errors
    assert np.mean(confused) < 7.0, confused
