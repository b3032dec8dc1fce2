"""The PBX's HTTP API for a test, on a free loopback port over the test's own database, and
small httpx helpers to talk to it as a user would.

`ApiServer` runs the server `talker-pbx serve` runs (pbx.api.server.make_server: the same app,
uvicorn settings and real HTTP) on a thread of the test process, over a PbxInstance opened from
the data directory the way `serve` opens it: starting it costs milliseconds instead of a Python
start-up. `ApiProcess` is `talker-pbx serve` itself, for what only a process of its own shows
(its memory, its command line)."""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from pbx.api.server import ApiThread
from pbx.audit import Actor
from pbx.directory import NewEmployee, add_employee
from pbx.instance import PbxInstance
from tests.support.processes import VENV_BIN, free_port, stop_process

if TYPE_CHECKING:
    from tests.support.pbx import TestPbx


class _Api:
    pbx: PbxInstance
    url: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=30)

    def login(self, login: str, password: str) -> dict:
        with self.client() as c:
            r = c.post("/auth/login", json={"login": login, "password": password})
        assert r.status_code == 200, r.text
        return r.json()

    def as_(self, person: NewEmployee) -> httpx.Client:
        """A client logged in as `person` (by their SIP account and communicator password)."""
        session = self.login(f"{person.sip.username}@{person.sip.domain}", person.communicator_password)
        return self.client(session["access_token"])

    def add_employee(self, extension: str, name: str, **kw) -> NewEmployee:
        """Seed the directory the way the operator does, from the PBX's console."""
        return add_employee(self.pbx, Actor.console(), name=name, extension=extension, **kw)


class ApiServer(_Api):
    """The API on a thread of the test process; what it logs (at the level `serve` logs) goes to
    `log_path`, as `serve`'s output would."""

    def __init__(self, pbx: PbxInstance, log_path: Path):
        self.pbx = pbx
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._served = PbxInstance.open(pbx.data_dir)
        self._served.upgrade()
        self._thread = ApiThread(self._served, "127.0.0.1", self.port)
        # After make_server: uvicorn's logging set-up replaces the handlers of its own loggers,
        # which do not propagate to the root.
        self._log = logging.FileHandler(log_path)
        self._log.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self._loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
        for logger in self._loggers:
            logger.addHandler(self._log)
        try:
            self._thread.start(timeout=20)
        except BaseException:
            self.stop()
            raise

    @classmethod
    def for_kamailio(cls, kamailio: TestPbx, log_path: Path) -> ApiServer:
        """The API over the database `kamailio` serves; it tells the apps that log in to register
        at that Kamailio."""
        from pbx import settings as pbx_settings

        with kamailio.instance.sessions.begin() as s:
            pbx_settings.set_runtime(s, sip_proxy=kamailio.server)
        return cls(kamailio.instance, log_path)

    def stop(self) -> None:
        self._thread.stop()
        if self._thread.thread.is_alive():  # a client still holds a stream open: do not wait for it
            self._thread.server.force_exit = True
            self._thread.thread.join(10)
        for logger in self._loggers:
            logger.removeHandler(self._log)
        self._log.close()
        self._served.engine.dispose()


class ApiProcess(_Api):
    """`talker-pbx serve` in its own process."""

    def __init__(self, pbx: PbxInstance, log_path: Path):
        self.pbx = pbx
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "talker-pbx"), "--data-dir", str(pbx.data_dir), "serve", "--api-port", str(self.port)],
            stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL)
        self.log_path = log_path
        deadline = time.monotonic() + 60  # a Python start: seconds when four test runs share two cores
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"talker-pbx serve exited: {log_path.read_text()}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"talker-pbx serve did not answer: {log_path.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.proc, 10)
        self._log.close()
