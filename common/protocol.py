"""The control protocol core: framing and message rules, with no I/O.

Bytes go in through `receive_data()`, messages come out of `events_received()`, and what to
send waits in `data_to_send()`. The socket, asyncio and stdio adapters around it are thin
(tray/control_server.py, common/control_client.py). A message is one JSON object on one line,
UTF-8, at most MAX_MESSAGE_BYTES; common/control.schema.json defines every message.

Standard library only (the `talker --callto` path uses it); validation against the schema
imports jsonschema on first use, on the app's side only.
"""

from __future__ import annotations

import json
import os
from functools import cache

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "control.schema.json")


@cache
def schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def max_message_bytes() -> int:
    return schema()["x-max-message-bytes"]


def protocol_version() -> int:
    return schema()["x-protocol-version"]


def error_codes() -> tuple[str, ...]:
    return tuple(schema()["$defs"]["error_code"]["enum"])


@cache
def actions() -> dict[str, dict]:
    """action name → the request schema branch that defines it."""
    found: dict[str, dict] = {}
    for branch in schema()["$defs"]["request"]["oneOf"]:
        spec = branch["properties"]["action"]
        for name in ([spec["const"]] if "const" in spec else spec["enum"]):
            found[name] = branch
    return found


def allowed_clients(action: str) -> tuple[str, ...] | None:
    """The kinds of client that may send `action` (the schema's x-clients); None: any."""
    clients = actions()[action].get("x-clients")
    return tuple(clients) if clients else None


class ProtocolError(Exception):
    """A message broke the protocol. `fatal` ones end the connection."""

    def __init__(self, code: str, detail: str, request_id: str | None = None, fatal: bool = False):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.fatal = fatal

    def __repr__(self) -> str:
        return f"ProtocolError({self.code!r}, {self.detail!r}, fatal={self.fatal})"


class JsonLines:
    """One connection's framing. Fatal violations (a line over the size limit, or a first byte
    that is not "{", which is what any HTTP request, WebSocket handshake or browser `fetch`
    sends) leave `closed` set: the adapter must then close the connection."""

    def __init__(self, *, max_bytes: int | None = None):
        self.max_bytes = max_bytes or max_message_bytes()
        self._buffer = bytearray()
        self._events: list[dict | ProtocolError] = []
        self._out = bytearray()
        self._seen_first_byte = False
        self.closed = False

    # --- incoming ---------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        if self.closed:
            return
        if not self._seen_first_byte and data:
            self._seen_first_byte = True
            if data[:1] != b"{":
                self._fail(ProtocolError("unauthorized", "not a Talker client (HTTP or a browser?)",
                                         fatal=True))
                return
        self._buffer += data
        while not self.closed:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > self.max_bytes:
                    self._fail(ProtocolError("invalid_message",
                                             f"message over {self.max_bytes} bytes", fatal=True))
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if len(line) > self.max_bytes:
                self._fail(ProtocolError("invalid_message", f"message over {self.max_bytes} bytes",
                                         fatal=True))
                break
            if line.strip():
                self._events.append(decode_message(line))

    def receive_eof(self) -> None:
        if self._buffer.strip() and not self.closed:
            self._events.append(ProtocolError("invalid_message", "connection closed mid-message"))
        self._buffer.clear()
        self.closed = True

    def events_received(self) -> list[dict | ProtocolError]:
        events, self._events = self._events, []
        return events

    def _fail(self, error: ProtocolError) -> None:
        self._events.append(error)
        self._buffer.clear()
        self.closed = True

    # --- outgoing ---------------------------------------------------------------------
    def send(self, message: dict) -> None:
        self._out += encode_message(message, self.max_bytes)

    def data_to_send(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data


def encode_message(message: dict, max_bytes: int | None = None) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(data) > (max_bytes or max_message_bytes()):
        raise ValueError(f"message of {len(data)} bytes is over the limit")
    return data + b"\n"


def decode_message(line: bytes) -> dict | ProtocolError:
    try:
        message = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return ProtocolError("invalid_message", "not UTF-8")
    except ValueError as e:
        return ProtocolError("invalid_message", f"not JSON ({getattr(e, 'msg', e)})")
    except RecursionError:
        return ProtocolError("invalid_message", "nested too deeply")
    if not isinstance(message, dict):
        return ProtocolError("invalid_message", "not a JSON object")
    return message


# --- message rules -------------------------------------------------------------------------
def request(request_id: str, action: str, **fields: object) -> dict:
    return {"id": request_id, "action": action, **fields}


def ok_reply(request_id: str | None, result: dict) -> dict:
    return {"id": request_id, "ok": True, "result": result}


def error_reply(request_id: str | None, code: str, message: str) -> dict:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


@cache
def _validator(action: str):
    import jsonschema

    s = schema()
    branch = dict(actions()[action])
    branch["properties"] = {**branch["properties"], "id": s["$defs"]["id"]}
    branch["required"] = ["id", "action", *branch.get("required", [])]
    return jsonschema.Draft202012Validator({**branch, "$defs": s["$defs"]})


def validate_request(message: dict) -> ProtocolError | None:
    """None when `message` is a valid request; else the error to answer with."""
    rid = message.get("id") if isinstance(message.get("id"), str) else None
    action = message.get("action")
    if not isinstance(action, str):
        return ProtocolError("invalid_message", "a request needs an 'action'", rid)
    if action not in actions():
        return ProtocolError("unknown_action", f"unknown action {action[:40]!r}", rid)
    errors = sorted(_validator(action).iter_errors(message), key=lambda e: e.path)
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "message"
        return ProtocolError("invalid_message", f"{where}: {e.message[:200]}", rid)
    return None


def validate(message: dict, definition: str) -> None:
    """Raise jsonschema.ValidationError unless `message` is a valid `definition` (for tests
    and for checking what the app sends)."""
    import jsonschema

    s = schema()
    jsonschema.validate(message, {"$ref": f"#/$defs/{definition}", "$defs": s["$defs"]},
                        cls=jsonschema.Draft202012Validator)
