"""Chrome's native-messaging framing, with no I/O: a 4-byte length in the machine's byte order,
then that many bytes of UTF-8 JSON (https://developer.chrome.com/docs/extensions/develop/concepts/native-messaging#native-messaging-host-protocol;
Firefox uses the same framing).

Bytes from the browser go in through `receive_data()`; messages, or FrameError for what could
not be read, come out of `events_received()`. `send()` frames a message; `data_to_send()` is
what to write to stdout. Nothing here can raise on input: every malformed frame becomes an
event, so the adapter can answer it and carry on.
"""

from __future__ import annotations

import json
import struct

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs milliseconds
if TYPE_CHECKING:
    from typing import Any

_LENGTH = struct.Struct("=I")  # "=": native byte order, standard 4-byte size, no alignment


class FrameError:
    """A frame that could not be read. `reason` is one of: too_large, truncated, not_utf8,
    not_json, not_object."""

    __slots__ = ("reason", "detail")

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail

    def __repr__(self) -> str:
        return f"FrameError({self.reason!r}, {self.detail!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrameError) and (self.reason, self.detail) == (other.reason, other.detail)


class MessageTooLarge(ValueError):
    """A message to the browser over the limit: Chrome would drop the port."""


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON (RFC 8259 §6); Python's json accepts them by default.
    raise ValueError(f"{name} is not JSON")


def decode(payload: bytes) -> dict[str, Any] | FrameError:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as e:
        return FrameError("not_utf8", f"not UTF-8 at byte {e.start}")
    try:
        message = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        return FrameError("not_json", "nested too deeply")
    except ValueError as e:
        return FrameError("not_json", f"not JSON ({getattr(e, 'msg', str(e))})")
    if not isinstance(message, dict):
        return FrameError("not_object", "not a JSON object")
    return message


def encode(message: dict[str, Any], max_bytes: int) -> bytes:
    payload = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(payload) > max_bytes:
        raise MessageTooLarge(f"message of {len(payload)} bytes is over {max_bytes}")
    return _LENGTH.pack(len(payload)) + payload


class NativeMessaging:
    def __init__(self, *, max_in: int, max_out: int):
        self.max_in = max_in
        self.max_out = max_out
        self._buffer = bytearray()
        self._need: int | None = None  # payload length of the frame being read
        self._discard = 0  # bytes still to skip of a frame over the limit
        self._events: list[dict[str, Any] | FrameError] = []
        self._out = bytearray()
        self.closed = False

    # --- from the browser --------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        if self.closed or not data:
            return
        view = memoryview(data)
        if self._discard:
            # An oversized frame is skipped as it streams by, never buffered: the next frame
            # starts right after it, so the channel stays usable.
            skip = min(self._discard, len(view))
            self._discard -= skip
            view = view[skip:]
        self._buffer += view
        self._parse()

    def _parse(self) -> None:
        while True:
            if self._need is None:
                if len(self._buffer) < _LENGTH.size:
                    return
                (length,) = _LENGTH.unpack_from(self._buffer)
                del self._buffer[: _LENGTH.size]
                if length > self.max_in:
                    self._events.append(FrameError("too_large", f"a message of {length} bytes is over {self.max_in}"))
                    skip = min(length, len(self._buffer))
                    del self._buffer[:skip]
                    self._discard = length - skip
                    if self._discard:
                        return
                    continue
                self._need = length
            if len(self._buffer) < self._need:
                return
            payload = bytes(self._buffer[: self._need])
            del self._buffer[: self._need]
            self._need = None
            self._events.append(decode(payload))

    def receive_eof(self) -> None:
        """stdin closed: the browser let go of the port (or went away)."""
        if self.closed:
            return
        if self._buffer or self._need is not None:
            self._events.append(FrameError("truncated", "the input ended inside a message"))
        self._buffer.clear()
        self._need = None
        self.closed = True

    def events_received(self) -> list[dict[str, Any] | FrameError]:
        events, self._events = self._events, []
        return events

    # --- to the browser ----------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        """Frame `message`; MessageTooLarge (and nothing queued) if it is over the limit."""
        self._out += encode(message, self.max_out)

    def data_to_send(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data
