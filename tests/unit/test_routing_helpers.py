"""The pure parts of Kamailio's routing (pbx/kamailio/decide.py): what a dialled user
part means, the signed per-device leg URIs, how plan steps are relayed, caller IDs. The script
runs inside Kamailio; these need no Kamailio."""

from __future__ import annotations

import pytest

from pbx.kamailio import decide
from pbx.ringplan import Scheme

SECRET = b"k" * 32


@pytest.mark.parametrize("user, expected", [
    ("102", ("extension", "102")),
    ("123456", ("extension", "123456")),
    ("+74951234567", ("number", "+74951234567")),
    ("74951234567", ("number", "74951234567")),
    ("1", None),
    ("1234567", ("number", "1234567")),
    ("+0123456789", None),
    ("anna", None),
    ("102' OR '1'='1", None),
    ("", None),
    (None, None),
])
def test_only_extensions_and_numbers_are_routed(user, expected):
    assert decide.classify_target(user) == expected


def test_a_leg_uri_carries_its_device_and_is_signed_for_one_call():
    uri = decide.leg_uri(SECRET, "call-1", "127.0.0.1", 5060, "external", "+79161234567", 15,
                          "+74951234567")
    assert uri.startswith("sip:+79161234567@127.0.0.1:5060;talker-leg=e.15.+74951234567.")
    assert decide.parse_leg(SECRET, "call-1", uri, "+79161234567") == (
        "external", "+79161234567", 15, "+74951234567")
    sip = decide.leg_uri(SECRET, "call-1", "127.0.0.1", 5060, "sip", "2001", 0, None)
    assert decide.parse_leg(SECRET, "call-1", sip, "2001") == ("sip", "2001", 0, None)


@pytest.mark.parametrize("tamper", [
    lambda uri, user: (uri, user, "call-2"),                              # another call
    lambda uri, user: (uri.replace("e.15.", "e.99."), user, "call-1"),     # another timeout
    lambda uri, user: (uri.replace("+74951234567", "+70000000000"), user, "call-1"),  # caller ID
    lambda uri, user: (uri, "+79990000000", "call-1"),                    # another device
    lambda uri, user: (uri[:-4] + "0000", user, "call-1"),                # a made-up signature
    lambda uri, user: (uri.split(";")[0] + ";talker-leg=e.15.-.zz", user, "call-1"),
])
def test_a_leg_uri_that_was_not_made_for_this_call_is_refused(tamper):
    uri = decide.leg_uri(SECRET, "call-1", "127.0.0.1", 5060, "external", "+79161234567", 15,
                          "+74951234567")
    forged_uri, user, call_id = tamper(uri, "+79161234567")
    assert decide.parse_leg(SECRET, call_id, forged_uri, user) is None
    assert decide.parse_leg(b"x" * 32, "call-1", uri, "+79161234567") is None


def test_steps_with_one_timeout_are_timed_by_the_call_others_get_legs():
    steps = decide.encode_steps([
        [("sip", "200", 20), ("sip", "2001", 20)],      # at once, one timeout: direct
        [("sip", "200", 5), ("sip", "2001", 15)],       # at once, two timeouts: legs
        [("external", "+79161234567", 20)],             # an external number: always a leg
        [("sip", "200", 0)],                            # ring forever, alone: direct
        [],
    ])
    assert [s["t"] for s in steps] == [20, None, None, 0]
    assert steps[1]["d"] == [["sip", "200", 5], ["sip", "2001", 15]]


@pytest.mark.parametrize("did, outgoing, first, expected", [
    ("+74951112233", "+74957654321", "+74951234567", "+74951112233"),
    (None, "+74957654321", "+74951234567", "+74957654321"),
    (None, None, "+74951234567", "+74951234567"),
    (None, None, None, "101"),
])
def test_the_caller_id_towards_the_trunk(did, outgoing, first, expected):
    assert decide.caller_id_for(did, outgoing, first, "101") == expected


