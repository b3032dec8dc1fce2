"""The event stream (websocket /api/v1/events) as the app uses it: a change reaches the
employees it concerns within a second, whichever process made it, and nobody else."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time

import pytest
from sqlalchemy import func, select
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from pbx.db import AuditEntry
from tests.support.processes import VENV_BIN

PROMPT_S = 1.0  # what "at once" means to someone looking at the app


class Events:
    """One app's event stream. It skips what happened before it was opened: the server's
    poller may still be handing out the fixture's own changes when a test connects."""

    def __init__(self, ws: ClientConnection, after_id: int):
        self.ws, self.after_id = ws, after_id

    def next(self, within: float) -> dict:
        deadline = time.monotonic() + within
        while True:
            try:
                event = json.loads(self.ws.recv(timeout=max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                raise AssertionError(f"no event within {within} s") from None
            if event.get("event_id", self.after_id + 1) > self.after_id:
                return event

    def assert_quiet(self, within: float) -> None:
        with pytest.raises(AssertionError, match="no event"):
            event = self.next(within)
            pytest.fail(f"unexpected event: {event}")


@contextlib.contextmanager
def stream(api, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    url = api.url.replace("http://", "ws://") + "/api/v1/events"
    with api.pbx.sessions() as s:
        after_id = s.scalar(select(func.max(AuditEntry.id))) or 0
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello", hello
        yield Events(ws, after_id)


def session(api, person) -> str:
    return api.login(f"{person.sip.username}@{person.sip.domain}", person.communicator_password)["access_token"]


def test_a_change_reaches_the_employees_it_concerns_within_a_second_whoever_made_it(api, company):
    boris_id = company["boris"].employee.id
    vera_token, boris_token = session(api, company["vera"]), session(api, company["boris"])
    with api.as_(company["admin"]) as admin, api.client(vera_token) as vera_http, \
            stream(api, vera_token) as vera, stream(api, boris_token) as boris:

        def everyone_hears(what: tuple, done: float) -> dict:
            for person in (boris, vera):
                event = person.next(PROMPT_S)
                assert time.monotonic() - done < PROMPT_S
                assert (event["type"], event["resource"], event["action"]) == ("changed", *what), event
            return event

        # A change an administrator makes through the API...
        r = admin.post("/contacts/company", json={"name": "Plumbing Ltd", "number": "+74950001122"})
        assert r.status_code == 201, r.text
        event = everyone_hears(("contacts.company", "contact.company.create"), time.monotonic())
        assert event["id"] == r.json()["id"]
        r = admin.patch(f"/employees/{boris_id}", json={"name": "Boris Petrovich"}, headers={"If-Match": "*"})
        assert r.status_code == 200, r.text
        event = everyone_hears(("employee", "employee.update"), time.monotonic())
        assert event["id"] == boris_id

        # ...and one the operator makes at the console, in another process.
        console = subprocess.run(
            [str(VENV_BIN / "talker-pbx"), "--data-dir", str(api.pbx.data_dir), "employee", "add",
             "--extension", "150", "--name", "Console Hire"],
            capture_output=True, text=True, timeout=60)
        assert console.returncode == 0, console.stderr
        event = everyone_hears(("employee", "employee.create"), time.monotonic())
        hire = [e for e in vera_http.get("/directory").json() if e["extension"] == "150"]
        assert [e["id"] for e in hire] == [event["id"]]

        # A personal contact concerns its owner alone.
        r = vera_http.post("/contacts/personal", json={"name": "Mum", "number": "+79031112233"})
        assert r.status_code == 201, r.text
        event = vera.next(PROMPT_S)
        assert (event["resource"], event["id"], event["action"]) == (
            "contacts.personal", r.json()["id"], "contact.personal.create")
        # Events go out in order: had Boris been told of Vera's contact, that event would come
        # before the company change that follows.
        r = admin.post("/contacts/company", json={"name": "Locksmith", "number": "+74950003344"})
        assert r.status_code == 201
        everyone_hears(("contacts.company", "contact.company.create"), time.monotonic())
        boris.assert_quiet(0.5)


def test_the_stream_refuses_a_missing_wrong_or_revoked_token(api, company):
    revoked = api.login("102", company["boris"].communicator_password)
    with api.client(revoked["access_token"]) as c:
        assert c.post("/auth/logout", json={}).status_code == 204
    for token in (None, "", "not-a-token", revoked["access_token"], revoked["refresh_token"]):
        with pytest.raises(InvalidStatus) as refused:
            with stream(api, token):
                pass
        assert refused.value.response.status_code == 403, token
    # The same stream with a valid token opens.
    with stream(api, session(api, company["boris"])):
        pass
