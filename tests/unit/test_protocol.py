"""The control protocol core: bytes in, messages out, with no process or socket."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from common import protocol
from common.protocol import JsonLines, ProtocolError, validate_request


def test_messages_split_anywhere_are_reassembled():
    wire = protocol.encode_message({"id": "1", "action": "status"}) + protocol.encode_message(
        {"id": "2", "action": "call", "target": "102"})
    p = JsonLines()
    for i in range(len(wire)):
        p.receive_data(wire[i:i + 1])
    assert p.events_received() == [{"id": "1", "action": "status"},
                                   {"id": "2", "action": "call", "target": "102"}]


def test_bad_json_is_reported_and_the_next_line_still_works():
    p = JsonLines()
    p.receive_data(b'{"id":"1"\n{"id":"2","action":"status"}\n[1,2]\n')
    bad, good, not_object = p.events_received()
    assert isinstance(bad, ProtocolError) and not bad.fatal
    assert good == {"id": "2", "action": "status"}
    assert isinstance(not_object, ProtocolError)
    assert not p.closed


def test_non_utf8_is_an_error_not_a_crash():
    p = JsonLines()
    p.receive_data(b'{"a":"\xff\xfe"}\n')
    [err] = p.events_received()
    assert err.code == "invalid_message" and "UTF-8" in err.detail


@pytest.mark.parametrize("first", [b"GET / HTTP/1.1\r\n", b"POST /x HTTP/1.1\r\n", b"\x16\x03\x01", b" {"])
def test_anything_but_json_first_closes_the_connection(first):
    p = JsonLines()
    p.receive_data(first)
    [err] = p.events_received()
    assert err.fatal and err.code == "unauthorized"
    assert p.closed
    p.receive_data(b'{"id":"1","action":"status"}\n')
    assert p.events_received() == []


def test_an_endless_line_is_cut_at_the_limit():
    p = JsonLines(max_bytes=1000)
    p.receive_data(b"{" + b"x" * 999)
    assert p.events_received() == []
    p.receive_data(b"xx")
    [err] = p.events_received()
    assert err.fatal and p.closed


def test_outgoing_messages_are_one_line_each_and_size_checked():
    p = JsonLines()
    p.send({"event": "call", "call": {"number": "102\n103"}})
    data = p.data_to_send()
    assert data.count(b"\n") == 1 and json.loads(data)["call"]["number"] == "102\n103"
    with pytest.raises(ValueError):
        protocol.encode_message({"x": "y" * 100}, max_bytes=50)
    # With no limit given, the schema's, both ways.
    big = {"id": "1", "action": "call", "target": "1" * (protocol.max_message_bytes() + 1)}
    with pytest.raises(ValueError):
        JsonLines().send(big)
    p = JsonLines()
    p.receive_data(json.dumps(big).encode() + b"\n")
    [err] = p.events_received()
    assert err.fatal and p.closed and str(protocol.max_message_bytes()) in err.detail


def test_the_schema_is_the_one_source_of_actions_and_error_codes():
    assert set(protocol.actions()) == {"hello", "call", "answer", "decline", "hangup", "mute", "hold", "status",
                                       "subscribe", "quit", "recent_calls", "pbx_state", "set_receive_mode",
                                       "set_device_active", "set_outgoing_number", "login", "sip_account", "logout",
                                       "pbx_api", "open_window", "audio_devices",
                                       "set_audio_device", "set_audio_option", "microphone_level", "find_people",
                                       "missed_calls", "mark_missed_seen", "caller_info", "set_call_note", "set_do_not_disturb"}
    assert "invalid_number" in protocol.error_codes()
    assert protocol.max_message_bytes() == 1024 * 1024
    # Shorter messages pass without the schema being read (the dial path's): the limit may not undercut them.
    assert protocol.max_message_bytes() >= protocol.ALWAYS_WITHIN_LIMIT_BYTES


@pytest.mark.parametrize("message", [
    {"id": "1", "action": "hello", "client": "cli"},
    {"id": "1", "action": "hello", "client": "native-host", "secret": "s"},
    {"id": "1", "action": "call", "target": "tel:+74951234567"},
    {"id": "1", "action": "answer"},
    {"id": "1", "action": "hangup", "call_id": "c12"},
    {"id": "1", "action": "status"},
])
def test_valid_requests(message):
    assert validate_request(message) is None


@pytest.mark.parametrize("message, code", [
    ({"action": "status"}, "invalid_message"),
    ({"id": "1"}, "invalid_message"),
    ({"id": "1", "action": "transfer"}, "unknown_action"),
    ({"id": "1", "action": "call"}, "invalid_message"),
    ({"id": "1", "action": "call", "target": ""}, "invalid_message"),
    ({"id": "1", "action": "call", "target": "1" * 300}, "invalid_message"),
    ({"id": "1", "action": "call", "target": "102", "method": "BYE"}, "invalid_message"),
    ({"id": "1", "action": "hangup", "call_id": "../../x"}, "invalid_message"),
    ({"id": 1, "action": "status"}, "invalid_message"),
    ({"id": "1", "action": "hello", "client": "browser"}, "invalid_message"),
])
def test_invalid_requests_are_named(message, code):
    problem = validate_request(message)
    assert problem is not None and problem.code == code


def test_what_the_app_sends_is_valid_against_the_schema():
    from tray.app import call_message, registration_message
    from tray.sip.engine import CallEvent, CallState, RegistrationEvent, RegistrationState

    reg = registration_message(RegistrationEvent(RegistrationState.FAILED, "101@pbx.local", 403, "No.", None))
    call = call_message(CallEvent("c1", "in", CallState.INCOMING, "102", "Boris", None, None))
    protocol.validate({"event": "registration", "registration": reg}, "event")
    protocol.validate({"event": "call", "call": call}, "event")
    protocol.validate(protocol.ok_reply("1", {"registration": reg, "calls": [call]}), "reply")
    protocol.validate(protocol.error_reply("1", "invalid_number", "No."), "reply")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=10))
def test_random_bytes_never_crash_the_framing(chunks):
    p = JsonLines(max_bytes=512)
    for chunk in chunks:
        p.receive_data(chunk)
        for item in p.events_received():
            assert isinstance(item, (dict, ProtocolError))
    p.receive_eof()
    assert p.closed


def test_only_the_apps_own_clients_may_log_in_quit_or_reach_the_pbx_api():
    for action in ("login", "logout", "quit", "pbx_api", "open_window", "recent_calls"):
        assert "native-host" not in protocol.allowed_clients(action), action
    assert protocol.allowed_clients("pbx_api") == ("window", "test")
    for action in ("call", "answer", "hangup", "status", "subscribe", "pbx_state", "set_receive_mode"):
        assert protocol.allowed_clients(action) is None, action


def test_json_nested_without_end_is_an_error_not_a_crash():
    p = JsonLines()
    p.receive_data(b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"\n")
    [err] = p.events_received()
    assert err.code == "invalid_message" and not p.closed
