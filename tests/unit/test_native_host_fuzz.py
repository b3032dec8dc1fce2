"""Fuzzing the native host: random, truncated, oversized and non-UTF-8 input never crashes it,
every bad frame gets an error reply, and what it writes to the browser is always well-formed
frames of schema-valid messages under the size limit.

The relay core takes thousands of examples in-process; the real process a few dozen (each one
costs a Python start)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from functools import cache

import jsonschema
from hypothesis import HealthCheck, given, settings, strategies as st

from common import protocol
from native_host.relay import Relay

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
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    return chunks, data


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.sampled_from(["connected", "no_app"]))
def test_the_relay_survives_any_input_and_answers_well_formed(stream, app):
    chunks, _ = stream
    relay = Relay(max_from_browser=MAX_IN, max_to_browser=MAX_OUT)
    out = b""
    for chunk in chunks:
        relay.receive_from_browser(chunk)
        if relay.wants_connection:
            if app == "connected":
                relay.connected(None)
                relay.receive_from_app(protocol.encode_message(protocol.ok_reply("h", {"app": "talker"})))
            else:
                relay.connect_failed()
        for line in relay.data_to_app().splitlines():
            request = json.loads(line)
            if request["action"] != "hello":
                assert protocol.validate_request(request) is None  # only valid requests reach the app
                relay.receive_from_app(protocol.encode_message(protocol.ok_reply(request["id"], {})))
        out += relay.data_to_browser()
    relay.browser_closed()
    out += relay.data_to_browser()
    replies = parse_frames(out)
    assert all(r.get("id") is None or isinstance(r["id"], str) for r in replies)
    assert relay.done


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_the_real_process_survives_any_input(stream):
    _, data = stream
    done = subprocess.run([sys.executable, "-m", "native_host"], input=data, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    replies = parse_frames(done.stdout)
    # Nothing runs on the other side: every readable request is answered app_not_running,
    # everything else with invalid_message or unknown_action.
    assert {r["error"]["code"] for r in replies} <= {"app_not_running", "invalid_message", "unknown_action"}


def test_a_megabyte_of_random_bytes():
    import random

    data = random.Random(4).randbytes(1 << 20)
    done = subprocess.run([sys.executable, "-m", "native_host"], input=data, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    parse_frames(done.stdout)
