"""What an attacker tries on the API's edges after the obvious: JSON the parser gives up on,
bodies built to make the answer huge, and messages pushed up the event stream. Each gets a
short, clear refusal; the gates still answer first (401/403 before anything about the body)."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from pbx.api.app import MAX_FIELD_PROBLEMS
from tests.api.helpers import error_of
from tests.api.test_events import session

UNREADABLE = [
    b"[" * 200_000,                                              # nested deeper than any parser goes
    b'{"name": ' + b'{"a": ' * 20_000 + b"1" + b"}" * 20_000 + b', "number": "+74950001122"}',
    b'{"name": "x", "number": "+74950001122", "note": ' + b"9" * 5000 + b"}",   # a 5000-digit number
]


@pytest.mark.parametrize("body", UNREADABLE, ids=["nesting", "closed-nesting", "long-number"])
def test_json_the_parser_gives_up_on_is_refused_like_any_unreadable_json(api, company, body):
    headers = {"Content-Type": "application/json"}
    with api.client() as stranger:
        r = stranger.post("/auth/login", content=body, headers=headers)
        assert error_of(r, 422)["fields"][0]["code"] == "json_invalid", r.text
        # An admin-only route: who may not write there learns nothing about the body.
        assert error_of(stranger.post("/contacts/company", content=body, headers=headers), 401)
    with api.as_(company["boris"]) as boris:
        assert error_of(boris.post("/contacts/company", content=body, headers=headers), 403)
        assert error_of(boris.post("/contacts/personal", content=body, headers=headers), 422)


def test_a_body_of_thousands_of_unknown_fields_gets_a_short_answer(api):
    body = {"login": "101", "password": "x", **{f"k{n}": 1 for n in range(20_000)}}
    with api.client() as stranger:
        r = stranger.post("/auth/login", json=body)
    error = error_of(r, 422)
    assert len(error["fields"]) == MAX_FIELD_PROBLEMS
    assert "20000 problems" in error["message"], error["message"]
    assert len(r.content) < 10_000, f"{len(r.content)} bytes for a {len(json.dumps(body))}-byte body"


def test_the_event_stream_takes_no_large_messages_and_no_compression(api, company):
    url = api.url.replace("http://", "ws://") + "/api/v1/events"
    headers = {"Authorization": f"Bearer {session(api, company['vera'])}"}
    with connect(url, additional_headers=headers, open_timeout=10, max_size=None) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        # A compression window per connection is memory a stranger's connections would hold.
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        ws.send("x" * 100_000)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.sent is not None or closed.value.rcvd is not None
    code = closed.value.rcvd.code if closed.value.rcvd else closed.value.sent.code
    assert code == 1009, closed.value  # "message too big" (RFC 6455 §7.4.1)


def test_no_page_of_the_pbx_loads_scripts_from_the_network(api):
    """FastAPI's Swagger UI pulls its scripts from a CDN: the PBX serves none of it."""
    with api.client() as stranger:
        assert stranger.get("/docs").status_code == 404
        assert stranger.get("/openapi.json").status_code == 200
