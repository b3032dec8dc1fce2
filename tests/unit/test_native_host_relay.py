"""The native host's relay core (native_host/relay.py), driven with bytes: no process, no socket."""

from __future__ import annotations

import json
import struct

import pytest

from common import protocol
from native_host.relay import BROWSER_ACTIONS, Relay


def frame(message) -> bytes:
    payload = message if isinstance(message, bytes) else json.dumps(message).encode()
    return struct.pack("=I", len(payload)) + payload


def browser_messages(data: bytes) -> list[dict]:
    out = []
    while data:
        (n,) = struct.unpack("=I", data[:4])
        out.append(json.loads(data[4:4 + n]))
        data = data[4 + n:]
    return out


def app_lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def to_app(relay: Relay, message: dict) -> None:
    relay.receive_from_app(protocol.encode_message(message))


def check_schema(messages: list[dict]) -> None:
    """Everything the host says to the browser is a reply or an event of the shared schema."""
    for m in messages:
        protocol.validate(m, "event" if "event" in m else "reply")


@pytest.fixture
def relay() -> Relay:
    r = Relay()
    r.connect_soon()
    assert r.wants_connection
    r.connected(None)
    hello = app_lines(r.data_to_app())
    assert hello == [{"id": "h", "action": "hello", "client": "native-host"}]
    to_app(r, protocol.ok_reply("h", {"app": "talker", "protocol": 1, "pid": 1}))
    assert r.data_to_browser() == b""
    return r


def test_a_request_goes_to_the_app_under_the_hosts_id_and_the_reply_comes_back_under_the_browsers(relay):
    relay.receive_from_browser(frame({"id": "popup-7", "action": "call", "target": "+7 495 123-45-67"}))
    [sent] = app_lines(relay.data_to_app())
    assert sent["action"] == "call" and sent["target"] == "+7 495 123-45-67"
    assert sent["id"] != "popup-7"
    to_app(relay, protocol.ok_reply(sent["id"], {"call": {"call_id": "c1", "direction": "out", "state": "calling",
                                                          "number": "+74951234567"}}))
    [reply] = browser_messages(relay.data_to_browser())
    assert reply["id"] == "popup-7" and reply["ok"] is True
    check_schema([reply])


def test_replies_out_of_order_find_their_requests(relay):
    relay.receive_from_browser(frame({"id": "a", "action": "call", "target": "102"})
                               + frame({"id": "b", "action": "status"}))
    first, second = app_lines(relay.data_to_app())
    to_app(relay, protocol.ok_reply(second["id"], {"registration": {"state": "registered", "account": "x"}, "calls": []}))
    to_app(relay, protocol.error_reply(first["id"], "not_registered", "Not registered."))
    replies = browser_messages(relay.data_to_browser())
    assert [(r["id"], r["ok"]) for r in replies] == [("b", True), ("a", False)]
    assert replies[1]["error"]["code"] == "not_registered"


def test_a_browser_id_that_looks_like_the_hosts_own_is_still_the_browsers(relay):
    relay.receive_from_browser(frame({"id": "h", "action": "status"}))
    [sent] = app_lines(relay.data_to_app())
    to_app(relay, protocol.ok_reply(sent["id"], {"registration": {"state": "offline", "account": None}, "calls": []}))
    [reply] = browser_messages(relay.data_to_browser())
    assert reply["id"] == "h" and reply["ok"]


def test_events_are_relayed_as_they_are(relay):
    event = {"event": "call", "call": {"call_id": "c2", "direction": "in", "state": "incoming", "number": "102"}}
    to_app(relay, event)
    assert browser_messages(relay.data_to_browser()) == [event]


@pytest.mark.parametrize("action", sorted(set(protocol.actions()) - BROWSER_ACTIONS))
def test_actions_the_browser_may_not_use_are_refused_here(relay, action):
    relay.receive_from_browser(frame({"id": "1", "action": action, "client": "cli"}))
    assert relay.data_to_app() == b""
    [reply] = browser_messages(relay.data_to_browser())
    assert reply["id"] == "1" and reply["error"]["code"] == "unknown_action"
    check_schema([reply])


@pytest.mark.parametrize("message, code", [
    ({"id": "1", "action": "dance"}, "unknown_action"),
    ({"id": "1"}, "invalid_message"),
    ({"id": 1, "action": "status"}, "invalid_message"),
    ({"id": "", "action": "status"}, "invalid_message"),
    ({"id": "x" * 65, "action": "status"}, "invalid_message"),
    ({"id": "1", "action": "call"}, "invalid_message"),
    ({"id": "1", "action": "call", "target": "102", "headers": {"X": "1"}}, "invalid_message"),
    ({"id": "1", "action": "call", "target": "1" * 257}, "invalid_message"),
    ({"id": "1", "action": "hangup", "call_id": "../../x"}, "invalid_message"),
    ({"id": "1", "action": "set_receive_mode", "mode": "everyone"}, "invalid_message"),
    ({"id": "1", "action": "status", "secret": "x"}, "invalid_message"),
])
def test_messages_the_schema_refuses_never_reach_the_app(relay, message, code):
    relay.receive_from_browser(frame(message))
    assert relay.data_to_app() == b""
    [reply] = browser_messages(relay.data_to_browser())
    assert reply["ok"] is False and reply["error"]["code"] == code
    check_schema([reply])


