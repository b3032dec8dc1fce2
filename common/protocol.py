"""The control protocol core: framing and message rules, with no I/O.

Bytes go in through `receive_data()`, messages come out of `events_received()`, and what to
send waits in `data_to_send()`. The socket, asyncio and stdio adapters around it are thin
(tray/control_server.py, common/control_client.py). A message is one JSON object on one line,
UTF-8, at most MAX_MESSAGE_BYTES; common/control.schema.json defines every message.

Standard library only, and cheap to import: the `talker --callto` path uses it. That is why
JSON goes through CPython's C codec (`_json`) directly: the `json` package imports `re`, and `re`
imports `enum`, which together cost a short-lived command more than everything else it does.
Validation against the schema (common/schema_check.py) is loaded on first use, on the app's side only.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs milliseconds
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from common.schema_check import SchemaCheck

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "control.schema.json")
# A message this short is within the limit whatever x-max-message-bytes is (the schema may not
# set it lower: tests/unit/test_protocol.py), so the limit is read only for longer ones: what
# `talker --callto` sends and receives never waits for the 30 KB schema to be parsed.
ALWAYS_WITHIN_LIMIT_BYTES = 64 * 1024

try:
    from _json import encode_basestring as _c_encode_string
    from _json import make_encoder as _c_make_encoder
    from _json import make_scanner as _c_make_scanner
except ImportError:  # not CPython: the json module does the same, only costlier to import
    _c_make_scanner = None  # type: ignore[misc, assignment]


class _ScanContext:
    """What the C scanner reads off a json.JSONDecoder: strict JSON, plain dicts, and no
    NaN/Infinity (they are not JSON, whatever Python's json accepts by default)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> NoReturn:
        raise ValueError(f"{name} is not JSON")


def _refuse(obj: object) -> NoReturn:
    raise TypeError(f"{type(obj).__name__} is not JSON")


if _c_make_scanner is not None:
    _scan = _c_make_scanner(_ScanContext())  # type: ignore[arg-type]  # it reads only these attributes
    # markers None: our messages are trees; allow_nan False: strict JSON out as well.
    _encode = _c_make_encoder(None, _refuse, _c_encode_string, None, ":", ",", False, False, False)


def loads(text: str) -> Any:
    """json.loads for one document (strict), ValueError if it is not exactly one."""
    if _c_make_scanner is None:
        import json

        return json.loads(text, parse_constant=_ScanContext.parse_constant)
    start = len(text) - len(text.lstrip(" \t\n\r"))
    try:
        obj, end = _scan(text, start)
    except StopIteration as e:
        raise ValueError(f"not JSON at character {e.value}") from None
    if text[end:].strip(" \t\n\r"):
        raise ValueError(f"extra data at character {end}")
    return obj


def dumps(obj: Any) -> str:
    """Compact JSON, UTF-8 text as is (no \\u escapes)."""
    if _c_make_scanner is None:
        import json

        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return "".join(_encode(obj, 0))


_schema: dict[str, Any] | None = None
_actions: dict[str, dict[str, Any]] | None = None


def schema() -> dict[str, Any]:
    global _schema
    if _schema is None:
        with open(SCHEMA_PATH, encoding="utf-8") as f:
            _schema = loads(f.read())
    return _schema


def max_message_bytes() -> int:
    return int(schema()["x-max-message-bytes"])


def _over_limit(size: int, max_bytes: int | None) -> bool:
    """Whether `size` bytes are over `max_bytes` (None: the schema's limit)."""
    if not max_bytes:
        if size <= ALWAYS_WITHIN_LIMIT_BYTES:
            return False
        max_bytes = max_message_bytes()
    return size > max_bytes


def protocol_version() -> int:
    return int(schema()["x-protocol-version"])


def error_codes() -> tuple[str, ...]:
    return tuple(schema()["$defs"]["error_code"]["enum"])


def actions() -> dict[str, dict[str, Any]]:
    """action name → the request schema branch that defines it."""
    global _actions
    if _actions is None:
        found: dict[str, dict[str, Any]] = {}
        for branch in schema()["$defs"]["request"]["oneOf"]:
            spec = branch["properties"]["action"]
            for name in ([spec["const"]] if "const" in spec else spec["enum"]):
                found[name] = branch
        _actions = found
    return _actions


def request_choices(action: str, field: str) -> tuple[str, ...]:
    """The values the schema allows for `field` of `action`: the one list of the receive modes
    (set_receive_mode, mode) and of the app's windows (open_window, window) that the app, its
    windows and the extension all read."""
    return tuple(actions()[action]["properties"][field]["enum"])


def receive_modes() -> tuple[str, ...]:
    return request_choices("set_receive_mode", "mode")


def window_names() -> tuple[str, ...]:
    return request_choices("open_window", "window")


def max_ring_timeout_s() -> int:
    """The longest ring timeout a device may have (the PBX's limit, pbx.ringplan)."""
    device = schema()["$defs"]["pbx_state"]["properties"]["receive"]["properties"]["devices"]["items"]
    return int(device["properties"]["ring_timeout_s"]["maximum"])


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
        self._max_bytes = max_bytes  # None: the schema's, read when a message is long enough to need it
        self._buffer = bytearray()
        self._events: list[dict[str, Any] | ProtocolError] = []
        self._out = bytearray()
        self._seen_first_byte = False
        self.closed = False

    @property
    def max_bytes(self) -> int:
        return self._max_bytes or max_message_bytes()

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
                if _over_limit(len(self._buffer), self._max_bytes):
                    self._fail(ProtocolError("invalid_message",
                                             f"message over {self.max_bytes} bytes", fatal=True))
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if _over_limit(len(line), self._max_bytes):
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

    def events_received(self) -> list[dict[str, Any] | ProtocolError]:
        events, self._events = self._events, []
        return events

    def _fail(self, error: ProtocolError) -> None:
        self._events.append(error)
        self._buffer.clear()
        self.closed = True

    # --- outgoing ---------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        self._out += encode_message(message, self._max_bytes)

    def data_to_send(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data


def encode_message(message: dict[str, Any], max_bytes: int | None = None) -> bytes:
    data = dumps(message).encode("utf-8")
    if _over_limit(len(data), max_bytes):
        raise ValueError(f"message of {len(data)} bytes is over the limit")
    return data + b"\n"


def decode_message(line: bytes) -> dict[str, Any] | ProtocolError:
    try:
        message = loads(line.decode("utf-8"))
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
def request(request_id: str, action: str, **fields: object) -> dict[str, Any]:
    return {"id": request_id, "action": action, **fields}


def ok_reply(request_id: str | None, result: dict[str, Any]) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "result": result}


def error_reply(request_id: str | None, code: str, message: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


_validators: dict[str, SchemaCheck] = {}


def _validator(action: str) -> SchemaCheck:
    if action in _validators:
        return _validators[action]
    from common.schema_check import SchemaCheck

    s = schema()
    branch = dict(actions()[action])
    branch["properties"] = {**branch["properties"], "id": s["$defs"]["id"]}
    branch["required"] = ["id", "action", *branch.get("required", [])]
    validator = _validators[action] = SchemaCheck({**branch, "$defs": s["$defs"]})
    return validator


def validate_request(message: dict[str, Any]) -> ProtocolError | None:
    """None when `message` is a valid request; else the error to answer with."""
    rid = message.get("id") if isinstance(message.get("id"), str) else None
    action = message.get("action")
    if not isinstance(action, str):
        return ProtocolError("invalid_message", "a request needs an 'action'", rid)
    if action not in actions():
        return ProtocolError("unknown_action", f"unknown action {action[:40]!r}", rid)
    problem = _validator(action).first_error(message)
    if problem:
        where, sentence = problem
        return ProtocolError("invalid_message", f"{where[:100]}: {sentence[:200]}", rid)
    return None


def validate(message: dict[str, Any], definition: str) -> None:
    """Raise jsonschema.ValidationError unless `message` is a valid `definition`: for tests,
    with jsonschema as the independent judge (a test dependency)."""
    import jsonschema

    s = schema()
    jsonschema.validate(message, {"$ref": f"#/$defs/{definition}", "$defs": s["$defs"]},
                        cls=jsonschema.Draft202012Validator)
