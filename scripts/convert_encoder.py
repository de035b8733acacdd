"""Convert Resemblyzer 0.1.4's ``pretrained.pt`` into ``coach/models/voice_encoder.npz``, without torch.

Usage::

    pip download --no-deps resemblyzer==0.1.4 -d /tmp/rz && unzip -o /tmp/rz/*.whl -d /tmp/rz
    python scripts/convert_encoder.py /tmp/rz/resemblyzer/pretrained.pt [--data ../shared/data]

The checkpoint is a legacy (non-zip) torch pickle. A restricted Unpickler that knows
only ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and
``torch.FloatStorage`` reads it; anything else is refused, so the file cannot run code.
Only the inference weights are kept (LSTM + linear); the optimizer state and the GE2E
similarity weights are dropped.

With ``--data`` the script embeds the 80 LibriSpeech utterances with float32 and with
float16 weights and keeps float16 only if every utterance stays at cosine >= 0.999.
Without it, float32 is written (the safe choice).
"""

from __future__ import annotations

import argparse
import collections
import pickle
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coach.embedding import ENCODER_FILE, VoiceEncoder  # noqa: E402
from coach.sources import read_audio  # noqa: E402

_MAGIC = 0x1950A86A20F9469CFC6C
_KEEP = [f"lstm.{kind}_l{layer}" for layer in range(3)
         for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")] + ["linear.weight", "linear.bias"]
FLOAT16_MIN_COSINE = 0.999
"""The brief's bar for storing half-precision weights (halves the file)."""

LICENSE_HEADER = """\
The speaker-embedding weights in voice_encoder.npz were converted from
resemblyzer 0.1.4's pretrained.pt (https://github.com/resemble-ai/Resemblyzer,
PyPI wheel Resemblyzer-0.1.4-py3-none-any.whl) by scripts/convert_encoder.py:
only the inference weights (3-layer LSTM and linear layer) were kept, stored as {dtype}.

Copyright 2019 Resemble.AI

Licensed under the Apache License, Version 2.0 (the "License"); the full text,
as shipped in the wheel's LICENSE file, follows.

"""


class _Storage:
    """A placeholder for a torch storage until its bytes are read after the pickle."""

    def __init__(self, key: str, size: int):
        self.key, self.size, self.data = key, size, None


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def numpy(self) -> np.ndarray:
        # The LSTM tensors are views into one flat cuDNN buffer: honour offset and stride.
        base = self.storage.data
        if not self.size:
            return base[self.offset:self.offset + 1].reshape(()).copy()
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= len(base):
            raise ValueError(f"tensor view runs past its storage {self.storage.key}")
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=[s * base.itemsize for s in self.stride])
        return np.ascontiguousarray(view)


class _FloatStorage:
    """Stands in for ``torch.FloatStorage``, only as a type marker."""


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _Tensor(storage, storage_offset, tuple(size), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    _ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch", "FloatStorage"): _FloatStorage,
    }

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing {module}.{name} in a weights file") from None

    def persistent_load(self, pid):
        kind, storage_type, key, _location, size = pid[:5]
        if kind != "storage" or storage_type is not _FloatStorage:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(key, size)
        return self.storages[key]


def read_legacy_checkpoint(path: Path) -> dict:
    """Read a legacy torch checkpoint of float32 tensors into nested dicts of numpy arrays."""
    with open(path, "rb") as f:
        plain = _RestrictedUnpickler(f, {})  # the three headers hold no globals
        if plain.load() != _MAGIC:
            raise ValueError(f"{path} is not a legacy torch checkpoint")
        plain.load()  # protocol version
        sys_info = plain.load()
        if not sys_info.get("little_endian", True):
            raise ValueError("big-endian checkpoints are not supported")
        storages: dict[str, _Storage] = {}
        obj = _RestrictedUnpickler(f, storages).load()
        keys = _RestrictedUnpickler(f, {}).load()
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            data = np.frombuffer(f.read(4 * count), dtype="<f4")
            if len(data) != count:
                raise ValueError(f"{path} is truncated in storage {key}")
            if key in storages:
                storages[key].data = data
    return _materialise(obj)


def _materialise(obj):
    if isinstance(obj, _Tensor):
        return obj.numpy()
    if isinstance(obj, dict):
        return {k: _materialise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v) for v in obj)
    return obj


def inference_weights(checkpoint: dict) -> dict[str, np.ndarray]:
    state = checkpoint["model_state"]
    missing = [k for k in _KEEP if k not in state]
    if missing:
        raise KeyError(f"checkpoint lacks {missing}")
    return {k: np.asarray(state[k], dtype=np.float32) for k in _KEEP}


def _save(weights: dict, path: Path, dtype) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{k: v.astype(dtype) for k, v in weights.items()})


def _utterances(data: Path) -> list[Path]:
    return sorted((data / "speakers" / "librispeech_test-other").glob("*/*.wav"))


def compare_precisions(weights: dict, data: Path) -> np.ndarray:
    """Cosine between float16- and float32-weight embeddings of every corpus utterance."""
    with tempfile.TemporaryDirectory() as tmp:
        p32, p16 = Path(tmp) / "f32.npz", Path(tmp) / "f16.npz"
        _save(weights, p32, np.float32)
        _save(weights, p16, np.float16)
        e32, e16 = VoiceEncoder(p32), VoiceEncoder(p16)
        cos = []
        for wav in _utterances(data):
            x = read_audio(wav)
            cos.append(float(e32.embed(x) @ e16.embed(x)))
    return np.array(cos)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path, help="resemblyzer/pretrained.pt from the 0.1.4 wheel")
    ap.add_argument("--out", type=Path, default=ENCODER_FILE)
    ap.add_argument("--data", type=Path, help="shared/data folder, to test float16 parity")
    ap.add_argument("--license", type=Path, help="the wheel's LICENSE (default: beside the .dist-info)")
    args = ap.parse_args(argv)

    weights = inference_weights(read_legacy_checkpoint(args.checkpoint))
    for k, v in weights.items():
        print(f"  {k:22s} {str(v.shape):12s}")
    dtype = np.float32
    if args.data:
        cos = compare_precisions(weights, args.data)
        print(f"float16 vs float32 weights on {len(cos)} utterances: cosine min {cos.min():.7f} "
              f"mean {cos.mean():.7f}")
        if len(cos) and cos.min() >= FLOAT16_MIN_COSINE:
            dtype = np.float16
    _save(weights, args.out, dtype)
    print(f"wrote {args.out} ({np.dtype(dtype).name}, {args.out.stat().st_size:,} bytes)")

    lic = args.license or next(args.checkpoint.resolve().parents[1].glob("*.dist-info/LICENSE"), None)
    if lic and lic.exists():
        text = LICENSE_HEADER.format(dtype=np.dtype(dtype).name) + lic.read_text()
        (args.out.parent / "LICENSE-resemblyzer.txt").write_text(text)
        print(f"wrote {args.out.parent / 'LICENSE-resemblyzer.txt'}")
    else:
        print("warning: the wheel's LICENSE was not found; pass --license", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
