"""The ring plan: which of an employee's devices ring for an incoming call, how, and for how long.

An employee's *receive scheme* (docs/platform-notes.md, "Product rules") lists their devices - SIP accounts
and external numbers reached through the trunk - each with an on/off switch, a position, a ring
timeout and an optional schedule. `compute_plan` turns the scheme, the PBX's production calendar,
the moment of the call and the live state of each device into a `RingPlan`: ordered steps of
devices to ring, and every other device with the reason it is left out. Kamailio executes the
steps; the admin's "who rings now, and why" preview prints `RingPlan.to_dict()`.

This module is imported by Kamailio's embedded interpreter (Debian's system Python, no third-party
packages) and by the PBX service: standard library only, no I/O, no global state. It does not
import the rest of the `pbx` package; the calendar is anything with `is_working_day(date)`
(`pbx.prodcalendar.ProductionCalendar` in production).

Decisions taken where the product rules are silent
-----------------------------------------
* Main number. In "main_only" mode the main number is the first *active* device by position,
  whatever its schedule or state. If it is outside its schedule or unavailable nothing rings
  (the caller gets 480) and the plan says why; the next device does not stand in, because then
  "only the main number" would be "in turn" with one step.
* One reason per excluded device, the first that applies in this order:
    1. inactive          - switched off; nothing else matters.
       do_not_disturb    - every active device, while the scheme's `do_not_disturb_until` is
                           later than the call: the employee asked for quiet for a while, and it
                           ends by itself (no one has to switch the devices back on).
    2. not_main / after_forever - the mode never gets to the device, so its own schedule and
                           state are not looked at. after_forever is decided live: it is said only
                           after a ring-forever device that really is in the plan, so if that
                           device is busy the ones after it ring as usual.
    3. day_off / outside_schedule - its schedule does not cover the moment. It is "day_off" when
                           a working-days rule of the schedule would cover this moment if the
                           calendar day that rule applies to were a working day - i.e. only the
                           production calendar (a weekend, a holiday) keeps it silent - and
                           "outside_schedule" otherwise (wrong hour, date or weekday).
    4. not_registered / busy / unreachable - its live state.
  Schedule comes before state because a phone outside its hours is usually also switched off,
  and the schedule is the explanation the administrator can act on.
* Shortened (pre-holiday) days: with `shortened_days_end_earlier` (a per-PBX setting, off by
  default) the windows of a "working_days" calendar rule end one hour earlier on a day the
  calendar marks shortened (the day the window starts on; a window of an hour or less covers
  nothing that day). Weekday and date rules are left alone: they say hours the administrator
  typed for those days, whatever the calendar says. A device that rings on an ordinary working
  day at that moment gets the reason "shortened_day".
* The preview names what the caller meets: nobody rings -> the caller hears "temporarily
  unavailable" (SIP 480); a device with timeout 0 rings until answered but no longer than the
  PBX-wide limit (`max_ring_s`); after_forever names the device that rings forever; a moment
  asked as a local time that does not exist (clocks going forward) is moved to the same instant
  read on the later clock (02:30 -> 03:30) and the plan says so (`local_moment`).
* Time windows are wall-clock times in the scheme's time zone; start is included, end is not.
  On the night clocks go forward a window covers only the times that exist that night (a window
  02:00-03:00 in Berlin on the spring-forward night covers nothing); on the night they go back,
  the repeated hour is covered both times. A window whose end is <= its start runs past midnight
  and belongs to the day it starts: its date or weekday or calendar test is made on that day.
  "00:00" as an end means "until midnight".
* An empty schedule (no rules) is refused by validation: "never" is what the active switch is
  for, and "always" is no schedule at all.
* `compute_plan` refuses (InvalidSchemeError) a scheme that `validate_scheme` finds problems in,
  except the advisory ones that do not change what rings (a schedule kept on an inactive device,
  overlapping date periods). Routing code should catch RingPlanError and fall back; a plan
  computed from a broken scheme would ring the wrong phones or dial garbage.
* An unknown device state is a programming error and raises InvalidStatusError rather than
  guessing; states for ids that are not in the scheme are ignored.

Exceptions (all are ValueErrors):

    RingPlanError             anything this module refuses
    ├── InvalidSchemeError    the scheme has problems; `.problems` lists them (for a 422)
    └── InvalidStatusError    a device state that is not one of DeviceStatus
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field as dataclass_field
from datetime import date, datetime, time, timedelta, tzinfo, UTC
from enum import StrEnum
from typing import Any, Protocol, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CalendarRule",
    "Device",
    "DeviceKind",
    "DeviceStatus",
    "DaysPreset",
    "Excluded",
    "Notice",
    "NoticeCode",
    "InvalidSchemeError",
    "InvalidStatusError",
    "MAX_RING_TIMEOUT_S",
    "Mode",
    "PeriodRule",
    "Problem",
    "ProblemCode",
    "Reason",
    "REASON_TEXT",
    "RingPlan",
    "RingPlanError",
    "Ringing",
    "Rule",
    "Schedule",
    "Scheme",
    "Step",
    "TimeWindow",
    "WEEKDAYS",
    "WeekdaysRule",
    "WorkingDays",
    "compute_plan",
    "local_moment",
    "default_scheme",
    "device_statuses",
    "sip_device_id",
    "schedule_covers",
    "validate_scheme",
]

MAX_RING_TIMEOUT_S = 600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()

# RFC 3261 user part, without escapes and the rarely used punctuation; SIP accounts of the PBX
# are plain usernames like "102".
SIP_USER_RE = re.compile(r"[A-Za-z0-9._~+-]{1,64}")
E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")  # ITU-T E.164: at most 15 digits


# --- errors ----------------------------------------------------------------------------------
class RingPlanError(ValueError):
    """Base of every error of this module."""


class InvalidSchemeError(RingPlanError):
    """The scheme cannot be used; `problems` says where and why (empty problems never raise)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0] if self.problems else None
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"The receive scheme is not valid: {first}{more}")


