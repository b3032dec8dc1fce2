"""The app's PBX client when the PBX closes a connection under a request — what a web server does
to a keep-alive connection that has idled past its limit, if the request crosses the close:
the request gets no answer at all. A read is sent once more and succeeds; a write that is not
safe to repeat is not repeated, and the user gets the reason. And when the network goes away
without a word, the event stream is found dead and the app says so, then comes back by itself.

Between the client and the real PBX API sits a loopback TCP relay (tests/support/relay.py) that
can drop the next HTTP request, as a closing server would, or swallow everything, as a network
that went away does."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.helpers import until_fresh
from tests.support.relay import Relay
from tray import pbx_client, pbx_transport
from tray.pbx_client import PbxClient, PbxRequestFailed
from tray.secret_store import open_store


async def _client_behind(relay: Relay, session: dict) -> PbxClient:
    """The app's PBX client through `relay`, holding `session`, once it has the PBX's settings."""
    client = PbxClient(relay.url, open_store(), region="RU", on_change=lambda: None, on_sip=lambda sip: None)
    client.store_session(session)
    client.start()
    await until_fresh(client)
    return client


def test_a_read_the_pbx_drops_is_sent_again_and_a_write_is_not(api, company):
    anna = company["admin"]
    session = pbx_client.login(api.url, "101", anna.communicator_password)

    async def scenario():
        relay = Relay(api.port)
        client = await _client_behind(relay, session)
        try:
            relay.armed = True
            answer = await client.raw("GET", "/me", None, None)
            assert relay.dropped == 1 and answer["status"] == 200 and answer["body"]["extension"] == "101"

            relay.armed = True
            with pytest.raises(PbxRequestFailed) as refused:
                await client.raw("POST", "/contacts/personal", {"name": "Once Only", "number": "+74951112233"}, None)
            assert refused.value.code == "pbx_unavailable"
            assert relay.dropped == 2
        finally:
            await client.stop()
            relay.stop()

    asyncio.run(scenario())
    with api.client(session["access_token"]) as http:
        names = [c["name"] for c in http.get("/contacts/personal").json()]
    assert "Once Only" not in names, "a write the PBX never answered was sent again"


def test_a_stale_access_token_is_refreshed_and_a_versioned_write_keeps_its_version(api, company):
    """The PBX no longer takes the app's access token (its refresh token is still good): the
    event stream and the next write refresh the session; the write keeps its If-Match."""
    session = pbx_client.login(api.url, "101", company["admin"].communicator_password)

    async def scenario():
        client = PbxClient(api.url, open_store(), region="RU", on_change=lambda: None, on_sip=lambda sip: None)
        client.store_session({**session, "access_token": "taken-back-by-the-pbx"})
        client.start()
        try:
            await until_fresh(client)
            current = open_store().get(pbx_client.refresh_token_key(api.url))  # rotated by now
            client.store_session({**session, "refresh_token": current, "access_token": "taken-back-by-the-pbx"})
            await client.set_receive_mode("in_turn")
            assert client.snapshot()["scheme"]["mode"] == "in_turn"
        finally:
            await client.stop()

    asyncio.run(scenario())


def test_a_stream_gone_silent_is_found_dead_and_the_app_comes_back_when_the_network_does(api, company, monkeypatch):
    """The network goes away under an open event stream (a laptop's Wi-Fi, a NAT that forgot the
    connection): no close ever arrives. After the quiet time the app pings, gets no answer, shows
    the PBX as unreachable and keeps retrying; with the network back it is current again. The
    times are shortened from 75 + 20 s."""
    monkeypatch.setattr(pbx_transport, "STREAM_QUIET_S", 0.5)
    monkeypatch.setattr(pbx_transport, "PONG_S", 0.5)
    monkeypatch.setattr(pbx_transport, "ANSWER_S", 2.0)
    session = pbx_client.login(api.url, "101", company["admin"].communicator_password)

    async def scenario():
        relay = Relay(api.port)
        client = await _client_behind(relay, session)
        try:
            relay.frozen = True
            went = asyncio.get_running_loop().time()
            while not client.snapshot()["stale"]:
                assert asyncio.get_running_loop().time() - went < 10, "a dead stream still counts as live"
                await asyncio.sleep(0.05)
            # The stream broke off; or a refetch caught by the silence ran out of time first.
            said = {pbx_client.tr("pbx.unreachable", url=relay.url, detail=pbx_client.tr(f"net.{why}"))
                    for why in ("dropped", "timeout")}
            assert client.snapshot()["reason"] in said
            relay.frozen = False
            await until_fresh(client)
        finally:
            await client.stop()
            relay.stop()

    asyncio.run(scenario())
