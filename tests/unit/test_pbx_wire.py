"""The PBX client's wire formats (tray/pbx_wire.py), bytes in and meaning out, no sockets: HTTP/1.1
answers framed every way RFC 9112 allows and cut at every byte, and the event stream's websocket
frames checked against RFC 6455's own examples and against the `websockets` library's parser."""

from __future__ import annotations

import pytest

from tests.support.websocket_frames import client_frame
from tray import pbx_wire as wire


def _answer(data: bytes, method: str = "GET", *, cut: int | None = None, close: bool = False) -> wire.Response | None:
    reader = wire.ResponseReader(method)
    pieces = [data] if cut is None else [data[i:i + cut] for i in range(0, len(data), cut)]
    found = None
    for piece in pieces:
        reader.receive_data(piece)
        found = reader.response()
        if found is not None:
            break
    if found is None and close:
        reader.receive_data(b"")
        found = reader.response()
    return found


CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"7;ext=1\r\n{\"name\"\r\n0d\r\n: \"\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0\"}\r\n0\r\nX-Trailer: 1\r\n\r\n")


@pytest.mark.parametrize("cut", [None, 1, 2, 7])
def test_a_chunked_answer_whatever_pieces_it_arrives_in(cut):
    answer = _answer(CHUNKED, cut=cut)
    assert answer is not None and answer.status_code == 200
    assert answer.json() == {"name": "Анна"} and answer.keep_alive
    assert answer.header("Content-Type") == "application/json"


@pytest.mark.parametrize("cut", [None, 1, 5])
def test_a_length_framed_answer_keeps_the_connection_unless_told_to_close(cut):
    data = b'HTTP/1.1 201 Created\r\nContent-Length: 9\r\nETag: "4"\r\n\r\n{"id": 7}'
    answer = _answer(data, cut=cut)
    assert answer is not None
    assert (answer.status_code, answer.json(), answer.header("etag"), answer.keep_alive) == (201, {"id": 7}, '"4"', True)
    # Framed both ways: the chunks count, and the connection is not used again (RFC 9112 §6.3).
    both = _answer(CHUNKED.replace(b"Transfer-Encoding", b"Content-Length: 3\r\nTransfer-Encoding"), cut=cut)
    assert both is not None and both.json() == {"name": "Анна"} and not both.keep_alive
    closing = _answer(data.replace(b"ETag", b"Connection: close\r\nETag"), cut=cut)
    assert closing is not None and not closing.keep_alive
    assert not _answer(data.replace(b"HTTP/1.1", b"HTTP/1.0")).keep_alive


def test_answers_without_a_body():
    assert _answer(b"HTTP/1.1 204 No Content\r\n\r\n").content == b""
    head = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", method="HEAD")
    assert head is not None and head.content == b"" and head.keep_alive
    # An interim 100 Continue is passed over.
    assert _answer(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").content == b"ok"


def test_an_answer_that_ends_with_the_connection():
    data = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"
    assert _answer(data) is None   # more may come
    answer = _answer(data, close=True)
    assert answer is not None and answer.content == b"all of it" and not answer.keep_alive


def test_a_connection_closed_before_the_answer_says_whether_anything_came():
    with pytest.raises(wire.ClosedEarly) as nothing:
        _answer(b"", close=True)
    assert nothing.value.nothing
    with pytest.raises(wire.ClosedEarly) as part:
        _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close=True)
    assert not part.value.nothing


@pytest.mark.parametrize("data", [
    b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
    b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
])
def test_what_is_not_an_answer_is_refused(data):
    with pytest.raises(wire.WireError):
        _answer(data)


def test_an_endless_head_is_refused_before_it_fills_the_memory():
    reader = wire.ResponseReader("GET")
    reader.receive_data(b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * wire.MAX_HEAD)
    with pytest.raises(wire.WireError):
        reader.response()


def test_a_request_carries_its_json_and_never_a_line_break_from_a_value():
    data = wire.request("POST", "/pbx/api/v1/auth/login", "pbx.example:8443",
                        {"Content-Type": "application/json"}, b'{"login": "101"}')
    assert data == (b"POST /pbx/api/v1/auth/login HTTP/1.1\r\nHost: pbx.example:8443\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"login\": \"101\"}")
    with pytest.raises(ValueError):
        wire.request("GET", "/me", "pbx", {"Authorization": "Bearer x\r\nX-Evil: 1"})


# --- websocket ---------------------------------------------------------------------------------------
def test_the_handshake_as_rfc_6455_gives_it():
    assert wire.handshake_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="   # §1.3
    key = wire.handshake_key()
    good = wire.Response(101, {"upgrade": "websocket", "connection": "Upgrade",
                               "sec-websocket-accept": wire.handshake_accept(key)})
    assert wire.handshake_refusal(good, key) is None
    assert wire.handshake_refusal(wire.Response(401, {}), key) == "HTTP 401 instead of 101"
    assert wire.handshake_refusal(wire.Response(101, {**good.headers, "sec-websocket-accept": "x"}), key)
    assert wire.handshake_refusal(wire.Response(101, {**good.headers, "sec-websocket-extensions": "permessage-deflate"}), key)


