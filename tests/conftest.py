"""Test-wide setup: one BLAS thread before numpy loads, as the coach package itself sets."""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
