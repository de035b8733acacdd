"""The accuracy bench's own truth: remade by the corpus' rule, it must match the shipped one."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_truth_remade_without_the_high_pass_is_the_shipped_rttm(shared_data, monkeypatch, bench_accuracy):
    b = bench_accuracy
    monkeypatch.setattr(b, "VOICE_BAND_HZ", 0.0)
    for cid in ("c01", "c06"):
        d = shared_data / "conversations" / cid
        meta = json.loads((d / f"{cid}.json").read_text())
        names = list(meta["speakers"])
        shipped = b.grid(b.read_rttm(d / f"{cid}.rttm"), names, meta["duration_s"])
        remade = b.grid(b.voice_band_truth(shared_data, meta), names, meta["duration_s"])
        for n in names:
            assert shipped[n].sum() > 1000
            assert np.array_equal(shipped[n], remade[n]), (cid, n)


def test_voice_band_truth_drops_the_rumble_of_one_recording_only(shared_data, bench_accuracy):
    # ls1688's LibriSpeech recordings carry thumps under 100 Hz that the shipped truth
    # counts as talk; ls2414's do not.
    b = bench_accuracy
    d = shared_data / "conversations" / "c07"
    meta = json.loads((d / "c07.json").read_text())
    names = list(meta["speakers"])
    shipped = b.talk(b.read_rttm(d / "c07.rttm"), names, meta["duration_s"])
    voice = b.talk(b.voice_band_truth(shared_data, meta), names, meta["duration_s"])
    assert shipped["ls1688"] - voice["ls1688"] > 1.0
    assert abs(shipped["ls2414"] - voice["ls2414"]) < 0.1


def test_kitchen_keeps_the_timeline_and_puts_the_second_person_further_away(shared_data, bench_accuracy):
    """The --kitchen copy must still match its RTTM (each voice where the truth says,
    the far one's words arriving a few ms late, not seconds), hear the second person
    quieter and more reverberant than the first, and be the same room every run."""
    pytest.importorskip("pyroomacoustics")
    from scipy.signal import fftconvolve

    b = bench_accuracy
    rirs, facts = b.kitchen_rirs(4)  # RT60 0.32 s: the quickest of c01-c12's rooms
    near, far = rirs
    assert facts["dists"][0] < facts["dists"][1]

    def drr(h):
        k = int(np.argmax(np.abs(h)))
        direct = np.sum(h[max(0, k - 40):k + 40] ** 2)
        return 10 * np.log10(direct / (np.sum(h ** 2) - direct)), k

    (d_near, k_near), (d_far, k_far) = drr(near), drr(far)
    assert k_near == 0 and 0 < k_far < 0.02 * 16000       # direct sound: 0 and < 20 ms
    assert -12 < d_far < d_near < 3                       # reverberant, the far one more so
    again, _ = b.kitchen_rirs(4)
    assert all(np.array_equal(a, c) for a, c in zip(rirs, again))

    d = shared_data / "conversations" / "c01"
    meta = json.loads((d / "c01.json").read_text())
    names = list(meta["speakers"])
    n = int(meta["duration_s"] * 16000)
    enroll = {k: b.read_audio(d / meta["speakers"][k]["enrollment_file"]) for k in names}
    x, heard = b.kitchen(shared_data, meta, n, enroll, seed=4)
    assert len(x) == n and set(heard) == set(names)
    truth = b.grid(b.read_rttm(d / "c01.rttm"), names, meta["duration_s"])
    hops = len(x) // 160
    power = np.mean(x[:hops * 160].reshape(hops, 160) ** 2, axis=1)
    m = min(hops, len(truth[names[0]]))
    talk = (truth[names[0]] | truth[names[1]])[:m]
    assert np.median(power[:m][talk]) > 10 * np.median(power[:m][~talk])  # speech where the truth has it
    alone = {k: truth[k][:m] & ~truth[names[1 - i]][:m] for i, k in enumerate(names)}
    assert np.median(power[:m][alone[names[0]]]) > np.median(power[:m][alone[names[1]]])  # far is quieter
    # Each enrollment is heard in the same room, from the same place.
    np.testing.assert_allclose(heard[names[1]], fftconvolve(enroll[names[1]], far * (1 / np.sqrt(np.sum(near ** 2))))[:len(enroll[names[1]])], atol=1e-5)


def test_new_pairs_are_the_pairs_c01_c12_leave_out_with_their_own_truth(shared_data, bench_accuracy):
    """--new-pairs: 17 pairs c01-c12 never mix, each conversation at two noise levels
    that differ only in the noise's gain, scored against the truth of its own pieces."""
    if not (shared_data / "make_conversations.py").exists():
        pytest.skip("the corpus' make_conversations.py is not in the shared data")
    b = bench_accuracy
    used = set()
    for d in sorted((shared_data / "conversations").glob("c[0-9]*")):
        used.add(frozenset(json.loads((d / f"{d.name}.json").read_text())["speakers"]))
    it = b.new_pair_cases(shared_data)
    first = [next(it) for _ in b.NEW_PAIR_SNRS_DB]
    rest = list(it)
    cases = first + rest
    pairs = {frozenset(c["enroll_audio"]) for c in cases}
    assert len(cases) == 17 * len(b.NEW_PAIR_SNRS_DB) and len(pairs) == 17 and not pairs & used
    loud, quiet = first  # p01 at 10 and at 5 dB: the same voices at the same times
    assert loud["ref"] == quiet["ref"] and loud["meta"]["pieces"] == quiet["meta"]["pieces"]
    noise_loud, noise_quiet = loud["audio"] - quiet["audio"], quiet["audio"]
    assert np.std(noise_loud) > 0.01 * np.std(noise_quiet)
    for c in cases:
        names = list(c["enroll_audio"])
        dur = len(c["audio"]) / 16000
        talk = b.talk(c["ref"], names, dur)
        for n in names:  # the truth the corpus script wrote for the pieces
            assert abs(talk[n] - c["meta"]["speakers"][n]["talk_seconds"]) < 0.02, (c["name"], n)
            assert 4.5 * 16000 < len(c["enroll_audio"][n]) < 10.5 * 16000


def test_share_if_perfect_puts_each_error_where_it_comes_from(bench_accuracy):
    """A truth of 40 s of A, 20 s of B (2 s of it over A's talk); hypotheses that each
    get one part wrong: only that part's perfect version brings the error to zero."""
    b = bench_accuracy
    names = ["A", "B"]
    ref = [(0.0, 40.0, "A"), (10.0, 12.0, "B"), (45.0, 63.0, "B")]
    missed = [(0.0, 30.0, "A"), (10.0, 12.0, "B"), (45.0, 63.0, "B")]        # 10 s of A unheard
    swapped = [(0.0, 30.0, "A"), (30.0, 40.0, "B"), (10.0, 12.0, "B"), (45.0, 63.0, "B")]  # A's to B
    no_overlap = [(0.0, 40.0, "A"), (45.0, 63.0, "B")]                          # B's interjection lost
    dur = 64.0
    for hyp, fixed_by in ((missed, "detection"), (swapped, "attribution"), (no_overlap, "overlap")):
        left = b.share_if_perfect(ref, hyp, names, dur)
        truth, got = b.talk(ref, names, dur), b.talk(hyp, names, dur)
        err = 100 * abs(got["A"] / sum(got.values()) - truth["A"] / sum(truth.values()))
        assert err > 2.0, fixed_by
        assert left[fixed_by] < 0.05, (fixed_by, left)
        if fixed_by == "detection":  # labels were right where speech was found
            assert left["attribution"] > 2.0 and left["overlap"] > 2.0
    # A found interjection counted for both is already right: nothing for overlap to add.
    assert b.share_if_perfect(ref, ref, names, dur) == {"detection": 0.0, "attribution": 0.0, "overlap": 0.0}


def test_person_clips_are_the_voices_not_left_out(shared_data, bench_accuracy):
    voices = {f"ls{p.name}" for p in (shared_data / "speakers" / "librispeech_test-other").iterdir()}
    assert bench_accuracy.person_clips(shared_data, voices) == []
    every = bench_accuracy.person_clips(shared_data, set())
    two = bench_accuracy.person_clips(shared_data, voices - {"ls1688", "ls1998"})
    rest = bench_accuracy.person_clips(shared_data, {"ls1688", "ls1998"})
    assert len(two) and len(rest) and len(two) + len(rest) == len(every)
    assert all(1.5 * 16000 <= len(c) <= 4.0 * 16000 for c in every)


def test_only_refuses_a_case_that_does_not_exist(shared_data, bench_accuracy, monkeypatch, capsys):
    # "--only ami" used to run nothing and exit 0, as if every case had been measured.
    monkeypatch.setattr("sys.argv", ["bench_accuracy.py", "--data", str(shared_data), "--only", "c01,ami"])
    with pytest.raises(SystemExit) as exc:
        bench_accuracy.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "'ami'" in err and "ami_dev00" in err and "c12" in err


def test_coach_with_changes_the_named_settings_and_only_them(bench_accuracy):
    from coach.attribution import AttributionSettings
    from coach.settings import MeasureSettings

    measure, attribution = bench_accuracy.coach_with(
        "vad_threshold=0.4, voice_prior=2,noise_levels_db=0/3,windows_coherence=false")
    assert measure == MeasureSettings(vad_threshold=0.4)
    assert attribution == AttributionSettings(floor_bonus=MeasureSettings().floor_bonus, voice_prior=2.0,
                                              noise_levels_db=(0.0, 3.0), windows_coherence=False)
    assert bench_accuracy.coach_with("min_silence_s=0.2") == (MeasureSettings(min_silence_s=0.2), None)


@pytest.mark.parametrize("spec, said", [("bogus=1", "'bogus=1'"), ("voice_prior", "NAME=VALUE"),
                                        ("voice_prior=x", "voice_prior is float"),
                                        ("windows_coherence=maybe", "windows_coherence is bool")])
def test_coach_with_names_what_it_cannot_read(bench_accuracy, spec, said):
    with pytest.raises(ValueError, match=said):
        bench_accuracy.coach_with(spec)


def test_a_change_is_compared_case_for_case_and_seed_for_seed(bench_accuracy, capsys):
    def row(case, system, share, der=5.0):
        return dict(case=case, system=system, share=share, der=der, new=False, genders="MF")
    rows = [row("c01", "coach", 2.0), row("c01", "coach@1", 6.0), row("c02", "coach", 1.0, 3.0),
            row("c01", "coach#1", 1.0), row("c01", "coach#1@1", 7.0), row("c02", "coach#1", 1.1, 4.0)]
    bench_accuracy.compare_changed(rows, 1)
    all_line = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("all"))
    # before 2, 6, 1 (mean 3.00, one over 5 pp); after 1, 7, 1.1 (3.03, one over); c02 moved under 0.3 pp
    assert "n=  3" in all_line and "3.00 ->  3.03" in all_line and "over 5 pp   1 ->   1" in all_line
    assert "better   1, worse   1" in all_line and "DER mean  4.33 ->  4.67%" in all_line
