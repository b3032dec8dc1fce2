"""The ring plan says what the preview used to leave unsaid (issue 12): shortened pre-holiday
days, the PBX-wide limit of "until answered", the device that rings forever, what a caller
hears when nobody rings, and a local time the clocks skip."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from pbx.prodcalendar import CalendarDay, DayKind, ProductionCalendar
from pbx.ringplan import (
    CalendarRule, Device, Schedule, Scheme, TimeWindow, WeekdaysRule, compute_plan, local_moment,
)

MSK = ZoneInfo("Europe/Moscow")
# 2025-03-07 (Friday) is shortened, 2025-03-10 (Monday) an ordinary working day.
CALENDAR = ProductionCalendar((CalendarDay(date(2025, 3, 7), DayKind.SHORTENED),
                               CalendarDay(date(2025, 3, 8), DayKind.DAY_OFF)))


def device(start: str, end: str, rule=CalendarRule) -> Device:
    window = (TimeWindow(time.fromisoformat(start), time.fromisoformat(end)),)
    rule_ = rule("working_days", window) if rule is CalendarRule else rule(frozenset({"fri", "mon"}), window)
    return Device(id="a", kind="sip", address="101", active=True, position=1, ring_timeout_s=20,
                  schedule=Schedule((rule_,)))


def reason(dev: Device, moment: datetime, shorten: bool = True):
    plan = compute_plan(Scheme(mode="all_at_once", devices=(dev,), timezone="Europe/Moscow"), CALENDAR, moment,
                        shortened_days_end_earlier=shorten)
    return plan.reason_for("a")


@pytest.mark.parametrize("when, shorten, expected", [
    (datetime(2025, 3, 7, 16, 59, tzinfo=MSK), True, None),
    (datetime(2025, 3, 7, 17, 0, tzinfo=MSK), True, "shortened_day"),
    (datetime(2025, 3, 7, 17, 30, tzinfo=MSK), False, None),          # the setting is off by default
    (datetime(2025, 3, 10, 17, 30, tzinfo=MSK), True, None),          # an ordinary working day
    (datetime(2025, 3, 7, 18, 0, tzinfo=MSK), True, "outside_schedule"),
])
def test_working_hours_end_an_hour_earlier_on_shortened_days(when, shorten, expected):
    got = reason(device("09:00", "18:00"), when, shorten)
    assert (got.value if got else None) == expected


def test_a_night_window_from_a_shortened_day_ends_an_hour_earlier_next_morning():
    night = device("22:00", "02:00")
    assert reason(night, datetime(2025, 3, 8, 0, 59, tzinfo=MSK)) is None
    assert reason(night, datetime(2025, 3, 8, 1, 0, tzinfo=MSK)).value == "shortened_day"
    assert reason(device("22:00", "00:00"), datetime(2025, 3, 7, 23, 0, tzinfo=MSK)).value == "shortened_day"


def test_weekday_rules_keep_their_hours_on_shortened_days():
    assert reason(device("09:00", "18:00", WeekdaysRule), datetime(2025, 3, 7, 17, 30, tzinfo=MSK)) is None


def test_the_plan_names_the_limit_the_forever_device_and_the_answer_to_a_caller():
    forever = Device(id="a", kind="sip", address="101", active=True, position=1, ring_timeout_s=0)
    later = Device(id="b", kind="sip", address="102", active=True, position=2, ring_timeout_s=20)
    scheme = Scheme(mode="in_turn", devices=(forever, later), timezone="Europe/Moscow")
    plan = compute_plan(scheme, CALENDAR, datetime(2025, 3, 10, 12, tzinfo=MSK), max_ring_s=300).to_dict()
    assert plan["steps"][0]["devices"][0]["until_answered"] is True
    assert plan["steps"][0]["devices"][0]["limit_s"] == 300 and plan["max_ring_s"] == 300
    assert plan["excluded"][0]["after"] == "a" and "101 (a)" in plan["excluded"][0]["why"]
    assert plan["caller_hears"] is None
    nobody = compute_plan(scheme, CALENDAR, datetime(2025, 3, 10, 12, tzinfo=MSK),
                          {"a": "busy", "b": "not_registered"}).to_dict()
    assert nobody["caller_hears"] == 480
    assert [n["code"] for n in nobody["notices"]] == ["nobody_rings"]


def test_a_local_time_the_clocks_skip_is_moved_and_a_repeated_one_is_not():
    moved, skipped = local_moment(datetime(2026, 3, 29, 2, 30), "Europe/Berlin")
    assert skipped and moved.isoformat() == "2026-03-29T03:30:00+02:00"
    first, skipped = local_moment(datetime(2026, 10, 25, 2, 30), "Europe/Berlin")
    assert not skipped and first.isoformat() == "2026-10-25T02:30:00+02:00"
    plain, skipped = local_moment(datetime(2026, 3, 2, 9, 0), "Europe/Moscow")
    assert not skipped and plain.isoformat() == "2026-03-02T09:00:00+03:00"