class InvalidStatusError(RingPlanError):
    """A device state that is not one of DeviceStatus."""


# --- vocabulary ------------------------------------------------------------------------------
class Mode(StrEnum):
    MAIN_ONLY = "main_only"
    ALL_AT_ONCE = "all_at_once"
    IN_TURN = "in_turn"


class DeviceKind(StrEnum):
    SIP = "sip"            # one of the employee's SIP accounts; address is the SIP username
    EXTERNAL = "external"  # a number reached through the trunk; address is E.164


class DeviceStatus(StrEnum):
    AVAILABLE = "available"
    NOT_REGISTERED = "not_registered"
    BUSY = "busy"
    UNREACHABLE = "unreachable"


class DaysPreset(StrEnum):
    WORKING_DAYS = "working_days"
    DAYS_OFF = "days_off"


class Reason(StrEnum):
    """Why a device is not in the plan. The values are stable: UIs translate them."""

    INACTIVE = "inactive"
    DO_NOT_DISTURB = "do_not_disturb"
    NOT_MAIN = "not_main"
    AFTER_FOREVER = "after_forever"
    DAY_OFF = "day_off"
    SHORTENED_DAY = "shortened_day"
    OUTSIDE_SCHEDULE = "outside_schedule"
    NOT_REGISTERED = "not_registered"
    BUSY = "busy"
    UNREACHABLE = "unreachable"


REASON_TEXT: Mapping[Reason, str] = {
    Reason.INACTIVE: "The device is switched off in the scheme.",
    Reason.DO_NOT_DISTURB: "The employee asked not to be disturbed until a set time.",
    Reason.NOT_MAIN: "Only the main number rings, and this is not it.",
    Reason.AFTER_FOREVER: "An earlier device rings until answered, so this one is never reached.",
    Reason.DAY_OFF: "Its schedule covers this time on working days only, and the production "
                    "calendar makes this a day off.",
    Reason.SHORTENED_DAY: "This is a shortened pre-holiday day, and the PBX ends working hours an hour "
                          "earlier on such days.",
    Reason.OUTSIDE_SCHEDULE: "Its schedule does not cover this moment.",
    Reason.NOT_REGISTERED: "The SIP account is not registered from any phone.",
    Reason.BUSY: "The device is busy.",
    Reason.UNREACHABLE: "The device cannot be reached.",
}

_STATUS_REASON = {
    DeviceStatus.NOT_REGISTERED: Reason.NOT_REGISTERED,
    DeviceStatus.BUSY: Reason.BUSY,
    DeviceStatus.UNREACHABLE: Reason.UNREACHABLE,
}


class WorkingDays(Protocol):
    """What the ring plan needs from the production calendar."""

    def is_working_day(self, day: date, /) -> bool: ...


# A calendar may also answer `is_shortened_day(date)`; one that does not has no shortened days
# (the plan then never shortens working hours).


# --- the scheme ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeWindow:
    """Local wall-clock times; end <= start means the window runs past midnight."""

    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class PeriodRule:
    """From `start` to `end`, both dates included; no windows means whole days."""

    start: date
    end: date
    windows: tuple[TimeWindow, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", tuple(self.windows))


@dataclass(frozen=True)
class WeekdaysRule:
    """On the given weekdays ("mon" ... "sun"), whatever the production calendar says."""

    days: frozenset[str]
    windows: tuple[TimeWindow, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.days, str):  # a lone "mon" would otherwise become {"m", "o", "n"}
            object.__setattr__(self, "days", frozenset({self.days}))
        else:
            object.__setattr__(self, "days", frozenset(self.days))
        object.__setattr__(self, "windows", tuple(self.windows))


@dataclass(frozen=True)
class CalendarRule:
    """On the production calendar's working days or days off ("working_days" / "days_off")."""

    days: str
    windows: tuple[TimeWindow, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", tuple(self.windows))


Rule: TypeAlias = PeriodRule | WeekdaysRule | CalendarRule


@dataclass(frozen=True)
class Schedule:
    """When a device may ring: any of the rules (OR)."""

    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))


@dataclass(frozen=True, kw_only=True)
class Device:
    id: str
    kind: str            # DeviceKind
    address: str
    active: bool
    position: int
    ring_timeout_s: int  # 0 = ring until answered (bounded by the PBX's call-setup limit)
    schedule: Schedule | None = None  # None = always


