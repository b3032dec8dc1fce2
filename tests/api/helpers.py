"""What several API tests look at the same way: the state an administrator can see (to prove
that a refused write changed nothing), and the error body every refusal must carry."""

from __future__ import annotations

import asyncio

import httpx


def error_of(response: httpx.Response, status: int) -> dict:
    """The `error` object of a refusal, after checking its status and shape."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    error = response.json()["error"]
    assert error["code"] and error["message"], response.text
    return error


def fields_of(response: httpx.Response) -> dict[str, str]:
    """field → code of a 422's field-level reasons."""
    error = error_of(response, 422)
    return {f["field"]: f["code"] for f in error["fields"]}


def audit_log(admin: httpx.Client, after_id: int = 0) -> list[dict]:
    entries, last = [], after_id
    while True:
        r = admin.get("/audit", params={"after_id": last, "limit": 500})
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            return entries
        entries += page
        last = page[-1]["id"]


def last_audit_id(admin: httpx.Client) -> int:
    entries = audit_log(admin)
    return entries[-1]["id"] if entries else 0


class Snapshot:
    """Everything an administrator can read about the directory, and where the audit log ends:
    equal snapshots around a refused write mean it left no trace."""

    def __init__(self, admin: httpx.Client):
        self.admin = admin
        self.employees = self._read("/employees")
        self.numbers = self._read("/numbers")
        self.company = self._read("/contacts/company")
        self.settings = self._read("/settings")
        self.audit_id = last_audit_id(admin)

    def _read(self, path: str):
        r = self.admin.get(path)
        assert r.status_code == 200, r.text
        return r.json()

    def assert_unchanged(self, what: str) -> None:
        assert self._read("/employees") == self.employees, f"{what}: the employees changed"
        assert self._read("/numbers") == self.numbers, f"{what}: the numbers changed"
        assert self._read("/contacts/company") == self.company, f"{what}: the company book changed"
        assert self._read("/settings") == self.settings, f"{what}: the settings changed"
        new = audit_log(self.admin, self.audit_id)
        assert new == [], f"{what}: the audit log grew: {new}"


def recording_client(api, token: str, seen: list[tuple[str, str]]) -> httpx.Client:
    """A client that keeps (request line, response text) of every exchange, to look for what
    must never be in an answer."""
    def keep(response: httpx.Response) -> None:
        response.read()
        seen.append((f"{response.request.method} {response.request.url.path}", response.text))

    return httpx.Client(base_url=api.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                        event_hooks={"response": [keep]})


async def until(condition, what: str, seconds: float = 10) -> None:
    """Until `condition()` holds (the app's PBX client, on its own loop), at most `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"no {what} within {seconds} s")
        await asyncio.sleep(0.05)


async def until_fresh(client) -> None:
    """Until the app's PBX client has the PBX's current settings (tray/pbx_client.py)."""
    await until(lambda: not client.snapshot()["stale"], f"current settings ({client.snapshot()['reason']})")
