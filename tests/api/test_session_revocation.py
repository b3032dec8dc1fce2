"""A session ends completely: whatever the client sends at logout, after a refresh, after a
password rotation — and an event stream it opened is closed by the PBX within about a second,
with a code the app takes as "log in again" rather than as a network fault to retry."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.exceptions import ConnectionClosed

from pbx.api.events import CLOSE_SESSION_ENDED
from tests.api.helpers import error_of, until_fresh
from tests.api.test_events import PROMPT_S, session, stream
from tray import pbx_client
from tray.pbx_client import PbxClient
from tray.secret_store import open_store

CLOSED_WITHIN_S = 2.5  # "about a second" (the PBX checks sessions twice a second), on a busy machine


def closed_within(events, within: float) -> int | None:
    """The close code the PBX sent, once the stream ends; fails if it stays open `within` s."""
    deadline = time.monotonic() + within
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            events.next(deadline - time.monotonic())
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_logout_without_the_refresh_token_ends_the_whole_session_and_its_stream(api, company):
    boris = api.login("102", company["boris"].communicator_password)
    with stream(api, boris["access_token"]) as events:
        with api.client(boris["access_token"]) as c:
            # The body names no refresh token: an app that lost it, or a script.
            assert c.post("/auth/logout", json={}).status_code == 204
        done = time.monotonic()
        assert closed_within(events, 5) == CLOSE_SESSION_ENDED
        assert time.monotonic() - done < CLOSED_WITHIN_S
    with api.client() as anonymous:
        r = anonymous.post("/auth/refresh", json={"refresh_token": boris["refresh_token"]})
        assert error_of(r, 401)["code"] == "session_expired"


def test_a_refresh_ends_the_previous_access_token_but_not_the_stream(api, company):
    first = api.login("102", company["boris"].communicator_password)
    with stream(api, first["access_token"]) as events, api.as_(company["admin"]) as admin:
        with api.client() as anonymous:
            r = anonymous.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
            assert r.status_code == 200, r.text
            second = r.json()
        with api.client(first["access_token"]) as old:
            assert error_of(old.get("/me"), 401)["code"] == "invalid_token"
        with api.client(second["access_token"]) as new:
            assert new.get("/me").status_code == 200
        # The app refreshes every few minutes: its stream is the session's and carries on.
        r = admin.post("/contacts/company", json={"name": "After Refresh", "number": "+74950009988"})
        assert r.status_code == 201, r.text
        assert events.next(PROMPT_S + 1)["action"] == "contact.company.create"
        # Logging out with the new access token ends the stream the old one opened.
        with api.client(second["access_token"]) as new:
            assert new.post("/auth/logout", json={}).status_code == 204
        assert closed_within(events, 5) == CLOSE_SESSION_ENDED


def test_a_rotated_password_closes_every_stream_of_the_employee_and_only_theirs(api, company):
    boris_id = company["boris"].employee.id
    with stream(api, session(api, company["boris"])) as boris_phone, \
            stream(api, session(api, company["boris"])) as boris_laptop, \
            stream(api, session(api, company["vera"])) as vera, api.as_(company["admin"]) as admin:
        r = admin.post(f"/employees/{boris_id}/communicator-password")
        assert r.status_code == 200, r.text
        done = time.monotonic()
        for events in (boris_phone, boris_laptop):
            assert closed_within(events, 5) == CLOSE_SESSION_ENDED
        assert time.monotonic() - done < CLOSED_WITHIN_S
        # Vera's stream is untouched: it still hears the next change.
        r = admin.post("/contacts/company", json={"name": "After Rotation", "number": "+74950007766"})
        assert r.status_code == 201, r.text
        assert vera.next(PROMPT_S + 1)["action"] == "contact.company.create"


def test_the_app_takes_a_closed_stream_as_logged_out_and_stops_asking(api, company):
    """The app's own client, against the real PBX. Its session is ended where no event announces
    it (a logout with the same session from elsewhere, as after a stolen laptop is reported):
    the app shows "log in again" within a couple of seconds, never "unreachable", and stops."""
    assert pbx_client.STREAM_SESSION_ENDED == CLOSE_SESSION_ENDED  # the app ships without pbx/
    session_ = pbx_client.login(api.url, "102", company["boris"].communicator_password)
    requests: list[str] = []
    reasons: list[str | None] = []

    async def scenario():
        client = PbxClient(api.url, open_store(), region="RU", on_sip=lambda sip: None,
                           on_change=lambda: reasons.append(client.snapshot()["reason"]))
        client.store_session(session_)
        client.start()
        _count(client, requests)
        try:
            await until_fresh(client)
            reasons.clear()
            with api.client(session_["access_token"]) as elsewhere:
                assert elsewhere.post("/auth/logout", json={}).status_code == 204
            done = time.monotonic()
            while not client._task.done():
                assert time.monotonic() - done < 10, f"the client is still trying: {requests}"
                await asyncio.sleep(0.05)
            assert time.monotonic() - done < 5
            assert client.snapshot()["stale"] and reasons[-1] == pbx_client.tr("pbx.logged_out"), reasons
            unreachable = pbx_client.tr("pbx.unreachable", url=api.url, detail="")[:20]
            assert not [r for r in reasons if r and r.startswith(unreachable)], reasons
            asked = len(requests)
            await asyncio.sleep(1.5)
            assert len(requests) == asked, f"requests after the session ended: {requests[asked:]}"
            # After the close, one refresh that the PBX refused: no retry loop.
            assert requests.count("POST /api/v1/auth/refresh") == 1, requests
        finally:
            await client.stop()

    asyncio.run(scenario())


def _count(client: PbxClient, requests: list[str]) -> None:
    """Note every request the client sends, as "METHOD /target"."""
    send = client._http.request

    async def counted(method: str, target: str, **kwargs):
        requests.append(f"{method} {target}")
        return await send(method, target, **kwargs)

    client._http.request = counted


def test_requests_that_find_the_access_token_expired_together_refresh_once_and_stay_logged_in(api, company):
    """Since a refresh ends the previous access token, the app must not refresh twice with one
    refresh token: the second would be refused and log the user out."""
    session_ = pbx_client.login(api.url, "102", company["boris"].communicator_password)
    requests: list[str] = []

    async def scenario():
        client = PbxClient(api.url, open_store(), region="RU", on_change=lambda: None, on_sip=lambda sip: None)
        client.store_session(session_)
        client.start()
        _count(client, requests)
        try:
            await until_fresh(client)
            client._access_expires = 0.0  # as after the 12 minutes an access token is kept
            answers = await asyncio.gather(*(client.raw("GET", "/me", None, None) for _ in range(4)))
            assert [a["status"] for a in answers] == [200] * 4
            assert requests.count("POST /api/v1/auth/refresh") == 1, requests
            assert (await client.raw("GET", "/directory", None, None))["status"] == 200
        finally:
            await client.stop()

    asyncio.run(scenario())
