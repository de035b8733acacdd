"""The measurement pipeline: frames → log-mel + speech flags → attribution → segments.

``Analyzer`` is the one path for `coach analyze` and the live session. While audio
streams in it keeps, per 10 ms hop, only features (a 32-band log-mel row as float16,
about 23 MB an hour), the speech flag, whether the coach was speaking, and who held the
floor; never the audio. Live questions (is someone speaking? who spoke last?) are
answered from the speech flags at once; who said what is decided over the whole
recording when segments are asked for, because voices are learned from the recording
itself (see ``coach.attribution``).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.attribution import BOTH, OTHER, AttributionSettings, attribute, floor_labels
from coach.features import HOP_S, HOP_SAMPLES, MEL_BANDS, FeatureStream
from coach.frames import Frame
from coach.levels import OffsetRemover
from coach.record import Segment
from coach.settings import MeasureSettings
from coach.vad import SpeechDetector, VadMachine, VadSettings

BRIDGE_S = 0.25
"""Same-speaker pauses shorter than this are bridged: the corpus' (RTTM) definition of talk."""
NOISE_ROWS = 3000
"""Log-mel rows of the room's noise kept (a reservoir sample of the pauses): 30 s is plenty."""
WINDOW_HOPS = 160
"""A d-vector window is 1.6 s, the length the voice encoder was trained on."""
WINDOW_STRIDE_S = 2.0
"""At most one d-vector window starts per this much audio: a few hundred an evening
anchor the voices, at about 5 ms each..."""
WINDOW_DENSE_S = 300.0
WINDOW_STRIDE_LATE_S = 4.0
"""...for the first ``WINDOW_DENSE_S`` of the recording; after that, when the voices are
anchored, one per ``WINDOW_STRIDE_LATE_S`` (the voice encoder was 40 % of the time
of a 10-minute analysis)."""
WINDOW_SPEECH = 0.8
"""A window is used only if this fraction of it is speech (and none of it the coach)."""
EMBED_BATCH_FILE = 256
"""Windows queued before the voice encoder runs, for a file: its LSTM is a fifth faster
per window in batches of 256 than of 64, and twice as fast as in batches of 16 (see
``coach.embedding.CHUNK_WINDOWS``); the queued audio is 27 MB."""
EMBED_BATCH_LIVE = 16
"""Live, the queue is shorter, so one encoder run (~0.13 s of CPU) never holds the
listener up for long."""
_RING_S = 8.0
"""Recent audio kept for windows: a probe (below) for a 6 s phrase starts up to 5.4 s
before the latest hop (live, 4 s were enough for the regular windows alone)."""
PROBE_MIN_HOPS, PROBE_MAX_HOPS = WINDOW_HOPS, 600
"""A phrase of 1.6-6 s that no d-vector window lies in gets one of its own, a probe: it
tells only whether that phrase sounds like neither partner. Where the windows are one
per 4 s of speech (after the first ``WINDOW_DENSE_S``), a prompt of a few seconds between
turns often has none. (A shorter phrase's probe would hear its neighbours too.)"""
BATCH_S = 0.25
"""Frames are analysed in batches this long: live answers lag by at most this much."""
BATCH_SAMPLES = int(BATCH_S * 16000)
FILE_BATCH_S = 4.0
"""A file (nobody waits for live answers) is analysed in batches this long: Silero's
convolutions run a seventh faster per window in blocks of 4 s than of 1 s, and the
per-batch Python steps run a quarter as often. Segments are the same for any batch
length: the detector, the features and the noise sample are streams, and the d-vector
windows are searched from where the last search stopped (the audio ring grows with
the batch so that it still holds them)."""


def settings_from(ms: MeasureSettings) -> tuple[VadSettings, AttributionSettings]:
    """The speech detector's and attribution's settings that ``ms`` makes."""
    vad = VadSettings(model=ms.vad_model, threshold=ms.vad_threshold,
                      off_threshold=max(0.0, ms.vad_threshold - 0.15),
                      min_speech_s=ms.min_speech_s, min_silence_s=ms.min_silence_s)
    att = AttributionSettings(floor_bonus=ms.floor_bonus)
    return vad, att


