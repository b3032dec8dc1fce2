"""Real Chromium with the real extension, for end-to-end tests and benchmarks.

One `ExtensionBrowser` is a Playwright persistent context on /usr/bin/chromium with the built
extension (build_extension: a folder of its own) loaded unpacked and the native host's manifest installed in
its profile, so that the extension starts the real host, which talks to the real app. Its HOME,
state and the app's runtime directory (where the host looks for the app) are its own. Facts this
relies on are in docs/platform-notes.md (launch flags, NativeMessagingHosts in the profile, HOME).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import browser_bridge

ROOT = Path(__file__).resolve().parents[2]
EXTENSION_SRC = ROOT / "extension"
CHROMIUM = "/usr/bin/chromium"
EXTENSION_ID = browser_bridge.CHROMIUM_EXTENSION_ID
POPUP_URL = f"chrome-extension://{EXTENSION_ID}/popup.html"
HIGHLIGHT = "talker-number"


def build_extension(outdir: Path, browser: str = "chromium") -> Path:
    """The Chromium (or Firefox) build of `npm run build` (extension/build.mjs), into `outdir`:
    the build empties its folder first, so each pytest-xdist worker needs its own while another's
    browser is running the extension from it."""
    script = ("const { buildExtension } = await import('./build.mjs');"
              f"await buildExtension({json.dumps(browser)}, {json.dumps(str(outdir))});")
    done = subprocess.run(["node", "--input-type=module", "-e", script], cwd=EXTENSION_SRC, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the extension's build failed:\n{done.stdout}\n{done.stderr}")
    return outdir


def browser_env(workdir: Path, runtime_dir: Path, lang: str = "en") -> dict[str, str]:
    """Chromium's environment, which the native host inherits: its own HOME, and the app's
    runtime directory, so that the host finds the test's app."""
    home = workdir / "home"
    state = workdir / "state"
    for d in (home, state, runtime_dir):
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "TALKER_RUNTIME_DIR": str(runtime_dir),
        "TALKER_STATE_DIR": str(state),
        "TALKER_LANG": lang,
        "LANGUAGE": lang,
        "LANG": "ru_RU.UTF-8" if lang == "ru" else "en_US.UTF-8",
    })
    return env


