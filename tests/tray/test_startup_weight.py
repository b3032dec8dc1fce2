"""What the app loads at start: modules it never uses cost every user start-up time and memory
all day (bench/idle.py, bench/versus_baresip.py measure how much)."""

from __future__ import annotations

import subprocess
import sys

# rich and click (and pygments, which rich pulls in) come with the PBX's uvicorn; httpx imports
# its command-line client, and with it all three, whenever they are installed. httpx itself is
# the PBX client's, loaded once the app has started registering (and never without a PBX).
NEVER_AT_START = ("rich", "click", "pygments", "httpx")


def test_starting_the_app_loads_no_http_client_and_no_console_libraries():
    probe = ("import sys, tray.app; "
             f"print(' '.join(m for m in {NEVER_AT_START!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [], f"loaded at start: {done.stdout.strip()}"
