"""The app's threads by name in the OS (`top -H`, /proc/PID/task/*/comm, perf, and the per-thread
figures of bench/versus_baresip.py), not all "python": CPython 3.11 names no thread it starts."""

from __future__ import annotations

import sys

_prctl = None
if sys.platform == "linux":
    try:
        # Looked up here, not on first use: the first use is in a sound device's callback.
        import ctypes

        _prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        pass


def name_this_thread(name: str) -> None:
    """Linux only (PR_SET_NAME, 15 characters); elsewhere, or if it fails, nothing happens."""
    if _prctl is not None:
        _prctl(15, name.encode()[:15], 0, 0, 0)   # 15: PR_SET_NAME
