"""Chrome's native-messaging framing (native_host/framing.py): bytes in, messages out."""

from __future__ import annotations

import json
import struct

import pytest

from native_host.framing import FrameError, MessageTooLarge, NativeMessaging, encode


def frame(payload: bytes) -> bytes:
    return struct.pack("=I", len(payload)) + payload


def message_frame(message: dict) -> bytes:
    return frame(json.dumps(message).encode())


def new(max_in: int = 1024, max_out: int = 1024) -> NativeMessaging:
    return NativeMessaging(max_in=max_in, max_out=max_out)


def test_frames_split_anywhere_are_reassembled():
    wire = message_frame({"id": "1", "action": "status"}) + message_frame({"id": "2", "action": "call", "target": "102"})
    p = new()
    for i in range(len(wire)):
        p.receive_data(wire[i:i + 1])
    assert p.events_received() == [{"id": "1", "action": "status"},
                                   {"id": "2", "action": "call", "target": "102"}]


def test_the_length_is_in_the_machines_byte_order():
    payload = b'{"a":1}'
    p = new()
    p.receive_data(struct.pack("=I", len(payload)) + payload)
    assert p.events_received() == [{"a": 1}]
    out = new()
    out.send({"a": 1})
    data = out.data_to_send()
    assert struct.unpack("=I", data[:4])[0] == len(data) - 4


def test_utf8_both_ways():
    p = new()
    p.receive_data(frame('{"target":"доб. 12 ☎"}'.encode()))
    assert p.events_received() == [{"target": "доб. 12 ☎"}]
    p.send({"message": "Звоним"})
    assert "Звоним".encode() in p.data_to_send()


@pytest.mark.parametrize("payload, reason", [
    (b"\xff\xfe{}", "not_utf8"),
    (b'{"a":"\xc3"}', "not_utf8"),
    (b"", "not_json"),
    (b"{", "not_json"),
    (b'{"a":NaN}', "not_json"),
    (b'{"a":Infinity}', "not_json"),
    (b"[" * 100_000 + b"]" * 100_000, "not_json"),
    (b"[1,2]", "not_object"),
    (b'"status"', "not_object"),
    (b"null", "not_object"),
])
def test_unreadable_frames_become_errors_and_the_next_frame_still_works(payload, reason):
    p = new(max_in=1_000_000)
    p.receive_data(frame(payload) + message_frame({"id": "2"}))
    bad, good = p.events_received()
    assert isinstance(bad, FrameError) and bad.reason == reason
    assert good == {"id": "2"}


def test_an_oversized_frame_is_skipped_as_it_streams_and_the_channel_stays_in_step():
    p = new(max_in=100)
    p.receive_data(struct.pack("=I", 5000))
    [err] = p.events_received()
    assert err.reason == "too_large"
    for _ in range(50):
        p.receive_data(b"x" * 100)  # the body: skipped, never buffered
        assert len(p._buffer) == 0
    p.receive_data(message_frame({"id": "after"}))
    assert p.events_received() == [{"id": "after"}]


def test_an_oversized_frame_and_the_next_one_in_one_read():
    p = new(max_in=10)
    p.receive_data(frame(b"y" * 20) + message_frame({"ok": 1}))
    err, msg = p.events_received()
    assert err.reason == "too_large" and msg == {"ok": 1}


def test_a_frame_cut_off_by_the_end_of_input_is_reported_once():
    p = new()
    p.receive_data(message_frame({"id": "1"})[:-3])
    assert p.events_received() == []
    p.receive_eof()
    assert p.events_received() == [FrameError("truncated", "the input ended inside a message")]
    p.receive_eof()
    p.receive_data(message_frame({"id": "2"}))
    assert p.events_received() == []


def test_a_partial_length_at_the_end_of_input_is_truncated():
    p = new()
    p.receive_data(b"\x05\x00")
    p.receive_eof()
    [err] = p.events_received()
    assert err.reason == "truncated"


def test_clean_end_of_input_is_not_an_error():
    p = new()
    p.receive_data(message_frame({"id": "1"}))
    p.receive_eof()
    assert p.events_received() == [{"id": "1"}]
    assert p.closed


def test_a_message_to_the_browser_over_the_limit_is_refused_and_nothing_is_queued():
    p = new(max_out=50)
    with pytest.raises(MessageTooLarge):
        p.send({"x": "y" * 100})
    assert p.data_to_send() == b""
    p.send({"x": 1})
    assert p.data_to_send() == encode({"x": 1}, 50)


def test_the_limit_counts_the_payload_bytes_not_characters():
    payload_len = len(json.dumps({"x": "я" * 10}, ensure_ascii=False).encode())
    p = new(max_out=payload_len)
    p.send({"x": "я" * 10})
    with pytest.raises(MessageTooLarge):
        p.send({"x": "я" * 11})
