"""What the PBX answers a SIP request, decided by pbx/kamailio/decide.py as plain function calls:
no Kamailio, no database. The lookups are a small in-memory PBX (the store's part is covered by
the integration tests through a real Kamailio)."""

from __future__ import annotations

import pytest

from pbx.kamailio import decide
from pbx.kamailio.decide import PHONE, SELF, TRUNK

SECRET = b"d" * 32
ANNA = {"id": 1, "extension": "101", "document": "{}", "outgoing": "+74950000001",
        "first_number": "+74950000000"}
STEP = [{"t": 20, "d": [["sip", "101", 20]]}]


class Pbx:
    """Employee 101 (number +74951111111), a SIP account 2001 that is no extension, caller 101."""

    def __init__(self, trunk="gw.example:5070", steps=STEP, db_down=False):
        self.trunk, self.steps, self.db_down = trunk, steps, db_down

    def employee_by_extension(self, extension):
        if self.db_down:
            raise decide.DbError("the query failed")
        return ANNA if extension == "101" else None

    def employee_by_number(self, e164):
        return ANNA if e164 == "+74951111111" else None

    def is_account(self, username):
        return username == "2001"

    def caller(self, username):
        return {"extension": "101", "outgoing": "+74950000001", "first_number": None} if username == "101" else None

    def setting(self, name):
        return self.trunk if name == "trunk" else ""

    def plan(self, employee):
        return self.steps


def initial(ruser, method="INVITE", from_trunk=False, from_user="101", myself=True, pbx=None):
    return decide.route_initial(decide.Initial(method=method, ruser=ruser, ruri_is_myself=myself,
                                               from_trunk=from_trunk, from_user=from_user), pbx or Pbx())


def test_a_call_to_an_employee_rings_their_plan_with_their_outgoing_number():
    action = initial("101")
    assert action == decide.RingEmployee(STEP, "+74950000001", PHONE, frozenset(PHONE), ANNA["id"])


def test_a_call_from_the_trunk_to_a_number_shows_that_number_to_the_employees_external_devices():
    steps = [{"t": None, "d": [["sip", "101", 20], ["external", "+79161234567", 30]]}]
    action = initial("74951111111", from_trunk=True, from_user="anybody", pbx=Pbx(steps=steps))
    assert action == decide.RingEmployee(steps, "+74951111111", TRUNK, frozenset({PHONE, SELF}), ANNA["id"])


@pytest.mark.parametrize("ruser, kwargs, reply", [
    ("101", {"myself": False}, (403, "Relaying Forbidden")),             # nobody's outbound proxy
    ("anna", {}, (404, "Not Found")),                                   # no extension, no number
    ("102' OR '1'='1", {}, (404, "Not Found")),                         # never reaches SQL
    ("199", {}, (404, "Not Found")),                                    # nobody has it
    ("2001", {"from_trunk": True}, (404, "Not Found")),                 # the trunk reaches no bare account
    ("74957777777", {"from_trunk": True}, (404, "Not Found")),          # nor goes back out
    ("101", {"pbx": Pbx(steps=[])}, (480, "Temporarily Unavailable")),  # nobody can ring
    ("79161234567", {"method": "MESSAGE"}, (403, "Only Calls Go To The Trunk")),
    ("79161234567", {"pbx": Pbx(trunk="")}, (503, "No Trunk Configured")),
    ("79161234567", {"from_user": "9999"}, (403, "Unknown Caller")),
    ("79161234567", {"from_user": "x' OR 1=1"}, (403, "Unknown Caller")),
    ("79161234567", {"from_user": None}, (403, "Unknown Caller")),
])
def test_replies(ruser, kwargs, reply):
    """(A call nobody can take is also recorded for the employee: test_unreached_calls.py.)"""
    action = initial(ruser, **kwargs)
    assert isinstance(action, decide.Reply)
    assert (action.code, action.reason) == reply


def test_a_colleague_calls_out_through_the_trunk_with_their_outgoing_number():
    assert initial("+79161234567") == decide.CallTrunk("+79161234567", "gw.example:5070", "+74950000001", "101")


def test_a_bare_sip_account_is_rung_for_a_colleague_and_requests_other_than_calls_go_to_the_extension():
    assert initial("2001") == decide.RingAccount(PHONE)
    assert initial("101", method="MESSAGE") == decide.RingAccount(PHONE, extension="101")
    assert initial("74951111111", method="SUBSCRIBE", from_trunk=True) == decide.RingAccount(TRUNK, extension="101")


