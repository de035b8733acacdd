"""Speaker embeddings: Resemblyzer's d-vector encoder (Apache-2.0, Resemble AI), run in numpy.

The weights come from resemblyzer 0.1.4's ``pretrained.pt``, converted once by
``scripts/convert_encoder.py`` (see ``models/LICENSE-resemblyzer.txt``). Inference
needs no deep-learning framework: a linear-power 40-band mel spectrogram, a 3-layer
LSTM and a linear layer, following the measured recipe in
``shared/notes/speaker-embeddings.md``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from coach.frames import SAMPLE_RATE_HZ
from coach.numerics import fast_tanh

ENCODER_FILE = Path(__file__).parent / "models" / "voice_encoder.npz"

N_FFT = 400
"""25 ms analysis window, as the encoder was trained."""
HOP_SAMPLES = 160
"""10 ms between mel frames."""
N_MELS = 40
PARTIAL_FRAMES = 160
"""Mel frames per partial window (1.6 s): the encoder's training length."""
PARTIAL_SAMPLES = PARTIAL_FRAMES * HOP_SAMPLES
"""25,600 samples: the span of frame centres of one partial window, ``start`` to
``start + PARTIAL_SAMPLES`` (exclusive). Each frame also reads ``N_FFT // 2`` samples
either side of its centre, zeros outside the signal, exactly like librosa's
``center=True`` spectrogram of the whole signal that Resemblyzer slices."""
EMBEDDING_SIZE = 256
TARGET_DBFS = -30.0
"""Resemblyzer raises (never lowers) every utterance to this RMS level; skipping it
drops agreement with the reference to cosine 0.85 (notes §2)."""
DEFAULT_RATE = 1.3
"""Partial windows per second in ``embed`` (Resemblyzer's default: step 77 frames)."""
MIN_COVERAGE = 0.75
"""The last partial is kept only if at least this much of it is real signal."""
CHUNK_WINDOWS = 256
"""Windows run through the LSTM together. The recurrent matmuls (B x 256 by 256 x 1024)
use the core better the larger B is: per window, B=230 took 4.3 ms against 4.8 ms at
B=64, 5.7 ms at B=38 and 10.6 ms at B=8 (scripts/bench_speed.py machine, one core,
busy; in the same run 4.7, 5.0, 5.9 and 11.5 ms before the layers were interleaved).
The layers run interleaved a few steps at a time, so memory stays flat at any B (8 MB
of gates at B=256)."""
BLAS_THREADS = 1
"""The recurrent matmuls are small (B x 256 by 256 x 1024, 480 in a row): OpenBLAS's
thread hand-offs cost more than they save, and on the busy 2-core machine the 80
corpus utterances took 101 s wall with 2 BLAS threads against 14 s with 1.
``coach/__init__`` sets OPENBLAS_NUM_THREADS=1, but that only works if coach is
imported before numpy (pytest and notebooks usually import numpy first), so the
limit is also applied at run time with threadpoolctl."""

_H = 256
_MEL_FRAMES = 2048
"""Frames whose spectra are computed together (3 MB of float32 frames)."""
_PROJECT_ROWS = 2048
"""Steps x windows whose input projection is computed in one matmul, and then run by
each layer in turn (8 MB of gates): 8 steps at B=256, all 160 at B=8, where the
recurrent weights stay in cache over more steps."""
_BLAS = None


def _blas_limit(threads: int | None):
    """A context that caps BLAS threads for the duration of one call (no-op for None)."""
    global _BLAS
    if threads is None:
        return contextlib.nullcontext()
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # optional: without it only the import-order guard applies
            _BLAS = False
        else:
            _BLAS = ThreadpoolController()  # finds numpy's OpenBLAS once (~1 ms)
    return _BLAS.limit(limits=threads, user_api="blas") if _BLAS else contextlib.nullcontext()


