"""Whose address the PBX API believes. The login lockout counts failures per employee and client
address, and the audit log records that address: a client that could name its own address with
X-Forwarded-For would guess without end and leave a false trail. The header counts only when it
comes from a proxy the operator named in the `trusted_proxies` setting."""

from __future__ import annotations

import subprocess

import pytest

from pbx import settings
from pbx.audit import Actor
from tests.api.helpers import audit_log, error_of
from tests.support.api import ApiServer
from tests.support.processes import VENV_BIN


def _guess_five_times(api, login: str, forged: list[str | None]) -> None:
    with api.client() as c:
        for attempt, address in enumerate(forged):
            headers = {"X-Forwarded-For": address} if address else {}
            r = c.post("/auth/login", json={"login": login, "password": f"guess-{attempt}"}, headers=headers)
            assert error_of(r, 401)["code"] == "invalid_credentials", attempt


def _failed_logins(api, admin_person) -> list[str]:
    with api.as_(admin_person) as admin:
        return [e["details"]["client"] for e in audit_log(admin) if e["action"] == "login.failed"]


def test_a_forged_forwarded_address_neither_escapes_the_lock_nor_reaches_the_audit_log(api, company):
    boris = company["boris"]
    # Each guess claims to come from somewhere else, as a proxy would say for five clients.
    _guess_five_times(api, "102", [f"203.0.113.{n}" for n in range(1, 6)])
    with api.client() as c:
        r = c.post("/auth/login", json={"login": "102", "password": boris.communicator_password},
                   headers={"X-Forwarded-For": "198.51.100.99", "X-Forwarded-Proto": "https"})
        assert error_of(r, 429)["code"] == "login_locked"
        # Without the header: the same lock, for the same address.
        r = c.post("/auth/login", json={"login": "102", "password": boris.communicator_password})
        assert error_of(r, 429)["code"] == "login_locked"
    assert _failed_logins(api, company["admin"]) == ["127.0.0.1"] * 5


@pytest.fixture
def behind_proxy(api, company, tmp_path):
    """The same PBX with the operator's setting naming the proxy on this host, the API restarted."""
    api.stop()
    with api.pbx.sessions.begin() as s:
        settings.update(s, Actor.console(), {"trusted_proxies": " 127.0.0.1 , 10.0.0.0/8"}, None)
        assert settings.get(s, "trusted_proxies") == "127.0.0.1,10.0.0.0/8"
    server = ApiServer(api.pbx, tmp_path / "api-behind-proxy.log")
    try:
        yield server
    finally:
        server.stop()


def test_behind_a_trusted_proxy_each_client_is_locked_and_audited_by_its_own_address(behind_proxy, company):
    boris = company["boris"]
    # The proxy appends the address it saw; what the client itself sent before it is not believed.
    _guess_five_times(behind_proxy, "102", ["192.0.2.7"] * 5)
    with behind_proxy.client() as c:
        r = c.post("/auth/login", json={"login": "102", "password": boris.communicator_password},
                   headers={"X-Forwarded-For": "192.0.2.7"})
        assert error_of(r, 429)["code"] == "login_locked"
        # A client forging the first hop is still known by the hop the proxy added.
        r = c.post("/auth/login", json={"login": "102", "password": boris.communicator_password},
                   headers={"X-Forwarded-For": "198.51.100.1, 192.0.2.7"})
        assert error_of(r, 429)["code"] == "login_locked"
        # Boris at another address is not locked out by the guesser.
        r = c.post("/auth/login", json={"login": "102", "password": boris.communicator_password},
                   headers={"X-Forwarded-For": "192.0.2.8"})
        assert r.status_code == 200, r.text
    assert _failed_logins(behind_proxy, company["admin"]) == ["192.0.2.7"] * 5


def test_the_setting_takes_addresses_and_networks_only(api):
    for bad in ("*", "proxy.example.com", "10.0.0.0/33"):
        console = subprocess.run(
            [str(VENV_BIN / "talker-pbx"), "--data-dir", str(api.pbx.data_dir), "settings", "set",
             f"trusted_proxies={bad}"], capture_output=True, text=True, timeout=60)
        assert console.returncode == 2, (bad, console.stderr)
        assert "IP addresses or networks" in console.stderr and "Traceback" not in console.stderr, console.stderr
    with api.pbx.sessions() as s:
        assert settings.get(s, "trusted_proxies") == ""
