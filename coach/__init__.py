"""coach: a voice-guided listening coach for two people, run locally."""

import os as _os

# One BLAS thread: coach's matrices are small, and on a 2-core laptop (also running a
# microphone, a speech engine and a browser) a second BLAS thread makes them 30x slower
# through contention. Set before numpy is first imported; the user's own setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