def slaney_mel_filterbank(n_fft: int = N_FFT, n_mels: int = N_MELS,
                          sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Slaney-style mel filters with Slaney area norm, 0 Hz to Nyquist, as librosa builds them.

    Returns:
        A (n_fft // 2 + 1, n_mels) float32 matrix mapping power spectra to mel bands.
    """
    def hz_to_mel(hz):
        hz = np.asarray(hz, dtype=np.float64)
        # Linear below 1 kHz, logarithmic above (Slaney's Auditory Toolbox).
        return np.where(hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0),
                        hz * 3.0 / 200.0)

    def mel_to_hz(mel):
        return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)),
                        mel * 200.0 / 3.0)

    fft_hz = np.linspace(0.0, sample_rate_hz / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate_hz / 2), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.T.astype(np.float32)


def normalize_volume(samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise a quiet signal to ``target_dbfs`` RMS; louder (or silent) signals are returned as is."""
    samples = np.asarray(samples, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 0.0:
        return samples
    change_db = target_dbfs - 20.0 * np.log10(rms)
    if change_db <= 0.0:
        return samples
    return (samples * np.float32(10.0 ** (change_db / 20.0))).astype(np.float32)


def partial_starts(n_samples: int, rate: float = DEFAULT_RATE,
                   min_coverage: float = MIN_COVERAGE) -> np.ndarray:
    """Sample offsets of the partial windows Resemblyzer's ``embed_utterance`` would use.

    Windows step by ``round(100 / rate)`` frames; the last one is dropped when less
    than ``min_coverage`` of it is signal, unless it is the only one.
    """
    n_frames = int(np.ceil((n_samples + 1) / HOP_SAMPLES))
    step = int(np.round(SAMPLE_RATE_HZ / rate / HOP_SAMPLES))
    if not 0 < step <= PARTIAL_FRAMES:
        raise ValueError(f"rate must be 0.625 to 200 partials per second, not {rate}")
    starts = np.arange(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step) * HOP_SAMPLES
    coverage = (n_samples - starts[-1]) / PARTIAL_SAMPLES
    if coverage < min_coverage and len(starts) > 1:
        starts = starts[:-1]
    return starts.astype(np.int64)


class VoiceEncoder:
    """Resemblyzer's d-vector encoder (Apache-2.0, Resemble AI), run in numpy.

    Args:
        path: an ``.npz`` written by ``scripts/convert_encoder.py`` (float16 or float32).
        chunk_windows: partial windows pushed through the LSTM at once (memory bound).
        blas_threads: BLAS threads while embedding (None leaves the process setting).
    """

    def __init__(self, path: Path = ENCODER_FILE, chunk_windows: int = CHUNK_WINDOWS,
                 blas_threads: int | None = BLAS_THREADS):
        with np.load(path) as npz:
            w = {k: npz[k].astype(np.float32) for k in npz.files}
        # Torch orders the gates i, f, g, o. Reorder to i, f, o, g and halve the
        # sigmoid gates' pre-activations, so sigmoid(x) = (1 + tanh(x / 2)) / 2 lets
        # one tanh call cover all four gates each step. The loop then carries 2h
        # instead of h, so every weight that reads h (the recurrent ones, the next
        # layer's input, the linear layer) is halved too. Halving is exact in floats.
        order = np.r_[0:2 * _H, 3 * _H:4 * _H, 2 * _H:3 * _H]
        scale = np.r_[np.full(3 * _H, 0.5), np.ones(_H)].astype(np.float32)
        self._w_in, self._w_rec, self._bias = [], [], []
        for layer in range(3):
            reads_h = 0.5 if layer else 1.0
            w_ih = w[f"lstm.weight_ih_l{layer}"][order] * scale[:, None] * reads_h
            w_hh = w[f"lstm.weight_hh_l{layer}"][order] * scale[:, None] * 0.5
            bias = (w[f"lstm.bias_ih_l{layer}"] + w[f"lstm.bias_hh_l{layer}"])[order] * scale
            self._w_in.append(np.ascontiguousarray(w_ih.T, dtype=np.float32))    # (in, 1024)
            self._w_rec.append(np.ascontiguousarray(w_hh.T, dtype=np.float32))   # (256, 1024)
            self._bias.append(bias.astype(np.float32))
        self._w_out = np.ascontiguousarray(w["linear.weight"].T * 0.5, dtype=np.float32)
        self._b_out = w["linear.bias"]
        self._mel = slaney_mel_filterbank()
        self._window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
        self.chunk_windows = max(1, int(chunk_windows))
        self.blas_threads = blas_threads

    def mel_windows(self, samples: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Linear-power mel spectra of partial windows, shape (len(starts), 160, 40).

        Frame ``j`` of a window is centred on sample ``start + 160 j``; frames shared
        by overlapping windows are computed once.
        """
        with _blas_limit(self.blas_threads):
            return self._mel_windows(samples, starts)

    def _mel_windows(self, samples: np.ndarray, starts: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected a mono 1-D signal, got shape {samples.shape}")
        starts = np.asarray(starts, dtype=np.int64)
        if starts.ndim != 1 or (len(starts) and starts.min() < 0):
            raise ValueError("starts must be a 1-D array of non-negative sample offsets")
        centres = starts[:, None] + HOP_SAMPLES * np.arange(PARTIAL_FRAMES)
        unique, inverse = np.unique(centres, return_inverse=True)
        half = N_FFT // 2
        need = int(unique[-1]) + N_FFT if len(unique) else 0
        padded = np.zeros(max(need, half + len(samples)), dtype=np.float32)
        padded[half:half + len(samples)] = samples
        mel = np.empty((len(unique), N_MELS), np.float32)
        frames_at = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)  # row s: padded[s:s + N_FFT]
        for i in range(0, len(unique), _MEL_FRAMES):  # a slice at a time: memory stays flat
            frames = frames_at[unique[i:i + _MEL_FRAMES]] * self._window
            spectrum = np.fft.rfft(frames, axis=1)
            power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
            mel[i:i + len(frames)] = power @ self._mel
        return mel[inverse.reshape(centres.shape)]

    def _lstm_steps(self, x: np.ndarray, layer: int, h2: np.ndarray, c: np.ndarray,
                    out: np.ndarray, g: np.ndarray, tmp: np.ndarray) -> None:
        """Run one LSTM layer over a slice of steps (T, B, in), carrying its state (h2, c)
        in place; each step's 2h goes to ``out[t]`` (``h2`` ends as the last of them)."""
        steps, batch, _ = x.shape
        w_rec = self._w_rec[layer]
        # The input projection needs no recurrence: one big matmul for all these steps.
        gates_in = np.matmul(x.reshape(-1, x.shape[2]), self._w_in[layer]).reshape(steps, batch, 4 * _H)
        gates_in += self._bias[layer]
        gi, gf, go, gg = g[:, :_H], g[:, _H:2 * _H], g[:, 2 * _H:3 * _H], g[:, 3 * _H:]
        ifo = g[:, :3 * _H]
        prev = h2
        tanh = fast_tanh()
        for t in range(steps):
            np.matmul(prev, w_rec, out=g)
            g += gates_in[t]
            tanh(g, out=g)
            ifo += 1.0                                   # i, f, o now 2 sigmoid(.)
            c *= gf
            np.multiply(gi, gg, out=tmp)
            c += tmp
            c *= 0.5                                     # c' = sig(f) c + sig(i) g
            prev = out[t]                                # write in place, no copy
            tanh(c, out=prev)
            prev *= go                                   # 2h' = 2 sig(o) tanh(c')
        h2[...] = prev

    def _embed_mels(self, mels: np.ndarray) -> np.ndarray:
        """The three layers run interleaved, a chunk of steps at a time: layer 2
        reads layer 1's output of those steps while it is still in cache, and memory
        stays flat at any batch size (no layer's output over all 160 steps is kept)."""
        x = np.ascontiguousarray(mels.transpose(1, 0, 2))   # time-major: contiguous steps
        steps, batch, _ = x.shape
        h2 = [np.zeros((batch, _H), np.float32) for _ in range(3)]   # 2h: see __init__
        c = [np.zeros((batch, _H), np.float32) for _ in range(3)]
        g = np.empty((batch, 4 * _H), np.float32)
        tmp = np.empty((batch, _H), np.float32)
        chunk = max(1, min(steps, _PROJECT_ROWS // max(batch, 1)))
        outs = [np.empty((chunk, batch, _H), np.float32) for _ in range(3)]
        for t0 in range(0, steps, chunk):
            part = x[t0:t0 + chunk]
            for layer in range(3):
                out = outs[layer][:len(part)]
                self._lstm_steps(part, layer, h2[layer], c[layer], out, g, tmp)
                part = out
        e = np.maximum(h2[2] @ self._w_out + self._b_out, 0.0)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def partial_embeddings(self, samples: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Embed 1.6 s windows of a signal, batched over windows.

        Args:
            samples: 16 kHz mono float32 signal, already volume-normalised if wanted.
            starts: sample offsets of the windows (see ``PARTIAL_SAMPLES``); windows may
                run past the end of the signal, which then counts as zeros.

        Returns:
            (len(starts), 256) float32, each row L2-normalised (all entries >= 0).
        """
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        out = np.empty((len(starts), EMBEDDING_SIZE), np.float32)
        with _blas_limit(self.blas_threads):
            for i in range(0, len(starts), self.chunk_windows):
                part = starts[i:i + self.chunk_windows]
                out[i:i + len(part)] = self._embed_mels(self._mel_windows(samples, part))
        return out

    def embed(self, samples: np.ndarray, rate: float = DEFAULT_RATE) -> np.ndarray:
        """Utterance embedding as Resemblyzer's ``embed_utterance`` computes it.

        The signal is raised to -30 dBFS, cut into partials at ``rate`` per second,
        and the partial embeddings are averaged and L2-normalised. Silence is not
        trimmed: pass speech (e.g. the VAD's segments joined).

        Returns:
            (256,) float32 unit vector.
        """
        return self.embed_many([samples], rate)[0]

    def embed_many(self, clips: list[np.ndarray], rate: float = DEFAULT_RATE) -> list[np.ndarray]:
        """``embed`` of each clip, all partial windows in one batch (the LSTM is several
        times faster per window in a batch than alone); each result is what the clip
        gives alone.

        Each clip is followed by enough zeros that no window or frame of one clip reads
        the next, exactly as each would be embedded alone.
        """
        gap = np.zeros(PARTIAL_SAMPLES + N_FFT, np.float32)
        parts, starts, counts, offset = [], [], [], 0
        for clip in clips:
            x = normalize_volume(np.asarray(clip, np.float32))
            st = partial_starts(len(x), rate)
            parts += [x, gap]
            starts.append(st + offset)
            counts.append(len(st))
            offset += len(x) + len(gap)
        if not clips:
            return []
        partials = self.partial_embeddings(np.concatenate(parts), np.concatenate(starts))
        out = []
        for chunk in np.split(partials, np.cumsum(counts)[:-1]):
            mean = chunk.mean(axis=0)
            out.append((mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32))
        return out


_SHARED: list = []


def shared_encoder() -> "VoiceEncoder | None":
    """One encoder per process (loading takes ~0.1 s); None if the weights file is missing."""
    if not _SHARED:
        try:
            _SHARED.append(VoiceEncoder())
        except (OSError, ValueError, KeyError):
            _SHARED.append(None)
    return _SHARED[0]
