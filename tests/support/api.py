"""The PBX's HTTP API for a test: `talker-pbx serve` in its own process, on a free loopback
port, over the test's own database; and small httpx helpers to talk to it as a user would."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx

from pbx.audit import Actor
from pbx.directory import NewEmployee, add_employee
from pbx.instance import PbxInstance
from tests.support.processes import VENV_BIN


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    def __init__(self, pbx: PbxInstance, log_path: Path):
        self.pbx = pbx
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "talker-pbx"), "--data-dir", str(pbx.data_dir), "serve", "--api-port", str(self.port)],
            stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL)
        self.log_path = log_path
        deadline = time.monotonic() + 20
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
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

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