def test_frames_of_the_rfc_examples():
    # §5.7: a masked "Hello" from a client.
    assert wire.frame(wire.TEXT, b"Hello", b"\x37\xfa\x21\x3d") == bytes.fromhex("818537fa213d7f9f4d5158")
    reader = wire.WebSocketReader()
    # §5.7: an unmasked "Hello"; a fragmented "Hel" + "lo"; an unmasked ping "Hello".
    reader.receive_data(bytes.fromhex("810548656c6c6f" "010348656c" "8002" "6c6f" "890548656c6c6f"))
    assert reader.events() == ["Hello", "Hello"]
    assert client_frame(reader.data_to_send()) == (wire.PONG, b"Hello")


def test_what_we_send_is_what_the_websockets_library_reads():
    for size in (0, 5, 125, 126, 65535, 65536, 200_000):
        payload = bytes(i % 251 for i in range(size))
        assert client_frame(wire.frame(wire.BINARY, payload)) == (wire.BINARY, payload)


@pytest.mark.parametrize("size", [126, 65535, 65536])
def test_long_frames_from_the_server(size):
    payload = "ж" * (size // 2) + "a" * (size % 2)
    data = payload.encode("utf-8")
    head = bytes((0x81, 126)) + len(data).to_bytes(2, "big") if len(data) < 65536 else \
        bytes((0x81, 127)) + len(data).to_bytes(8, "big")
    reader = wire.WebSocketReader()
    for i in range(0, len(head + data), 1000):
        reader.receive_data((head + data)[i:i + 1000])
    assert reader.events() == [payload]


def test_the_pbx_s_close_is_returned_with_its_code():
    reader = wire.WebSocketReader()
    reader.receive_data(bytes((0x81, 2)) + b"{}" + bytes((0x88, 4)) + (4401).to_bytes(2, "big") + b"ok"
                        + bytes((0x81, 1)) + b"x")   # nothing after a close counts
    assert reader.events() == ["{}", wire.Closed(4401, "ok")]
    assert _close_code(reader.data_to_send()) == 4401
    assert reader.events() == []
    empty = wire.WebSocketReader()
    empty.receive_data(bytes((0x88, 0)))
    assert empty.events() == [wire.Closed(wire.CLOSE_NO_CODE)]
    assert _close_code(empty.data_to_send()) == wire.CLOSE_NORMAL
    forbidden = wire.WebSocketReader()   # 1006 is for an endpoint to report, never to send
    forbidden.receive_data(bytes((0x88, 2)) + (1006).to_bytes(2, "big"))
    assert forbidden.events() == [wire.Closed(1006)]
    assert _close_code(forbidden.data_to_send()) == wire.CLOSE_PROTOCOL_ERROR


def _close_code(sent: bytes) -> int:
    opcode, payload = client_frame(sent)
    assert opcode == wire.CLOSE
    return int.from_bytes(payload[:2], "big")


@pytest.mark.parametrize("data, code", [
    (bytes((0x81, 0x81)) + b"\0\0\0\0x", wire.CLOSE_PROTOCOL_ERROR),          # masked by the server
    (bytes((0xC1, 1)) + b"x", wire.CLOSE_PROTOCOL_ERROR),                       # a compression bit nobody agreed
    (bytes((0x80, 1)) + b"x", wire.CLOSE_PROTOCOL_ERROR),                       # a continuation of nothing
    (bytes((0x01, 1)) + b"a" + bytes((0x81, 1)) + b"b", wire.CLOSE_PROTOCOL_ERROR),  # a new message mid-message
    (bytes((0x09, 0)), wire.CLOSE_PROTOCOL_ERROR),                              # a fragmented ping
    (bytes((0x83, 0)), wire.CLOSE_PROTOCOL_ERROR),                              # an unknown opcode
    (bytes((0x81, 2)) + b"\xd0\x28", wire.CLOSE_BAD_DATA),                      # text that is not UTF-8
    (bytes((0x82, 127)) + (wire.MAX_MESSAGE + 1).to_bytes(8, "big"), wire.CLOSE_TOO_BIG),
])
def test_a_broken_stream_is_closed_with_the_reason_s_code(data, code):
    reader = wire.WebSocketReader()
    reader.receive_data(data)
    events = reader.events()
    assert isinstance(events[-1], wire.Closed) and events[-1].code == code
    assert _close_code(reader.data_to_send()) == code


def test_a_message_split_over_frames_may_not_outgrow_the_limit():
    reader = wire.WebSocketReader(max_message=10)
    reader.receive_data(bytes((0x01, 6)) + b"abcdef" + bytes((0x00, 6)) + b"ghijkl")
    assert reader.events() == [wire.Closed(wire.CLOSE_TOO_BIG, "a message of more than 10 bytes")]
