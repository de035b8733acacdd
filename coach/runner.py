"""Assembles a session from options: picks the source, voice, output, analyzer and history."""

from __future__ import annotations

import sys
import wave
from dataclasses import dataclass
from pathlib import Path

from coach.columns import pad
from coach.errors import CoachError, DeviceError
from coach.paths import data_dir, ensure_private_dir
from coach.plans import Plan
from coach.settings import Settings

MIC_RETRY_S = 3.0
"""Seconds between attempts to reopen a lost microphone."""
SESSION_BUSY_TIMEOUT_S = 2.0
"""A checkpoint waits at most this long for a locked history, so the evening never stalls long."""


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
    commands: bool | None = None
    """Listen for spoken commands: True, False, or None for the settings file."""
    tts: str | None = None
    keep_audio: bool = False
    seed: int | None = None


class WavSink:
    """Keeps the session's microphone as a 16-bit WAV, only with --keep-audio (file mode 0600)."""

    def __init__(self, path: Path):
        import os

        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise CoachError(f"{path}: cannot keep the audio there ({exc.strerror})") from None
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
    from coach.sources import FileSource, MicSource, RealtimeSource, ResilientSource

    if opts.input_path is not None:
        source = FileSource(opts.input_path)
        return RealtimeSource(source) if opts.realtime else source
    # An unplugged headset or a closed lid must not end the evening: reopen until it is back.
    return ResilientSource(MicSource(opts.mic or settings.audio.mic), retry_every_s=MIC_RETRY_S)


def _output(opts: SessionOptions, settings: Settings):
    from coach.outputs import make_output

    spec = opts.output
    if spec is None:
        if opts.input_path is not None:  # a recording as the mic: speech goes nowhere unless named
            spec = "none"
        else:
            spec = opts.speaker_device or settings.audio.speaker_device
    try:
        return make_output(spec, default_device=opts.input_path is None)
    except DeviceError as exc:
        if opts.output is not None or opts.speaker_device is not None:
            raise  # a speaker the user named: say so rather than guess
        from coach.outputs import NullOutput

        print(f"coach: {exc}; carrying on with the prompts on screen", file=sys.stderr)
        return NullOutput()


def _view(opts: SessionOptions):
    from coach.view import LiveView, NullView, PlainView

    if opts.quiet:
        return NullView()
    if opts.json:
        return LiveView() if sys.stderr.isatty() and not opts.demo else NullView()
    if sys.stdout.isatty() and opts.input_path is None:
        return LiveView()
    return PlainView(sys.stdout)


