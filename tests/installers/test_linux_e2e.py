"""Linux end to end: install into the test's HOME, then use what was installed the way a
desktop does — `xdg-open` a link (real xdg-utils, a real X display for it to see) and a real
Chromium with its default profile for that HOME — against the real app, Kamailio and a phone.

Which link proves the path: `tel:102` (and `callto:102`, `sip:102@domain`) — an extension on
the test PBX, so the phone that rings is a real pjsua2 phone and the call carries the app's
caller ID: xdg-open → mimeapps.list → talker.desktop's Exec → `talker tel:102` → control
channel → the app → Kamailio → the phone. The issue's example, tel:+74951234567, is an external
number the test PBX has no trunk for; it is opened too and must reach the app as that E.164
number (the app's call history shows it), which proves the link arrives whole, as one argument.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from common import browser_bridge
from tests.installers.conftest import install, integration, snapshot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(any(shutil.which(t) is None for t in ("xdg-open", "xdg-mime", "update-desktop-database", "Xvfb",
                                                             "dbus-daemon")),
                       reason="needs xdg-utils, desktop-file-utils, Xvfb and dbus (scripts/setup test installs them)"),
]
CHROMIUM = "/usr/bin/chromium"
# The app's own settings, call history and logs: the user's data, which uninstall keeps.
APP_DATA = (".config/talker", ".local/state/talker")
# Variables by which xdg-open would pick a desktop environment's opener instead of xdg-mime's.
DESKTOP_VARS = ("XDG_CURRENT_DESKTOP", "DESKTOP_SESSION", "KDE_FULL_SESSION", "GNOME_DESKTOP_SESSION_ID",
                "MATE_DESKTOP_SESSION_ID", "BROWSER")


def desktop_env(display: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DESKTOP_VARS}
    env["DISPLAY"] = display
    return env


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_xdg_open_links_reach_the_running_app_and_the_peer_rings(isolated_environment, kamailio, peers,
                                                                  talker_app, tmp_path):
    from tests.windows.xsession import XSession

    home = isolated_environment
    peer = peers(kamailio, "102", "Boris Petrov")
    app = talker_app(kamailio, "101", "Anna Ivanova")
    before = snapshot(home, skip=APP_DATA)
    install("--no-input")

    with XSession(tmp_path / "x") as x:
        # A desktop session has a bus; without one, xdg-open's desktop detection (dbus-send)
        # would autolaunch a bus of its own and leave ~/.dbus behind.
        x.start_dbus()
        env = desktop_env(x.display)
        env.update(x.env)
        for link in ("tel:102", "callto:102", f"sip:102@{kamailio.domain}"):
            mark = peer.mark()
            opened = subprocess.run(["xdg-open", link], env=env, capture_output=True, text=True, timeout=60,
                                    stdin=subprocess.DEVNULL)
            assert opened.returncode == 0, (link, opened.stderr)
            ringing = peer.wait_call("incoming", after=mark)
            assert ringing["remote_number"] == "101", link
            assert ringing["remote_name"] == "Anna Ivanova", link
            with app.client() as c:
                c.request("hangup")
            peer.wait_call("ended", after=mark)

        opened = subprocess.run(["xdg-open", "tel:+74951234567"], env=env, capture_output=True, text=True,
                                timeout=60, stdin=subprocess.DEVNULL)
        assert opened.returncode == 0, opened.stderr

    def external_call_in_history():
        with app.client() as c:
            return [call for call in c.request("recent_calls")["calls"] if call["number"] == "+74951234567"]

    [call] = wait_for(external_call_in_history, 20, "the external call in the app's history")
    assert call["direction"] == "out"
    assert len(peer.calls("incoming")) == 3, "the external number must not ring the extension"

    done = integration("uninstall")
    assert done.returncode == 0, done.stderr
    assert snapshot(home, skip=APP_DATA) == before


PROBE_WORKER = "// The probe: the test evaluates chrome.runtime.sendNativeMessage in this worker.\n"


def probe_extension(folder: Path, *, with_key: bool) -> Path:
    """A minimal MV3 extension that may talk to native hosts. With the shared `key` it has
    Talker's extension ID; without it, an ID of its own (from its folder's path)."""
    folder.mkdir(parents=True)
    manifest = {"manifest_version": 3, "name": f"Talker probe {folder.name}", "version": "1.0",
                "permissions": ["nativeMessaging"], "background": {"service_worker": "worker.js"}}
    if with_key:
        manifest["key"] = browser_bridge.CHROMIUM_KEY
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "worker.js").write_text(PROBE_WORKER)
    return folder


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (scripts/setup test installs it)")
def test_a_real_chromium_profile_finds_the_installed_host_and_admits_only_our_extension(
        isolated_environment, kamailio, talker_app, tmp_path, playwright_driver):
    home = isolated_environment
    talker_app(kamailio, "101", "Anna Ivanova")
    install("--no-input")
    ours = probe_extension(tmp_path / "ours", with_key=True)
    stranger = probe_extension(tmp_path / "stranger", with_key=False)
    # Chromium's default profile for this HOME ($XDG_CONFIG_HOME/chromium): the folder the
    # installer put the manifest in, and where Chromium looks when run with no --user-data-dir.
    profile = home / ".config" / "chromium"

    # The package's Playwright driver (tests/support/playwright_driver.py): one per process is allowed.
    context = playwright_driver.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, env=dict(os.environ),
        ignore_default_args=["--disable-extensions"],
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--disable-extensions-except={ours},{stranger}", f"--load-extension={ours},{stranger}"])
    try:
        # Playwright's sync API delivers the workers' events only while a call into it runs:
        # wait inside one (a page's wait_for_timeout), not in time.sleep.
        pump = context.new_page()
        deadline = time.monotonic() + 60
        while True:
            found = {w.url.split("/")[2]: w for w in context.service_workers}
            if len(found) == 2:
                break
            assert time.monotonic() < deadline, "timed out waiting for both probe extensions' service workers"
            pump.wait_for_timeout(100)
        assert browser_bridge.CHROMIUM_EXTENSION_ID in found
        send = "(host) => chrome.runtime.sendNativeMessage(host, {id: 'probe', action: 'status'})"
        reply = found.pop(browser_bridge.CHROMIUM_EXTENSION_ID).evaluate(send, browser_bridge.HOST_NAME)
        [other] = found.values()
        with pytest.raises(Exception, match="forbidden"):
            other.evaluate(send, browser_bridge.HOST_NAME)
    finally:
        context.close()

    assert reply["id"] == "probe" and reply["ok"], reply
    assert reply["result"]["registration"]["state"] == "registered"
    assert reply["result"]["registration"]["account"] == f"101@{kamailio.domain}"


def test_the_autostart_entry_starts_a_working_app(isolated_environment, kamailio, tmp_path):
    """What a session does at login: run the autostart entry's Exec (split as the desktop
    entry specification says) and get an app that registers."""
    import shlex

    from common.control_client import AppNotRunning, ControlClient, ControlError
    from tests.support.app import app_env, configure_account

    creds = kamailio.add_employee("101", "Anna Ivanova")
    configure_account(kamailio, "101", creds.password)
    install("--no-input")
    entry = (isolated_environment / ".config" / "autostart" / "talker.desktop").read_text()
    [exec_line] = [line for line in entry.splitlines() if line.startswith("Exec=")]
    args = shlex.split(exec_line.removeprefix("Exec="))
    assert len(args) == 1 and os.path.isabs(args[0])
    log = open(tmp_path / "app.log", "wb")
    app = subprocess.Popen(args, env=app_env(tmp_path), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        def registered():
            try:
                with ControlClient.connect(client="test") as c:
                    status = c.request("status")
            except (AppNotRunning, ControlError):
                assert app.poll() is None, (tmp_path / "app.log").read_text(errors="replace")
                return None
            return status if status["registration"]["state"] == "registered" else None

        status = wait_for(registered, 20, "the app started by the autostart entry to register")
        assert status["registration"]["account"] == f"101@{kamailio.domain}"
        with ControlClient.connect(client="test") as c:
            c.request("quit")
        app.wait(15)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        log.close()
