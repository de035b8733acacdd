"""A synthetic voice between turns (the coach's prompts in a recording) is nobody's talk."""


import numpy as np
import pytest

from coach.analysis import Analyzer
from coach.frames import frames_from_array
from coach.profiles import enroll_from_audio
from coach.sources import read_audio


def test_prompts_in_a_synthetic_voice_go_to_nobody(shared_data):
    from coach.tts import espeak_ng

    d = shared_data / "conversations" / "c05"
    x = read_audio(d / "c05.wav")[:40 * 16000]
    prof = {n: enroll_from_audio(n, read_audio(d / f"enroll_{n}.wav")) for n in ("ls2609", "ls2033")}
    try:  # a voice and wording the reference was not made from
        prompt = espeak_ng("Now swap: the other one of you has the floor for two minutes.", "en-gb-x-rp", 155)
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"espeak-ng is needed to render the synthetic voice ({exc})")
    gap = np.zeros(4000, np.float32)
    y = np.concatenate([x[:20 * 16000], gap, 0.5 * prompt, gap, x[20 * 16000:]])
    t0, t1 = (20 * 16000 + len(gap)) / 16000, (20 * 16000 + len(gap) + len(prompt)) / 16000
    an = Analyzer(prof)
    for f in frames_from_array(y, frame_samples=16000):
        an.feed(f)
    segs = an.finish()
    given = sum(max(0.0, min(s.end_s, t1) - max(s.start_s, t0)) for s in segs if s.speaker)
    assert given < 0.25 * (t1 - t0), f"{given:.1f} s of the {t1 - t0:.1f} s prompt went to a partner"
    # ... and the partners' own talk is not lost to "nobody" on the way.
    unsure = sum(s.duration_s for s in segs if s.speaker is None)
    assert unsure < (t1 - t0) + 1.0
