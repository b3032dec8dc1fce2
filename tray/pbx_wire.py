"""What the app and the PBX's API say to each other, as bytes, with no I/O: an HTTP/1.1 request
and its response (RFC 9112) and the event stream's websocket frames (RFC 6455), client side.

Bytes go in (`receive_data`), what they mean comes out; tray/pbx_transport.py moves the bytes over
asyncio streams. It speaks only what the PBX's API needs: JSON bodies, keep-alive, a response
framed by Content-Length, chunks or the connection's close; text messages, pings and the close
handshake, with no extensions.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
# The largest answer the app takes: a company's directory of 10,000 people is about 2 MB.
MAX_BODY = 32 * 1024 * 1024
# The largest event-stream message: the PBX's own are under 100 bytes (pbx/api/server.py allows 4 KB).
MAX_MESSAGE = 1024 * 1024


class WireError(Exception):
    """The peer's bytes are not what the protocol allows."""


class ClosedEarly(WireError):
    """The connection closed before the response was complete. `nothing` is True when not a byte
    of it had arrived: what a server does to a kept-alive connection it closes as the request
    crosses it (the request may never have been read)."""

    def __init__(self, nothing: bool):
        super().__init__("the PBX closed the connection without an answer" if nothing
                         else "the PBX closed the connection in the middle of its answer")
        self.nothing = nothing


# --- HTTP/1.1 ---------------------------------------------------------------------------------------
def request(method: str, target: str, host: str, headers: dict[str, str], body: bytes | None = None) -> bytes:
    """The bytes of a request. `host` is the Host header's value (host[:port]). A write always
    says its length, an empty one too."""
    for text in (method, target, host, *headers, *headers.values()):
        if any(c in text for c in "\r\n\0"):
            raise ValueError(f"a line break in a request's head: {text!r}")
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""   # "Content-Length: 0": a proxy in front of the PBX may refuse a write without (411)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]          # names in lower case; a repeated header's values joined by ", "
    content: bytes = b""
    keep_alive: bool = False         # the connection may carry the next request
    rest: bytes = b""                # bytes after a 101's head: the upgraded protocol's

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self):
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.content)


def _tokens(value: str | None) -> set[str]:
    return {t.strip().lower() for t in (value or "").split(",") if t.strip()}


