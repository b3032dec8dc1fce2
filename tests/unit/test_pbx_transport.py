"""The PBX client's connections (tray/pbx_transport.py) against a scripted server on a loopback
port, for what the real PBX API never does on cue: chunked answers, a kept-alive connection
closed under a request, a refused or forged websocket opening, pings, a close with a code.
The client against the real PBX API is tested in tests/api/."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.support.websocket_frames import client_frame
from tray import pbx_transport, pbx_wire
from tray.pbx_transport import Garbled, HandshakeRefused, HttpClient, NoAnswer, StreamClosed

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def _serve(script: Script) -> Callable[[Callable[[str, list], Awaitable[None]]], None]:
    """Run `test(url, connections)` against a server that runs `script` for each connection."""
    def run(test) -> None:
        async def main() -> None:
            connections: list[int] = []

            async def handle(reader, writer):
                connections.append(len(connections))
                try:
                    await script(reader, writer)
                except (asyncio.IncompleteReadError, ConnectionError):
                    pass
                finally:
                    writer.close()

            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            try:
                await test(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", connections)
            finally:
                server.close()

        asyncio.run(main())
    return run


def test_a_kept_connection_carries_the_next_request_until_it_has_idled_too_long(monkeypatch):
    monkeypatch.setattr(pbx_transport, "KEEPALIVE_S", 0.3)
    heads: list[bytes] = []

    async def script(reader, writer):
        while True:
            heads.append(await _head(reader))
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n")
            await writer.drain()

    async def test(url, connections):
        http = HttpClient(url + "/pbx")
        assert (await http.request("GET", "/api/v1/me")).json() == [1, 2]
        assert (await http.request("POST", "/api/v1/auth/logout")).status_code == 200
        assert len(connections) == 1
        await asyncio.sleep(0.5)
        await http.request("GET", "/api/v1/me")
        assert len(connections) == 2
        await http.aclose()

    _serve(script)(test)
    assert heads[0].startswith(b"GET /pbx/api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:")
    # A write with no body still says its length: a proxy may refuse one without (411).
    assert heads[1].startswith(b"POST /pbx/api/v1/auth/logout ") and b"\r\nContent-Length: 0\r\n" in heads[1]


def test_a_connection_closed_under_the_request_is_no_answer_and_half_an_answer_is_garbled():
    async def closing(reader, writer):
        await _head(reader)   # and close without a word, as a server does to a connection it gave up

    async def half(reader, writer):
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut")
        await writer.drain()

    async def test(error):
        async def run(url, connections):
            with pytest.raises(error):
                await HttpClient(url).request("GET", "/me")
        return run

    _serve(closing)(asyncio.run(test(NoAnswer)))
    _serve(half)(asyncio.run(test(Garbled)))


def test_an_address_that_is_not_a_server_s_fails_at_the_request():
    async def test() -> None:
        for url in ("ftp://pbx.example", "http://", "http://pbx.example:99999", "pbx.example"):
            with pytest.raises(pbx_transport.BadAddress):
                await HttpClient(url).request("GET", "/me")

    asyncio.run(test())


def _accept(head: bytes) -> bytes:
    key = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key:"))
    return pbx_wire.handshake_accept(key).encode()


def test_the_event_stream_answers_pings_and_ends_with_the_pbx_s_code():
    got: dict[str, bytes] = {}

    async def script(reader, writer):
        head = await _head(reader)
        got["head"] = head
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + _accept(head) + b"\r\n\r\n"
                     + bytes((0x81, 2)) + b"{}" + bytes((0x89, 4)) + b"ping")
        await writer.drain()
        got["pong"] = await reader.readexactly(2 + 4 + 4)
        writer.write(bytes((0x81, 3)) + b"[1]" + bytes((0x88, 2)) + (4401).to_bytes(2, "big"))
        await writer.drain()
        got["close"] = await reader.readexactly(2 + 4 + 2)

    async def test(url, connections):
        http = HttpClient(url)
        messages = []
        with pytest.raises(StreamClosed) as closed:
            async with http.websocket("/api/v1/events", {"Authorization": "Bearer t"}) as ws:
                async for text in ws:
                    messages.append(text)
        assert closed.value.code == 4401 and messages == ["{}", "[1]"]
        for _ in range(100):   # until the server has read the app's close
            if "close" in got:
                break
            await asyncio.sleep(0.02)

    _serve(script)(test)
    assert b"\r\nAuthorization: Bearer t\r\n" in got["head"] and b"\r\nSec-WebSocket-Version: 13\r\n" in got["head"]
    assert client_frame(got["pong"]) == (pbx_wire.PONG, b"ping")
    assert client_frame(got["close"]) == (pbx_wire.CLOSE, (4401).to_bytes(2, "big"))


@pytest.mark.parametrize("answer, error", [
    (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", HandshakeRefused),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     b"Sec-WebSocket-Accept: forged=\r\n\r\n", Garbled),
])
def test_an_event_stream_the_pbx_did_not_open_is_refused(answer, error):
    async def script(reader, writer):
        await _head(reader)
        writer.write(answer)
        await writer.drain()
        await asyncio.sleep(0.5)

    async def test(url, connections):
        with pytest.raises(error) as refused:
            async with HttpClient(url).websocket("/api/v1/events"):
                pass
        if error is HandshakeRefused:
            assert refused.value.status_code == 403

    _serve(script)(test)
