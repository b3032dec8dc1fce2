"""Real Firefox (Debian's firefox-esr) with the extension, for the end-to-end tests.

Firefox is driven over Marionette, its own remote protocol, with PyPI's `marionette-driver`:
no separately downloaded driver. It runs headless on a fresh profile whose prefs ask for
Marionette on a port of its own choosing (`marionette.port` 0; Firefox writes the port it got
into `MarionetteActivePort` in the profile) and fix the add-on's moz-extension UUID, so that the
popup has a known address. The add-on (the Firefox build) is installed as a temporary
add-on, as `about:debugging` and `web-ext run` do, and the native host the Firefox way: its
manifest in ~/.mozilla/native-messaging-hosts (`native_host.install --browser firefox`), in the
browser's own HOME.

One `ExtensionFirefox` stands for the browser and its one tab: `open(url)` loads a page in it,
`open_popup()` loads the popup there. Chrome-context scripts (loading the popup, reading the
note in its closed shadow root) need `-remote-allow-system-access`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from common import browser_bridge
from tests.e2e.browser import HIGHLIGHT, NUMBERS_JS, ROOT, TEXT_POINT_JS, browser_env

FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"
ADDON_ID = browser_bridge.FIREFOX_ADDON_ID
# Fixed in the profile (extensions.webextensions.uuids) so that the popup's address is known.
ADDON_UUID = str(uuid.UUID("6a1c3f0e-2b4d-4e8f-9a7b-5c6d7e8f9a0b"))
POPUP_URL = f"moz-extension://{ADDON_UUID}/popup.html"
START_TIMEOUT_S = 120  # a cold Firefox on a busy 2-core machine

PREFS = {
    "marionette.port": 0,
    "extensions.webextensions.uuids": json.dumps({ADDON_ID: ADDON_UUID}),
    # Nothing of its own on the screen or the network while the tests run.
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "extensions.update.enabled": False,
}


def missing() -> str | None:
    """Why the Firefox tests cannot run here, or None."""
    if not Path(FIREFOX).exists():
        return "firefox-esr (scripts/setup test)"
    try:
        import marionette_driver  # noqa: F401
    except ImportError:
        return "the marionette-driver package (scripts/setup test)"
    return None


class ExtensionFirefox:
    def __init__(self, workdir: Path, *, runtime_dir: Path, extension: Path, lang: str = "en",
                 extra_env: dict[str, str] | None = None):
        from marionette_driver.addons import Addons
        from marionette_driver.marionette import Marionette

        self.workdir = workdir
        self.runtime_dir = runtime_dir
        self.env = {**browser_env(workdir, runtime_dir, lang), **(extra_env or {}), "MOZ_HEADLESS": "1"}
        self.host_log = Path(self.env["TALKER_STATE_DIR"]) / "native-host.log"
        done = subprocess.run([sys.executable, "-m", "native_host.install", "--browser", "firefox"],
                              check=True, capture_output=True, text=True, env=self.env, cwd=ROOT)
        self.host_manifest = Path(done.stdout.strip())
        self.profile = workdir / "firefox-profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        prefs = dict(PREFS, **{"intl.locale.requested": "ru" if lang == "ru" else "en-US"})
        (self.profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items()), encoding="utf-8")
        self.log_path = workdir / "firefox.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [FIREFOX, "--marionette", "-remote-allow-system-access", "--headless", "--no-remote",
             "--profile", str(self.profile), "about:blank"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        try:
            port = self._wait_port()
            self.m = Marionette(host="127.0.0.1", port=port, socket_timeout=60)
            self.m.start_session()
            self.m.timeout.script = 30
            self.addons = Addons(self.m)
            self.extension = extension
            self.addons.install(str(extension), temp=True)
        except BaseException:
            self._stop()
            raise

    def _wait_port(self) -> int:
        port_file = self.profile / "MarionetteActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if port_file.exists():
                text = port_file.read_text().strip()
                if text.isdigit():
                    return int(text)
            if self.proc.poll() is not None:
                raise AssertionError(f"firefox-esr exited with {self.proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"firefox-esr opened no Marionette port in {START_TIMEOUT_S} s: {self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def close(self) -> None:
        try:
            self.m.delete_session()
        except Exception:
            pass
        self._stop()

    def _stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def reset(self) -> None:
        """A clean add-on between tests: installed again (default settings, no native port, a
        new background page), on a blank tab."""
        self.m.navigate("about:blank")
        self.addons.uninstall(ADDON_ID)
        # Uninstalling forgets the add-on's UUID: give it the same one again.
        with self.m.using_context("chrome"):
            self.m.execute_script("Services.prefs.setStringPref('extensions.webextensions.uuids', arguments[0])",
                                  script_args=[PREFS["extensions.webextensions.uuids"]])
        self.addons.install(str(self.extension), temp=True)

    # --- the tab ---------------------------------------------------------------------------------
    def open(self, url: str, wait_numbers: int | None = None) -> ExtensionFirefox:
        self.m.navigate(url)
        if wait_numbers is not None:
            self.wait_for_numbers(wait_numbers)
        return self

    def open_popup(self) -> ExtensionFirefox:
        """The popup, loaded in the tab. WebDriver may not navigate to an extension's page; the
        browser window may, with the system principal."""
        with self.m.using_context("chrome"):
            self.m.execute_script(
                "gBrowser.selectedBrowser.fixupAndLoadURIString(arguments[0],"
                " {triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal()})",
                script_args=[POPUP_URL])
        deadline = time.monotonic() + 15
        while self.js("return location.href") != POPUP_URL:
            assert time.monotonic() < deadline, "the popup did not load"
            time.sleep(0.05)
        return self

    def js(self, script: str, *args):
        return self.m.execute_script(script, script_args=list(args))

    def call(self, function_js: str, arg):
        """Call a one-argument page function (the scripts Chromium's tests pass to evaluate())."""
        return self.m.execute_script(f"return ({function_js})(arguments[0])", script_args=[arg])

    def text(self, selector: str) -> str:
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", selector)

    def wait_text(self, selector: str, predicate, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text(selector)
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{selector} says {text!r}")
            time.sleep(0.05)

    def element(self, selector: str):
        from marionette_driver.by import By

        return self.m.find_element(By.CSS_SELECTOR, selector)

    def numbers(self) -> list[str]:
        return self.call(NUMBERS_JS, HIGHLIGHT)

    def wait_for_numbers(self, count: int, timeout: float = 15.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.numbers()
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} numbers on the page, found {found}")
            time.sleep(0.05)

    def click_at(self, x: float, y: float) -> None:
        """A real click (trusted, from the browser's input handling) at client coordinates."""
        mouse = self.m.actions.sequence("pointer", "mouse", {"pointerType": "mouse"})
        mouse.pointer_move(int(x), int(y), origin="viewport")
        mouse.pointer_down()
        mouse.pointer_up()
        mouse.perform()
        self.m.actions.release()

    def click_text(self, text: str, nth: int = 0) -> None:
        point = self.call(TEXT_POINT_JS, [text, nth])
        assert point is not None, f"{text!r} is not on the page"
        self.click_at(point["x"], point["y"])

    def note_text(self) -> str | None:
        """What the extension's note says. It is in a closed shadow root, out of the page's
        reach: read with the system principal, as devtools do."""
        return self.m.execute_script("""
            const host = document.querySelector('talker-overlay')
            const root = host && host.openOrClosedShadowRoot
            const text = root && root.querySelector('.text')
            return text && text.firstChild ? text.firstChild.nodeValue : null
        """, sandbox="system")

    def wait_for_note(self, predicate, timeout: float = 15.0, what: str = "a note") -> str:
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = self.note_text()
            if last is not None and predicate(last):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} on the page within {timeout} s; it says {last!r}")
            time.sleep(0.05)

