"""stream-t1: test-time scaling for streaming video generation."""

import os

# MKL may use fewer threads than asked when the machine is busy, which changes the order of its
# sums and so the last bits of a video: same seed and settings must give the same video however
# many processes share the machine (`streamt1 evaluate --workers`). Read when MKL starts, so only
# where stream-t1 is imported before torch (the CLI); set MKL_DYNAMIC yourself to choose otherwise.
os.environ.setdefault("MKL_DYNAMIC", "FALSE")

__version__ = "0.1.0"