@dataclass(frozen=True, kw_only=True)
class Scheme:
    mode: str            # Mode
    devices: tuple[Device, ...]
    timezone: str        # IANA name; the PBX's or the employee's
    # Nothing rings before this moment (aware, whole minutes); None: no do-not-disturb.
    do_not_disturb_until: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", tuple(self.devices))

    # JSON form, as the PBX stores it and the admin API exchanges it. A scheme without
    # do-not-disturb has no such key: documents stored before it existed read the same.
    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mode": str(self.mode),
            "timezone": self.timezone,
            "devices": [_device_to_dict(d) for d in self.devices],
        }
        if self.do_not_disturb_until is not None:
            data["do_not_disturb_until"] = self.do_not_disturb_until.astimezone(UTC).isoformat(timespec="seconds")
        return data

    def quiet_at(self, now: datetime) -> bool:
        """Whether do-not-disturb holds at `now` (aware)."""
        return self.do_not_disturb_until is not None and now < self.do_not_disturb_until

    @classmethod
    def from_dict(cls, data: object) -> Scheme:
        """Build a scheme from its JSON form.

        Only shapes and types are checked here (all of them, reported together as
        InvalidSchemeError); values - a bad weekday, a timeout of 900 s - pass through for
        `validate_scheme` to report, so one 422 can list everything.
        """
        reader = _Reader()
        scheme = reader.scheme(data)
        if reader.problems:
            raise InvalidSchemeError(reader.problems)
        assert scheme is not None
        return scheme


DEFAULT_RING_TIMEOUT_S = 30


def sip_device_id(username: str) -> str:
    return f"sip-{username}"


def default_scheme(sip_usernames: Iterable[str], timezone: str) -> Scheme:
    """The scheme of an employee nobody has configured: every SIP account rings at once for
    DEFAULT_RING_TIMEOUT_S. The PBX stores it when the employee is created; routing falls back
    to it if no scheme was ever stored."""
    return Scheme(mode=Mode.ALL_AT_ONCE, timezone=timezone, devices=tuple(
        Device(id=sip_device_id(u), kind=DeviceKind.SIP, address=u, active=True, position=i + 1,
               ring_timeout_s=DEFAULT_RING_TIMEOUT_S)
        for i, u in enumerate(sip_usernames)))


# --- the plan --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ringing:
    """A device in a step, with how long it rings (0 = until answered)."""

    device_id: str
    kind: str
    address: str
    timeout_s: int
    limit_s: int = MAX_RING_TIMEOUT_S  # what bounds "until answered": the PBX-wide limit

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.device_id, "kind": str(self.kind), "address": self.address,
                               "timeout_s": self.timeout_s}
        if self.timeout_s == 0:
            out["until_answered"] = True
            out["limit_s"] = self.limit_s
        return out


@dataclass(frozen=True)
class Step:
    """Devices that ring together; the next step starts when all of them have stopped."""

    parallel: bool
    devices: tuple[Ringing, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"parallel": self.parallel, "devices": [d.to_dict() for d in self.devices]}


@dataclass(frozen=True)
class Excluded:
    device_id: str
    kind: str
    address: str
    reason: Reason
    after: Ringing | None = None  # for after_forever: the device that rings until answered

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.device_id, "kind": str(self.kind), "address": self.address,
                               "reason": self.reason.value, "why": REASON_TEXT[self.reason]}
        if self.after is not None:
            out["after"] = self.after.device_id
            out["why"] = (f"{self.after.address} ({self.after.device_id}) before it rings until answered "
                          f"(up to the PBX-wide limit of {self.after.limit_s} s), so this one is never reached.")
        return out


class NoticeCode(StrEnum):
    """What the preview tells beside the plan; stable, UIs translate them."""

    NOBODY_RINGS = "nobody_rings"                      # status: the SIP answer the caller gets
    UNTIL_ANSWERED = "until_answered"                  # device, limit_s
    NONEXISTENT_LOCAL_TIME = "nonexistent_local_time"  # asked, local_time
    CALENDAR_YEAR_MISSING = "calendar_year_missing"    # year (added by the PBX, which knows the years)


@dataclass(frozen=True)
class Notice:
    code: NoticeCode
    message: str
    details: Mapping[str, Any] = dataclass_field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, **self.details, "message": self.message}


