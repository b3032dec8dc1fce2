"""Kamailio executes receive schemes: which phones ring, together or in turn, and for how long
(docs/platform-notes.md, "Product rules for receive schemes").

Every test runs against real Kamailio with one real pjsua2 phone per SIP account, on SQLite; the
ones marked `both_databases` make Kamailio read schemes, registrations and the calendar from
PostgreSQL too (tests/conftest.py). Times come from the phones' own wall-clock event
stamps; the bounds are generous because the machine is small and shared.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import update

from pbx import calendar_store
from pbx.audit import Actor
from pbx.db import ReceiveScheme
from pbx.prodcalendar import CalendarDay, DayKind
from tests.support import sipp
from tests.support.ringing import device, first, rang, restart_kamailio, ring_span, still_ringing

pytestmark = pytest.mark.slow
CONSOLE = Actor.console()




def _call(caller, number: str) -> float:
    """Dial; the moment the caller's INVITE left (its "calling" event)."""
    mark = caller.mark()
    caller.command("call", number=number)
    return caller.wait_call("calling", timeout=5, after=mark)["t"]


def _answer(peer) -> None:
    peer.command("answer")


def _window(minutes_from_now: int, length_min: int) -> dict:
    now = dt.datetime.now(dt.UTC)
    start = now + dt.timedelta(minutes=minutes_from_now)
    end = start + dt.timedelta(minutes=length_min)
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


def _every_day(window: dict) -> dict:
    return {"rules": [{"type": "weekdays", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                       "windows": [window]}]}


