"""Frames for fuzzing the native host: hypothesis strategies for what a browser (or anything
else) may write to the host's stdin, and a strict reader of what it writes back. Shared by the
relay core's fuzz test (tests/unit) and the real process's (tests/integration)."""

from __future__ import annotations

import json
import struct
from functools import cache

import jsonschema
from hypothesis import strategies as st

from common import protocol

MAX_IN = 4096  # small, so that oversized frames are cheap to generate
MAX_OUT = 1 << 20


def frame(payload: bytes) -> bytes:
    return struct.pack("=I", len(payload)) + payload


@cache
def validator(definition: str) -> jsonschema.Draft202012Validator:
    # jsonschema.validate() checks the schema itself on every call: far too slow for fuzzing.
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{definition}", "$defs": protocol.schema()["$defs"]})


def parse_frames(data: bytes) -> list[dict]:
    """Every byte must belong to a complete frame of a JSON object."""
    out = []
    while data:
        assert len(data) >= 4, f"a dangling partial length: {data!r}"
        (n,) = struct.unpack("=I", data[:4])
        assert n <= MAX_OUT
        assert len(data) >= 4 + n, "a frame cut short"
        message = json.loads(data[4:4 + n].decode("utf-8"))
        assert isinstance(message, dict)
        validator("event" if "event" in message else "reply").validate(message)
        out.append(message)
        data = data[4 + n:]
    return out


valid_requests = st.one_of(
    st.builds(lambda i: {"id": i, "action": "status"}, st.text(min_size=1, max_size=64)),
    st.builds(lambda i, t: {"id": i, "action": "call", "target": t},
              st.text(min_size=1, max_size=10), st.text(min_size=1, max_size=300)),
    st.builds(lambda i, m: {"id": i, "action": "set_receive_mode", "mode": m},
              st.text(min_size=1, max_size=10), st.sampled_from(["main_only", "all_at_once", "in_turn", "x"])),
)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)


@st.composite
def frames(draw) -> bytes:
    kind = draw(st.sampled_from(["valid", "json", "bytes", "not_utf8", "oversized", "truncated_header"]))
    if kind == "valid":
        return frame(json.dumps(draw(valid_requests)).encode())
    if kind == "json":
        return frame(json.dumps(draw(json_values)).encode())
    if kind == "bytes":
        return frame(draw(st.binary(max_size=200)))
    if kind == "not_utf8":
        return frame(b'{"id":"1","action":"call","target":"' + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + b'"}')
    if kind == "oversized":
        n = draw(st.integers(MAX_IN + 1, MAX_IN * 3))
        return struct.pack("=I", n) + b"x" * n
    return draw(st.binary(min_size=1, max_size=3))  # a partial length: must be the last thing


@st.composite
def streams(draw) -> tuple[list[bytes], bytes]:
    """A stream of frames (the last one possibly cut), and the points where reads split it."""
    parts = draw(st.lists(frames(), max_size=8))
    data = b"".join(parts)
    if data and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return chunks, data
