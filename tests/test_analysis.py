"""The streaming pipeline: batching does not change results, the live queries work, JSON shape."""

import os
from pathlib import Path

import numpy as np
import pytest

from coach.analysis import Analyzer, analyze_file
from coach.frames import frames_from_array
from coach.profiles import enroll_from_audio
from coach.sources import SyntheticSource, read_audio


@pytest.fixture
def shared_data() -> Path:
    root = Path(os.environ.get("COACH_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    if not root.is_dir():
        pytest.skip(f"real speech corpus not found at {root} (set COACH_SHARED_DATA)")
    return root


def test_live_queries_on_synthetic_bursts():
    an = Analyzer(None, names=["Sam", "Alex"])
    src = SyntheticSource(duration_s=8.0, bursts=[(1.0, 3.0), (5.0, 6.0)])
    for f in src.frames():
        an.feed(f, floor="Sam" if f.start_s < 4 else "Alex")
        if abs(f.start_s - 2.5) < 1e-6:
            assert an.speaking
    segs = an.finish()
    assert [s.speaker for s in segs] == ["Sam", "Alex"]
    assert segs[0].start_s == pytest.approx(1.0, abs=0.1) and segs[0].end_s == pytest.approx(3.0, abs=0.1)
    assert an.last_heard_s("Alex") == pytest.approx(6.0, abs=0.1)
    assert an.live_talk_s()["Sam"] == pytest.approx(2.0, abs=0.2)


def test_feeding_frame_by_frame_with_queries_equals_batch(shared_data):
    d = shared_data / "conversations" / "c05"
    x = read_audio(d / "c05.wav")[:30 * 16000]
    prof = {n: enroll_from_audio(n, read_audio(d / f"enroll_{n}.wav")) for n in ("ls2609", "ls2033")}
    a, b = Analyzer(prof), Analyzer(prof)
    for f in frames_from_array(x):
        a.feed(f)
        b.feed(f)
        b.speaking  # forces processing every frame, as a live caller would
    assert a.finish() == b.finish()


def test_analyze_file_json_shape(shared_data):
    d = shared_data / "conversations" / "c01"
    prof = {n: enroll_from_audio(n, read_audio(d / f"enroll_{n}.wav")) for n in ("ls1688", "ls1998")}
    out = analyze_file(d / "c01.wav", prof).to_json()
    assert set(out) == {"duration_s", "speakers", "unsure_s", "segments"}
    assert out["duration_s"] == pytest.approx(74.1, abs=0.1)
    assert sum(v["share"] for v in out["speakers"].values()) == pytest.approx(1.0, abs=1e-3)
    truth = {"ls1688": 27.55, "ls1998": 39.01}
    for n, t in truth.items():
        assert out["speakers"][n]["talk_s"] == pytest.approx(t, rel=0.25)
    assert all(s["end_s"] > s["start_s"] for s in out["segments"])