def test_without_the_database_an_extension_rings_the_account_of_that_name_and_says_so():
    action = initial("101", pbx=Pbx(db_down=True))
    assert isinstance(action, decide.RingAccount) and action.extension is None
    assert "ringing 101's own account" in action.log


# --- inside a dialog ------------------------------------------------------------------------------
def in_dialog(token, from_tag="caller", to_tag="callee", call_id="call-1", is_ack=False,
              from_trunk=False, from_myself=False):
    route = None if token is None else "<sip:127.0.0.1;lr;talker-dlg=%s>" % token
    return decide.dialog_ends(SECRET, decide.InDialog(is_ack, call_id, from_tag, to_tag, route,
                                                      from_trunk, from_myself))


def test_a_signed_dialog_tells_each_side_where_its_requests_go():
    token = decide.dialog_token(SECRET, "call-1", "caller", PHONE, TRUNK)
    assert in_dialog(token) == (frozenset(PHONE), frozenset(TRUNK))
    # The callee (the trunk) sends with the tags swapped: back towards the phone.
    assert in_dialog(token, from_tag="callee", to_tag="caller", from_trunk=True) == (
        frozenset(TRUNK), frozenset(PHONE))


@pytest.mark.parametrize("kwargs, expected", [
    ({"is_ack": True}, decide.Drop()),
    ({"from_trunk": True}, decide.Refuse("no dialog of the PBX from the trunk")),
    ({}, decide.Authenticate()),
])
def test_an_unsigned_in_dialog_request(kwargs, expected):
    assert in_dialog(None, **kwargs) == expected
    # A Route signed for another call is no better than none.
    other = decide.dialog_token(SECRET, "call-2", "caller", PHONE, TRUNK)
    assert in_dialog(other, **kwargs) == expected


def test_a_legs_route_counts_only_from_kamailio_itself():
    token = decide.dialog_token(SECRET, "call-1", "caller", SELF, TRUNK)
    assert in_dialog(token, from_myself=True) == (frozenset(SELF), frozenset(TRUNK))
    assert in_dialog(token) == decide.Refuse("a leg's Route from outside")


TRUNK_ADDR = ("192.0.2.7", 5070)


@pytest.mark.parametrize("targets, hop, trunk, from_trunk, expected", [
    # Towards the phone at the other end: relayed, what the phone asserted is stripped.
    ({PHONE}, PHONE, TRUNK_ADDR, False, decide.Relay(None, strip_identity=True)),
    # From the trunk: its identity headers are the provider's and stay.
    ({PHONE}, PHONE, TRUNK_ADDR, True, decide.Relay(None, strip_identity=False)),
    # The trunk's side is reached only at the gateway, whatever host the Contact named.
    ({TRUNK}, PHONE, TRUNK_ADDR, False, decide.Relay("sip:192.0.2.7:5070", strip_identity=True)),
    ({TRUNK}, PHONE, ("2001:db8::1", 5060), False, decide.Relay("sip:[2001:db8::1]:5060", True)),
    ({TRUNK}, TRUNK, TRUNK_ADDR, False, decide.Relay(None, strip_identity=True)),
    ({TRUNK}, PHONE, None, False, decide.Refuse("the trunk is gone")),
    # A dialog between phones never reaches the trunk, nor Kamailio's legs.
    ({PHONE}, TRUNK, TRUNK_ADDR, False, decide.Refuse("towards t, the dialog ends at p")),
    ({PHONE}, SELF, TRUNK_ADDR, False, decide.Refuse("towards s, the dialog ends at p")),
    ({PHONE}, None, TRUNK_ADDR, False, decide.Refuse("towards None, the dialog ends at p")),
])
def test_in_dialog_relay(targets, hop, trunk, from_trunk, expected):
    assert decide.relay_in_dialog(frozenset(targets), hop, trunk, from_trunk) == expected


@pytest.mark.parametrize("myself, host, port, expected", [
    (True, None, None, SELF),
    (False, "192.0.2.7", "5070", TRUNK),
    (False, "gw.example", "5070", TRUNK),       # a name that resolves to the trunk is the trunk
    (False, "::ffff:192.0.2.7", "5070", TRUNK),
    (False, "192.0.2.7", "5060", PHONE),        # another port is another party
    (False, "198.51.100.1", None, PHONE),
])
def test_the_next_hop(myself, host, port, expected):
    names = {"gw.example": "192.0.2.7"}
    assert decide.next_hop(myself, host, port, TRUNK_ADDR, lambda h: names.get(h, h)) == expected


