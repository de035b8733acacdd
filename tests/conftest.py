"""Test-wide setup: one BLAS thread before numpy loads, as the coach package itself sets."""

import os
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


import pytest  # noqa: E402  (after the BLAS setting, as numpy may come with it)


@pytest.fixture
def shared_data() -> Path:
    """The real-speech corpus (../shared/data or $COACH_SHARED_DATA); skip where absent."""
    root = Path(os.environ.get("COACH_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    if not root.is_dir():
        pytest.skip(f"real speech corpus not found at {root} (set COACH_SHARED_DATA)")
    return root


def _script(name: str):
    """A benchmark script as a module; the scripts import each other, as they do when run."""
    import importlib.util
    import sys

    scripts = Path(__file__).resolve().parents[1] / "scripts"
    if str(scripts) not in sys.path:
        sys.path.append(str(scripts))
    spec = importlib.util.spec_from_file_location(name, scripts / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench_accuracy():
    """scripts/bench_accuracy.py as a module (its case builders and scoring)."""
    return _script("bench_accuracy")


@pytest.fixture
def bench_commands():
    """scripts/bench_commands.py as a module (its trials: a command in talk, noise, a room)."""
    return _script("bench_commands")
