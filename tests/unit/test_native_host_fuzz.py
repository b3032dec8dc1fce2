"""Fuzzing the native host's relay core: random, truncated, oversized and non-UTF-8 input never
crashes it, every bad frame gets an error reply, and what it writes to the browser is always
well-formed frames of schema-valid messages under the size limit. It takes thousands of
examples in-process; the real process gets a few dozen in tests/integration/test_native_host_fuzz.py
(each one costs a Python start)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from common import protocol
from native_host.relay import Relay
from tests.support.native_frames import MAX_IN, MAX_OUT, parse_frames, streams


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
