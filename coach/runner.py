"""Assembles a session from options: picks the source, voice, output, analyzer and history."""

from __future__ import annotations

import sys
import wave
from dataclasses import dataclass
from pathlib import Path

from coach.errors import CoachError
from coach.paths import data_dir, ensure_private_dir
from coach.plans import Plan
from coach.settings import Settings


@dataclass
class SessionOptions:
    names: list[str]
    plan: Plan
    demo: bool = False
    input_path: Path | None = None
    realtime: bool = False
    output: str | None = None
    speaker_device: str | None = None
    mic: str | None = None
    json: bool = False
    quiet: bool = False
    silence_end_s: float | None = None
    commands: bool = True
    tts: str | None = None
    keep_audio: bool = False
    seed: int | None = None


class WavSink:
    """Keeps the session's microphone as a 16-bit WAV, only with --keep-audio (file mode 0600)."""

    def __init__(self, path: Path):
        import os

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(16000)
        self.path = path

    def write(self, samples) -> None:
        import numpy as np

        self._wav.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())

    def close(self) -> None:
        self._wav.close()
        self._file.close()


def _source(opts: SessionOptions, settings: Settings):
    from coach.sources import FileSource, MicSource, RealtimeSource

    if opts.input_path is not None:
        source = FileSource(opts.input_path)
        return RealtimeSource(source) if opts.realtime else source
    return MicSource(opts.mic or settings.audio.mic)


def _output(opts: SessionOptions, settings: Settings):
    from coach.outputs import make_output

    spec = opts.output
    if spec is None:
        if opts.input_path is not None:  # a recording as the mic: speech goes nowhere unless named
            spec = "none"
        else:
            spec = opts.speaker_device or settings.audio.speaker_device
    return make_output(spec, default_device=opts.input_path is None)


def _view(opts: SessionOptions):
    from coach.view import LiveView, NullView, PlainView

    if opts.quiet:
        return NullView()
    if opts.json:
        return LiveView() if sys.stderr.isatty() and not opts.demo else NullView()
    if sys.stdout.isatty() and opts.input_path is None:
        return LiveView()
    return PlainView(sys.stdout)


def run_guided(opts: SessionOptions, settings: Settings) -> tuple[dict, bool]:
    """Run one guided session and save it in the history.

    Returns:
        (the `--json` result, whether it was interrupted by Ctrl-C or a signal).
    """
    from coach.analysis import Analyzer
    from coach.enrollment import Enroller
    from coach.feedback import compose_feedback
    from coach.history import HistoryStore
    from coach.keys import KeyReader
    from coach.metrics import session_metrics
    from coach.profiles import ProfileStore
    from coach.session import Session
    from coach.voice import make_voice

    settings = settings.with_overrides(
        session={"silence_end_s": opts.silence_end_s, "keep_audio": opts.keep_audio or None},
        voice={"tts": opts.tts},
    )
    if opts.silence_end_s is not None and opts.silence_end_s < 0:
        raise CoachError("--silence-end must be 0 (never) or a number of seconds")
    store = HistoryStore()
    earlier = store.summaries(include_demo=False, limit=10)
    listener = None
    if opts.commands and settings.commands.enabled:
        try:
            from coach.commands import CommandListener

            listener = CommandListener()
        except Exception as exc:  # the session works without voice commands
            print(f"coach: spoken commands are off ({exc})", file=sys.stderr)
    live = opts.input_path is None
    enroller = Enroller(ProfileStore(), reuse=not opts.demo, persist=live)
    view = _view(opts)
    keys = KeyReader().start() if live and KeyReader.usable() and not opts.json else None
    sink = None
    if settings.session.keep_audio:
        sink = WavSink(ensure_private_dir(store.recordings_dir) / "pending.wav")
    voice = make_voice(settings.voice, ensure_private_dir(data_dir() / "cache"))
    output = _output(opts, settings)

    def feedback(record) -> str:
        return compose_feedback(record, session_metrics(record), earlier)

    def checkpoint(record) -> None:
        try:
            store.save(record, session_metrics(record))
        except CoachError as exc:
            view.message(str(exc))

    session = Session(opts.plan, opts.names, _source(opts, settings), voice, output, settings,
                      Analyzer(names=opts.names, settings=settings.measure),
                      enroller=enroller, listener=listener, keys=keys.poll if keys else None,
                      view=view, on_checkpoint=checkpoint, compose_feedback=feedback,
                      recent_questions=store.recent_questions(), demo=opts.demo, seed=opts.seed,
                      audio_sink=sink)
    interrupted = False
    try:
        record = session.run()
    except KeyboardInterrupt:
        interrupted = True
        record = session.record
    finally:
        view.close()
        if keys:
            keys.stop()
        output.close()
        if sink:
            sink.close()
            sink.path.rename(sink.path.with_name(f"{session.record.session_id}.wav"))
    store.close()
    result = record.to_json()
    result["metrics"] = session_metrics(record).to_json()
    if not opts.json and not opts.quiet:
        _print_summary(record, interrupted)
    return result, interrupted


def _print_summary(record, interrupted: bool) -> None:
    totals, shares = record.talk_totals(), record.shares()
    out = sys.stdout
    print("", file=out)
    if interrupted:
        print("Stopped early — the evening so far is saved in your history.", file=out)
    print(f"Session {record.session_id} ({record.plan}{', partial' if record.partial else ''})", file=out)
    for name in record.partners:
        secs = totals[name]
        print(f"  {name:<12} {int(secs // 60)}:{int(secs % 60):02d} talked  {shares[name] * 100:5.1f} %", file=out)
    print(f"\n{record.feedback}", file=out)