class ExtensionBrowser:
    def __init__(self, workdir: Path, *, runtime_dir: Path, extension: Path, lang: str = "en",
                 headless: bool = True, playwright=None, extra_env: dict[str, str] | None = None,
                 default_profile: bool = False):
        """`playwright`: a started sync_playwright() to share (one per process may run).
        `default_profile`: run on the user's own Chromium profile, $XDG_CONFIG_HOME/chromium (here
        outside HOME), with the host installed for the user as a developer does
        (`native_host.install --browser chromium`); else on a profile of its own with the host
        installed into it (`--profile`)."""
        from playwright.sync_api import sync_playwright

        self.workdir = workdir
        self.runtime_dir = runtime_dir
        self.env = {**browser_env(workdir, runtime_dir, lang), **(extra_env or {})}
        install = [sys.executable, "-m", "native_host.install", "--browser", "chromium"]
        if default_profile:
            self.env["XDG_CONFIG_HOME"] = str(workdir / "xdg-config")
            self.profile = Path(self.env["XDG_CONFIG_HOME"]) / "chromium"
        else:
            self.profile = workdir / "profile"
            # With --user-data-dir, Chromium looks for host manifests in the profile only.
            install += ["--profile", str(self.profile)]
        self.profile.mkdir(parents=True, exist_ok=True)
        self.host_log = Path(self.env["TALKER_STATE_DIR"]) / "native-host.log"
        subprocess.run(install, check=True, capture_output=True, env=self.env, cwd=ROOT)
        self._own_playwright = playwright is None
        self._playwright = playwright or sync_playwright().start()
        try:
            self.context = self._playwright.chromium.launch_persistent_context(
                str(self.profile), executable_path=CHROMIUM, headless=headless, env=self.env,
                ignore_default_args=["--disable-extensions"],
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      f"--lang={'ru' if lang == 'ru' else 'en-US'}",
                      f"--disable-extensions-except={extension}", f"--load-extension={extension}"])
        except Exception:
            if self._own_playwright:
                self._playwright.stop()
            raise
        self._workers: list = []
        self.context.on("serviceworker", self._add_worker)
        for w in self.context.service_workers:
            self._add_worker(w)

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            if self._own_playwright:
                self._playwright.stop()

    # --- the service worker -------------------------------------------------------------------
    def _add_worker(self, worker) -> None:
        if worker.url.startswith(f"chrome-extension://{EXTENSION_ID}/"):
            self._workers.append(worker)
            worker.on("close", lambda w=worker: self._workers.remove(w) if w in self._workers else None)

    def service_worker(self, timeout: float = 10.0):
        """The extension's worker; woken by opening an extension page if it was stopped."""
        deadline = time.monotonic() + timeout
        woke = False
        while not self._workers:
            if not woke:
                page = self.context.new_page()
                page.goto(POPUP_URL)
                page.close()
                woke = True
            if time.monotonic() > deadline:
                raise AssertionError("the extension's service worker did not start")
            self._pump()
        return self._workers[-1]

    def sw(self, expression: str, arg=None):
        """Evaluate in the service worker (globalThis.talker is its test hook)."""
        return self.service_worker().evaluate(expression, arg)

    def stop_service_worker(self) -> None:
        """What the browser does to an idle worker at any time. docs/platform-notes.md: not while Playwright
        watches, so through the devtools protocol, from a page of the extension's own origin
        (a web page's session does not reach extension workers). Playwright's Worker object
        then stands for the next instance of the worker."""
        page = self.context.new_page()
        page.goto(f"chrome-extension://{EXTENSION_ID}/manifest.json")  # wakes nothing
        cdp = self.context.new_cdp_session(page)
        states: list[str] = []
        cdp.on("ServiceWorker.workerVersionUpdated",
               lambda e: states.extend(v["runningStatus"] for v in e["versions"]
                                       if v["scriptURL"].startswith(f"chrome-extension://{EXTENSION_ID}/")))
        try:
            cdp.send("ServiceWorker.enable")
            cdp.send("ServiceWorker.stopAllWorkers")
            deadline = time.monotonic() + 5
            while "stopped" not in states:
                assert time.monotonic() < deadline, f"the service worker did not stop: {states}"
                self._pump()
        finally:
            cdp.detach()
            page.close()

    def _pump(self) -> None:
        """Let Playwright deliver its events (the sync API does so only inside its own calls)."""
        self.context.cookies()
        time.sleep(0.02)

    def reset(self) -> None:
        """A clean extension between tests: default settings, no native port, no tabs."""
        for page in list(self.context.pages):
            page.close()
        self.sw("async () => { talker.reset(); await chrome.storage.local.clear();"
                " await chrome.storage.local.set({debugStats: true}) }")

    # --- pages ----------------------------------------------------------------------------------
    def open(self, url: str, wait_numbers: int | None = None):
        page = self.context.new_page()
        page.goto(url)
        if wait_numbers is not None:
            wait_for_numbers(page, wait_numbers)
        return page

    def tab_id(self, page, timeout: float = 10.0) -> int:
        """The page's tab id, from the stats its content script reported to the worker."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.sw("(url) => { for (const [id, s] of talker.stats) if (s.url === url) return id; return null }",
                            page.url)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no tab id for {page.url}")
            time.sleep(0.05)

    def open_popup(self, for_page=None):
        """The popup, opened as a tab (for_page: the page whose site it shows)."""
        url = POPUP_URL + (f"?tab={self.tab_id(for_page)}" if for_page is not None else "")
        popup = self.context.new_page()
        popup.goto(url)
        return popup


# Page scripts both browsers' tests run (Playwright's evaluate() and Marionette's execute_script()
# call them with one argument).
NUMBERS_JS = """(name) => {
    const h = CSS.highlights.get(name)
    if (!h) return []
    const out = []
    // forEach, not for-of: Firefox's script sandbox cannot iterate a page object.
    h.forEach((r) => {
        const x = document.createRange()
        x.setStart(r.startContainer, r.startOffset)
        x.setEnd(r.endContainer, r.endOffset)
        out.push([x.getBoundingClientRect().top, x.getBoundingClientRect().left, x.toString()])
    })
    return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(e => e[2])
}"""

TEXT_POINT_JS = """([text, nth]) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    let seen = 0
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        let i = node.data.indexOf(text)
        while (i >= 0) {
            if (seen++ === nth) {
                const r = document.createRange()
                r.setStart(node, i)
                r.setEnd(node, i + text.length)
                r.startContainer.parentElement.scrollIntoView({block: 'center'})
                const b = r.getBoundingClientRect()
                return {x: b.left + b.width / 2, y: b.top + b.height / 2}
            }
            i = node.data.indexOf(text, i + 1)
        }
    }
    return null
}"""


def numbers(page) -> list[str]:
    """The numbers the extension marked on the page, as the page shows them."""
    return page.evaluate(NUMBERS_JS, HIGHLIGHT)


def wait_for_numbers(page, count: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = numbers(page)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} numbers on the page, found {found}")
        time.sleep(0.05)


def text_point(page, text: str, nth: int = 0) -> dict:
    """The middle of the nth occurrence of `text` in the page's text, in client coordinates."""
    point = page.evaluate(TEXT_POINT_JS, [text, nth])
    assert point is not None, f"{text!r} is not on the page"
    return point


def click_text(page, text: str, nth: int = 0) -> None:
    p = text_point(page, text, nth)
    page.mouse.click(p["x"], p["y"])


def note_text(page) -> str | None:
    """What the extension's note on the page says. It lives in a closed shadow root (page
    scripts cannot read it), so the test reads it as devtools do."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    finally:
        cdp.detach()

    def attrs(node):
        a = node.get("attributes", [])
        return dict(zip(a[::2], a[1::2], strict=True))

    def find(node, inside=False):
        inside = inside or node.get("nodeName") == "TALKER-OVERLAY"
        if inside and node.get("nodeName") == "DIV" and attrs(node).get("class") == "text":
            first = (node.get("children") or [{}])[0]
            return first.get("nodeValue")
        for child in node.get("children", []) + node.get("shadowRoots", []):
            found = find(child, inside)
            if found is not None:
                return found
        return None

    return find(root)


def wait_for_note(page, predicate, timeout: float = 15.0, what: str = "a note") -> str:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = note_text(page)
        if last is not None and predicate(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} on the page within {timeout} s; it says {last!r}")
        time.sleep(0.05)


class PageServer:
    """Test pages on a loopback HTTP port: `server.add("/name.html", html)` → its URL."""

    def __init__(self):
        self.pages: dict[str, bytes] = {}
        handler = functools.partial(_Handler, self.pages)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html.encode("utf-8")
        return self.url + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    def __init__(self, pages, *args, **kwargs):
        self.pages = pages
        super().__init__(*args, **kwargs)

    def do_GET(self):
        body = self.pages.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def page(body: str, script: str = "", title: str = "Talker test page") -> str:
    return (f'<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>{body}<script>{script}</script></body></html>")