# --- all at once ---------------------------------------------------------------------------------
def test_at_once_every_device_stops_after_its_own_timeout(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001", "2002"))
    a, b, c = (callee.phones[u] for u in ("200", "2001", "2002"))
    callee.set_scheme(kamailio, "all_at_once", [device("200", 1, 5), device("2001", 2, 15),
                                                device("2002", 3, 10)])
    t0 = _call(caller, "200")
    ended = caller.wait_call("ended", timeout=30)

    a_start, a_end = ring_span(a, t0)
    b_start, b_end = ring_span(b, t0)
    c_start, c_end = ring_span(c, t0)
    assert max(a_start, b_start, c_start) < 2, "all devices start ringing together"
    assert 4 <= a_end <= 8, f"A (5 s) rang until {a_end:.1f} s"
    assert 9 <= c_end <= 13, f"C (10 s) rang until {c_end:.1f} s"
    assert 14 <= b_end <= 19, f"B (15 s) rang until {b_end:.1f} s"
    # When the last one has stopped, the caller hears that nobody is available.
    assert ended["code"] == 480, ended
    assert abs((ended["t"] - t0) - b_end) < 1.5


def test_at_once_an_answer_cancels_the_other_devices(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001", "2002"))
    a, b, c = (callee.phones[u] for u in ("200", "2001", "2002"))
    callee.set_scheme(kamailio, "all_at_once", [device("200", 1, 30), device("2001", 2, 30),
                                                device("2002", 3, 20)])
    _call(caller, "200")
    for p in (a, b, c):
        p.wait_call("incoming", timeout=5)
    _answer(b)
    caller.wait_call("connected", timeout=5)
    b.wait_call("connected", timeout=5)
    for other in (a, c):
        ended = other.wait_call("ended", timeout=5)
        assert other.calls("connected") == [], other.events
        assert ended["code"] in (487, 200), ended  # CANCEL: "call completed elsewhere"
    caller.command("hangup")
    b.wait_call("ended", timeout=5)


def test_at_once_a_decline_stops_only_that_device(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001", "2002"),
                             options={"2002": ("--reject-code", "603")})
    a, b, c = (callee.phones[u] for u in ("200", "2001", "2002"))
    # Same timeout everywhere: the whole step is timed by the call's own transaction.
    callee.set_scheme(kamailio, "all_at_once", [device("200", 1, 20), device("2001", 2, 20),
                                                device("2002", 3, 20)])
    _call(caller, "200")
    c.wait_call("ended", timeout=5)
    time.sleep(2)
    assert still_ringing(a) and still_ringing(b), (a.events[-3:], b.events[-3:])
    assert first(caller, "ended") is None, "the caller must not hear the decline"
    _answer(a)
    caller.wait_call("connected", timeout=5)
    b.wait_call("ended", timeout=5)
    caller.command("hangup")


def test_at_once_a_decline_leaves_devices_with_their_own_timeouts_ringing(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001", "2002"),
                             options={"2002": ("--reject-code", "603")})
    a, b, c = (callee.phones[u] for u in ("200", "2001", "2002"))
    # Different timeouts: every device has a transaction of its own (a leg).
    callee.set_scheme(kamailio, "all_at_once", [device("200", 1, 25), device("2001", 2, 20),
                                                device("2002", 3, 15)])
    _call(caller, "200")
    assert c.wait_call("ended", timeout=5)["code"] == 603
    time.sleep(2)
    assert still_ringing(a) and still_ringing(b), (a.events[-3:], b.events[-3:])
    assert first(caller, "ended") is None
    _answer(b)
    caller.wait_call("connected", timeout=5)
    a.wait_call("ended", timeout=5)
    caller.command("hangup")


# --- in turn ---------------------------------------------------------------------------------------
def test_in_turn_the_next_device_rings_when_the_first_times_out(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",))
    a, b = callee.phones["200"], callee.phones["2001"]
    callee.set_scheme(kamailio, "in_turn", [device("200", 1, 5), device("2001", 2, 5)])
    t0 = _call(caller, "200")
    ended = caller.wait_call("ended", timeout=25)

    a_start, a_end = ring_span(a, t0)
    b_start, b_end = ring_span(b, t0)
    assert a_start < 2
    assert 4 <= a_end <= 8, f"A (5 s) rang until {a_end:.1f} s"
    assert b_start >= a_end - 0.2, "B must not ring before A has stopped"
    assert b_start - a_end < 1.5, "B rings as soon as A stops"
    assert 4 <= b_end - b_start <= 8, f"B (5 s) rang for {b_end - b_start:.1f} s"
    assert ended["code"] == 480, ended


def test_in_turn_a_busy_device_is_skipped_at_once(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",), options={"200": ("--reject-code", "486")})
    a, b = callee.phones["200"], callee.phones["2001"]
    callee.set_scheme(kamailio, "in_turn", [device("200", 1, 20), device("2001", 2, 20)])
    t0 = _call(caller, "200")
    b_ringing = b.wait_call("incoming", timeout=5)
    assert a.wait_call("ended", timeout=5)["code"] == 486
    assert b_ringing["t"] - t0 < 2, "B rings at once when A is busy"
    _answer(b)
    caller.wait_call("connected", timeout=5)
    caller.command("hangup")


@pytest.mark.both_databases
def test_in_turn_an_unregistered_device_is_skipped(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001", "2002"), unregistered=("2001",))
    a, c = callee.phones["200"], callee.phones["2002"]
    callee.set_scheme(kamailio, "in_turn", [device("200", 1, 4), device("2001", 2, 20),
                                            device("2002", 3, 20)])
    t0 = _call(caller, "200")
    c_ringing = c.wait_call("incoming", timeout=12)
    # A's CANCEL and C's INVITE leave Kamailio together; either may reach its phone first.
    a_end = a.wait_call("ended", timeout=5)["t"] - t0
    assert c_ringing["t"] - t0 - a_end < 1.5, "nobody rings between A and C"
    caller.command("hangup")
    c.wait_call("ended", timeout=5)


def test_in_turn_ring_forever_outlasts_max_inv_lifetime_and_later_devices_never_ring(kamailio, phones):
    # tm's own limits for an INVITE transaction (fr_inv_timer, max_inv_lifetime) are 6 s here; the
    # PBX-wide call-setup cap (what bounds "forever", docs/platform-notes.md) is 120 s. The ring plan
    # sets its own lifetime per transaction, so A rings on at 15 s, well past tm's limits.
    restart_kamailio(kamailio, max_inv_lifetime_s=6, max_call_setup_s=120)
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",))
    a, b = callee.phones["200"], callee.phones["2001"]
    callee.set_scheme(kamailio, "in_turn", [device("200", 1, 0), device("2001", 2, 5)])
    t0 = _call(caller, "200")
    a.wait_call("incoming", timeout=5)
    time.sleep(max(0.0, t0 + 15 - time.time()))
    assert still_ringing(a), f"A stopped ringing before 15 s: {a.events[-3:]}"
    assert first(caller, "ended") is None
    assert not rang(b), "a device after a ring-forever one never rings"
    caller.command("hangup")  # the caller gives up
    assert a.wait_call("ended", timeout=5)["code"] == 487
    time.sleep(1)
    assert not rang(b)


def test_ring_forever_is_bounded_by_the_call_setup_cap(kamailio, phones):
    restart_kamailio(kamailio, max_call_setup_s=8)
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200")
    a = callee.phones["200"]
    callee.set_scheme(kamailio, "in_turn", [device("200", 1, 0)])
    t0 = _call(caller, "200")
    ended = caller.wait_call("ended", timeout=20)
    _, a_end = ring_span(a, t0)
    assert 7 <= a_end <= 12, f"rang until {a_end:.1f} s with an 8 s cap"
    assert ended["code"] == 480, ended


@pytest.mark.skipif(not sipp.available(), reason="sipp is not installed (sip-tester)")
@pytest.mark.parametrize("step", ["direct", "leg"])
def test_repeated_180s_do_not_restart_a_devices_timeout(kamailio, phones, tmp_path, step):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",), unregistered=("2001",))
    devices = [device("2001", 2, 4)]
    if step == "leg":  # another timeout in the same step: each device gets a transaction
        devices.append(device("200", 1, 12))
    else:
        devices.append(device("200", 1, 4, active=False))
    callee.set_scheme(kamailio, "all_at_once", devices)
    # Account 2001 is a sipp phone that sends 180 again every second and never answers.
    with sipp.Sipp("uas_ring_until_cancel.xml", tmp_path) as phone:
        sipp.register(kamailio.port, kamailio.domain, "2001", callee.passwords["2001"], phone.port)
        _call(caller, "200")
        cancel = phone.wait_received("CANCEL", timeout=15)
        invite = phone.received("INVITE")[0]
        ringing = [m for m in phone.messages() if m.direction == "sent" and m.status == 180
                   and m.t < cancel.t]
        assert len(ringing) >= 3, [m.first_line for m in phone.messages()]
        assert 3 <= cancel.t - invite.t <= 6.5, f"cancelled after {cancel.t - invite.t:.1f} s, not 4 s"
        caller.command("hangup")
        assert phone.wait(10) == 0, phone.output()


# --- only the main number -----------------------------------------------------------------------
def test_main_only_rings_the_first_active_device_for_its_timeout(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001", "2002"))
    a, b, c = (callee.phones[u] for u in ("200", "2001", "2002"))
    callee.set_scheme(kamailio, "main_only", [device("200", 1, 30, active=False),
                                              device("2001", 2, 5), device("2002", 3, 30)])
    t0 = _call(caller, "200")
    ended = caller.wait_call("ended", timeout=15)
    b_start, b_end = ring_span(b, t0)
    assert 4 <= b_end <= 8, f"the main number (5 s) rang until {b_end:.1f} s"
    assert ended["code"] == 480, ended
    assert abs((ended["t"] - t0) - b_end) < 1.5
    assert not rang(a) and not rang(c)


# --- who may ring at all -----------------------------------------------------------------------------
def test_inactive_and_out_of_schedule_devices_never_ring(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001", "2002", "2003"))
    in_window, inactive, out_of_window, always = (callee.phones[u] for u in ("200", "2001", "2002", "2003"))
    callee.set_scheme(kamailio, "all_at_once", [
        device("200", 1, 20, schedule=_every_day(_window(-60, 120))),   # now is inside
        device("2001", 2, 20, active=False),
        device("2002", 3, 20, schedule=_every_day(_window(120, 60))),   # now is outside
        device("2003", 4, 20),
    ])
    _call(caller, "200")
    in_window.wait_call("incoming", timeout=5)
    always.wait_call("incoming", timeout=5)
    time.sleep(1.5)
    assert not rang(inactive), "an inactive device never rings"
    assert not rang(out_of_window), "a device outside its schedule never rings"
    caller.command("hangup")
    in_window.wait_call("ended", timeout=5)
    always.wait_call("ended", timeout=5)


@pytest.mark.both_databases
def test_the_production_calendar_decides_what_a_working_day_is(kamailio, phones):
    now = dt.datetime.now(dt.UTC)
    if (now.hour, now.minute) == (23, 59):
        time.sleep(61)  # the scheme is in UTC: keep the whole test on one calendar day
    today = dt.datetime.now(dt.UTC).date()
    weekend = today.weekday() >= 5
    # Turn today around: a weekday becomes a public holiday, a weekend day a working day.
    day = (CalendarDay(today, DayKind.WORKING) if weekend
           else CalendarDay(today, DayKind.DAY_OFF, holiday="Test holiday"))
    calendar_store.set_day(kamailio.instance, CONSOLE, None, day)
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",))
    on_working_days, on_days_off = callee.phones["200"], callee.phones["2001"]
    callee.set_scheme(kamailio, "all_at_once", [
        device("200", 1, 20, schedule={"rules": [{"type": "calendar", "days": "working_days"}]}),
        device("2001", 2, 20, schedule={"rules": [{"type": "calendar", "days": "days_off"}]}),
    ])
    _call(caller, "200")
    rings, silent = (on_working_days, on_days_off) if weekend else (on_days_off, on_working_days)
    rings.wait_call("incoming", timeout=5)
    time.sleep(1.5)
    assert not rang(silent), f"today is a {'working day' if weekend else 'day off'} by the calendar"
    caller.command("hangup")
    rings.wait_call("ended", timeout=5)


def test_nobody_available_gives_480_at_once(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",), unregistered=("2001",))
    callee.set_scheme(kamailio, "all_at_once", [device("200", 1, 20, active=False), device("2001", 2, 20)])
    t0 = _call(caller, "200")
    ended = caller.wait_call("ended", timeout=5)
    assert ended["code"] == 480, ended
    assert ended["t"] - t0 < 2
    assert not rang(callee.phones["200"])


@pytest.mark.both_databases
def test_a_scheme_that_cannot_be_read_falls_back_to_every_registered_account(kamailio, phones):
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",))
    callee.set_scheme(kamailio, "main_only", [device("200", 1, 20), device("2001", 2, 20)])
    with kamailio.instance.engine.begin() as conn:
        conn.execute(update(ReceiveScheme).where(ReceiveScheme.employee_id == callee.employee_id)
                     .values(document='{"mode": "sideways"'))
    _call(caller, "200")
    for p in callee.phones.values():
        p.wait_call("incoming", timeout=5)
    caller.command("hangup")
    assert "cannot be used" in kamailio.log()
