"""The cabinet in real Chromium against a real `talker-pbx serve` (tests/support/api.py), on
SQLite and PostgreSQL (the `db_url` fixture). One browser per module; each test gets its own
browser context (its own sessionStorage, so its own login) and its own PBX."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.api.conftest import api, company  # noqa: F401 - the API tests' fixtures, reused
from tests.support import playwright_driver as driver
from tests.support.api import ApiServer

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="package")
def playwright_driver():
    """This package's Playwright driver (tests/support/playwright_driver.py)."""
    yield from driver.running()


@pytest.fixture(scope="module")
def browser(tmp_path_factory, playwright_driver):
    home = tmp_path_factory.mktemp("chromium-home")  # Chromium writes into $HOME whatever the profile
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, env={**os.environ, "HOME": str(home)},
        args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"])
    try:
        yield chromium
    finally:
        chromium.close()


class Cabinet:
    """One browser tab on the cabinet, driven the way a person uses it."""

    def __init__(self, context, url: str):
        self.context = context
        self.url = url
        self.page = context.new_page()
        self.page.set_default_timeout(20_000)
        self.problems: list[str] = []  # page errors and CSP refusals
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("console", self._console)
        self.page.on("dialog", lambda d: d.accept())  # "Generate a new password?" etc.: yes

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or message.type == "error" and "404" not in message.text:
            self.problems.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    def open(self, path: str = "") -> None:
        self.page.goto(f"{self.url}/#/{path}")

    def log_in(self, login: str, password: str) -> None:
        self.open()
        self.page.fill("#login", login)
        self.page.fill("#password", password)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_selector("#top:not([hidden])")
        self.page.wait_for_selector("#main[aria-busy='false']")  # the landing page has loaded

    def go(self, path: str, ready: str) -> None:
        """Follow the cabinet to #/path and wait until `ready` (a selector) is on the page and the
        page has finished loading, as a person waits before using it."""
        self.page.evaluate("path => { location.hash = '#/' + path; }", path)
        self.page.wait_for_selector(ready)
        self.page.wait_for_selector("#main[aria-busy='false']")

    def clipboard(self) -> str:
        return self.page.evaluate("navigator.clipboard.readText()")

    def axe(self) -> list[dict]:
        """axe-core's serious and critical violations on the page as it is now. axe comes from
        tests/cabinet/node_modules through Playwright (the page's CSP would refuse it as a script
        tag, rightly)."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            if not AXE.exists():
                raise RuntimeError(f"{AXE} is missing: `scripts/setup test` installs it (npm ci in tests/cabinet)")
            self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }""")
        return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.fixture
def cabinet(browser, api):  # noqa: F811 - `api` is the imported fixture
    """A fresh browser context (English, 1280x720, clipboard allowed) on the test's PBX."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US",
                                  permissions=["clipboard-read", "clipboard-write"])
    try:
        yield Cabinet(context, api.url)
    finally:
        context.close()


@pytest.fixture
def cabinet_on(browser):
    """Cabinets on a PBX the test starts itself: cabinet_on(api_server)."""
    contexts = []

    def open_on(server: ApiServer) -> Cabinet:
        context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US",
                                      permissions=["clipboard-read", "clipboard-write"])
        contexts.append(context)
        return Cabinet(context, server.url)
    try:
        yield open_on
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the cabinet's pictures go: the README's docs/screenshots/ when asked to refresh them
    (TALKER_UPDATE_SCREENSHOTS=1, as tests/screenshots does), else the test's own folder, so a
    test run leaves the checkout as it found it."""
    if os.environ.get("TALKER_UPDATE_SCREENSHOTS") == "1":
        return DOCS_SCREENSHOTS
    return tmp_path
