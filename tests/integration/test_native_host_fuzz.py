"""Fuzzing the real native host process (`python -m native_host`): whatever reaches its stdin,
it exits cleanly and writes only well-formed frames of schema-valid error replies. A few dozen
examples, each a Python start; the relay core gets thousands in tests/unit/test_native_host_fuzz.py."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import HealthCheck, given, settings

from tests.support.native_frames import parse_frames, streams


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_the_real_process_survives_any_input(stream):
    _, data = stream
    done = subprocess.run([sys.executable, "-m", "native_host"], input=data, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    replies = parse_frames(done.stdout)
    # Nothing runs on the other side: every readable request is answered app_not_running,
    # everything else with invalid_message or unknown_action.
    assert {r["error"]["code"] for r in replies} <= {"app_not_running", "invalid_message", "unknown_action"}


def test_a_megabyte_of_random_bytes():
    import random

    data = random.Random(4).randbytes(1 << 20)
    done = subprocess.run([sys.executable, "-m", "native_host"], input=data, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    parse_frames(done.stdout)