@pytest.mark.parametrize("payload", [b"\xff", b"{", b"[]", b'{"a":NaN}'])
def test_unreadable_frames_get_an_error_with_no_id(relay, payload):
    relay.receive_from_browser(frame(payload))
    [reply] = browser_messages(relay.data_to_browser())
    assert reply["id"] is None and reply["error"]["code"] == "invalid_message"
    assert relay.data_to_app() == b""
    assert not relay.done


def test_an_oversized_frame_gets_an_error_and_the_next_request_still_works():
    r = Relay(max_from_browser=100)
    r.connected(None)
    r.data_to_app()
    r.receive_from_browser(struct.pack("=I", 10_000) + b"x" * 10_000 + frame({"id": "2", "action": "status"}))
    [reply] = browser_messages(r.data_to_browser())
    assert reply["error"]["code"] == "invalid_message"
    [sent] = app_lines(r.data_to_app())
    assert sent["action"] == "status"


def test_with_no_app_each_request_is_answered_app_not_running_and_the_next_one_tries_again():
    r = Relay()
    r.receive_from_browser(frame({"id": "1", "action": "call", "target": "102"})
                           + frame({"id": "2", "action": "status"}))
    assert r.wants_connection
    r.connect_failed()
    replies = browser_messages(r.data_to_browser())
    assert [(m["id"], m["error"]["code"]) for m in replies] == [("1", "app_not_running"), ("2", "app_not_running")]
    check_schema(replies)
    assert not r.done  # the app may start: the next request connects again
    r.receive_from_browser(frame({"id": "3", "action": "status"}))
    assert r.wants_connection
    r.connected(None)
    hello, status = app_lines(r.data_to_app())
    assert hello["action"] == "hello" and status["action"] == "status"


def test_when_the_app_goes_away_open_requests_fail_and_the_host_is_done(relay):
    relay.receive_from_browser(frame({"id": "1", "action": "call", "target": "102"}))
    relay.data_to_app()
    relay.receive_from_app(b"")
    relay.app_closed()
    [reply] = browser_messages(relay.data_to_browser())
    assert reply == {"id": "1", "ok": False, "error": {"code": "app_not_running", "message": "Talker is not running."}}
    assert relay.done


def test_a_refused_hello_fails_every_request_and_ends_the_host():
    r = Relay()
    r.receive_from_browser(frame({"id": "1", "action": "status"}))
    r.connected("wrong")
    hello, _ = app_lines(r.data_to_app())
    assert hello["secret"] == "wrong"
    to_app(r, protocol.error_reply("h", "unauthorized", "The Talker control channel refused this client."))
    [reply] = browser_messages(r.data_to_browser())
    assert reply["id"] == "1" and reply["error"]["code"] == "unauthorized"
    assert r.done


def test_the_end_of_stdin_ends_the_host(relay):
    relay.browser_closed()
    assert relay.done


def test_an_event_too_large_for_the_browser_is_left_out_and_a_reply_becomes_an_error():
    r = Relay(max_to_browser=300)
    r.connected(None)
    r.data_to_app()
    to_app(r, {"event": "call", "call": {"call_id": "c1", "direction": "in", "state": "incoming",
                                         "number": "1", "name": "x" * 500}})
    assert r.data_to_browser() == b""
    r.receive_from_browser(frame({"id": "1", "action": "pbx_state"}))
    [sent] = app_lines(r.data_to_app())
    to_app(r, protocol.ok_reply(sent["id"], {"available": False, "stale": False, "reason": "x" * 500}))
    [reply] = browser_messages(r.data_to_browser())
    assert reply["id"] == "1" and reply["error"]["code"] == "internal"


def test_replies_to_nothing_and_garbage_from_the_app_are_not_relayed(relay):
    to_app(relay, protocol.ok_reply("b999", {}))
    relay.receive_from_app(b'{"not json\n')
    assert relay.data_to_browser() == b""


def test_the_browser_may_use_what_the_schema_opens_to_the_native_host_and_never_hello_or_quit():
    assert {"call", "status", "subscribe", "hangup", "pbx_state", "set_receive_mode", "set_device_active",
            "set_outgoing_number"} <= BROWSER_ACTIONS
    assert not BROWSER_ACTIONS & {"hello", "quit"}
    for action in BROWSER_ACTIONS:
        assert "native-host" in protocol.actions()[action].get("x-clients", ["native-host"])
    for action in set(protocol.actions()) - BROWSER_ACTIONS - {"hello", "quit"}:
        assert "native-host" not in protocol.actions()[action]["x-clients"]