def test_no_trunk_means_every_hop_that_is_not_kamailio_is_a_phone():
    assert decide.next_hop(False, "192.0.2.7", "5070", None, lambda h: h) == PHONE


# --- legs -----------------------------------------------------------------------------------------
def test_a_leg_is_taken_only_from_kamailio_itself_as_an_invite_signed_for_the_call():
    uri = decide.leg_uri(SECRET, "call-1", "127.0.0.1", 5060, "external", "+79161234567", 15, "+74951234567")
    args = ("call-1", uri, "+79161234567", "gw.example")
    assert decide.route_leg(SECRET, True, True, *args) == decide.Leg(
        "external", "+79161234567", 15, "+74951234567", "gw.example")
    assert decide.route_leg(SECRET, False, True, *args) == decide.FORBIDDEN
    assert decide.route_leg(SECRET, True, False, *args) == decide.FORBIDDEN
    assert decide.route_leg(SECRET, True, True, "call-2", uri, "+79161234567", "gw") == decide.FORBIDDEN
    assert decide.route_leg(SECRET, True, True, "call-1", uri, "+79161234567", "") == decide.NO_TRUNK
    sip = decide.leg_uri(SECRET, "call-1", "127.0.0.1", 5060, "sip", "2001", 0, None)
    assert decide.route_leg(SECRET, True, True, "call-1", sip, "2001", "") == decide.Leg("sip", "2001", 0, None, None)


@pytest.mark.parametrize("timeout_s, expected", [(20, 20_000), (0, 600_000), (900, 600_000)])
def test_a_ring_timeout_is_bounded_by_the_call_setup_cap_and_zero_is_the_cap(timeout_s, expected):
    assert decide.timeout_ms(timeout_s, 600_000) == expected


def test_a_source_is_the_trunk_only_at_its_exact_address_and_port():
    assert decide.is_source(TRUNK_ADDR, "192.0.2.7", 5070)
    assert not decide.is_source(TRUNK_ADDR, "192.0.2.7", 5060)
    assert not decide.is_source(None, "192.0.2.7", 5070)


# --- the ring plan's inputs, one definition for Kamailio and the API's preview --------------------
def test_registrations_become_the_states_of_the_active_sip_devices():
    from pbx.ringplan import DeviceStatus, Scheme, device_statuses
    scheme = Scheme.from_dict({"mode": "all_at_once", "timezone": "UTC", "devices": [
        {"id": "a", "kind": "sip", "address": "101", "active": True, "position": 0, "ring_timeout_s": 20},
        {"id": "b", "kind": "sip", "address": "2001", "active": True, "position": 1, "ring_timeout_s": 20},
        {"id": "c", "kind": "sip", "address": "2002", "active": False, "position": 2, "ring_timeout_s": 20},
        {"id": "d", "kind": "external", "address": "+79161234567", "active": True, "position": 3,
         "ring_timeout_s": 20}]})
    asked = []
    statuses = device_statuses(scheme, lambda u: asked.append(u) or u == "101")
    assert statuses == {"a": DeviceStatus.AVAILABLE, "b": DeviceStatus.NOT_REGISTERED}
    assert asked == ["101", "2001"]  # a switched-off phone costs no registrar lookup


def test_calendar_rows_as_kamailio_returns_them_and_as_the_database_does():
    import datetime as dt

    from pbx.prodcalendar import DayKind, calendar_from_rows
    bad = []
    calendar = calendar_from_rows([("2026-01-02 00:00:00", "day_off"), ("2026-13-01", "day_off"),
                                   ("2026-01-10", "nonsense")], lambda row, e: bad.append(row[0]))
    assert calendar.kind(dt.date(2026, 1, 2)) is DayKind.DAY_OFF
    assert bad == ["2026-13-01", "2026-01-10"]
    full = calendar_from_rows([(dt.date(2026, 1, 3), "working", None, dt.date(2026, 1, 5))])
    assert full.exception_on(dt.date(2026, 1, 3)).moved_from == dt.date(2026, 1, 5)
    with pytest.raises(ValueError):
        calendar_from_rows([("2026-01-10", "nonsense")])