class _Rows:
    """A growable array (capacity doubles), so appending is cheap and reads are views."""

    def __init__(self, width: int | None, dtype, capacity: int = 1024):
        capacity = max(1024, capacity)
        shape = (capacity, width) if width else (capacity,)
        self._buf = np.zeros(shape, dtype)
        self.n = 0

    def add(self, rows: np.ndarray) -> None:
        k = len(rows)
        if not k:
            return
        if self.n + k > len(self._buf):
            grown = np.zeros((max(2 * len(self._buf), self.n + k),) + self._buf.shape[1:], self._buf.dtype)
            grown[:self.n] = self._buf[:self.n]
            self._buf = grown
        self._buf[self.n:self.n + k] = rows
        self.n += k

    def array(self) -> np.ndarray:
        return self._buf[:self.n]


SEGMENT_PAD_S = 0.05
"""Each talk segment is widened this much (seconds) on both sides: the detector ends
speech at the last loud part of a word, while people (and the corpus' truth, which pads
by 20 ms and counts soft word endings) hear the word out."""


_SYNTHETIC: list = []


def _synthetic() -> dict:
    if not _SYNTHETIC:
        path = Path(__file__).parent / "models" / "synthetic_voices.npz"
        try:
            with np.load(path) as data:
                _SYNTHETIC.append({k: data[k] for k in ("logmel", "dvectors") if k in data.files})
        except (OSError, ValueError):
            _SYNTHETIC.append({})
    return _SYNTHETIC[0]


def synthetic_voice() -> np.ndarray | None:
    """Log-mel rows of synthetic speech (scripts/make_voice_reference.py), or None."""
    return _synthetic().get("logmel")


def synthetic_dvectors() -> np.ndarray | None:
    """(voices, 256) d-vectors of the same synthetic voices, or None."""
    return _synthetic().get("dvectors")


def segments_from_labels(labels: np.ndarray, names: list[str]) -> list[Segment]:
    """Per-hop labels → segments per speaker (overlap in both), short pauses bridged."""
    out: list[Segment] = []
    bridge = int(round(BRIDGE_S / HOP_S))
    pad = SEGMENT_PAD_S
    for who, mask in [(names[i], (labels == i) | (labels == BOTH)) for i in range(len(names))] + \
                     [(None, labels == OTHER)]:
        hops = np.flatnonzero(mask)
        if not len(hops):
            continue
        brk = np.flatnonzero(np.diff(hops) > bridge) + 1
        for a, b in zip(np.r_[0, brk], np.r_[brk, len(hops)]):
            out.append(Segment(round(max(0.0, hops[a] * HOP_S - pad), 3), round((hops[b - 1] + 1) * HOP_S + pad, 3), who))
    return sorted(out, key=lambda s: (s.start_s, s.end_s, s.speaker or ""))


