"""Properties of the ring plan that must hold for every valid scheme, moment and device state."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta, UTC
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pbx.prodcalendar import CalendarDay, DayKind, ProductionCalendar
from pbx.ringplan import (
    WEEKDAYS,
    CalendarRule,
    Device,
    DeviceStatus,
    Mode,
    PeriodRule,
    Reason,
    RingPlan,
    Schedule,
    Scheme,
    TimeWindow,
    WeekdaysRule,
    compute_plan,
    schedule_covers,
    validate_scheme,
)

# Each test runs well under a second at these counts on a shared two-core machine.
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZONES = ["Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
         "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]
FIRST, LAST = date(2024, 1, 1), date(2026, 12, 31)
ADVISORY = {"schedule_on_inactive_device", "overlapping_periods"}
SCHEDULE_REASONS = {Reason.DAY_OFF, Reason.OUTSIDE_SCHEDULE}
STATUS_REASONS = {Reason.BUSY: "busy", Reason.UNREACHABLE: "unreachable",
                  Reason.NOT_REGISTERED: "not_registered"}


class EveryDayWorking:
    def is_working_day(self, day: date, /) -> bool:
        return True


# --- strategies --------------------------------------------------------------------------------
# Whole quarter hours mostly, with the odd minute and second that the edges are made of.
clock = st.sampled_from([time(h, m) for h in range(24) for m in (0, 15, 30, 45)]) | st.times()
window = st.tuples(clock, clock).filter(lambda p: p[0] != p[1]).map(lambda p: TimeWindow(*p))
windows = st.lists(window, max_size=2).map(tuple)
days = st.dates(FIRST, LAST)


def periods(draw_dates: tuple[date, date]) -> tuple[date, date]:
    return (min(draw_dates), max(draw_dates))


rules = st.one_of(
    st.builds(lambda d, ws: PeriodRule(*periods(d), ws), st.tuples(days, days), windows),
    st.builds(WeekdaysRule, st.frozensets(st.sampled_from(WEEKDAYS), min_size=1), windows),
    st.builds(CalendarRule, st.sampled_from(["working_days", "days_off"]), windows),
)
schedules = st.none() | st.builds(Schedule, st.lists(rules, min_size=1, max_size=3).map(tuple))
timeouts = st.sampled_from([0, 0, 1, 15, 30, 600]) | st.integers(0, 600)


@st.composite
def schemes(draw, *, strictly_valid: bool = False) -> Scheme:
    """Schemes compute_plan accepts; strictly_valid ones have no advisory problems either."""
    n = draw(st.integers(0, 5))
    positions = draw(st.lists(st.integers(-3, 40), min_size=n, max_size=n, unique=True))
    devices = []
    for i, position in enumerate(positions):
        kind = draw(st.sampled_from(["sip", "external"]))
        address = f"1{i:02d}" if kind == "sip" else f"+7912{draw(st.integers(0, 9_999_999)):07d}"
        active = draw(st.booleans())
        schedule = draw(schedules)
        devices.append(Device(id=f"dev{i}", kind=kind, address=address, active=active,
                              position=position, ring_timeout_s=draw(timeouts),
                              schedule=None if strictly_valid and not active else schedule))
    s = Scheme(mode=draw(st.sampled_from(list(Mode))), devices=tuple(devices),
               timezone=draw(st.sampled_from(ZONES)))
    if strictly_valid:
        assume(validate_scheme(s) == [])
    return s


@st.composite
def calendars(draw) -> ProductionCalendar:
    chosen = draw(st.lists(st.dates(FIRST, LAST), unique=True, max_size=30))
    out = []
    for day in chosen:
        kinds = [DayKind.DAY_OFF, DayKind.SHORTENED] + ([DayKind.WORKING] if day.weekday() >= 5 else [])
        out.append(CalendarDay(day, draw(st.sampled_from(kinds))))
    return ProductionCalendar(tuple(out))


moments = st.datetimes(datetime(2024, 1, 1), datetime(2026, 12, 31),
                       timezones=st.sampled_from([UTC] + [ZoneInfo(z) for z in ZONES]))


@st.composite
def statuses(draw, scheme: Scheme) -> dict[str, str]:
    out = {}
    for device in scheme.devices:
        value = draw(st.none() | st.sampled_from(list(DeviceStatus)))
        if value is not None:
            out[device.id] = value.value
    return out


@st.composite
def situations(draw, *, strictly_valid: bool = False):
    scheme = draw(schemes(strictly_valid=strictly_valid))
    return scheme, draw(calendars()), draw(moments), draw(statuses(scheme))


def plan_for(situation) -> RingPlan:
    scheme, calendar, now, status = situation
    return compute_plan(scheme, calendar, now, status)


def by_id(scheme: Scheme) -> dict[str, Device]:
    return {d.id: d for d in scheme.devices}


# --- the plan ----------------------------------------------------------------------------------
@PROPERTY
@given(situations(strictly_valid=True))
def test_valid_schemes_have_no_problems_and_always_get_a_plan(situation):
    assert validate_scheme(situation[0]) == []
    assert isinstance(plan_for(situation), RingPlan)


# Invariants of a single plan. One test runs them all on each generated situation, so the
# (comparatively costly) generation is paid once; a failure's traceback names the invariant.
def only_advisory_problems_are_tolerated(situation, plan):
    assert {p.code.value for p in validate_scheme(situation[0])} <= ADVISORY


def every_device_appears_exactly_once(situation, plan):
    ringing = list(plan.ringing_ids)
    excluded = [e.device_id for e in plan.excluded]
    assert sorted(ringing + excluded) == sorted(d.id for d in situation[0].devices)
    assert not set(ringing) & set(excluded)


def ringing_devices_keep_their_timeout_kind_and_address(situation, plan):
    devices = by_id(situation[0])
    for step in plan.steps:
        for r in step.devices:
            d = devices[r.device_id]
            assert (r.timeout_s, r.kind, r.address) == (d.ring_timeout_s, d.kind, d.address)


def inactive_devices_never_ring_and_say_so(situation, plan):
    for d in situation[0].devices:
        if not d.active:
            assert plan.reason_for(d.id) is Reason.INACTIVE
            assert d.id not in plan.ringing_ids


def a_ringing_device_is_active_available_and_in_schedule(situation, plan):
    scheme, calendar, now, status = situation
    local = now.astimezone(ZoneInfo(scheme.timezone))
    for device_id in plan.ringing_ids:
        d = by_id(scheme)[device_id]
        assert d.active
        assert status.get(device_id, "available") == "available"
        assert d.schedule is None or schedule_covers(d.schedule, calendar, local)


def each_reason_is_true(situation, plan):
    scheme, calendar, now, status = situation
    local = now.astimezone(ZoneInfo(scheme.timezone))
    for e in plan.excluded:
        d = by_id(scheme)[e.device_id]
        assert (e.reason is Reason.INACTIVE) == (not d.active)
        if e.reason in STATUS_REASONS:
            assert status[d.id] == STATUS_REASONS[e.reason]
        if e.reason in SCHEDULE_REASONS:
            assert d.schedule is not None and not schedule_covers(d.schedule, calendar, local)
            would_ring_if_working = schedule_covers(d.schedule, EveryDayWorking(), local)
            assert would_ring_if_working == (e.reason is Reason.DAY_OFF)
        if e.reason is Reason.NOT_MAIN:
            assert scheme.mode == Mode.MAIN_ONLY
        if e.reason is Reason.AFTER_FOREVER:
            assert scheme.mode == Mode.IN_TURN
            assert plan.steps and plan.steps[-1].devices[0].timeout_s == 0
            assert d.position > by_id(scheme)[plan.steps[-1].devices[0].device_id].position


def steps_and_exclusions_are_in_position_order(situation, plan):
    devices = by_id(situation[0])
    ringing = [devices[i].position for i in plan.ringing_ids]
    excluded = [devices[e.device_id].position for e in plan.excluded]
    assert ringing == sorted(ringing) and excluded == sorted(excluded)


def each_mode_has_its_shape(situation, plan):
    scheme = situation[0]
    assert all(step.devices for step in plan.steps)
    if scheme.mode == Mode.ALL_AT_ONCE:
        assert len(plan.steps) <= 1 and all(step.parallel for step in plan.steps)
    elif scheme.mode == Mode.IN_TURN:
        assert all(len(step.devices) == 1 and not step.parallel for step in plan.steps)
        assert all(step.devices[0].timeout_s != 0 for step in plan.steps[:-1])
    else:
        active = sorted((d for d in scheme.devices if d.active), key=lambda d: d.position)
        assert len(plan.steps) <= 1 and all(len(step.devices) == 1 for step in plan.steps)
        if plan.steps:
            assert plan.ringing_ids == (active[0].id,)
        for d in active[1:]:
            assert plan.reason_for(d.id) is Reason.NOT_MAIN


def the_preview_is_json_and_deterministic(situation, plan):
    data = plan.to_dict()
    assert json.loads(json.dumps(data)) == data
    again = plan_for(situation)
    assert again == plan and again.to_dict() == data
    assert data["rings"] == bool(data["steps"])


PLAN_INVARIANTS = [
    only_advisory_problems_are_tolerated,
    every_device_appears_exactly_once,
    ringing_devices_keep_their_timeout_kind_and_address,
    inactive_devices_never_ring_and_say_so,
    a_ringing_device_is_active_available_and_in_schedule,
    each_reason_is_true,
    steps_and_exclusions_are_in_position_order,
    each_mode_has_its_shape,
    the_preview_is_json_and_deterministic,
]


@settings(PROPERTY, max_examples=400)
@given(situations())
def test_plan_invariants(situation):
    plan = plan_for(situation)  # never raises for a scheme without blocking problems
    for invariant in PLAN_INVARIANTS:
        invariant(situation, plan)


@PROPERTY
@given(situations())
def test_the_modes_agree_on_who_is_available(situation):
    """All at once rings what in turn reaches, plus some of what a ring-forever device shadows
    (those are not checked further); only the main number rings iff it would ring all at once."""
    scheme, calendar, now, status = situation

    def plan_in(mode: Mode) -> RingPlan:
        return compute_plan(Scheme(mode=mode, devices=scheme.devices, timezone=scheme.timezone),
                            calendar, now, status)

    at_once = set(plan_in(Mode.ALL_AT_ONCE).ringing_ids)
    in_turn = plan_in(Mode.IN_TURN)
    shadowed = {e.device_id for e in in_turn.excluded if e.reason is Reason.AFTER_FOREVER}
    assert set(in_turn.ringing_ids) <= at_once <= set(in_turn.ringing_ids) | shadowed
    if not shadowed:
        assert at_once == set(in_turn.ringing_ids)
    active = sorted((d for d in scheme.devices if d.active), key=lambda d: d.position)
    main_only = plan_in(Mode.MAIN_ONLY).ringing_ids
    assert main_only == ((active[0].id,) if active and active[0].id in at_once else ())


@PROPERTY
@given(situations(), st.data())
def test_making_a_device_unavailable_only_removes_that_device(situation, data):
    scheme, calendar, now, status = situation
    before = compute_plan(Scheme(mode=Mode.ALL_AT_ONCE, devices=scheme.devices, timezone=scheme.timezone),
                          calendar, now, status)
    assume(before.ringing_ids)
    victim = data.draw(st.sampled_from(before.ringing_ids))
    state = data.draw(st.sampled_from(["busy", "unreachable", "not_registered"]))
    after = compute_plan(Scheme(mode=Mode.ALL_AT_ONCE, devices=scheme.devices, timezone=scheme.timezone),
                         calendar, now, {**status, victim: state})
    assert after.ringing_ids == tuple(i for i in before.ringing_ids if i != victim)
    assert after.reason_for(victim).value == state


# --- schedules against an independent oracle ---------------------------------------------------
def oracle_covers(schedule: Schedule, calendar, local: datetime) -> bool:
    """Each window is an interval of naive local wall-clock time anchored on the day it starts."""
    naive = local.replace(tzinfo=None)
    for rule in schedule.rules:
        for anchor in (naive.date(), naive.date() - timedelta(days=1)):
            if isinstance(rule, PeriodRule):
                on = rule.start <= anchor <= rule.end
            elif isinstance(rule, WeekdaysRule):
                on = WEEKDAYS[anchor.weekday()] in rule.days
            else:
                on = calendar.is_working_day(anchor) == (rule.days == "working_days")
            if not on:
                continue
            midnight = datetime.combine(anchor, time(0))
            spans = [(midnight, midnight + timedelta(days=1))]
            if rule.windows:
                spans = []
                for w in rule.windows:
                    end_day = anchor + timedelta(days=1) if w.end <= w.start else anchor
                    spans.append((datetime.combine(anchor, w.start), datetime.combine(end_day, w.end)))
            if any(lo <= naive < hi for lo, hi in spans):
                return True
    return False


@PROPERTY
@given(st.builds(Schedule, st.lists(rules, min_size=1, max_size=4).map(tuple)), calendars(),
       moments, st.sampled_from(ZONES))
def test_schedule_covers_matches_the_interval_oracle(schedule, calendar, now, zone):
    local = now.astimezone(ZoneInfo(zone))
    assert schedule_covers(schedule, calendar, local) == oracle_covers(schedule, calendar, local)


@PROPERTY
@given(st.lists(window, min_size=1, max_size=3).map(tuple), moments)
def test_a_rule_for_every_day_is_just_its_windows(ws, now):
    every_day = Schedule((WeekdaysRule(frozenset(WEEKDAYS), ws),))
    t = now.time()
    expected = any((w.start <= t < w.end) if w.end > w.start else (t >= w.start or t < w.end) for w in ws)
    assert schedule_covers(every_day, ProductionCalendar(), now) == expected


@PROPERTY
@given(st.lists(rules.map(lambda r: replace(r, windows=())), min_size=1, max_size=3), moments)
def test_whole_day_rules_do_not_depend_on_the_hour(rule_list, now):
    s = Schedule(tuple(rule_list))
    cal = ProductionCalendar()
    assert schedule_covers(s, cal, now) == schedule_covers(s, cal, now.replace(hour=0, minute=0, second=0))


# --- the JSON form and validation --------------------------------------------------------------
@PROPERTY
@given(schemes())
def test_scheme_json_round_trip(scheme):
    data = json.loads(json.dumps(scheme.to_dict()))
    assert Scheme.from_dict(data) == scheme


anything = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=8),
                     st.floats(allow_nan=True), st.lists(st.integers(), max_size=2), st.dates(),
                     st.times(), st.just(frozenset({"mon"})))


@PROPERTY
@given(st.lists(st.builds(Device, id=anything, kind=anything, address=anything, active=anything,
                          position=anything, ring_timeout_s=anything,
                          schedule=st.none() | schedules | anything), max_size=4),
       anything, anything)
def test_validation_never_raises_whatever_the_field_values(devices, mode, tz):
    problems = validate_scheme(Scheme(mode=mode, devices=devices, timezone=tz))
    assert all(p.message and p.code for p in problems)
    json.dumps([p.to_dict() for p in problems])
