"""The accuracy bench's own truth: remade by the corpus' rule, it must match the shipped one."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def bench():
    spec = importlib.util.spec_from_file_location("bench_accuracy", REPO / "scripts" / "bench_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_truth_remade_without_the_high_pass_is_the_shipped_rttm(shared_data, monkeypatch):
    b = bench()
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


def test_voice_band_truth_drops_the_rumble_of_one_recording_only(shared_data):
    # ls1688's LibriSpeech recordings carry thumps under 100 Hz that the shipped truth
    # counts as talk; ls2414's do not.
    b = bench()
    d = shared_data / "conversations" / "c07"
    meta = json.loads((d / "c07.json").read_text())
    names = list(meta["speakers"])
    shipped = b.talk(b.read_rttm(d / "c07.rttm"), names, meta["duration_s"])
    voice = b.talk(b.voice_band_truth(shared_data, meta), names, meta["duration_s"])
    assert shipped["ls1688"] - voice["ls1688"] > 1.0
    assert abs(shipped["ls2414"] - voice["ls2414"]) < 0.1