@pytest.mark.parametrize("value, expected", [
    ("10.0.0.1:5070", ("10.0.0.1", 5070)),
    ("gw.example", ("gw.example", 5060)),
    ("[2001:db8::1]:5080", ("2001:db8::1", 5080)),
    ("[2001:db8::1]", ("2001:db8::1", 5060)),
])
def test_trunk_addresses(value, expected):
    assert decide.split_host_port(value) == expected


def _scheme(window_end: str) -> Scheme:
    return Scheme.from_dict({"mode": "all_at_once", "timezone": "UTC", "devices": [
        {"id": "sip-200", "kind": "sip", "address": "200", "active": True, "position": 1,
         "ring_timeout_s": 20, "schedule": {"rules": [
             {"type": "weekdays", "days": ["mon"], "windows": [{"start": "09:00", "end": window_end}]}]}}]})


def test_plans_are_kept_for_a_minute_only_when_schedules_change_on_whole_minutes():
    assert decide.whole_minute_schedules(_scheme("18:00"))
    assert not decide.whole_minute_schedules(_scheme("18:00:30"))


# --- dialogs: the signed Record-Route ----------------------------------------------------------
def _token(up="p", down="t", call_id="call-1", from_tag="caller"):
    return decide.dialog_token(SECRET, call_id, from_tag, up, down)


def test_a_dialog_token_tells_each_side_where_its_requests_may_go():
    token = _token("p", "t")
    # From the caller (its From tag was signed): towards the callee's end, the trunk.
    assert decide.verify_dialog(SECRET, "call-1", "caller", "callee", token) == (
        frozenset("p"), frozenset("t"))
    # From the callee (the caller's tag is now the To tag): back to a phone.
    assert decide.verify_dialog(SECRET, "call-1", "callee", "caller", token) == (
        frozenset("t"), frozenset("p"))


@pytest.mark.parametrize("call_id, from_tag, to_tag, token", [
    ("call-2", "caller", "callee", _token()),                      # another call's Route
    ("call-1", "forged", "forged", _token()),                      # made-up tags
    ("call-1", "caller", "callee", _token().replace("p.t.", "p.pt.")),  # widened ends
    ("call-1", "caller", "callee", _token()[:-4] + "0000"),        # a made-up signature
    ("call-1", "caller", "callee", None),                          # no token at all
])
def test_a_dialog_token_of_another_dialog_or_tampered_with_is_refused(call_id, from_tag, to_tag, token):
    assert decide.verify_dialog(SECRET, call_id, from_tag, to_tag, token) is None
    assert decide.verify_dialog(b"x" * 32, "call-1", "caller", "callee", _token()) is None


def test_the_topmost_signed_route_entry_is_the_one_that_counts():
    first, second = _token("p", "s"), _token("s", "t")
    routes = (f"<sip:10.0.0.1;lr>, <sip:10.0.0.1;lr;ftag=caller;talker-dlg={first}>,"
              f"<sip:10.0.0.1;lr;talker-dlg={second}>")
    assert decide.first_dialog_token(routes) == first
    assert decide.first_dialog_token("<sip:10.0.0.1;lr>") is None
    assert decide.first_dialog_token(None) is None


def test_a_plan_is_answered_by_phones_or_by_kamailio_for_external_numbers():
    direct = decide.encode_steps([[("sip", "200", 20)]])
    legs = decide.encode_steps([[("sip", "200", 20), ("external", "+79161234567", 30)]])
    assert decide.step_ends(direct) == {"p"}
    assert decide.step_ends(legs) == {"p", "s"}
    assert decide.step_ends([]) == {"p"}


@pytest.mark.parametrize("host, port, same", [
    ("127.0.0.1", "5070", True),
    ("::ffff:127.0.0.1", 5070, True),     # the same address, IPv4-mapped
    ("127.0.0.1", "", False),              # no port is 5060
    ("127.0.0.2", 5070, False),
    ("127.0.0.1", "x", False),
])
def test_the_trunk_is_recognised_however_its_address_is_written(host, port, same):
    assert decide._same_endpoint(decide._ip_literal(host) or host, port, ("127.0.0.1", 5070)) is same
