"""Reading RFC 3326's Reason out of a CANCEL: "answered elsewhere" only when a SIP cause 200
says so; a caller who gives up (no Reason, or another cause) leaves a missed call."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from tray.sip.engine import cancel_means_answered_elsewhere


def cancel(*headers: str, body: str = "") -> str:
    return "\r\n".join(["CANCEL sip:101@127.0.0.1:5062 SIP/2.0",
                        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1",
                        "From: <sip:102@pbx.local>;tag=a", "To: <sip:101@pbx.local>",
                        "Call-ID: x@y", "CSeq: 1 CANCEL", *headers,
                        f"Content-Length: {len(body)}", "", body])


@pytest.mark.parametrize("headers", [
    ('Reason: SIP;cause=200;text="Call completed elsewhere"',),  # what Kamailio's tm sends
    ("reason: sip ; cause = 200",),
    ('Reason: Q.850;cause=16;text="Terminated", SIP;cause=200;text="Call completed elsewhere"',),
    ("Reason: Q.850;cause=16", 'Reason: SIP;text="Call, completed; elsewhere";cause=200'),
    ("Reason: SIP;", ' cause=200;text="folded onto a second line"'),
])
def test_a_sip_cause_200_means_answered_elsewhere(headers):
    assert cancel_means_answered_elsewhere(cancel(*headers))


@pytest.mark.parametrize("headers, body", [
    ((), ""),                                                      # the caller hung up
    (("Reason: SIP;cause=487;text=\"Request Terminated\"",), ""),
    (("Reason: Q.850;cause=200",), ""),                            # not a SIP status
    (('Reason: Q.850;cause=16;text="SIP;cause=200"',), ""),        # only inside a quoted text
    (("X-Reason: SIP;cause=200",), ""),
    (("Reason: SIP;cause=2000",), ""),
    ((), "Reason: SIP;cause=200\r\n"),                             # in the body, not a header
])
def test_anything_else_is_not(headers, body):
    assert not cancel_means_answered_elsewhere(cancel(*headers, body=body))


@given(st.text())
def test_arbitrary_text_never_raises(text):
    assert cancel_means_answered_elsewhere(text) in (True, False)
    assert cancel_means_answered_elsewhere(cancel("Reason: " + text)) in (True, False)
