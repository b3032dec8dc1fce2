"""The PBX client's connections: HTTP/1.1 requests and the event stream's websocket over asyncio
streams, plain or TLS, speaking tray/pbx_wire.py.

The app's own rather than a library's: httpx, httpcore, anyio and websockets held 9.4 MB all day
in a logged-in app for what is a handful of JSON requests and one websocket (docs/decisions.md 33).

Every failure is a TransportError or an OSError (refused, unknown host, no route, a certificate
that cannot be trusted: ssl.SSLError); tray/failures.py words either for the user.
"""

from __future__ import annotations

import asyncio
import json as json_mod
import logging
import ssl
import sys
import time
from urllib.parse import urlsplit

from tray import pbx_wire
from tray.pbx_wire import Closed, Response

log = logging.getLogger(__name__)

CONNECT_S = 5.0
ANSWER_S = 10.0
# A server closes a keep-alive connection that idles (uvicorn after 5 s, nginx after 75 s); a
# request sent on it at that moment gets no answer at all. Never reuse one idle longer than this.
KEEPALIVE_S = 2.0
# The event stream is quiet for hours. The PBX pings it every minute (pbx/api/server.py); if
# nothing at all has come for this long the app pings, and a stream that then stays silent for
# PONG_S is dead (a laptop that slept, a network that went away without a word).
STREAM_QUIET_S = 75.0
PONG_S = 20.0
READ_SIZE = 65536
USER_AGENT = "Talker"


class TransportError(Exception):
    """The PBX could not be asked, for a reason of HTTP's or websocket's rather than the OS's."""


class BadAddress(TransportError):
    """The URL is not one of an http(s) server."""


class NoAnswer(TransportError):
    """The connection closed under the request before a byte of the answer came back: the
    request may or may not have been read. Safe to send again only if repeating it changes nothing."""


class Garbled(TransportError):
    """The answer is not HTTP, or not the websocket asked for."""


class HandshakeRefused(TransportError):
    """The PBX answered the event stream's opening with an HTTP status instead of a websocket."""

    def __init__(self, status_code: int):
        super().__init__(f"the event stream was refused with HTTP {status_code}")
        self.status_code = status_code


class StreamClosed(TransportError):
    """The event stream ended: with the PBX's close `code`, or None when it broke off."""

    def __init__(self, code: int | None, reason: str = ""):
        super().__init__(f"the event stream closed ({code}{': ' + reason if reason else ''})" if code
                         else "the event stream broke off")
        self.code = code


