"""What the app loads at start: modules it never uses cost every user start-up time and memory
all day (bench/idle.py, bench/versus_baresip.py measure how much)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.processes import modules_loaded

# rich and click (and pygments, which rich pulls in) come with the PBX's uvicorn, and httpx imports
# all three whenever they are installed. The app speaks HTTP and the event stream's websocket itself
# (tray/pbx_transport.py): httpx, httpcore, anyio and websockets held 9.4 MB all day (decision 33).
NEVER_LOADED = ("rich", "click", "pygments", "httpx", "httpcore", "anyio", "websockets", "importlib.metadata")


def test_the_app_and_its_pbx_client_load_no_http_or_console_library():
    loaded = modules_loaded("import tray.app, tray.pbx_client, tray.pbx_session", NEVER_LOADED)
    assert loaded == [], f"loaded: {loaded}"


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