class _History:
    """The history as the session sees it: saving never stops the evening.

    If the database cannot be opened or written (locked, damaged beyond repair, a full
    disk, a folder that is not writable), the evening still runs; the last error is kept
    in ``error`` and every checkpoint tries again, so the session is saved as soon as
    the store works. The caller reports ``error`` if the final save failed.
    """

    def __init__(self, warn):
        self.warn = warn
        self.store = None
        self.error: str | None = None
        self._open()

    def _open(self) -> bool:
        from coach.history import HistoryStore

        try:
            self.store = HistoryStore(busy_timeout_s=SESSION_BUSY_TIMEOUT_S)
        except (CoachError, OSError) as exc:
            self.error = _plain(exc)
            return False
        if self.store.recovered_from is not None:
            self.warn(f"the history database was damaged; it was moved aside to "
                      f"{self.store.recovered_from} and a fresh one was started")
        return True

    def read(self, method: str, default, *args, **kwargs):
        if self.store is None:
            return default
        try:
            return getattr(self.store, method)(*args, **kwargs)
        except (CoachError, OSError) as exc:
            self.error = _plain(exc)
            return default

    def save(self, record, metrics) -> bool:
        if self.store is None and not self._open():
            return False
        try:
            self.store.save(record, metrics)
        except (CoachError, OSError) as exc:
            self.error = _plain(exc)
            return False
        self.error = None
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _plain(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return str(exc)


def _warn(text: str) -> None:
    print(f"coach: {text}", file=sys.stderr, flush=True)


def run_guided(opts: SessionOptions, settings: Settings, source=None) -> tuple[dict, bool, str | None]:
    """Run one guided session and save it in the history.

    Args:
        opts: what the command line asked for.
        settings: all settings (flags in ``opts`` override them).
        source: an audio source to use instead of the one ``opts`` names (tests, fakes).

    Returns:
        (the `--json` result, whether it was interrupted by Ctrl-C or a signal, why it
        could not be saved in the history — None when it was saved).
    """
    from coach.analysis import Analyzer
    from coach.enrollment import Enroller
    from coach.feedback import compose_feedback
    from coach.keys import KeyReader
    from coach.metrics import session_metrics
    from coach.profiles import ProfileStore
    from coach.session import Session
    from coach.sources import ResilientSource
    from coach.voice import make_voice

    settings = settings.with_overrides(
        session={"silence_end_s": opts.silence_end_s, "keep_audio": opts.keep_audio or None},
        voice={"tts": opts.tts},
    )
    if opts.silence_end_s is not None and opts.silence_end_s < 0:
        raise CoachError("--silence-end must be 0 (never) or a number of seconds")
    # First what the user named: a bad --input or --output is refused before anything else.
    source = source or _source(opts, settings)
    output = _output(opts, settings)
    history = _History(_warn)
    if history.error:
        _warn(f"{history.error} — the evening goes on, and I'll keep trying to save it")
    earlier = history.read("summaries", [], include_demo=False, limit=10)
    listener = None
    if settings.commands.enabled if opts.commands is None else opts.commands:
        try:
            from coach.commands import CommandListener

            listener = CommandListener()
            # Before the evening starts, not in the first command's time (the user waits
            # a second or two more at the start instead).
            listener.warm_up(denoiser=True)
        except Exception as exc:  # the session works without voice commands
            _warn(f"spoken commands are off ({exc})")
    live = opts.input_path is None and isinstance(source, ResilientSource)
    enroller = Enroller(ProfileStore(), reuse=not opts.demo, persist=live)
    sink = None
    if settings.session.keep_audio:
        try:
            recordings = ensure_private_dir(data_dir() / "recordings")
        except OSError as exc:
            raise CoachError(f"cannot keep the audio: {_plain(exc)}") from None
        sink = WavSink(recordings / "pending.wav")
    try:
        cache = ensure_private_dir(data_dir() / "cache")
    except OSError:  # prompts are then rendered afresh each time
        cache = None
    voice = make_voice(settings.voice, cache)
    view = _view(opts)
    keys = KeyReader().start() if live and KeyReader.usable() and not opts.json else None

    def feedback(record) -> str:
        return compose_feedback(record, session_metrics(record), earlier)

    def checkpoint(record) -> None:
        if not history.save(record, session_metrics(record)):
            view.message(f"could not save yet: {history.error}")

    session = Session(opts.plan, opts.names, source, voice, output, settings,
                      Analyzer(names=opts.names, settings=settings.measure),
                      enroller=enroller, listener=listener, keys=keys.poll if keys else None,
                      view=view, on_checkpoint=checkpoint, compose_feedback=feedback,
                      recent_questions=history.read("recent_questions", set()), demo=opts.demo,
                      seed=opts.seed, audio_sink=sink)
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
    history.close()
    result = record.to_json()
    result["metrics"] = session_metrics(record).to_json()
    if not opts.json and not opts.quiet:
        _print_summary(record, interrupted, history.error)
    return result, interrupted, history.error


def _print_summary(record, interrupted: bool, unsaved: str | None = None) -> None:
    totals, shares = record.talk_totals(), record.shares()
    out = sys.stdout
    print("", file=out)
    if interrupted:
        print("Stopped early — " + ("the evening so far is below (it could not be saved)." if unsaved
                                    else "the evening so far is saved in your history."), file=out)
    print(f"Session {record.session_id} ({record.plan}{', partial' if record.partial else ''})", file=out)
    heard = any(totals[name] > 0 for name in record.partners)
    for name in record.partners:
        secs = totals[name]
        # With no talk at all the shares are an even split by convention: not a finding.
        share = f"{shares[name] * 100:5.1f} %" if heard else "    –"
        print(f"  {pad(name, 12)} {int(secs // 60)}:{int(secs % 60):02d} talked  {share}", file=out)
    print(f"\n{record.feedback}", file=out)
