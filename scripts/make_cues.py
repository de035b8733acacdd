"""Write the coach's chimes to audio_cues/*.wav (16 kHz mono 16-bit), from coach.chimes.

Run from the repository root: ``python scripts/make_cues.py``. The output is
deterministic and small (commit it); rerun it after changing coach/chimes.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from coach.chimes import CUE_NAMES, synth_cue
from coach.frames import SAMPLE_RATE_HZ

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "audio_cues", help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in CUE_NAMES:
        clip = synth_cue(name)
        path = args.out / f"{name}.wav"
        sf.write(str(path), clip, SAMPLE_RATE_HZ, subtype="PCM_16")
        peak_dbfs = 20 * np.log10(np.max(np.abs(clip)))
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: "
              f"{len(clip) / SAMPLE_RATE_HZ:.2f} s, peak {peak_dbfs:.1f} dBFS, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