def tls_context(base_url: str) -> ssl.SSLContext | None:
    """What an https PBX's certificate is checked against: the OS's trusted authorities, where a
    company also installs its own (SSL_CERT_FILE / SSL_CERT_DIR add to them on Linux). On macOS
    Python's OpenSSL does not read the Keychain, so certifi's authorities are added when it is
    there. A plain-http PBX (loopback, the office LAN) gets no context at all."""
    if not base_url.lower().startswith("https:"):
        return None
    context = ssl.create_default_context()
    if sys.platform == "darwin":
        try:
            import certifi
        except ImportError:
            pass
        else:
            context.load_verify_locations(certifi.where())
    return context


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class HttpClient:
    """Requests to the server at `base_url`, keeping a connection alive between them for
    KEEPALIVE_S. Targets are under the URL's path ("https://example.com/pbx" + "/api/v1/me")."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        # An address that is not a server's fails at the first request, as an unreachable one does.
        self._bad = (parts.scheme not in ("http", "https") or not parts.hostname or port == -1
                     or any(c.isspace() for c in base_url))
        self.host = parts.hostname or ""
        self.port = port or (443 if parts.scheme == "https" else 80)
        self.authority = parts.netloc.rpartition("@")[2]   # the Host header
        self.path = parts.path.rstrip("/")
        self.base_url = base_url
        self.tls = tls_context(base_url) if not self._bad else None
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        if self._bad:
            raise BadAddress(f"not the address of an http(s) server: {self.base_url!r}")
        async with asyncio.timeout(CONNECT_S):
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls, server_hostname=self.host if self.tls else None,
                limit=READ_SIZE)
        return _Connection(reader, writer)

    def _kept(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if time.monotonic() - conn.idle_since < KEEPALIVE_S and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def request(self, method: str, target: str, *, headers: dict[str, str] | None = None,
                      json=None) -> Response:
        """One request; `json` (any JSON value but None) is its body. The answer whatever its
        status; TransportError, TimeoutError or OSError when there is none."""
        body = None if json is None else json_mod.dumps(json, ensure_ascii=False).encode("utf-8")
        head = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        if body is not None:
            head["Content-Type"] = "application/json"
        data = pbx_wire.request(method, self.path + target, self.authority, head, body)
        conn = self._kept() or await self._connect()
        try:
            async with asyncio.timeout(ANSWER_S):
                try:
                    conn.writer.write(data)
                    await conn.writer.drain()
                except (ConnectionResetError, BrokenPipeError) as e:
                    raise NoAnswer(f"the connection closed under the request ({e})") from e
                answer = await _read_response(conn.reader, method)
        except BaseException:
            conn.close()
            raise
        if answer.keep_alive:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        return answer

    def websocket(self, target: str, headers: dict[str, str] | None = None) -> WebSocket:
        """The websocket at `target`, opened by `async with`."""
        return WebSocket(self, target, headers or {})

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()


async def _read_response(reader: asyncio.StreamReader, method: str) -> Response:
    parser = pbx_wire.ResponseReader(method)
    while True:
        try:
            data = await reader.read(READ_SIZE)
        except (ConnectionResetError, BrokenPipeError) as e:
            if parser.nothing_received:
                raise NoAnswer(f"the connection closed under the request ({e})") from e
            raise
        parser.receive_data(data)
        try:
            answer = parser.response()
        except pbx_wire.ClosedEarly as e:
            raise (NoAnswer if e.nothing else Garbled)(str(e)) from None
        except pbx_wire.WireError as e:
            raise Garbled(str(e)) from None
        if answer is not None:
            return answer


class WebSocket:
    """A websocket to the PBX: `async with client.websocket(target) as ws`, then `async for
    text in ws`. The iteration ends when the PBX closes it normally (1000, 1001); any other close,
    or a broken connection, raises StreamClosed."""

    def __init__(self, client: HttpClient, target: str, headers: dict[str, str]):
        self._client, self._target, self._headers = client, target, headers
        self._conn: _Connection | None = None
        self._wire = pbx_wire.WebSocketReader()
        self._pending: list[str | bytes | Closed] = []

    async def __aenter__(self) -> WebSocket:
        client = self._client
        key = pbx_wire.handshake_key()
        conn = await client._connect()
        try:
            async with asyncio.timeout(ANSWER_S):
                conn.writer.write(pbx_wire.handshake_request(
                    client.path + self._target, client.authority, key, {"User-Agent": USER_AGENT, **self._headers}))
                await conn.writer.drain()
                answer = await _read_response(conn.reader, "GET")
        except BaseException:
            conn.close()
            raise
        if answer.status_code != 101:
            conn.close()
            raise HandshakeRefused(answer.status_code)
        why = pbx_wire.handshake_refusal(answer, key)
        if why:
            conn.close()
            raise Garbled(why)
        self._conn = conn
        self._wire.receive_data(answer.rest)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> str | bytes:
        while not self._pending:
            self._pending = self._wire.events()
            await self._flush()
            if self._pending:
                break
            self._wire.receive_data(await self._receive())
        event = self._pending.pop(0)
        if isinstance(event, Closed):
            self._pending.insert(0, event)   # every later read ends the same way
            if event.code in (pbx_wire.CLOSE_NORMAL, pbx_wire.CLOSE_GOING_AWAY):
                raise StopAsyncIteration
            raise StreamClosed(event.code, event.reason)
        return event

    async def _receive(self) -> bytes:
        """The next bytes from the PBX; pings once after STREAM_QUIET_S of silence."""
        assert self._conn is not None
        reader, pinged = self._conn.reader, False
        while True:
            try:
                async with asyncio.timeout(PONG_S if pinged else STREAM_QUIET_S):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                if pinged:
                    raise StreamClosed(None) from None
                self._wire.send_ping(b"talker")
                await self._flush()
                pinged = True
                continue
            if not data:
                raise StreamClosed(None)
            return data

    async def _flush(self) -> None:
        out = self._wire.data_to_send()
        if out and self._conn is not None:
            self._conn.writer.write(out)
            await self._conn.writer.drain()

    async def close(self) -> None:
        """Close it as RFC 6455 asks (the app's close, then the PBX's), giving up after a second."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self._wire.closed is None:
                self._wire.send_close()
                out = self._wire.data_to_send()
                conn.writer.write(out)
                async with asyncio.timeout(1.0):
                    await conn.writer.drain()
                    while self._wire.closed is None:
                        data = await conn.reader.read(READ_SIZE)
                        if not data:
                            break
                        self._wire.receive_data(data)
                        self._wire.events()
            else:
                conn.writer.write(self._wire.data_to_send())   # the reply to the PBX's close
        except (OSError, TimeoutError, TransportError):
            pass
        finally:
            conn.close()
