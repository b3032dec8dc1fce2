"""End-to-end fixtures: real Chromium with the real extension and native host (tests/e2e/browser.py),
the real app, Kamailio and peer phones (tests/conftest.py).

One Chromium serves a whole test module (a launch costs seconds); each test still starts from a
clean extension (default settings, no native port, no tabs) and its own app. The app of every
test listens in the module's runtime directory, where that Chromium's native host looks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, ExtensionBrowser, PageServer, build_extension
from tests.support import playwright_driver as driver

def pytest_collection_modifyitems(config, items):
    missing = [what for what, ok in (("chromium", Path(CHROMIUM).exists()), ("npm", shutil.which("npm")))
               if not ok]
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if missing:
        skip = pytest.mark.skip(reason=f"end-to-end tests need {', '.join(missing)} (scripts/setup test)")
        for item in items:
            if "e2e" in item.path.parts:
                item.add_marker(skip)


@pytest.fixture(scope="package")
def playwright_driver():
    """This package's Playwright driver (tests/support/playwright_driver.py)."""
    yield from driver.running()


@pytest.fixture
def db_url():
    """SQLite only: the browser tests exercise the extension, not the PBX's database backends."""
    return None


@pytest.fixture(scope="session")
def extension_dir(tmp_path_factory) -> Path:
    return build_extension(tmp_path_factory.mktemp("extension"))


@pytest.fixture(scope="module")
def pages():
    server = PageServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def module_browser(extension_dir, playwright_driver, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("chromium")
    browser = ExtensionBrowser(workdir, runtime_dir=workdir / "run", extension=extension_dir,
                               playwright=playwright_driver)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def browser(module_browser, monkeypatch):
    """The module's Chromium, reset; the test's app will listen where its host looks."""
    monkeypatch.setenv("TALKER_RUNTIME_DIR", str(module_browser.runtime_dir))
    module_browser.reset()
    yield module_browser


CALLEE_NUMBER = "+74951234567"


def callee_phone(kamailio, peers, options: tuple[str, ...] = ()):
    """The phone of extension 150 ("Vera Callee"), reachable also as CALLEE_NUMBER."""
    from pbx import directory
    from pbx.audit import Actor

    phone = peers(kamailio, "150", "Vera Callee", options=options)
    [vera] = [e for e in directory.list_employees(kamailio.instance, Actor.console()) if e.extension == "150"]
    directory.add_number(kamailio.instance, Actor.console(), CALLEE_NUMBER, "Sales", inbound_employee_id=vera.id)
    return phone


def hang_up(app) -> None:
    with app.client() as c:
        c.request("hangup")