class Analyzer:
    """Streaming VAD + attribution, the same path for `coach analyze` and the live session.

    Args:
        profiles: enrolled voices by name (None or empty: attribution by the floor alone).
        names: the partners in order; defaults to the profiles' names.
        settings: measurement settings.
        attribution_seed: seeds the voice models' random draws
            (``AttributionSettings.seed``): benchmarks and tests judge a change over several.
        attribution: attribution settings to use instead of those ``settings`` makes
            (benchmarks compare a change in the same run: ``bench_accuracy.py --coach-with``).
    """

    def __init__(self, profiles: dict | None = None, names: list[str] | None = None,
                 settings: MeasureSettings | None = None, expected_s: float = 0.0,
                 attribution_seed: int = 0, attribution: AttributionSettings | None = None):
        self.settings = settings or MeasureSettings()
        vad_settings, att_settings = settings_from(self.settings)
        att_settings = attribution or att_settings
        self._att_settings = dataclasses.replace(att_settings, seed=attribution_seed)
        # A phrase (for probes, as for attribution) is speech between pauses this long.
        self.phrase_pause_hops = int(round(att_settings.other_phrase_pause_s / HOP_S))
        self.names = list(names) if names else list(profiles or {})
        self._profiles: dict = {}
        self._features = FeatureStream()
        # A faulty microphone's offset would reach the spectra and voice embeddings too:
        # it is taken out here, once, for all of them and the speech detector.
        self._offset = OffsetRemover(vad_settings.dc_limit) if vad_settings.dc_limit > 0 else None
        self._detector = SpeechDetector(dataclasses.replace(vad_settings, dc_limit=0.0))
        self._machine = VadMachine(vad_settings)
        hops = int(expected_s / HOP_S) + 64  # a known length (a file) is allocated once
        self._logmel = _Rows(MEL_BANDS, np.float16, hops)
        self._flags = _Rows(None, bool, hops)
        self._mute = _Rows(None, bool, hops)
        self._floor = _Rows(None, np.int8, hops)
        self._pending_mute = np.zeros(0, bool)
        self._pending_floor = np.zeros(0, np.int8)
        self._batch: list[tuple[np.ndarray, bool, int]] = []
        self._batch_samples = 0
        self._noise = np.zeros((0, MEL_BANDS), np.float16)
        self._noise_seen = 0
        self._rng = np.random.default_rng(7)
        self._last_heard: dict[str | None, float] = {}
        self._live_talk: dict[str | None, float] = {}
        self._cache: tuple[int, list[Segment]] | None = None
        self._finished = False
        # Recent audio, for d-vector windows once the speech flags behind it are known.
        self._ring = np.zeros(0, np.float32)
        self._ring_start = 0                    # sample index of self._ring[0]
        self._next_window = 0                   # first hop a new window may start at
        self._queue_first: list[int] = []       # windows waiting for the voice encoder...
        self._queue_audio: np.ndarray | None = None  # ...and their audio, one row each
        self._embed_batch = EMBED_BATCH_FILE if expected_s > 0 else EMBED_BATCH_LIVE
        self._batch_limit = int(FILE_BATCH_S * 16000) if expected_s > 0 else BATCH_SAMPLES
        self._ring_keep = int(_RING_S * 16000) + (self._batch_limit - BATCH_SAMPLES)
        self._scan_hops = 2 * WINDOW_HOPS + (self._batch_limit - BATCH_SAMPLES) // HOP_SAMPLES
        self._window_first: list[int] = []
        self._window_emb: list[np.ndarray] = []
        self._queue_probe: list[bool] = []      # which queued windows are probes
        self._probe_first: list[int] = []
        self._probe_emb: list[np.ndarray] = []
        self._probe_from = 0                    # first hop a phrase for a probe may start at
        self._recent_firsts: list[int] = []     # the last few windows' first hops
        if profiles:
            self.set_profiles(profiles)

    # -- public interface ---------------------------------------------------------------

    def set_profiles(self, profiles: dict) -> None:
        """Use these voices (e.g. after in-session enrollment); earlier speech is re-decided too."""
        from coach.profiles import check_distinct

        self._flush_batch()
        check_distinct(profiles)
        for name in profiles:
            if name not in self.names:
                self.names.append(name)
        self._profiles = dict(profiles)
        self._cache = None

    def feed(self, frame: Frame, floor: str | None = None) -> None:
        """Add one frame; ``floor`` is who holds the floor now (a prior, not the truth).

        Frames are processed in batches of ``BATCH_S`` (``FILE_BATCH_S`` for a file):
        per-frame numpy calls would cost more than the models themselves. Live answers
        are therefore up to that old.
        """
        samples = np.asarray(frame.samples, np.float32)
        if not len(samples):
            return
        who = self.names.index(floor) if floor in self.names else -1
        self._batch.append((samples, frame.coach_speaking, who))
        self._batch_samples += len(samples)
        if self._batch_samples >= self._batch_limit:
            self._flush_batch()

    def _flush_batch(self) -> None:
        if not self._batch:
            return
        batch, self._batch, self._batch_samples = self._batch, [], 0
        samples = np.concatenate([b[0] for b in batch])
        self._pending_mute = np.concatenate(
            [self._pending_mute] + [np.full(len(b[0]), b[1]) for b in batch])
        self._pending_floor = np.concatenate(
            [self._pending_floor] + [np.full(len(b[0]), b[2], np.int8) for b in batch])
        self._push(samples)

    def _push(self, samples: np.ndarray) -> None:
        if self._offset is not None:
            samples = self._offset.apply(samples)
        self._logmel.add(self._features.push(samples))
        keep = self._ring_keep
        self._ring = np.concatenate([self._ring, samples])
        if len(self._ring) > keep:
            self._ring_start += len(self._ring) - keep
            self._ring = self._ring[-keep:]
        full = len(self._pending_mute) // HOP_SAMPLES
        if full:
            cut = full * HOP_SAMPLES
            self._mute.add(self._pending_mute[:cut].reshape(full, HOP_SAMPLES).any(axis=1))
            self._floor.add(self._pending_floor[:cut].reshape(full, HOP_SAMPLES)[:, -1])
            self._pending_mute, self._pending_floor = self._pending_mute[cut:], self._pending_floor[cut:]
        self._record_flags(self._machine.step_many(self._detector.push(samples)))

    def _record_flags(self, flags: np.ndarray) -> None:
        if not len(flags):
            return
        start = self._flags.n
        mute = self._mute.array()[start:start + len(flags)]
        if len(mute) < len(flags):  # the last partial hop at the end of a stream
            mute = np.concatenate([mute, np.zeros(len(flags) - len(mute), bool)])
        flags = flags & ~mute
        self._flags.add(flags)
        floor = self._floor.array()[start:start + len(flags)]
        speech = np.flatnonzero(flags)
        if len(speech):
            end_s = (start + speech[-1] + 1) * HOP_S
            self._last_heard[None] = end_s
            for i, name in enumerate(self.names):
                mine = speech[floor[speech] == i] if len(floor) == len(flags) else speech[:0]
                if len(mine):
                    self._last_heard[name] = (start + mine[-1] + 1) * HOP_S
                    self._live_talk[name] = self._live_talk.get(name, 0.0) + len(mine) * HOP_S
        quiet = np.flatnonzero(~flags & ~mute)
        if len(quiet):
            self._keep_noise(start + quiet)
        self._find_windows()

    def _find_windows(self) -> None:
        """Queue 1.6 s stretches of clear speech for the voice encoder."""
        from coach.embedding import N_FFT, PARTIAL_SAMPLES

        n = self._flags.n
        lo = max(self._next_window, n - self._scan_hops)
        if n - lo < WINDOW_HOPS:
            return
        ok = (self._flags.array()[lo:n] & ~self._mute.array()[lo:n]).astype(np.int32)
        cs = np.concatenate([[0], np.cumsum(ok)])
        frac = (cs[WINDOW_HOPS:] - cs[:-WINDOW_HOPS]) / WINDOW_HOPS
        dense_end = int(round(WINDOW_DENSE_S / HOP_S))
        stride_early, stride_late = int(round(WINDOW_STRIDE_S / HOP_S)), int(round(WINDOW_STRIDE_LATE_S / HOP_S))
        pad = N_FFT // 2
        i = 0
        while i < len(frac):
            if frac[i] >= WINDOW_SPEECH:
                first = lo + i
                a = first * HOP_SAMPLES - pad - self._ring_start
                b = a + PARTIAL_SAMPLES + 2 * pad
                if a >= 0 and b <= len(self._ring):
                    self._queue_window(first, self._ring[a:b])
                stride = stride_early if first < dense_end else stride_late
                self._next_window = first + stride
                i += stride
            else:
                i += 1
        self._next_window = max(self._next_window, n - WINDOW_HOPS + 1)
        self._find_probes()
        if len(self._queue_first) >= self._embed_batch:
            self._embed_windows()

    def _find_probes(self) -> None:
        """Queue a probe window for each phrase of ``PROBE_MIN_HOPS``-``PROBE_MAX_HOPS``
        that has ended (the regular search has passed it) with no window centred in it."""
        from coach.embedding import N_FFT, PARTIAL_SAMPLES

        n = self._flags.n
        lo = max(self._probe_from, n - 3000)
        pause = self.phrase_pause_hops
        if n - lo < WINDOW_HOPS + pause:
            return
        on = self._flags.array()[lo:n] & ~self._mute.array()[lo:n]
        hops = np.flatnonzero(on)
        if not len(hops):
            self._probe_from = max(self._probe_from, n - pause)
            return
        cut = np.flatnonzero(np.diff(hops) - 1 >= pause)
        starts, ends = hops[np.r_[0, cut + 1]] + lo, hops[np.r_[cut, len(hops) - 1]] + lo + 1
        pad = N_FFT // 2
        for ps, pe in zip(starts.tolist(), ends.tolist()):
            if n - pe < WINDOW_HOPS:  # not over yet, or a window may still start in it
                break
            self._probe_from = pe
            if ps == lo and lo > 0 and self._flags.array()[lo - 1]:
                continue  # began before the part searched: not known whole
            if not PROBE_MIN_HOPS <= pe - ps <= PROBE_MAX_HOPS:
                continue
            if any(ps <= f + WINDOW_HOPS // 2 < pe for f in self._recent_firsts):
                continue
            first = (ps + pe - WINDOW_HOPS) // 2
            a = first * HOP_SAMPLES - pad - self._ring_start
            b = a + PARTIAL_SAMPLES + 2 * pad
            if a >= 0 and b <= len(self._ring):
                self._queue_window(max(first, 0), self._ring[a:b], probe=True)

    def _queue_window(self, first: int, samples: np.ndarray, probe: bool = False) -> None:
        """Queue one window, volume-normalised, in a buffer allocated once: the queue
        costs its rows and nothing more (a list of copies joined later cost three times)."""
        from coach.embedding import normalize_volume

        if self._queue_audio is None:
            self._queue_audio = np.empty((self._embed_batch, len(samples)), np.float32)
        if len(self._queue_first) == len(self._queue_audio):
            self._embed_windows()
        self._queue_audio[len(self._queue_first)] = normalize_volume(samples)
        self._queue_first.append(first)
        self._queue_probe.append(probe)
        if not probe:
            self._recent_firsts = self._recent_firsts[-7:] + [first]

    def _embed_windows(self) -> None:
        from coach.embedding import N_FFT, shared_encoder

        encoder = shared_encoder()
        firsts, self._queue_first = self._queue_first, []
        probes, self._queue_probe = self._queue_probe, []
        if encoder is None or not firsts:
            return
        size = self._queue_audio.shape[1]
        starts = np.arange(len(firsts)) * size + N_FFT // 2
        emb = encoder.partial_embeddings(self._queue_audio[:len(firsts)].reshape(-1), starts)
        for first, e, probe in zip(firsts, emb, probes):
            (self._probe_first if probe else self._window_first).append(first)
            (self._probe_emb if probe else self._window_emb).append(e)

    def _keep_noise(self, hops: np.ndarray) -> None:
        """Reservoir-sample pause hops (Algorithm R), so the noise model spans the evening."""
        rows = self._logmel.array()
        hops = hops[hops < len(rows)]
        room = NOISE_ROWS - len(self._noise)
        if room > 0:
            self._noise = np.concatenate([self._noise, rows[hops[:room]]])
            self._noise_seen += len(hops[:room])
            hops = hops[room:]
        if len(hops):
            k = self._noise_seen + np.arange(1, len(hops) + 1)  # the k-th pause hop overall
            slot = (self._rng.random(len(hops)) * k).astype(np.int64)
            keep = slot < NOISE_ROWS
            self._noise[slot[keep]] = rows[hops[keep]]
            self._noise_seen += len(hops)

    @property
    def speaking(self) -> bool:
        """Whether someone is speaking as of the latest frame (the VAD machine's state)."""
        return self._machine.speaking

    def last_heard_s(self, name: str | None = None) -> float | None:
        """Audio time ``name`` (anyone when None) was last heard; provisional (by the floor)."""
        return self._last_heard.get(name)

    def live_talk_s(self) -> dict[str, float]:
        """Seconds of talk per partner so far, provisional (speech during their floor)."""
        return {n: round(self._live_talk.get(n, 0.0), 2) for n in self.names}

    def segments(self) -> list[Segment]:
        """Segments of everything decided so far (re-decided as the voices are learned)."""
        self._flush_batch()
        n = self._flags.n
        if self._cache is None or self._cache[0] != n:
            self._cache = (n, self._decide())
        return list(self._cache[1])

    def quick_segments(self) -> list[Segment]:
        """Segments so far attributed by the floor alone: cheap, provisional (checkpoints)."""
        self._flush_batch()
        n = self._flags.n
        floor = self._floor.array()[:n]
        if len(floor) < n:
            floor = np.concatenate([floor, np.full(n - len(floor), -1, np.int8)])
        return segments_from_labels(floor_labels(self._flags.array()[:n], floor), self.names)

    def finish(self) -> list[Segment]:
        """Flush everything; all segments of the whole stream."""
        if not self._finished:
            self._flush_batch()
            self._logmel.add(self._features.flush())
            rest = len(self._pending_mute)
            if rest:
                self._mute.add(np.array([self._pending_mute.any()]))
                self._floor.add(np.array([self._pending_floor[-1]], np.int8))
                self._pending_mute = np.zeros(0, bool)
            self._record_flags(self._machine.step_many(self._detector.flush()))
            self._record_flags(self._machine.flush())
            self._finished = True
        return self.segments()

    # -- deciding -------------------------------------------------------------------------

    def _decide(self) -> list[Segment]:
        n = self._flags.n
        speech = self._flags.array()[:n]
        floor = self._floor.array()[:n]
        if len(floor) < n:
            floor = np.concatenate([floor, np.full(n - len(floor), -1, np.int8)])
        if len(self.names) == 2 and all(name in self._profiles for name in self.names):
            profiles = [self._profiles[name] for name in self.names]
            self._embed_windows()
            windows = None
            if self._window_emb and all(p.dvector is not None for p in profiles):
                windows = (np.array(self._window_first), np.array(self._window_emb),
                           np.array([p.dvector for p in profiles]))
            probes = (np.array(self._probe_first, np.int64), np.array(self._probe_emb)) if self._probe_emb else None
            labels = attribute(self._logmel.array()[:n], speech, floor, self._noise,
                               [p.logmel for p in profiles], self._att_settings, windows,
                               other=synthetic_voice(), other_dvectors=synthetic_dvectors(), probes=probes)
        else:
            labels = floor_labels(speech, floor)
        return segments_from_labels(labels, self.names)


@dataclass
class AnalysisResult:
    """What `coach analyze` reports for one recording."""

    duration_s: float
    names: list[str]
    segments: list[Segment] = field(default_factory=list)
    commands: list | None = None

    def talk_s(self) -> dict[str | None, float]:
        from coach.talk import union

        out: dict[str | None, float] = {}
        for who in list(self.names) + [None]:
            spans = union([(s.start_s, s.end_s) for s in self.segments if s.speaker == who])
            out[who] = sum(b - a for a, b in spans)
        return out

    def to_json(self) -> dict:
        talk = self.talk_s()
        total = sum(talk[n] for n in self.names)
        shares = {n: (talk[n] / total if total > 0 else 1 / max(1, len(self.names))) for n in self.names}
        if self.names:  # shares add up to exactly 1 after rounding
            rounded = {n: round(v, 4) for n, v in shares.items()}
            rounded[self.names[-1]] = round(1 - sum(rounded[n] for n in self.names[:-1]), 4)
            shares = rounded
        out = {"duration_s": round(self.duration_s, 2),
               "speakers": {n: {"talk_s": round(talk[n], 2), "share": shares[n]} for n in self.names},
               "unsure_s": round(talk[None], 2),
               "segments": [{"start_s": round(s.start_s, 2), "end_s": round(s.end_s, 2),
                             "speaker": s.speaker} for s in self.segments]}
        if self.commands is not None:
            out["commands"] = self.commands
        return out


def analyze_file(path, profiles: dict, progress: bool = False,
                 settings: MeasureSettings | None = None, listeners=()) -> AnalysisResult:
    """Analyse a WAV/FLAC/OGG recording in one streaming pass.

    Args:
        path: the recording.
        profiles: enrolled voices by name.
        progress: show a progress bar on stderr (only when it is a terminal).
        settings: measurement settings.
        listeners: extra objects with ``feed(frame)`` given the same frames (e.g. commands).
    """
    from coach.sources import FileSource

    source = FileSource(Path(path), frame_samples=16000)  # 1 s frames: fewer Python steps
    analyzer = Analyzer(profiles, settings=settings, expected_s=source.duration_s)
    bar = _Progress(source.duration_s) if progress and sys.stderr.isatty() else None
    for frame in source.frames():
        analyzer.feed(frame)
        for listener in listeners:
            listener.feed(frame)
        if bar is not None:
            bar.update(frame.end_s)
    segs = analyzer.finish()
    if bar is not None:
        bar.close()
    return AnalysisResult(source.duration_s, analyzer.names, segs)


class _Progress:
    """A one-line progress bar on stderr, redrawn at most once per 1 % of the file."""

    def __init__(self, total_s: float):
        self.total_s = max(total_s, 1e-9)
        self._shown = -1

    def update(self, t_s: float) -> None:
        pct = int(100 * min(1.0, t_s / self.total_s))
        if pct != self._shown:
            self._shown = pct
            sys.stderr.write(f"\ranalysing [{'#' * (pct // 4):<25}] {pct:3d}%")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\r" + " " * 45 + "\r")
        sys.stderr.flush()
