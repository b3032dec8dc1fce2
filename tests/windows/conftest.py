"""Fixtures for the windows' tests: a private X display, the PBX (Kamailio + its API), and the
real app logged in to it, whose windows listen for the test's script (testhook.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api import ApiServer
from tests.support.app import App, talker
from tests.support.processes import wait_until
from tests.windows.driver import WindowDriver
from tests.windows.xsession import XSession, missing_tools


@pytest.fixture
def db_url():
    """The windows talk to the API; the database behind it is tested elsewhere: SQLite only."""
    return None


@pytest.fixture
def xsession(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    missing = missing_tools()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    with XSession(tmp_path / "x") as x:
        monkeypatch.setenv("DISPLAY", x.display)
        yield x




class WindowedApp:
    """The app, logged in as `person`, with windows that take scripted input."""

    def __init__(self, app: App, hook_dir: Path):
        self.app = app
        self.hook_dir = hook_dir
        self._seen: set[str] = set()

    def open(self, window: str, **fields) -> WindowDriver:
        known = {str(p) for p in self.hook_dir.glob(f"{window}-*.sock")}
        with self.app.client() as c:
            c.request("open_window", window=window, **fields)
        return WindowDriver.wait_for(self.hook_dir, window, known=known)

    def request(self, action: str, **fields) -> dict:
        with self.app.client() as c:
            return c.request(action, **fields)


@pytest.fixture
def windowed_app(tmp_path: Path, xsession: XSession, pbx_api: ApiServer):
    """Start the app logged in to the PBX: `windowed_app(person)`, or not logged in: `windowed_app(None)`."""
    started: list[App] = []

    def start(person=None, *, lang: str = "en", wait_registered: bool = True,
              env: dict[str, str] | None = None) -> WindowedApp:
        if person is not None:
            done = talker("--login", person.sip.username, "--pbx", pbx_api.url,
                          stdin=person.communicator_password + "\n")
            assert done.returncode == 0, done.stderr
        hook_dir = tmp_path / "hooks"
        hook_dir.mkdir(exist_ok=True)
        app = App(tmp_path, extra_env={"TALKER_WINDOW_TEST_DIR": str(hook_dir), "TALKER_LANG": lang,
                                       **xsession.env, **(env or {})})
        started.append(app)
        windowed = WindowedApp(app, hook_dir)
        if person is not None:
            if wait_registered:
                app.wait_registered()
            wait_until(lambda: not windowed.request("pbx_state")["stale"], 15, 0.1, "the PBX state")
        else:
            app.client().close()
        return windowed

    try:
        yield start
    finally:
        for app in started:
            app.quit()
