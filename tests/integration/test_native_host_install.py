"""The native host's installer as a browser and an administrator meet it: the extension's build
(Node) writes the facts Python holds, the installed launcher really is the host, and the
command line installs. (The manifests' contents: tests/unit/test_native_host_install.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common import browser_bridge
from native_host import install

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (scripts/setup test installs it)")
@pytest.mark.parametrize("family", ["chromium", "firefox"])
def test_the_extensions_build_writes_the_same_facts_into_its_manifests(family):
    script = (f"const m = await (await import('./build.mjs')).manifestFor('{family}');"
              "console.log(JSON.stringify(m))")
    done = subprocess.run(["node", "--input-type=module", "-e", script], cwd=ROOT / "extension",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    if family == "chromium":
        assert browser_bridge.extension_id_from_key(manifest["key"]) == browser_bridge.CHROMIUM_EXTENSION_ID
    else:
        assert manifest["browser_specific_settings"]["gecko"]["id"] == browser_bridge.FIREFOX_ADDON_ID
    assert set(manifest["permissions"]) == {"nativeMessaging", "storage"}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX launcher")
def test_installing_into_a_chromium_profile_writes_a_manifest_and_a_working_launcher(tmp_path):
    profile = tmp_path / "profile"
    path = install.install("chromium", profile)
    assert path == profile / "NativeMessagingHosts" / f"{browser_bridge.HOST_NAME}.json"
    manifest = json.loads(path.read_text())
    assert manifest["allowed_origins"] == browser_bridge.allowed_origins()
    launcher = Path(manifest["path"])
    assert launcher.is_absolute() and os.access(launcher, os.X_OK)
    # The launcher really is the host: a status request with no app gets app_not_running.
    payload = json.dumps({"id": "1", "action": "status"}).encode()
    done = subprocess.run([str(launcher), browser_bridge.allowed_origins()[0]],
                          input=len(payload).to_bytes(4, sys.byteorder) + payload, capture_output=True, timeout=30)
    assert json.loads(done.stdout[4:])["error"]["code"] == "app_not_running"

    install.uninstall("chromium", profile)
    assert list((profile / "NativeMessagingHosts").iterdir()) == []


def test_the_command_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "native_host.install", "--browser", "chromium",
                           "--profile", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).exists()
