"""`coach check`: a live level meter for the microphone, then whether its level is usable."""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.errors import CoachError
from coach.frames import SAMPLE_RATE_HZ

CLIP_LEVEL = 0.99
"""A sample at or above this magnitude is taken as clipped (float full scale is 1.0)."""
CLIP_FRACTION = 0.001
"""More than 0.1 % clipped samples is audible distortion and spoils the voice features."""
SILENT_DBFS = -55.0
"""Speech-band RMS below this is a muted or far-away mic: the VAD cannot hear talk at
normal distance (the AMI far-field excerpts, the quietest real speech in the corpus,
sit near −41 dBFS RMS)."""
SPEECH_BAND_HZ = (300.0, 3400.0)
"""Telephone band: where voices are, and where fridge hum and hiss mostly are not."""
METER_EVERY_S = 0.25


@dataclass
class LevelReport:
    """What `coach check` heard.

    Attributes:
        seconds: audio time listened.
        peak: largest sample magnitude (0–1).
        rms_dbfs: overall RMS level, dBFS, without the offset (as the meter shows it).
        speech_dbfs: RMS level in the speech band, dBFS.
        clipped_fraction: fraction of samples at or above ``CLIP_LEVEL``.
        offset: the mean sample value: a faulty microphone's constant offset (DC), which
            coach takes out where it exceeds ``VadSettings.dc_limit``.
        verdict: "ok", "clipping" or "silent".
        advice: what to do, in plain words.
    """

    seconds: float
    peak: float
    rms_dbfs: float
    speech_dbfs: float
    clipped_fraction: float
    offset: float
    verdict: str
    advice: str

    def to_json(self) -> dict:
        return {"seconds": round(self.seconds, 2), "peak": round(self.peak, 4),
                "rms_dbfs": round(self.rms_dbfs, 1), "speech_dbfs": round(self.speech_dbfs, 1),
                "clipped_fraction": round(self.clipped_fraction, 5), "offset": round(self.offset, 4),
                "verdict": self.verdict,
                "advice": self.advice}


def _dbfs(power: float) -> float:
    return 10 * math.log10(power) if power > 1e-20 else -200.0


def check_level(source, seconds: float = 5.0, meter=None) -> LevelReport:
    """Listen to ``source`` for ``seconds`` of audio and judge the level.

    Args:
        source: any audio source (a MicSource, a FileSource in tests).
        seconds: how much audio to take.
        meter: optional callable(rms_dbfs, peak, t_s), called about every 0.25 s.

    Returns:
        the level report; ``verdict`` is "ok", "clipping" or "silent".
    """
    from scipy.signal import butter, sosfilt, sosfilt_zi

    from coach.vad import VadSettings

    sos = butter(4, SPEECH_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE_HZ, output="sos")
    zi = sosfilt_zi(sos) * 0.0  # start from rest: a step at the first sample is not speech
    n = clipped = 0
    power = band_power = peak = total = 0.0
    window: list[np.ndarray] = []
    next_meter = METER_EVERY_S
    frames = source.frames()
    try:
        for frame in frames:
            x = np.asarray(frame.samples, np.float64)
            band, zi = sosfilt(sos, x, zi=zi)
            n += len(x)
            clipped += int(np.count_nonzero(np.abs(x) >= CLIP_LEVEL))
            power += float(np.dot(x, x))
            total += float(np.sum(x))
            band_power += float(np.dot(band, band))
            peak = max(peak, float(np.max(np.abs(x), initial=0.0)))
            window.append(x)
            if meter is not None and n / SAMPLE_RATE_HZ >= next_meter:
                w = np.concatenate(window)
                meter(_dbfs(float(np.var(w))), float(np.max(np.abs(w), initial=0.0)), n / SAMPLE_RATE_HZ)
                window, next_meter = [], next_meter + METER_EVERY_S
            if n >= seconds * SAMPLE_RATE_HZ:
                break
    finally:
        close = getattr(frames, "close", None)
        if close:
            close()  # a MicSource closes its stream when its generator closes
    if n == 0:
        raise CoachError("the microphone gave no sound at all; run `coach devices` and pick one with --mic")
    clipped_fraction = clipped / n
    speech_dbfs = _dbfs(band_power / n)
    if clipped_fraction > CLIP_FRACTION:
        verdict = "clipping"
        advice = ("The microphone is too loud and clips. Turn its input level down (in the "
                  "system sound settings) or move it further from the stove and the speaker.")
    elif speech_dbfs < SILENT_DBFS:
        verdict = "silent"
        advice = ("I can hardly hear anything. Check that the microphone is not muted, turn "
                  "its input level up, or pick another one with --mic (see `coach devices`).")
    else:
        verdict = "ok"
        advice = "The level is fine. Talk as you normally would; the coach will hear you."
    offset = total / n
    if abs(offset) > VadSettings().dc_limit:
        advice += (f" This microphone adds a constant offset ({offset:+.2f}, where 0 is usual): "
                   "coach takes it out, but it leaves less room before clipping, and another "
                   "microphone may do better.")
    return LevelReport(n / SAMPLE_RATE_HZ, peak, _dbfs(max(0.0, power / n - offset * offset)), speech_dbfs,
                       clipped_fraction, offset, verdict, advice)


class _Meter:
    """A level bar on stderr: redrawn in place on a terminal, a plain line per second elsewhere."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_line_s = -1.0

    def __call__(self, rms_dbfs: float, peak: float, t_s: float) -> None:
        width = 40
        filled = int(round(width * min(1.0, max(0.0, (rms_dbfs + 70) / 70))))
        bar = "█" * filled + "·" * (width - filled)
        text = f"{t_s:4.1f} s  {bar}  {rms_dbfs:6.1f} dBFS  peak {peak:4.2f}"
        if self.tty:
            print("\r" + text, end="", file=self.stream, flush=True)
        elif t_s - self._last_line_s >= 1.0 - 1e-9:
            self._last_line_s = t_s
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=self.stream)


def register(sub) -> None:
    p = sub.add_parser(
        "check", help="check the microphone: a level meter and advice",
        description="Listen to the microphone for a few seconds while you talk normally, "
                    "show its level, and say whether it is fine, clipping or nearly silent. "
                    "Exit code 0 when the level is fine, 2 otherwise.")
    p.add_argument("--mic", metavar="DEVICE", help="microphone (index or part of its name; see `coach devices`)")
    p.add_argument("--seconds", type=float, default=5.0, help="how long to listen (default 5, 1 to 60)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    # --input: a recording as the microphone, for tests and bug reports.
    p.add_argument("--input", metavar="FILE", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args) -> int:
    from coach.settings import load_settings
    from coach.sources import FileSource, MicSource

    if not 1 <= args.seconds <= 60:
        raise CoachError(f"--seconds {args.seconds:g} is not allowed: use 1 to 60")
    if args.input:
        source = FileSource(Path(args.input))
    else:
        source = MicSource(args.mic or load_settings().audio.mic)
    meter = None if args.json else _Meter()
    if meter is not None and not args.input:
        print(f"Listening for {args.seconds:g} s — talk as you would in the kitchen…", file=sys.stderr)
    try:
        report = check_level(source, args.seconds, meter)
    finally:
        if meter is not None:
            meter.close()
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(f"level {report.speech_dbfs:.1f} dBFS (speech band), peak {report.peak:.2f}, "
              f"clipped {100 * report.clipped_fraction:.2f} % — {report.verdict}")
        print(report.advice)
    return 0 if report.verdict == "ok" else 2
