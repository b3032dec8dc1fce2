"""What loading the echo canceller costs a process: nothing while it is off, and a missing library
leaves the call its microphone with one line in the log. Each test runs a Python of its own, so
that sys.modules shows what was loaded. (The canceller itself: tests/unit/test_echo.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.processes import modules_loaded

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_off_it_loads_nothing():
    assert modules_loaded(
        "from tray.sip.echo import EchoCanceller\n"
        "c = EchoCanceller(enabled=False)\n"
        "assert c.prepare() is False\n"
        "frame = bytes(range(256)) * 2 + bytes(128)\n"
        "c.played(frame)\n"
        "assert c.process(frame) == frame\n", ("numpy", "pywebrtc_audio")) == []


def test_without_the_library_the_call_keeps_its_microphone_and_the_log_says_so_once():
    # None in sys.modules is how Python itself refuses an import: the same ImportError a
    # machine without the package gets.
    done = _python(
        "import logging, sys\n"
        "sys.modules['pywebrtc_audio'] = None\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
        "from tray.sip.echo import EchoCanceller\n"
        "c = EchoCanceller()\n"
        "assert c.prepare() is False\n"
        "frame = bytes(range(256)) * 2 + bytes(128)\n"
        "for _ in range(50):\n"
        "    c.played(frame)\n"
        "    assert c.process(frame) == frame\n"
        "print('available', c.available, 'active', c.active)\n")
    assert done.returncode == 0, done.stderr
    assert "available False active False" in done.stdout
    warnings = [line for line in done.stderr.splitlines() if "unavailable" in line]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith("WARNING") and "headset" in warnings[0]
