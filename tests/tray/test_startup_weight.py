"""What the app loads at start: modules it never uses cost every user start-up time and memory
all day (bench/idle.py, bench/versus_baresip.py measure how much)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.processes import modules_loaded

# rich and click (and pygments, which rich pulls in) come with the PBX's uvicorn; httpx imports
# its command-line client, and with it all three, whenever they are installed. httpx itself is
# the PBX client's, loaded once the app has started registering (and never without a PBX).
NEVER_AT_START = ("rich", "click", "pygments", "httpx")


def test_starting_the_app_loads_no_http_client_and_no_console_libraries():
    loaded = modules_loaded("import tray.app", NEVER_AT_START)
    assert loaded == [], f"loaded at start: {loaded}"


# C modules the idle app has no use for, and what needs them: OpenSSL's digests (hashlib, hmac,
# secrets: the Windows control channel's secret), FreeType (Pillow's fonts: the count of missed
# calls on the icon), bz2 and lzma (shutil, which webbrowser imports: a web page opened from the
# menu), pickle (logging.handlers' network handlers; the app's log file rotates without them).
NOT_WHILE_IDLE = ("_hashlib", "_imagingft", "_bz2", "_lzma", "_pickle")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the loaded libraries are read from /proc")
def test_the_registered_idle_app_has_loaded_no_library_that_only_a_feature_needs(kamailio, talker_app):
    app = talker_app(kamailio)
    maps = Path(f"/proc/{app.proc.pid}/maps").read_text()
    assert [name for name in NOT_WHILE_IDLE if f"/{name}." in maps] == []
