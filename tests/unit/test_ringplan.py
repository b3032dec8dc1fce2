"""The ring plan, by example: each mode, each reason, schedules, the calendar, DST, validation."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, UTC
from zoneinfo import ZoneInfo

import pytest

from pbx.prodcalendar import CalendarDay, DayKind, ProductionCalendar
from pbx.ringplan import (
    CalendarRule,
    Device,
    DeviceStatus,
    InvalidSchemeError,
    InvalidStatusError,
    Mode,
    PeriodRule,
    Problem,
    ProblemCode,
    Reason,
    RingPlanError,
    Schedule,
    Scheme,
    TimeWindow,
    WeekdaysRule,
    compute_plan,
    schedule_covers,
    validate_scheme,
)

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_ONLY = ProductionCalendar()


def ru2025() -> ProductionCalendar:
    """A 2025-like Russian calendar, built by hand (the XML path is tested separately)."""
    off = [date(2025, 1, n) for n in range(1, 9)] + [
        date(2025, 2, 23), date(2025, 3, 8), date(2025, 5, 1), date(2025, 5, 2), date(2025, 5, 8),
        date(2025, 5, 9), date(2025, 6, 12), date(2025, 6, 13), date(2025, 11, 3),
        date(2025, 11, 4), date(2025, 12, 31)]
    shortened = [date(2025, 3, 7), date(2025, 4, 30), date(2025, 6, 11), date(2025, 11, 1)]
    return ProductionCalendar(tuple(CalendarDay(d, DayKind.DAY_OFF) for d in off)
                              + tuple(CalendarDay(d, DayKind.SHORTENED) for d in shortened))


RU2025 = ru2025()


def w(start: str, end: str) -> TimeWindow:
    return TimeWindow(time.fromisoformat(start), time.fromisoformat(end))


def dev(id: str, position: int, timeout: int = 20, *, active: bool = True,
        schedule: Schedule | None = None, kind: str = "sip", address: str | None = None) -> Device:
    if address is None:
        address = f"+7912000{position:04d}" if kind == "external" else f"1{position:02d}"
    return Device(id=id, kind=kind, address=address, active=active, position=position,
                  ring_timeout_s=timeout, schedule=schedule)


def scheme(mode: str, *devices: Device, tz: str = "Europe/Moscow") -> Scheme:
    return Scheme(mode=mode, devices=devices, timezone=tz)


def at(y: int, mo: int, d: int, h: int = 12, mi: int = 0, tz: ZoneInfo = MSK) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


NOON = at(2025, 6, 4)  # a working Wednesday


def plan_of(s: Scheme, now: datetime = NOON, status: dict | None = None,
            calendar: ProductionCalendar = RU2025):
    return compute_plan(s, calendar, now, status)


def rings(plan) -> list[list[tuple[str, int]]]:
    return [[(r.device_id, r.timeout_s) for r in step.devices] for step in plan.steps]


def reasons(plan) -> dict[str, str]:
    return {e.device_id: e.reason.value for e in plan.excluded}


def sched(*rules) -> Schedule:
    return Schedule(rules)


# --- main_only -----------------------------------------------------------------------------
class TestMainOnly:
    def test_the_first_active_device_rings_alone_for_its_timeout(self):
        plan = plan_of(scheme("main_only", dev("b", 2, 15), dev("a", 1, 25), dev("c", 3)))
        assert rings(plan) == [[("a", 25)]]
        assert not plan.steps[0].parallel
        assert reasons(plan) == {"b": "not_main", "c": "not_main"}

    def test_an_inactive_first_device_makes_the_next_active_one_main(self):
        plan = plan_of(scheme("main_only", dev("a", 1, active=False), dev("b", 2), dev("c", 3)))
        assert rings(plan) == [[("b", 20)]]
        assert reasons(plan) == {"a": "inactive", "c": "not_main"}

    @pytest.mark.parametrize("status", ["busy", "unreachable", "not_registered"])
    def test_an_unavailable_main_number_means_nothing_rings(self, status):
        plan = plan_of(scheme("main_only", dev("a", 1), dev("b", 2)), status={"a": status})
        assert plan.steps == ()
        assert reasons(plan) == {"a": status, "b": "not_main"}
        assert plan.to_dict()["rings"] is False

    def test_a_main_number_outside_its_schedule_is_not_replaced(self):
        weeknights = frozenset({"mon", "tue", "wed", "thu", "fri"})
        night_only = sched(WeekdaysRule(weeknights, (w("20:00", "08:00"),)))
        plan = plan_of(scheme("main_only", dev("a", 1, schedule=night_only), dev("b", 2)))
        assert plan.steps == ()
        assert reasons(plan) == {"a": "outside_schedule", "b": "not_main"}

    def test_main_number_with_timeout_zero_rings_forever(self):
        assert rings(plan_of(scheme("main_only", dev("a", 1, 0)))) == [[("a", 0)]]

    def test_no_active_device_means_nothing_rings(self):
        plan = plan_of(scheme("main_only", dev("a", 1, active=False)))
        assert plan.steps == () and reasons(plan) == {"a": "inactive"}

    def test_a_non_main_device_is_not_main_even_when_busy(self):
        plan = plan_of(scheme("main_only", dev("a", 1), dev("b", 2)), status={"b": "busy"})
        assert reasons(plan) == {"b": "not_main"}


# --- all_at_once ---------------------------------------------------------------------------
class TestAllAtOnce:
    def test_one_parallel_step_with_each_device_own_timeout_in_position_order(self):
        plan = plan_of(scheme("all_at_once", dev("c", 30, 0), dev("a", 10, 15),
                              dev("b", 20, 45, kind="external")))
        assert rings(plan) == [[("a", 15), ("b", 45), ("c", 0)]]
        assert plan.steps[0].parallel
        assert plan.excluded == ()

    def test_unavailable_and_inactive_devices_are_left_out(self):
        plan = plan_of(scheme("all_at_once", dev("a", 1), dev("b", 2), dev("c", 3), dev("d", 4),
                              dev("e", 5, active=False)),
                       status={"a": "busy", "b": "unreachable", "c": "not_registered",
                               "d": "available"})
        assert rings(plan) == [[("d", 20)]]
        assert reasons(plan) == {"a": "busy", "b": "unreachable", "c": "not_registered",
                                 "e": "inactive"}

    def test_nothing_available_means_no_steps(self):
        plan = plan_of(scheme("all_at_once", dev("a", 1), dev("b", 2)),
                       status={"a": "busy", "b": "busy"})
        assert plan.steps == ()

    def test_no_devices_at_all(self):
        plan = plan_of(scheme("all_at_once"))
        assert plan.steps == () and plan.excluded == ()

    def test_a_single_device_is_still_one_parallel_step(self):
        plan = plan_of(scheme("all_at_once", dev("a", 1)))
        assert len(plan.steps) == 1 and plan.steps[0].parallel


# --- in_turn -------------------------------------------------------------------------------
class TestInTurn:
    def test_one_step_per_device_in_position_order(self):
        plan = plan_of(scheme("in_turn", dev("c", 3, 30), dev("a", 1, 10), dev("b", 2, 20)))
        assert rings(plan) == [[("a", 10)], [("b", 20)], [("c", 30)]]
        assert not any(step.parallel for step in plan.steps)

    def test_unavailable_devices_are_skipped_so_the_next_rings_at_once(self):
        plan = plan_of(scheme("in_turn", dev("a", 1), dev("b", 2), dev("c", 3), dev("d", 4)),
                       status={"a": "busy", "c": "not_registered"})
        assert rings(plan) == [[("b", 20)], [("d", 20)]]
        assert reasons(plan) == {"a": "busy", "c": "not_registered"}

    def test_a_ring_forever_device_is_the_last_that_can_ring(self):
        plan = plan_of(scheme("in_turn", dev("a", 1, 10), dev("b", 2, 0), dev("c", 3), dev("d", 4)))
        assert rings(plan) == [[("a", 10)], [("b", 0)]]
        assert reasons(plan) == {"c": "after_forever", "d": "after_forever"}

    def test_a_busy_ring_forever_device_does_not_silence_the_ones_after_it(self):
        plan = plan_of(scheme("in_turn", dev("a", 1, 0), dev("b", 2)), status={"a": "busy"})
        assert rings(plan) == [[("b", 20)]]
        assert reasons(plan) == {"a": "busy"}

    def test_a_ring_forever_device_outside_its_schedule_does_not_silence_the_rest(self):
        never_now = sched(PeriodRule(date(2020, 1, 1), date(2020, 1, 2)))
        plan = plan_of(scheme("in_turn", dev("a", 1, 0, schedule=never_now), dev("b", 2)))
        assert rings(plan) == [[("b", 20)]]

    def test_ring_forever_as_the_last_device_excludes_nobody(self):
        plan = plan_of(scheme("in_turn", dev("a", 1), dev("b", 2, 0)))
        assert rings(plan) == [[("a", 20)], [("b", 0)]] and plan.excluded == ()

    def test_after_forever_is_reported_before_the_devices_own_reasons(self):
        evenings = sched(WeekdaysRule(frozenset({"sat"}), ()))
        plan = plan_of(scheme("in_turn", dev("a", 1, 0), dev("b", 2), dev("c", 3, schedule=evenings),
                              dev("d", 4, active=False)),
                       status={"b": "busy"})
        assert reasons(plan) == {"b": "after_forever", "c": "after_forever", "d": "inactive"}


# --- reasons and their order ---------------------------------------------------------------
def test_inactive_beats_every_other_reason():
    never = sched(PeriodRule(date(2020, 1, 1), date(2020, 1, 1)))
    for mode in Mode:
        plan = plan_of(scheme(mode, dev("z", 0), dev("a", 1, active=False, schedule=never)),
                       status={"a": "busy"})
        assert reasons(plan)["a"] == "inactive"


def test_the_schedule_is_reported_before_the_live_state():
    never = sched(PeriodRule(date(2020, 1, 1), date(2020, 1, 1)))
    plan = plan_of(scheme("all_at_once", dev("a", 1, schedule=never)), status={"a": "not_registered"})
    assert reasons(plan) == {"a": "outside_schedule"}


def test_every_reason_has_an_english_sentence_in_the_preview():
    plan = plan_of(scheme("in_turn", dev("a", 1, 0), dev("b", 2)))
    excluded = plan.to_dict()["excluded"]
    assert excluded == [{"id": "b", "kind": "sip", "address": "102", "reason": "after_forever", "after": "a",
                         "why": "101 (a) before it rings until answered (up to the PBX-wide limit of 600 s), "
                                "so this one is never reached."}]


def test_reason_for_and_ringing_ids():
    plan = plan_of(scheme("in_turn", dev("a", 1), dev("b", 2)), status={"b": "busy"})
    assert plan.ringing_ids == ("a",)
    assert plan.reason_for("a") is None and plan.reason_for("b") is Reason.BUSY


# --- device states -------------------------------------------------------------------------
def test_missing_state_means_available_and_enum_values_are_accepted():
    plan = plan_of(scheme("all_at_once", dev("a", 1), dev("b", 2)),
                   status={"b": DeviceStatus.UNREACHABLE, "ghost": "busy"})
    assert rings(plan) == [[("a", 20)]] and reasons(plan) == {"b": "unreachable"}


def test_an_unknown_state_is_an_error_naming_the_device():
    with pytest.raises(InvalidStatusError, match="'a' has the state 'ringing'") as info:
        plan_of(scheme("all_at_once", dev("a", 1)), status={"a": "ringing"})
    assert isinstance(info.value, RingPlanError) and isinstance(info.value, ValueError)


def test_a_naive_time_is_refused():
    with pytest.raises(RingPlanError, match="time zone"):
        plan_of(scheme("all_at_once", dev("a", 1)), now=datetime(2025, 6, 4, 12))


# --- schedules: days, the calendar and day_off ----------------------------------------------
WORKDAY_HOURS = sched(CalendarRule("working_days", (w("09:00", "18:00"),)))


@pytest.mark.parametrize("now, reason", [
    (at(2025, 6, 4, 10), None),                    # working Wednesday, in hours
    (at(2025, 6, 4, 9, 0), None),                  # start is included
    (at(2025, 6, 4, 18, 0), "outside_schedule"),   # end is not
    (at(2025, 6, 4, 20), "outside_schedule"),      # working day, wrong hour
    (at(2025, 6, 7, 10), "day_off"),               # Saturday, right hour
    (at(2025, 6, 7, 20), "outside_schedule"),      # Saturday, wrong hour anyway
    (at(2025, 5, 8, 10), "day_off"),               # Thursday made a day off (moved Feb 23)
    (at(2025, 1, 3, 10), "day_off"),               # New Year holidays
    (at(2025, 1, 9, 10), None),                    # back to work
    (at(2025, 4, 30, 10), None),                   # shortened days are working days
    (at(2025, 11, 1, 10), None),                   # the working Saturday
    (at(2025, 11, 3, 10), "day_off"),              # the Monday it was moved to
])
def test_working_days_rule_follows_the_production_calendar(now, reason):
    plan = plan_of(scheme("all_at_once", dev("a", 1, schedule=WORKDAY_HOURS)), now=now)
    assert reasons(plan).get("a") == reason


@pytest.mark.parametrize("now, rings_", [
    (at(2025, 6, 4, 12), False), (at(2025, 6, 7, 12), True), (at(2025, 5, 8, 12), True),
    (at(2025, 11, 1, 12), False), (at(2025, 11, 3, 12), True),
])
def test_days_off_rule_follows_the_production_calendar(now, rings_):
    days_off = sched(CalendarRule("days_off", ()))
    plan = plan_of(scheme("all_at_once", dev("a", 1, schedule=days_off)), now=now)
    assert plan.ringing_ids == (("a",) if rings_ else ())
    if not rings_:
        assert reasons(plan) == {"a": "outside_schedule"}  # "day_off" is only ever about day-off days


def test_an_explicit_weekday_set_ignores_the_calendar():
    weekdays = sched(WeekdaysRule(frozenset({"mon", "tue", "wed", "thu", "fri"}), (w("09:00", "18:00"),)))
    s = scheme("all_at_once", dev("a", 1, schedule=weekdays))
    assert plan_of(s, now=at(2025, 5, 8, 10)).ringing_ids == ("a",)   # a holiday Thursday
    assert reasons(plan_of(s, now=at(2025, 11, 1, 10))) == {"a": "outside_schedule"}  # working Sat


def test_rules_combine_with_or():
    s = sched(CalendarRule("working_days", (w("09:00", "13:00"),)),
              WeekdaysRule(frozenset({"sat"}), (w("10:00", "12:00"),)),
              PeriodRule(date(2025, 6, 4), date(2025, 6, 4), (w("15:00", "16:00"),)))
    cases = {at(2025, 6, 4, 10): True, at(2025, 6, 4, 14): False, at(2025, 6, 4, 15, 30): True,
             at(2025, 6, 5, 15, 30): False, at(2025, 6, 7, 11): True, at(2025, 6, 8, 11): False}
    for moment, expected in cases.items():
        assert schedule_covers(s, RU2025, moment.replace(tzinfo=None)) is expected, moment


def test_a_whole_year_with_moved_holidays_and_working_saturdays():
    s = scheme("all_at_once", dev("office", 1, schedule=WORKDAY_HOURS),
               dev("duty", 2, schedule=sched(CalendarRule("days_off", (w("09:00", "18:00"),)))))
    office = duty = 0
    day = date(2025, 1, 1)
    while day.year == 2025:
        plan = plan_of(s, now=datetime.combine(day, time(10), MSK))
        assert len(plan.ringing_ids) == 1  # exactly one of them is on duty, every single day
        assert plan.working_day == RU2025.is_working_day(day)
        office += plan.ringing_ids == ("office",)
        duty += plan.ringing_ids == ("duty",)
        if plan.ringing_ids == ("duty",):
            assert reasons(plan) == {"office": "day_off"}
        day += timedelta(days=1)
    assert (office, duty) == (247, 118)


# --- date periods ----------------------------------------------------------------------------
def test_a_date_period_includes_both_ends():
    vacation = sched(PeriodRule(date(2025, 7, 1), date(2025, 7, 14)))
    s = scheme("all_at_once", dev("a", 1, schedule=vacation))
    assert reasons(plan_of(s, now=at(2025, 6, 30, 23, 59))) == {"a": "outside_schedule"}
    assert plan_of(s, now=at(2025, 7, 1, 0, 0)).ringing_ids == ("a",)
    assert plan_of(s, now=at(2025, 7, 14, 23, 59)).ringing_ids == ("a",)
    assert reasons(plan_of(s, now=at(2025, 7, 15, 0, 0))) == {"a": "outside_schedule"}


def test_a_date_period_with_a_night_window_runs_into_the_day_after_it():
    nights = sched(PeriodRule(date(2025, 7, 1), date(2025, 7, 2), (w("22:00", "02:00"),)))
    cover = lambda *a: schedule_covers(nights, RU2025, datetime(*a))  # noqa: E731
    assert not cover(2025, 7, 1, 1, 0)    # belongs to June 30, outside the period
    assert cover(2025, 7, 1, 23, 0)
    assert cover(2025, 7, 3, 1, 59)       # started on July 2
    assert not cover(2025, 7, 3, 23, 0)


# --- windows past midnight -------------------------------------------------------------------
FRIDAY_NIGHT = sched(WeekdaysRule(frozenset({"fri"}), (w("22:00", "06:00"),)))


@pytest.mark.parametrize("moment, covered", [
    (datetime(2025, 6, 6, 21, 59), False),   # Friday, before
    (datetime(2025, 6, 6, 22, 0), True),     # Friday, start
    (datetime(2025, 6, 6, 23, 59), True),
    (datetime(2025, 6, 7, 0, 0), True),      # Saturday: belongs to Friday's window
    (datetime(2025, 6, 7, 3, 0), True),
    (datetime(2025, 6, 7, 5, 59, 59), True),
    (datetime(2025, 6, 7, 6, 0), False),     # end excluded
    (datetime(2025, 6, 7, 22, 0), False),    # Saturday evening: no window starts on Saturday
    (datetime(2025, 6, 6, 3, 0), False),     # Friday early morning belongs to Thursday
])
def test_a_window_past_midnight_belongs_to_the_day_it_starts(moment, covered):
    assert schedule_covers(FRIDAY_NIGHT, RU2025, moment) is covered


def test_a_night_window_of_working_days_after_a_day_off():
    nights = sched(CalendarRule("working_days", (w("22:00", "06:00"),)))
    s = scheme("all_at_once", dev("a", 1, schedule=nights))
    assert plan_of(s, now=at(2025, 6, 7, 3)).ringing_ids == ("a",)       # Sat 03:00: Friday's night
    assert reasons(plan_of(s, now=at(2025, 6, 9, 3))) == {"a": "day_off"}  # Mon 03:00: Sunday's night
    assert reasons(plan_of(s, now=at(2025, 6, 9, 12))) == {"a": "outside_schedule"}
    assert plan_of(s, now=at(2025, 11, 2, 3)).ringing_ids == ("a",)      # after the working Saturday


def test_a_window_ending_at_midnight_runs_to_the_end_of_the_day():
    evenings = sched(WeekdaysRule(frozenset({"wed"}), (w("18:00", "00:00"),)))
    assert schedule_covers(evenings, RU2025, datetime(2025, 6, 4, 23, 59, 59))
    assert not schedule_covers(evenings, RU2025, datetime(2025, 6, 5, 0, 0))
    assert not schedule_covers(evenings, RU2025, datetime(2025, 6, 4, 17, 59))


def test_whole_day_rules():
    sundays = sched(WeekdaysRule(frozenset({"sun"}), ()))
    assert schedule_covers(sundays, RU2025, datetime(2025, 6, 8, 0, 0))
    assert schedule_covers(sundays, RU2025, datetime(2025, 6, 8, 23, 59, 59))
    assert not schedule_covers(sundays, RU2025, datetime(2025, 6, 9, 0, 0))


# --- time zones and DST ----------------------------------------------------------------------
def covered_minutes(schedule: Schedule, zone: ZoneInfo, start_utc: datetime, hours: int) -> int:
    """Real minutes, stepping in UTC, during which the schedule covers the local wall clock."""
    return sum(schedule_covers(schedule, WEEKDAYS_ONLY,
                               (start_utc + timedelta(minutes=m)).astimezone(zone))
               for m in range(hours * 60))


def test_the_scheme_time_zone_decides_the_local_time():
    s = scheme("all_at_once", dev("a", 1, schedule=WORKDAY_HOURS), tz="Asia/Vladivostok")
    now = datetime(2025, 6, 4, 1, 0, tzinfo=UTC)   # 11:00 in Vladivostok, 04:00 in Moscow
    plan = plan_of(s, now=now)
    assert plan.ringing_ids == ("a",)
    assert plan.to_dict()["local_time"] == "2025-06-04T11:00:00+10:00"
    assert reasons(plan_of(scheme("all_at_once", dev("a", 1, schedule=WORKDAY_HOURS)), now=now)) == {
        "a": "outside_schedule"}


def test_the_calendar_day_is_the_local_one():
    # 2025-01-08 22:30 UTC is already 01:30 on Thursday Jan 9 in Moscow, the first working day;
    # two hours earlier it is still Jan 8 there, a holiday.
    whole_working_days = sched(CalendarRule("working_days", ()))
    s = scheme("all_at_once", dev("a", 1, schedule=whole_working_days))
    assert plan_of(s, now=datetime(2025, 1, 8, 22, 30, tzinfo=UTC)).ringing_ids == ("a",)
    assert reasons(plan_of(s, now=datetime(2025, 1, 8, 20, 30, tzinfo=UTC))) == {"a": "day_off"}


class TestBerlinDst:
    # 2025-03-30: 02:00 CET -> 03:00 CEST (01:00 UTC). 2025-10-26: 03:00 CEST -> 02:00 CET (01:00 UTC).
    SUN = frozenset({"sun"})

    def test_spring_forward_a_window_across_the_missing_hour_is_shorter(self):
        s = sched(WeekdaysRule(self.SUN, (w("01:30", "03:30"),)))
        assert covered_minutes(s, BERLIN, datetime(2025, 3, 29, 22, tzinfo=UTC), 6) == 60
        assert schedule_covers(s, WEEKDAYS_ONLY, datetime(2025, 3, 30, 0, 59, tzinfo=UTC).astimezone(BERLIN))
        assert schedule_covers(s, WEEKDAYS_ONLY, datetime(2025, 3, 30, 1, 0, tzinfo=UTC).astimezone(BERLIN))

    def test_spring_forward_a_window_inside_the_missing_hour_covers_nothing(self):
        s = sched(WeekdaysRule(self.SUN, (w("02:00", "03:00"),)))
        assert covered_minutes(s, BERLIN, datetime(2025, 3, 29, 22, tzinfo=UTC), 6) == 0

    def test_spring_forward_a_window_starting_in_the_missing_hour_starts_at_three(self):
        s = sched(WeekdaysRule(self.SUN, (w("02:30", "04:00"),)))
        start = datetime(2025, 3, 29, 22, tzinfo=UTC)
        covered = [m for m in range(360) if schedule_covers(
            s, WEEKDAYS_ONLY, (start + timedelta(minutes=m)).astimezone(BERLIN))]
        assert len(covered) == 60
        assert (start + timedelta(minutes=covered[0])).astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"

    def test_fall_back_the_repeated_hour_is_covered_twice(self):
        s = sched(WeekdaysRule(self.SUN, (w("02:00", "02:30"),)))
        assert covered_minutes(s, BERLIN, datetime(2025, 10, 25, 22, tzinfo=UTC), 6) == 60
        first = datetime(2025, 10, 26, 0, 15, tzinfo=UTC).astimezone(BERLIN)
        second = datetime(2025, 10, 26, 1, 15, tzinfo=UTC).astimezone(BERLIN)
        assert first.strftime("%H:%M") == second.strftime("%H:%M") == "02:15"
        assert schedule_covers(s, WEEKDAYS_ONLY, first) and schedule_covers(s, WEEKDAYS_ONLY, second)

    def test_a_ring_plan_across_the_change(self):
        s = scheme("in_turn", dev("a", 1, schedule=sched(WeekdaysRule(self.SUN, (w("02:00", "03:00"),)))),
                   dev("b", 2), tz="Europe/Berlin")
        before = plan_of(s, now=datetime(2025, 10, 26, 0, 30, tzinfo=UTC))   # 02:30 CEST
        after = plan_of(s, now=datetime(2025, 10, 26, 1, 30, tzinfo=UTC))    # 02:30 CET
        assert before.ringing_ids == after.ringing_ids == ("a", "b")
        assert before.to_dict()["local_time"] == "2025-10-26T02:30:00+02:00"
        assert after.to_dict()["local_time"] == "2025-10-26T02:30:00+01:00"


class TestNewYorkDst:
    # 2025-03-09: 02:00 EST -> 03:00 EDT (07:00 UTC). 2025-11-02: 02:00 EDT -> 01:00 EST (06:00 UTC).
    SAT_NIGHT = sched(WeekdaysRule(frozenset({"sat"}), (w("22:00", "06:00"),)))

    def test_a_night_window_on_the_spring_forward_night_lasts_seven_hours(self):
        assert covered_minutes(self.SAT_NIGHT, NEW_YORK, datetime(2025, 3, 8, 23, tzinfo=UTC), 16) == 7 * 60

    def test_a_night_window_on_the_fall_back_night_lasts_nine_hours(self):
        assert covered_minutes(self.SAT_NIGHT, NEW_YORK, datetime(2025, 11, 1, 23, tzinfo=UTC), 16) == 9 * 60

    @pytest.mark.parametrize("utc, covered", [
        (datetime(2025, 3, 9, 6, 59), True),    # 01:59 EST Sunday
        (datetime(2025, 3, 9, 7, 0), True),     # 03:00 EDT Sunday
        (datetime(2025, 3, 9, 9, 59), True),    # 05:59 EDT
        (datetime(2025, 3, 9, 10, 0), False),   # 06:00 EDT
        (datetime(2025, 11, 2, 5, 30), True),   # 01:30 EDT
        (datetime(2025, 11, 2, 6, 30), True),   # 01:30 EST, the second time
        (datetime(2025, 11, 2, 11, 0), False),  # 06:00 EST
    ])
    def test_moments_of_the_dst_nights(self, utc, covered):
        local = utc.replace(tzinfo=UTC).astimezone(NEW_YORK)
        assert schedule_covers(self.SAT_NIGHT, WEEKDAYS_ONLY, local) is covered

    def test_plan_on_the_fall_back_night(self):
        s = scheme("all_at_once", dev("a", 1, schedule=self.SAT_NIGHT), tz="America/New_York")
        last_minute = datetime(2025, 11, 2, 10, 59, tzinfo=UTC)  # 05:59 EST
        assert plan_of(s, now=last_minute, calendar=WEEKDAYS_ONLY).ringing_ids == ("a",)
        over = last_minute + timedelta(minutes=1)
        assert plan_of(s, now=over, calendar=WEEKDAYS_ONLY).ringing_ids == ()


# --- the preview ------------------------------------------------------------------------------
def test_to_dict_is_plain_json_in_a_fixed_shape():
    s = scheme("in_turn",
               dev("mobile", 2, 30, kind="external", address="+79123456789"),
               dev("desk", 1, 15, schedule=WORKDAY_HOURS),
               dev("laptop", 3, 0),
               dev("old", 4, active=False))
    plan = plan_of(s, now=datetime(2025, 11, 1, 7, 5, 9, tzinfo=UTC), status={"laptop": "busy"})
    data = plan.to_dict()
    assert data == {
        "mode": "in_turn",
        "timezone": "Europe/Moscow",
        "local_time": "2025-11-01T10:05:09+03:00",
        "working_day": True,
        "rings": True,
        "caller_hears": None,
        "max_ring_s": 600,
        "steps": [
            {"parallel": False, "devices": [{"id": "desk", "kind": "sip", "address": "101",
                                             "timeout_s": 15}]},
            {"parallel": False, "devices": [{"id": "mobile", "kind": "external", "address": "+79123456789",
                                             "timeout_s": 30}]},
        ],
        "excluded": [
            {"id": "laptop", "kind": "sip", "address": "103", "reason": "busy", "why": "The device is busy."},
            {"id": "old", "kind": "sip", "address": "104", "reason": "inactive",
             "why": "The device is switched off in the scheme."},
        ],
        "notices": [],
    }
    assert json.loads(json.dumps(data)) == data
    assert list(data) == ["mode", "timezone", "local_time", "working_day", "rings", "caller_hears", "max_ring_s", "steps", "excluded",
                          "notices"]


# --- validation -------------------------------------------------------------------------------
def problems_of(s: Scheme) -> list[tuple[str, str]]:
    return [(p.location, p.code.value) for p in validate_scheme(s)]


def test_a_good_scheme_has_no_problems():
    s = scheme("in_turn", dev("a", 1, 0, schedule=sched(
        PeriodRule(date(2025, 1, 1), date(2025, 1, 10), (w("09:00", "12:00"),)),
        PeriodRule(date(2025, 1, 5), date(2025, 1, 15), (w("14:00", "18:00"),)),  # same days, other hours
        PeriodRule(date(2025, 1, 16), date(2025, 1, 16)),
        WeekdaysRule(frozenset({"mon", "sun"}), (w("22:00", "06:00"), w("08:00", "09:00"))),
        CalendarRule("working_days", ()), CalendarRule("days_off", (w("10:00", "11:00"),)),
    )), dev("b", 2, 600, kind="external", address="+12025550123"), dev("c", 3, active=False))
    assert validate_scheme(s) == []
    for tz in ("UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"):
        assert validate_scheme(scheme("main_only", tz=tz)) == []


@pytest.mark.parametrize("s, expected", [
    (scheme("only_main"), [("mode", "bad_mode")]),
    (scheme(None), [("mode", "bad_mode")]),  # type: ignore[arg-type]
    (scheme("in_turn", tz="Mars/Olympus"), [("timezone", "bad_timezone")]),
    (scheme("in_turn", tz=""), [("timezone", "bad_timezone")]),
    (scheme("in_turn", tz="localtime"), [("timezone", "bad_timezone")]),
    (scheme("in_turn", tz="../../../etc/passwd"), [("timezone", "bad_timezone")]),
    (scheme("in_turn", tz="Europe"), [("timezone", "bad_timezone")]),
    (scheme("in_turn", dev("a", 1, -1)), [("devices[0].ring_timeout_s", "bad_timeout")]),
    (scheme("in_turn", dev("a", 1, 601)), [("devices[0].ring_timeout_s", "bad_timeout")]),
    (scheme("in_turn", dev("a", 1, True)),  # type: ignore[arg-type]
     [("devices[0].ring_timeout_s", "bad_timeout")]),
    (scheme("in_turn", dev("a", 1, "30")),  # type: ignore[arg-type]
     [("devices[0].ring_timeout_s", "bad_timeout")]),
    (scheme("in_turn", dev("a", 1), dev("b", 2), dev("a", 3)), [("devices[2].id", "duplicate_device_id")]),
    (scheme("in_turn", dev("a", 1), dev("b", 1)), [("devices[1].position", "duplicate_position")]),
    (scheme("in_turn", dev(" ", 1)), [("devices[0].id", "bad_device_id")]),
    (scheme("in_turn", dev("a", 1, kind="mobile")), [("devices[0].kind", "bad_device_kind")]),
    (scheme("in_turn", dev("a", 1, address="")), [("devices[0].address", "bad_address")]),
    (scheme("in_turn", dev("a", 1, address="102@pbx")), [("devices[0].address", "bad_address")]),
    (scheme("in_turn", dev("a", 1, kind="external", address="89123456789")),
     [("devices[0].address", "bad_address")]),
    (scheme("in_turn", dev("a", 1, kind="external", address="+7 912 345-67-89")),
     [("devices[0].address", "bad_address")]),
    (scheme("in_turn", dev("a", 1, active=False, schedule=WORKDAY_HOURS)),
     [("devices[0].schedule", "schedule_on_inactive_device")]),
    (scheme("in_turn", dev("a", 1, schedule=sched())), [("devices[0].schedule.rules", "empty_schedule")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(PeriodRule(date(2025, 2, 1), date(2025, 1, 31))))),
     [("devices[0].schedule.rules[0].end", "inverted_period")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(
        PeriodRule(date(2025, 1, 1), date(2025, 1, 10)), PeriodRule(date(2025, 1, 10), date(2025, 1, 20))))),
     [("devices[0].schedule.rules[1]", "overlapping_periods")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(
        PeriodRule(date(2025, 1, 1), date(2025, 1, 10), (w("09:00", "12:00"),)),
        PeriodRule(date(2025, 1, 5), date(2025, 1, 6), (w("11:59", "13:00"),))))),
     [("devices[0].schedule.rules[1]", "overlapping_periods")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(
        PeriodRule(date(2025, 1, 1), date(2025, 1, 10), (w("22:00", "02:00"),)),
        PeriodRule(date(2025, 1, 5), date(2025, 1, 6), (w("23:00", "01:00"),))))),
     [("devices[0].schedule.rules[1]", "overlapping_periods")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(WeekdaysRule(frozenset({"mon", "Tuesday"}), ()))),
            ), [("devices[0].schedule.rules[0].days", "bad_weekday")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(WeekdaysRule(frozenset(), ())))),
     [("devices[0].schedule.rules[0].days", "no_weekdays")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(CalendarRule("holidays", ())))),
     [("devices[0].schedule.rules[0].days", "bad_days_preset")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(WeekdaysRule(frozenset({"mon"}), (w("09:00", "09:00"),))))),
     [("devices[0].schedule.rules[0].windows[0]", "empty_window")]),
    (scheme("in_turn", dev("a", 1, schedule=sched("mon 9-18"))),  # type: ignore[arg-type]
     [("devices[0].schedule.rules[0]", "bad_type")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(PeriodRule(datetime(2025, 1, 1), date(2025, 1, 2))))),
     [("devices[0].schedule.rules[0]", "bad_type")]),
    (scheme("in_turn", dev("a", 1, schedule=sched(WeekdaysRule(frozenset({"mon"}), (
        TimeWindow(time(9, tzinfo=UTC), time(10)),))))),
     [("devices[0].schedule.rules[0].windows[0]", "bad_type")]),
    (scheme("in_turn", Device(id="a", kind="sip", address="101", active=1,  # type: ignore[arg-type]
                              position=1.5, ring_timeout_s=20, schedule="always")),  # type: ignore[arg-type]
     [("devices[0].active", "bad_type"), ("devices[0].position", "bad_type"),
      ("devices[0].schedule", "bad_type")]),
    (scheme("in_turn", "a phone"), [("devices[0]", "bad_type")]),  # type: ignore[arg-type]
])
def test_each_problem_has_a_path_and_a_code(s, expected):
    assert problems_of(s) == expected
    for p in validate_scheme(s):
        assert p.message.endswith(".") and len(p.message) > 15


def test_problems_are_all_reported_together():
    s = scheme("both", dev("a", 1, 900), dev("a", 1, kind="pager"), tz="Nowhere/City")
    assert problems_of(s) == [
        ("mode", "bad_mode"), ("timezone", "bad_timezone"), ("devices[0].ring_timeout_s", "bad_timeout"),
        ("devices[1].id", "duplicate_device_id"), ("devices[1].kind", "bad_device_kind"),
        ("devices[1].position", "duplicate_position")]


def test_validating_something_that_is_not_a_scheme():
    assert problems_of("in_turn") == [("", "bad_type")]  # type: ignore[arg-type]


def test_problem_messages_name_the_value():
    [p] = validate_scheme(scheme("in_turn", dev("a", 1, 700)))
    assert "700" in p.message and "600" in p.message
    assert str(p) == f"devices[0].ring_timeout_s: {p.message}"
    assert p.to_dict() == {"path": ["devices", 0, "ring_timeout_s"], "code": "bad_timeout",
                           "message": p.message}
    assert p.code is ProblemCode.BAD_TIMEOUT


def test_compute_plan_refuses_a_scheme_with_problems():
    with pytest.raises(InvalidSchemeError) as info:
        plan_of(scheme("in_turn", dev("a", 1, 700), tz="Nowhere/City"))
    assert [p.code for p in info.value.problems] == ["bad_timezone", "bad_timeout"]
    assert "(and 1 more)" in str(info.value) and isinstance(info.value, ValueError)


def test_advisory_problems_do_not_stop_the_plan():
    s = scheme("all_at_once", dev("a", 1, active=False, schedule=WORKDAY_HOURS), dev("b", 2, schedule=sched(
        PeriodRule(date(2025, 6, 1), date(2025, 6, 10)), PeriodRule(date(2025, 6, 3), date(2025, 6, 5)))))
    assert {p.code for p in validate_scheme(s)} == {"schedule_on_inactive_device", "overlapping_periods"}
    plan = plan_of(s)
    assert plan.ringing_ids == ("b",) and reasons(plan) == {"a": "inactive"}


# --- JSON form of a scheme -------------------------------------------------------------------
SCHEME_JSON = {
    "mode": "in_turn",
    "timezone": "Europe/Moscow",
    "devices": [
        {"id": "desk", "kind": "sip", "address": "101", "active": True, "position": 1,
         "ring_timeout_s": 20, "schedule": {"rules": [
             {"type": "calendar", "days": "working_days", "windows": [{"start": "09:00", "end": "18:00"}]},
             {"type": "weekdays", "days": ["mon", "sat"], "windows": [{"start": "22:00", "end": "06:30:15"}]},
             {"type": "period", "start": "2025-12-31", "end": "2026-01-08", "windows": []},
         ]}},
        {"id": "mobile", "kind": "external", "address": "+79123456789", "active": False, "position": 2,
         "ring_timeout_s": 0, "schedule": None},
    ],
}


def test_scheme_json_round_trip():
    s = Scheme.from_dict(SCHEME_JSON)
    rules = s.devices[0].schedule.rules
    assert rules[1] == WeekdaysRule(frozenset({"sat", "mon"}), (w("22:00", "06:30:15"),))
    assert rules[2] == PeriodRule(date(2025, 12, 31), date(2026, 1, 8))
    assert s.to_dict() == SCHEME_JSON
    assert validate_scheme(s) == []


def test_optional_json_fields():
    data = {"mode": "all_at_once", "timezone": "UTC", "devices": [
        {"id": "a", "kind": "sip", "address": "101", "active": True, "position": 1, "ring_timeout_s": 5,
         "schedule": {"rules": [{"type": "weekdays", "days": ["sun"]}]}},
        {"id": "b", "kind": "sip", "address": "102", "active": True, "position": 2, "ring_timeout_s": 5}]}
    s = Scheme.from_dict(data)
    assert s.devices[0].schedule == sched(WeekdaysRule(frozenset({"sun"}), ()))
    assert s.devices[1].schedule is None


def test_bad_values_pass_from_dict_for_validation_to_report():
    data = json.loads(json.dumps(SCHEME_JSON))
    data["mode"] = "sometimes"
    data["devices"][0]["schedule"]["rules"][1]["days"] = ["monday"]
    data["devices"][0]["ring_timeout_s"] = 9000
    assert problems_of(Scheme.from_dict(data)) == [
        ("mode", "bad_mode"), ("devices[0].ring_timeout_s", "bad_timeout"),
        ("devices[0].schedule.rules[1].days", "bad_weekday")]


def test_shape_problems_are_all_reported_with_paths():
    data = json.loads(json.dumps(SCHEME_JSON))
    del data["timezone"]
    data["devices"][0]["active"] = "yes"
    data["devices"][0]["position"] = True
    rules = data["devices"][0]["schedule"]["rules"]
    rules[0]["windows"][0]["end"] = "24:00"
    rules[1]["days"] = "mon"
    rules[2]["start"] = "31.12.2025"
    rules.append({"type": "holiday"})
    rules.append("mon")
    data["devices"][1]["schedule"] = []
    data["devices"].append(7)
    with pytest.raises(InvalidSchemeError) as info:
        Scheme.from_dict(data)
    assert [(p.location, p.code.value) for p in info.value.problems] == [
        ("timezone", "bad_type"),
        ("devices[0].active", "bad_type"),
        ("devices[0].position", "bad_type"),
        ("devices[0].schedule.rules[0].windows[0].end", "bad_type"),
        ("devices[0].schedule.rules[1].days", "bad_type"),
        ("devices[0].schedule.rules[2].start", "bad_type"),
        ("devices[0].schedule.rules[3].type", "bad_type"),
        ("devices[0].schedule.rules[4]", "bad_type"),
        ("devices[1].schedule", "bad_type"),
        ("devices[2]", "bad_type"),
    ]
    assert "midnight is 00:00" in info.value.problems[3].message


@pytest.mark.parametrize("data", [None, [], "scheme", {"mode": "in_turn"}])
def test_from_dict_of_something_else(data):
    with pytest.raises(InvalidSchemeError):
        Scheme.from_dict(data)


def test_model_conveniences():
    assert w("22:00", "06:00").crosses_midnight and w("00:00", "00:00").crosses_midnight
    assert not w("09:00", "18:00").crosses_midnight
    assert WeekdaysRule("mon", ()).days == frozenset({"mon"})  # type: ignore[arg-type]
    from_list = Scheme(mode="in_turn", devices=[dev("a", 1)], timezone="UTC")  # type: ignore[arg-type]
    assert from_list.devices == (dev("a", 1),)
    assert hash(scheme("in_turn", dev("a", 1, schedule=WORKDAY_HOURS)))
    assert Problem(("devices", 0, "schedule", "rules", 2, "windows", 1), ProblemCode.EMPTY_WINDOW,
                   "x.").location == "devices[0].schedule.rules[2].windows[1]"