class ResponseReader:
    """One response to a request of `method`, read from the bytes as they arrive."""

    def __init__(self, method: str):
        self._method = method
        self._buf = bytearray()
        self._eof = False
        self._head: Response | None = None
        self._length: int | None = None   # bytes of body still to come when framed by length
        self._chunked = False
        self._until_close = False
        self._body = bytearray()
        self._done: Response | None = None
        self._got_bytes = False
        self._closing = False              # the server will close the connection after this answer
        self._chunk_left: int | None = None   # bytes of the chunk still to come; None: a size line is next
        self._trailers = False

    @property
    def nothing_received(self) -> bool:
        return not self._got_bytes

    def receive_data(self, data: bytes) -> None:
        """More bytes of the connection; b"" when the peer has closed it."""
        if data:
            self._got_bytes = True
            self._buf += data
        else:
            self._eof = True

    def response(self) -> Response | None:
        """The whole response once it has arrived, else None (more bytes are needed).
        Raises WireError for bytes that are not a response, ClosedEarly when the connection
        closed before the end."""
        while self._done is None:
            progressed = self._step()
            if self._done is not None or not progressed:
                break
        if self._done is None and self._eof:
            if self._until_close and self._head is not None:
                self._finish()
            else:
                raise ClosedEarly(nothing=not self._got_bytes)
        return self._done

    def _step(self) -> bool:
        if self._head is None:
            return self._read_head()
        if self._chunked:
            return self._read_chunk()
        if self._until_close:
            self._take(len(self._buf))
            return False
        take = min(self._length or 0, len(self._buf))
        self._take(take)
        self._length = (self._length or 0) - take
        if self._length == 0:
            self._finish()
        return False

    def _take(self, n: int) -> None:
        if len(self._body) + n > MAX_BODY:
            raise WireError(f"an answer of more than {MAX_BODY} bytes")
        self._body += self._buf[:n]
        del self._buf[:n]

    def _read_head(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > MAX_HEAD:
                raise WireError("an answer's head longer than 64 KB")
            return False
        lines = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
        del self._buf[:end + 4]
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[0] not in ("HTTP/1.1", "HTTP/1.0") or not (parts[1].isdigit() and len(parts[1]) == 3):
            raise WireError(f"not an HTTP answer: {lines[0][:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise WireError(f"a malformed header line: {line[:80]!r}")
            name, value = name.lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if 100 <= status < 200 and status != 101:
            return True   # an interim answer (100 Continue): the real one follows
        head = self._head = Response(status, headers)
        self._closing = "close" in _tokens(headers.get("connection")) or parts[0] == "HTTP/1.0"
        if status == 101:
            head.rest = bytes(self._buf)
            self._buf.clear()
            self._done = head
        elif self._method == "HEAD" or status in (204, 304):
            self._finish()
        elif "transfer-encoding" in headers:
            if _tokens(headers["transfer-encoding"]) != {"chunked"}:
                raise WireError(f"an answer in {headers['transfer-encoding']!r}")
            self._chunked = True
            # Both framings: the chunks count, and the connection is not to be trusted further
            # (RFC 9112 §6.3: a sign of request smuggling).
            self._closing = self._closing or "content-length" in headers
        elif "content-length" in headers:
            text = headers["content-length"]
            if not text.isdigit():
                raise WireError(f"a Content-Length of {text!r}")
            self._length = int(text)
            if self._length > MAX_BODY:
                raise WireError(f"an answer of more than {MAX_BODY} bytes")
            if self._length == 0:
                self._finish()
        else:
            self._until_close = True
        return True

    def _read_chunk(self) -> bool:
        if self._trailers:
            end = self._buf.find(b"\r\n")
            if end < 0:
                return False
            line = bytes(self._buf[:end])
            del self._buf[:end + 2]
            if not line:
                self._finish()
                return False
            return True
        if self._chunk_left is None:
            end = self._buf.find(b"\r\n")
            if end < 0:
                if len(self._buf) > 1024:
                    raise WireError("a chunk size line longer than 1 KB")
                return False
            size = bytes(self._buf[:end]).split(b";", 1)[0].strip()
            del self._buf[:end + 2]
            try:
                self._chunk_left = int(size, 16)
            except ValueError:
                raise WireError(f"a chunk size of {size[:20]!r}") from None
            if self._chunk_left == 0:
                self._trailers = True
            return True
        if self._chunk_left > 0:
            take = min(self._chunk_left, len(self._buf))
            self._take(take)
            self._chunk_left -= take
            if self._chunk_left > 0:
                return False
        if len(self._buf) < 2:
            return False
        if self._buf[:2] != b"\r\n":
            raise WireError("a chunk not ended by CRLF")
        del self._buf[:2]
        self._chunk_left = None
        return True

    def _finish(self) -> None:
        assert self._head is not None
        self._head.content = bytes(self._body)
        # An answer that ended with the connection, said it would close it, or was followed by
        # bytes nobody asked for leaves a connection not to be used again.
        self._head.keep_alive = not (self._until_close or self._closing or self._buf)
        self._done = self._head


# --- websocket (RFC 6455), the client's side ------------------------------------------------------------
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   # RFC 6455 §1.3

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR, CLOSE_BAD_DATA, CLOSE_TOO_BIG = 1000, 1001, 1002, 1007, 1009
CLOSE_NO_CODE = 1005   # RFC 6455 §7.4.1: the close frame had no code


def handshake_key() -> str:
    return base64.b64encode(os.urandom(16)).decode("ascii")


def handshake_accept(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer `key` with (RFC 6455 §4.2.2)."""
    from _sha1 import sha1   # Python's own SHA-1: OpenSSL's digests cost 0.8 MB resident all day

    return base64.b64encode(sha1((key + _GUID).encode("ascii")).digest()).decode("ascii")


def handshake_request(target: str, host: str, key: str, headers: dict[str, str]) -> bytes:
    return request("GET", target, host, {"Upgrade": "websocket", "Connection": "Upgrade",
                                         "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13", **headers})


def handshake_refusal(response: Response, key: str) -> str | None:
    """Why `response` does not open the websocket asked for with `key`, or None when it does."""
    if response.status_code != 101:
        return f"HTTP {response.status_code} instead of 101"
    if (response.header("upgrade") or "").lower() != "websocket" or "upgrade" not in _tokens(response.header("connection")):
        return "a 101 that is not an upgrade to websocket"
    if response.header("sec-websocket-accept") != handshake_accept(key):
        return "a wrong Sec-WebSocket-Accept"
    if response.header("sec-websocket-extensions"):
        return "an extension nobody asked for"
    return None


def frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame; a client masks every frame it sends (RFC 6455 §5.3)."""
    mask = os.urandom(4) if mask is None else mask
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + mask + _masked(payload, mask)


def _masked(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def close_payload(code: int, reason: str = "") -> bytes:
    return code.to_bytes(2, "big") + reason.encode("utf-8")[:123]


@dataclass
class Closed:
    """The stream's end: the peer's close code (CLOSE_NO_CODE when it gave none) and reason."""

    code: int
    reason: str = ""


class WebSocketReader:
    """The server's frames, read as they arrive; what they say comes out of `events()`: text
    messages (str), binary ones (bytes) and at the end a Closed. Pings are answered and a close
    returned on their own: `data_to_send()` has the bytes."""

    def __init__(self, max_message: int = MAX_MESSAGE):
        self.max_message = max_message
        self.closed: Closed | None = None
        self._buf = bytearray()
        self._out = bytearray()
        self._parts: list[bytes] = []
        self._opcode: int | None = None   # the message being assembled from fragments
        self._close_sent = False

    def receive_data(self, data: bytes) -> None:
        if self.closed is None:
            self._buf += data

    def data_to_send(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def send_text(self, text: str) -> None:
        self._out += frame(TEXT, text.encode("utf-8"))

    def send_ping(self, payload: bytes = b"") -> None:
        self._out += frame(PING, payload)

    def send_close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        if not self._close_sent:
            self._close_sent = True
            self._out += frame(CLOSE, close_payload(code, reason))

    def events(self) -> list[str | bytes | Closed]:
        found: list[str | bytes | Closed] = []
        while self.closed is None:
            try:
                event = self._next()
            except WireError as e:
                # RFC 6455 §7.1.7: fail the connection, saying why when we can.
                code = getattr(e, "close_code", CLOSE_PROTOCOL_ERROR)
                self.send_close(code)
                self.closed = Closed(code, str(e))
                found.append(self.closed)
                break
            if event is None:
                break
            found.append(event)
        return found

    def _next(self) -> str | bytes | Closed | None:
        while True:
            parsed = _parse_frame(self._buf)
            if parsed is None:
                return None
            fin, opcode, payload, used = parsed
            del self._buf[:used]
            if opcode >= 0x8:   # control frames may come between a message's fragments
                if opcode == PING:
                    self._out += frame(PONG, payload)
                elif opcode == CLOSE:
                    self.closed = _closed(payload)
                    # The reply echoes the code (RFC 6455 §5.5.1), unless it is one no endpoint may send.
                    code = self.closed.code
                    self.send_close(code if _sendable(code) else
                                    CLOSE_NORMAL if code == CLOSE_NO_CODE else CLOSE_PROTOCOL_ERROR)
                    return self.closed
                elif opcode != PONG:
                    raise WireError(f"an unknown control frame {opcode:#x}")
                continue
            if opcode == CONTINUATION:
                if self._opcode is None:
                    raise WireError("a continuation frame with no message begun")
            elif opcode in (TEXT, BINARY):
                if self._opcode is not None:
                    raise WireError("a new message before the last one ended")
                self._opcode = opcode
            else:
                raise WireError(f"an unknown frame {opcode:#x}")
            self._parts.append(payload)
            if sum(map(len, self._parts)) > self.max_message:
                raise _TooBig(f"a message of more than {self.max_message} bytes")
            if not fin:
                continue
            message, kind = b"".join(self._parts), self._opcode
            self._parts, self._opcode = [], None
            if kind == BINARY:
                return message
            try:
                return message.decode("utf-8")
            except UnicodeDecodeError:
                raise _NotText("a text message that is not UTF-8") from None


class _TooBig(WireError):
    close_code = CLOSE_TOO_BIG


class _NotText(WireError):
    close_code = CLOSE_BAD_DATA


def _sendable(code: int) -> bool:
    """A close code an endpoint may put in a close frame (RFC 6455 §7.4.1, §7.4.2)."""
    return 1000 <= code <= 1014 and code not in (1004, 1005, 1006) or 3000 <= code <= 4999


def _closed(payload: bytes) -> Closed:
    if not payload:
        return Closed(CLOSE_NO_CODE)
    if len(payload) < 2:
        raise WireError("a close frame of one byte")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise _NotText("a close reason that is not UTF-8") from None
    return Closed(int.from_bytes(payload[:2], "big"), reason)


def _parse_frame(buf: bytearray) -> tuple[bool, int, bytes, int] | None:
    """(final, opcode, payload, bytes used) of the frame at the start of `buf`, or None."""
    if len(buf) < 2:
        return None
    first, second = buf[0], buf[1]
    if first & 0x70:
        raise WireError("a frame with reserved bits set (no extension was agreed)")
    if second & 0x80:
        raise WireError("a masked frame from the server")
    fin, opcode, n, at = bool(first & 0x80), first & 0x0F, second & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, at = int.from_bytes(buf[2:4], "big"), 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, at = int.from_bytes(buf[2:10], "big"), 10
    if opcode >= 0x8 and (n > 125 or not fin):
        raise WireError("a control frame that is fragmented or longer than 125 bytes")
    if n > MAX_MESSAGE:
        raise _TooBig(f"a frame of {n} bytes")
    if len(buf) < at + n:
        return None
    return fin, opcode, bytes(buf[at:at + n]), at + n