@dataclass(frozen=True)
class RingPlan:
    """Who rings for a call at `local_time`; no steps means nobody (answer 480)."""

    mode: Mode
    timezone: str
    local_time: datetime
    working_day: bool
    steps: tuple[Step, ...]
    excluded: tuple[Excluded, ...]
    max_ring_s: int = MAX_RING_TIMEOUT_S
    notices: tuple[Notice, ...] = ()

    @property
    def ringing_ids(self) -> tuple[str, ...]:
        return tuple(r.device_id for s in self.steps for r in s.devices)

    def reason_for(self, device_id: str) -> Reason | None:
        """Why the device is left out, or None if it rings."""
        for e in self.excluded:
            if e.device_id == device_id:
                return e.reason
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, in a fixed key order, devices in position order."""
        return {
            "mode": self.mode.value,
            "timezone": self.timezone,
            "local_time": self.local_time.isoformat(timespec="seconds"),
            "working_day": self.working_day,
            "rings": bool(self.steps),
            # What the caller gets when nobody rings (tm answers it itself).
            "caller_hears": None if self.steps else NOBODY_STATUS,
            "max_ring_s": self.max_ring_s,
            "steps": [s.to_dict() for s in self.steps],
            "excluded": [e.to_dict() for e in self.excluded],
            "notices": [n.to_dict() for n in self.notices],
        }


NOBODY_STATUS = 480  # Temporarily Unavailable: what a call gets when no device rings


def local_moment(wall: datetime, zone_name: str) -> tuple[datetime, bool]:
    """A naive wall-clock time in `zone_name` as an aware datetime, and whether it had to be
    moved because the clocks skip it (the spring-forward gap). A moved time is the same instant
    read on the clock before the change, so 02:30 on a night that jumps 02:00 -> 03:00 becomes
    03:30. A repeated time (clocks going back) is its first occurrence. RingPlanError for an
    unknown zone."""
    zone = _zone(zone_name)
    if zone is None:
        raise RingPlanError(f"{zone_name!r} is not a known time zone.")
    naive = wall.replace(tzinfo=None, fold=0)
    try:
        # Through UTC: astimezone() to the datetime's own tzinfo returns it unchanged.
        aware = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    except OverflowError:
        raise RingPlanError(f"{wall!r} is out of the supported range.") from None
    return aware, aware.replace(tzinfo=None) != naive


# --- computing the plan ----------------------------------------------------------------------
def compute_plan(scheme: Scheme, calendar: WorkingDays, now: datetime,
                 device_status: Mapping[str, str] | None = None, *,
                 shortened_days_end_earlier: bool = False, max_ring_s: int = MAX_RING_TIMEOUT_S,
                 asked_local: datetime | None = None) -> RingPlan:
    """The plan for a call arriving at `now` (an aware datetime, any zone).

    `device_status` maps device ids to a DeviceStatus value; a device not in it is available.
    `shortened_days_end_earlier` is the PBX setting of that name (module docstring);
    `max_ring_s` the PBX-wide limit that bounds "ring until answered"; `asked_local` the
    wall-clock time the preview was asked for when `local_moment` had to move it.
    Raises InvalidSchemeError for a scheme with blocking problems (see the module docstring),
    InvalidStatusError for an unknown state, RingPlanError for a naive `now`.
    """
    blocking = [p for p in validate_scheme(scheme) if p.code not in _ADVISORY]
    if blocking:
        raise InvalidSchemeError(blocking)
    if now.tzinfo is None or now.utcoffset() is None:
        raise RingPlanError("The time of the call must carry a time zone.")
    statuses = _read_statuses(device_status or {})
    zone = _zone(scheme.timezone)
    assert zone is not None  # validate_scheme checked it
    try:
        local = now.astimezone(zone)
    except OverflowError:
        raise RingPlanError(f"{now!r} is out of the supported range.") from None

    def own_reason(device: Device) -> Reason | None:
        if device.schedule is not None and not schedule_covers(
                device.schedule, calendar, local, shortened_days_end_earlier=shortened_days_end_earlier):
            if shortened_days_end_earlier and schedule_covers(device.schedule, calendar, local):
                return Reason.SHORTENED_DAY
            if schedule_covers(device.schedule, _EVERY_DAY_WORKING, local):
                return Reason.DAY_OFF
            return Reason.OUTSIDE_SCHEDULE
        return _STATUS_REASON.get(statuses.get(device.id, DeviceStatus.AVAILABLE))

    mode = Mode(scheme.mode)
    ordered = sorted(scheme.devices, key=lambda d: d.position)
    rings: list[Ringing] = []
    excluded: list[Excluded] = []
    main = next((d for d in ordered if d.active), None)
    forever: Ringing | None = None
    quiet = scheme.quiet_at(now)
    for device in ordered:
        if not device.active:
            reason: Reason | None = Reason.INACTIVE
        elif quiet:
            reason = Reason.DO_NOT_DISTURB
        elif mode is Mode.MAIN_ONLY and device is not main:
            reason = Reason.NOT_MAIN
        elif mode is Mode.IN_TURN and forever is not None:
            reason = Reason.AFTER_FOREVER
        else:
            reason = own_reason(device)
        if reason is None:
            ringing = Ringing(device.id, device.kind, device.address, device.ring_timeout_s, max_ring_s)
            rings.append(ringing)
            if device.ring_timeout_s == 0:
                forever = ringing
        else:
            excluded.append(Excluded(device.id, device.kind, device.address, reason,
                                     forever if reason is Reason.AFTER_FOREVER else None))

    steps: tuple[Step, ...]
    if mode is Mode.ALL_AT_ONCE:
        steps = (Step(parallel=True, devices=tuple(rings)),) if rings else ()
    else:
        steps = tuple(Step(parallel=False, devices=(r,)) for r in rings)
    notices = []
    if asked_local is not None:
        notices.append(Notice(
            NoticeCode.NONEXISTENT_LOCAL_TIME,
            f"{asked_local:%Y-%m-%d %H:%M} does not exist in {scheme.timezone} (the clocks go forward "
            f"that night): this is the plan for {local:%H:%M}, the same instant on the new clock.",
            {"asked": asked_local.replace(tzinfo=None).isoformat(timespec="minutes"),
             "local_time": local.isoformat(timespec="seconds")}))
    for r in rings:
        if r.timeout_s == 0:
            notices.append(Notice(
                NoticeCode.UNTIL_ANSWERED,
                f"{r.address} rings until answered, but no longer than the PBX-wide limit of {max_ring_s} s.",
                {"device": r.device_id, "limit_s": max_ring_s}))
    if not rings:
        notices.append(Notice(
            NoticeCode.NOBODY_RINGS,
            f"Nobody rings: the caller hears that the employee is busy or unavailable "
            f"(SIP {NOBODY_STATUS} Temporarily Unavailable).", {"status": NOBODY_STATUS}))
    return RingPlan(mode=mode, timezone=scheme.timezone, local_time=local,
                    working_day=bool(calendar.is_working_day(local.date())),
                    steps=steps, excluded=tuple(excluded), max_ring_s=max_ring_s, notices=tuple(notices))


def schedule_covers(schedule: Schedule, calendar: WorkingDays, moment: datetime, *,
                    shortened_days_end_earlier: bool = False) -> bool:
    """Whether the schedule covers `moment`, read as wall-clock time.

    `moment` must already be in the scheme's zone (compute_plan converts); its tzinfo is not
    looked at, so a naive local datetime works too.
    """
    today = moment.date()
    yesterday = today - timedelta(days=1) if today > date.min else None
    clock = moment.time()
    shortened = getattr(calendar, "is_shortened_day", None) if shortened_days_end_earlier else None
    for rule in schedule.rules:
        on = _day_test(rule, calendar)
        if not rule.windows:
            if on(today):
                return True
            continue
        earlier = shortened if isinstance(rule, CalendarRule) and rule.days == DaysPreset.WORKING_DAYS else None
        for w in rule.windows:
            if earlier is not None:
                if _covers_shortened(w, clock, today, yesterday, on, earlier):
                    return True
            elif w.end > w.start:
                if w.start <= clock < w.end and on(today):
                    return True
            else:
                # Past midnight: the evening part belongs to today, the morning part to the
                # window that started yesterday.
                if clock >= w.start and on(today):
                    return True
                if clock < w.end and yesterday is not None and on(yesterday):
                    return True
    return False


def _covers_shortened(w: TimeWindow, clock: time, today: date, yesterday: date | None,
                      on: Callable[[date], bool], shortened: Callable[[date], bool]) -> bool:
    # In seconds from the start of the day the window starts on; an end past midnight is
    # beyond a day, and a shortened day takes an hour off the end.
    (start, end), = _seconds((w,))
    now = clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6
    for anchor, at in ((today, now), (yesterday, now + _DAY_S)):
        if anchor is None or not on(anchor):
            continue
        stop = end - 3600 if shortened(anchor) else end
        if start <= at < stop:
            return True
    return False


def _day_test(rule: Rule, calendar: WorkingDays) -> Callable[[date], bool]:
    if isinstance(rule, PeriodRule):
        return lambda d: rule.start <= d <= rule.end
    if isinstance(rule, WeekdaysRule):
        return lambda d: WEEKDAYS[d.weekday()] in rule.days
    wanted = rule.days == DaysPreset.WORKING_DAYS
    return lambda d: bool(calendar.is_working_day(d)) == wanted


class _EveryDayWorking:
    """The counterfactual calendar behind the day_off reason."""

    def is_working_day(self, day: date, /) -> bool:
        return True


_EVERY_DAY_WORKING = _EveryDayWorking()


def device_statuses(scheme: Scheme, registered: Callable[[str], bool]) -> dict[str, DeviceStatus]:
    """The live state of each active SIP device, from whether its account is registered (an
    inactive device is left out whatever its state, so its state is not asked for)."""
    return {d.id: DeviceStatus.AVAILABLE if registered(d.address) else DeviceStatus.NOT_REGISTERED
            for d in scheme.devices if d.active and d.kind == DeviceKind.SIP}


def _read_statuses(raw: Mapping[str, str]) -> dict[str, DeviceStatus]:
    statuses = {}
    for device_id, value in raw.items():
        try:
            statuses[device_id] = DeviceStatus(value)
        except ValueError:
            raise InvalidStatusError(
                f"Device {device_id!r} has the state {value!r}, which is not one of "
                f"{', '.join(s.value for s in DeviceStatus)}.") from None
    return statuses


def _zone(name: object) -> tzinfo | None:
    # "localtime" exists under /usr/share/zoneinfo on Debian but means "whatever this machine
    # is set to", which is not a zone an administrator chose.
    if not isinstance(name, str) or not name or name == "localtime":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


# --- validation ------------------------------------------------------------------------------
class ProblemCode(StrEnum):
    """Machine-readable problem codes; stable, UIs translate them."""

    BAD_MODE = "bad_mode"
    BAD_TIMEZONE = "bad_timezone"
    BAD_TYPE = "bad_type"                  # a field of the wrong type, or missing (from_dict)
    BAD_DEVICE_ID = "bad_device_id"
    DUPLICATE_DEVICE_ID = "duplicate_device_id"
    DUPLICATE_POSITION = "duplicate_position"
    BAD_DEVICE_KIND = "bad_device_kind"
    BAD_ADDRESS = "bad_address"
    BAD_TIMEOUT = "bad_timeout"
    SCHEDULE_ON_INACTIVE_DEVICE = "schedule_on_inactive_device"
    EMPTY_SCHEDULE = "empty_schedule"
    INVERTED_PERIOD = "inverted_period"
    OVERLAPPING_PERIODS = "overlapping_periods"
    BAD_WEEKDAY = "bad_weekday"
    NO_WEEKDAYS = "no_weekdays"
    BAD_DAYS_PRESET = "bad_days_preset"
    EMPTY_WINDOW = "empty_window"


# Problems the editor refuses for tidiness but that do not change what rings.
_ADVISORY = frozenset({ProblemCode.SCHEDULE_ON_INACTIVE_DEVICE, ProblemCode.OVERLAPPING_PERIODS})

FieldPath: TypeAlias = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scheme: where (a path into its JSON form), a code, a sentence."""

    path: FieldPath
    code: ProblemCode
    message: str

    @property
    def location(self) -> str:
        """The path as text: devices[2].schedule.rules[0].end."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"path": list(self.path), "code": self.code.value, "message": self.message}

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.path else self.message


def validate_scheme(scheme: Scheme) -> list[Problem]:
    """Every problem of the scheme, in path order; an empty list means it is valid.

    Never raises, whatever the field types: it is what the admin API answers 422 with.
    """
    problems: list[Problem] = []

    def add(path: FieldPath, code: ProblemCode, message: str) -> None:
        problems.append(Problem(path, code, message))

    if not isinstance(scheme, Scheme):
        add((), ProblemCode.BAD_TYPE, "This is not a receive scheme.")
        return problems
    if not _is_one_of(scheme.mode, Mode):
        add(("mode",), ProblemCode.BAD_MODE,
            f"The mode {scheme.mode!r} is not one of {', '.join(m.value for m in Mode)}.")
    if _zone(scheme.timezone) is None:
        add(("timezone",), ProblemCode.BAD_TIMEZONE,
            f"{scheme.timezone!r} is not a known time zone (use an IANA name like Europe/Moscow).")
    first_with_id: dict[str, int] = {}
    first_at_position: dict[int, int] = {}
    for i, device in enumerate(scheme.devices):
        at: FieldPath = ("devices", i)
        if not isinstance(device, Device):
            add(at, ProblemCode.BAD_TYPE, "This is not a device.")
            continue
        if not isinstance(device.id, str) or not device.id.strip():
            add(at + ("id",), ProblemCode.BAD_DEVICE_ID, "A device needs a non-empty id.")
        elif device.id in first_with_id:
            add(at + ("id",), ProblemCode.DUPLICATE_DEVICE_ID,
                f"The id {device.id!r} is used by device {first_with_id[device.id]} as well.")
        else:
            first_with_id[device.id] = i
        _check_address(device, at, add)
        if not isinstance(device.active, bool):
            add(at + ("active",), ProblemCode.BAD_TYPE, "active must be true or false.")
        if not _is_int(device.position):
            add(at + ("position",), ProblemCode.BAD_TYPE, "The position must be a whole number.")
        elif device.position in first_at_position:
            add(at + ("position",), ProblemCode.DUPLICATE_POSITION,
                f"Position {device.position} is taken by device "
                f"{first_at_position[device.position]} as well.")
        else:
            first_at_position[device.position] = i
        if not _is_int(device.ring_timeout_s) or not 0 <= device.ring_timeout_s <= MAX_RING_TIMEOUT_S:
            add(at + ("ring_timeout_s",), ProblemCode.BAD_TIMEOUT,
                f"The ring timeout must be 0 (until answered) to {MAX_RING_TIMEOUT_S} seconds, "
                f"not {device.ring_timeout_s!r}.")
        if device.schedule is not None:
            if device.active is False:
                add(at + ("schedule",), ProblemCode.SCHEDULE_ON_INACTIVE_DEVICE,
                    "An inactive device never rings, so it cannot have a schedule.")
            _check_schedule(device.schedule, at + ("schedule",), add)
    return problems


def _is_one_of(value: object, choices: type[StrEnum]) -> bool:
    return isinstance(value, str) and value in {c.value for c in choices}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


_Add: TypeAlias = Callable[[FieldPath, ProblemCode, str], None]


def _check_address(device: Device, at: FieldPath, add: _Add) -> None:
    if not _is_one_of(device.kind, DeviceKind):
        add(at + ("kind",), ProblemCode.BAD_DEVICE_KIND,
            f"The device kind {device.kind!r} is not one of {', '.join(k.value for k in DeviceKind)}.")
        return
    address = device.address
    if device.kind == DeviceKind.SIP:
        if not isinstance(address, str) or not SIP_USER_RE.fullmatch(address):
            add(at + ("address",), ProblemCode.BAD_ADDRESS,
                f"{address!r} is not a SIP username (letters, digits, . _ ~ + -).")
    elif not isinstance(address, str) or not E164_RE.fullmatch(address):
        add(at + ("address",), ProblemCode.BAD_ADDRESS,
            f"{address!r} is not a number in international format, like +79123456789.")


def _check_schedule(schedule: object, at: FieldPath, add: _Add) -> None:
    if not isinstance(schedule, Schedule):
        add(at, ProblemCode.BAD_TYPE, "This is not a schedule.")
        return
    if not schedule.rules:
        add(at + ("rules",), ProblemCode.EMPTY_SCHEDULE,
            "A schedule needs at least one rule; to ring at any time, remove the schedule.")
    periods: list[tuple[int, PeriodRule]] = []
    for j, rule in enumerate(schedule.rules):
        rat: FieldPath = at + ("rules", j)
        if isinstance(rule, PeriodRule):
            if not _is_date(rule.start) or not _is_date(rule.end):
                add(rat, ProblemCode.BAD_TYPE, "A date period needs a start date and an end date.")
            elif rule.start > rule.end:
                add(rat + ("end",), ProblemCode.INVERTED_PERIOD,
                    f"The period ends ({rule.end}) before it starts ({rule.start}).")
            else:
                periods.append((j, rule))
        elif isinstance(rule, WeekdaysRule):
            bad = sorted(str(d) for d in rule.days if d not in WEEKDAYS)
            if bad:
                add(rat + ("days",), ProblemCode.BAD_WEEKDAY,
                    f"{', '.join(bad)}: weekdays are {', '.join(WEEKDAYS)}.")
            elif not rule.days:
                add(rat + ("days",), ProblemCode.NO_WEEKDAYS, "Pick at least one weekday.")
        elif isinstance(rule, CalendarRule):
            if not _is_one_of(rule.days, DaysPreset):
                add(rat + ("days",), ProblemCode.BAD_DAYS_PRESET,
                    f"{rule.days!r} is not one of {', '.join(p.value for p in DaysPreset)}.")
        else:
            add(rat, ProblemCode.BAD_TYPE, "This is not a schedule rule.")
            continue
        for k, window in enumerate(rule.windows):
            wat: FieldPath = rat + ("windows", k)
            if (not isinstance(window, TimeWindow) or not isinstance(window.start, time)
                    or not isinstance(window.end, time)
                    or window.start.tzinfo is not None or window.end.tzinfo is not None):
                add(wat, ProblemCode.BAD_TYPE, "A time window needs a start and an end time of day.")
            elif window.start == window.end:
                add(wat, ProblemCode.EMPTY_WINDOW,
                    f"The window starts and ends at {window.start:%H:%M}; for the whole day "
                    "leave the rule without windows.")
    _check_overlaps(periods, at, add)


def _check_overlaps(periods: list[tuple[int, PeriodRule]], at: FieldPath, add: _Add) -> None:
    """Two date periods overlap when they share a date and their hours on it meet.

    Periods with disjoint hours on shared dates (mornings Jan 1-10, evenings Jan 5-15) are a
    legitimate way to say different hours for different spans, so they are not flagged.
    """
    for n, (j, b) in enumerate(periods):
        for i, a in periods[:n]:
            if a.start <= b.end and b.start <= a.end and _hours_meet(a.windows, b.windows):
                add(at + ("rules", j), ProblemCode.OVERLAPPING_PERIODS,
                    f"This period overlaps rule {i} ({a.start} to {a.end}).")
                break


def _hours_meet(a: tuple[TimeWindow, ...], b: tuple[TimeWindow, ...]) -> bool:
    return any(lo < hi for x in _seconds(a) for y in _seconds(b)
               for lo, hi in [(max(x[0], y[0]), min(x[1], y[1]))])


_DAY_S = 86400


def _seconds(windows: tuple[TimeWindow, ...]) -> list[tuple[int, int]]:
    # Seconds from the start of the window's own day; a window past midnight ends after a day.
    if not windows:
        return [(0, _DAY_S)]
    out = []
    for w in windows:
        if not isinstance(w, TimeWindow) or w.start == w.end:
            continue
        start = w.start.hour * 3600 + w.start.minute * 60 + w.start.second
        end = w.end.hour * 3600 + w.end.minute * 60 + w.end.second
        out.append((start, end + (_DAY_S if w.end <= w.start else 0)))
    return out


# --- JSON form of a scheme -------------------------------------------------------------------
def _time_to_str(t: time) -> str:
    if t.microsecond:
        return t.isoformat()
    return t.isoformat(timespec="seconds" if t.second else "minutes")


def _windows_to_list(windows: tuple[TimeWindow, ...]) -> list[dict[str, str]]:
    return [{"start": _time_to_str(w.start), "end": _time_to_str(w.end)} for w in windows]


def _rule_to_dict(rule: Rule) -> dict[str, Any]:
    if isinstance(rule, PeriodRule):
        out: dict[str, Any] = {"type": "period", "start": rule.start.isoformat(),
                               "end": rule.end.isoformat()}
    elif isinstance(rule, WeekdaysRule):
        order = {d: n for n, d in enumerate(WEEKDAYS)}
        out = {"type": "weekdays",
               "days": sorted(rule.days, key=lambda d: (order.get(d, len(order)), d))}
    else:
        out = {"type": "calendar", "days": str(rule.days)}
    out["windows"] = _windows_to_list(rule.windows)
    return out


def _device_to_dict(d: Device) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": str(d.kind),
        "address": d.address,
        "active": d.active,
        "position": d.position,
        "ring_timeout_s": d.ring_timeout_s,
        "schedule": None if d.schedule is None else
        {"rules": [_rule_to_dict(r) for r in d.schedule.rules]},
    }


class _Reader:
    """Turns the JSON form into dataclasses, collecting every shape problem on the way."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def _bad(self, path: FieldPath, message: str) -> None:
        self.problems.append(Problem(path, ProblemCode.BAD_TYPE, message))

    def _field(self, obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: FieldPath,
               what: str, default: Any = ...) -> Any:
        if key not in obj:
            if default is not ...:
                return default
            self._bad(path + (key,), f"{key} is missing.")
            return None
        value = obj[key]
        if value is None and default is not ...:
            return default
        # JSON true/false are not numbers here, although bool is an int in Python.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self._bad(path + (key,), f"{key} must be {what}.")
            return None
        return value

    def scheme(self, data: object) -> Scheme | None:
        if not isinstance(data, Mapping):
            self._bad((), "A receive scheme is a JSON object.")
            return None
        mode = self._field(data, "mode", str, (), "text")
        timezone = self._field(data, "timezone", str, (), "text")
        raw_devices = self._field(data, "devices", list, (), "a list")
        devices = [self.device(d, ("devices", i)) for i, d in enumerate(raw_devices or [])]
        quiet_until = self._moment(data, "do_not_disturb_until")
        if self.problems:
            return None
        return Scheme(mode=mode, timezone=timezone, devices=tuple(d for d in devices if d),
                      do_not_disturb_until=quiet_until)

    def _moment(self, data: Mapping[str, Any], key: str) -> datetime | None:
        """An optional ISO 8601 moment with its zone offset."""
        text = self._field(data, key, str, (), "an ISO 8601 date and time with a zone offset", None)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.utcoffset() is None:
            self._bad((key,), f"{key} must be an ISO 8601 date and time with a zone offset.")
            return None
        return moment

    def device(self, data: object, at: FieldPath) -> Device | None:
        if not isinstance(data, Mapping):
            self._bad(at, "A device is a JSON object.")
            return None
        values = {
            "id": self._field(data, "id", str, at, "text"),
            "kind": self._field(data, "kind", str, at, "text"),
            "address": self._field(data, "address", str, at, "text"),
            "active": self._field(data, "active", bool, at, "true or false"),
            "position": self._field(data, "position", int, at, "a whole number"),
            "ring_timeout_s": self._field(data, "ring_timeout_s", int, at, "a whole number"),
        }
        raw_schedule = self._field(data, "schedule", dict, at, "an object or null", None)
        schedule = None if raw_schedule is None else self.schedule(raw_schedule, at + ("schedule",))
        return Device(schedule=schedule, **values)

    def schedule(self, data: Mapping[str, Any], at: FieldPath) -> Schedule:
        raw_rules = self._field(data, "rules", list, at, "a list") or []
        rules = [self.rule(r, at + ("rules", j)) for j, r in enumerate(raw_rules)]
        return Schedule(tuple(r for r in rules if r is not None))

    def rule(self, data: object, at: FieldPath) -> Rule | None:
        if not isinstance(data, Mapping):
            self._bad(at, "A schedule rule is a JSON object.")
            return None
        raw_windows = self._field(data, "windows", list, at, "a list", [])
        windows = tuple(self.window(w, at + ("windows", k)) for k, w in enumerate(raw_windows or []))
        kind = data.get("type")
        if kind == "period":
            start = self._date(data, "start", at)
            end = self._date(data, "end", at)
            return PeriodRule(start, end, windows)  # type: ignore[arg-type]
        if kind == "weekdays":
            days = self._field(data, "days", list, at, "a list of weekdays") or []
            if not all(isinstance(d, str) for d in days):
                self._bad(at + ("days",), "Weekdays are written mon, tue, ... sun.")
            return WeekdaysRule(frozenset(map(str, days)), windows)
        if kind == "calendar":
            return CalendarRule(self._field(data, "days", str, at, "working_days or days_off"),
                                windows)
        self._bad(at + ("type",), "The rule type must be period, weekdays or calendar.")
        return None

    def _date(self, data: Mapping[str, Any], key: str, at: FieldPath) -> date | None:
        raw = self._field(data, key, str, at, "a date like 2025-01-31")
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self._bad(at + (key,), f"{raw!r} is not a date like 2025-01-31.")
            return None

    def window(self, data: object, at: FieldPath) -> TimeWindow:
        if not isinstance(data, Mapping):
            self._bad(at, "A time window is a JSON object with start and end.")
            return TimeWindow(time(0), time(0))
        return TimeWindow(self._time(data, "start", at), self._time(data, "end", at))

    def _time(self, data: Mapping[str, Any], key: str, at: FieldPath) -> time:
        raw = self._field(data, key, str, at, "a time like 09:30")
        if raw is None:
            return time(0)
        try:
            value = time.fromisoformat(raw)
            if value.tzinfo is None:
                return value
        except ValueError:
            pass
        self._bad(at + (key,), f"{raw!r} is not a time of day like 09:30 (midnight is 00:00).")
        return time(0)
