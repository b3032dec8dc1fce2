"""The PBX setting "on shortened (pre-holiday) days working hours end an hour earlier" reaches the
calls Kamailio routes (pbx/ringplan.py states the rule): real Kamailio, a pjsua2 phone per SIP
account."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from pbx import calendar_store, settings
from pbx.audit import Actor
from pbx.prodcalendar import CalendarDay, DayKind
from tests.support.ringing import device, rang

pytestmark = pytest.mark.slow
CONSOLE = Actor.console()


def test_working_hours_end_an_hour_earlier_on_a_shortened_day_only_when_the_pbx_says_so(kamailio, phones):
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    # Both days a window of the scheme may start on (it may run past midnight) are shortened.
    for day in (today - dt.timedelta(days=1), today):
        calendar_store.set_day(kamailio.instance, CONSOLE, None, CalendarDay(day, DayKind.SHORTENED))
    start, end = now - dt.timedelta(minutes=60), now + dt.timedelta(minutes=30)
    hours = {"rules": [{"type": "calendar", "days": "working_days",
                        "windows": [{"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}]}]}
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",))
    desk, mobile_app = callee.phones["200"], callee.phones["2001"]
    callee.set_scheme(kamailio, "all_at_once", [device("200", 1, 20, schedule=hours), device("2001", 2, 20)])

    settings.change(kamailio.instance, CONSOLE, {"shortened_days_end_earlier": "true"}, None)
    time.sleep(1.5)  # Kamailio's workers read settings at most once a second
    mark = caller.mark()
    caller.command("call", number="200")
    caller.wait_call("calling", timeout=5, after=mark)
    mobile_app.wait_call("incoming", timeout=5)
    time.sleep(1.5)
    assert not rang(desk), "the desk phone's hours ended half an hour ago on this shortened day"
    caller.command("hangup")
    mobile_app.wait_call("ended", timeout=5)

    settings.change(kamailio.instance, CONSOLE, {"shortened_days_end_earlier": "false"}, None)
    time.sleep(1.5)
    mark = caller.mark()
    caller.command("call", number="200")
    caller.wait_call("calling", timeout=5, after=mark)
    desk.wait_call("incoming", timeout=5)
    caller.command("hangup")
    desk.wait_call("ended", timeout=5)
