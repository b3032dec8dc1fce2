"""Receive schemes: stored, validated, changed and previewed. The semantics are in
pbx/ringplan.py; this module keeps one JSON document per employee (table receive_scheme), checks
it against the employee's own SIP accounts, and answers "who rings now, and why"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from pbx import audit, directory, settings, validation
from pbx.audit import Actor
from pbx.calendar_store import load_calendar
from pbx.db import Employee, ReceiveScheme, versioned_write
from pbx.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, PreconditionFailed
from pbx.instance import PbxInstance
from pbx.ringplan import (
    DEFAULT_RING_TIMEOUT_S, MAX_RING_TIMEOUT_S, Device, DeviceKind, InvalidSchemeError, Mode, Notice, NoticeCode,
    ProblemCode, RingPlan, RingPlanError, Scheme,
    compute_plan, default_scheme, device_statuses, local_moment, sip_device_id, validate_scheme,
)


def _problems(problems) -> InvalidInput:
    fields = [FieldProblem(p.location or "scheme", str(p.code), p.message) for p in problems]
    return InvalidInput(fields[0].message if fields else "The receive scheme is not valid.", fields)


def _stored(s, employee: Employee) -> tuple[Scheme, int]:
    row = s.get(ReceiveScheme, employee.id)
    if row is None:
        return default_scheme([a.username for a in employee.sip_accounts], settings.get(s, "timezone")), 0
    return Scheme.from_dict(json.loads(row.document)), row.version


# Switching a device off keeps its schedule for when it is switched on again (set_device), so
# a scheme with one is stored, and every write accepts it back (a PUT of what GET returned).
_KEPT = (ProblemCode.SCHEDULE_ON_INACTIVE_DEVICE.value,)


def _check(employee: Employee, scheme: Scheme) -> None:
    problems = [p for p in validate_scheme(scheme) if str(p.code) not in _KEPT]
    usernames = {a.username for a in employee.sip_accounts}
    for i, device in enumerate(scheme.devices):
        if device.kind == DeviceKind.SIP and device.address not in usernames:
            problems.append(_Problem(f"devices[{i}].address", "unknown_device",
                                     f"{device.address!r} is not a SIP account of {employee.name}."))
    if problems:
        raise _problems(problems)


class _Problem:
    def __init__(self, location: str, code: str, message: str):
        self.location, self.code, self.message = location, code, message


STALE = "The receive scheme was changed meanwhile: reload it and try again."


def _save(s, actor: Actor, employee: Employee, scheme: Scheme, version: int, action: str) -> int:
    """Store `scheme` as the version after `version`, the one this write read and checked, in one
    conditional statement that matches no row (or, for a scheme never stored, meets the row of
    another first write) when another writer came first. Not the ORM's version counter: it
    would compare with a row loaded again here, since `_stored` keeps no reference to the one it
    read, and it skips the UPDATE of a write that changes nothing."""
    document = json.dumps(scheme.to_dict(), ensure_ascii=False)
    if version == 0:  # the default scheme, never stored
        try:
            s.execute(insert(ReceiveScheme).values(employee_id=employee.id, document=document, version=1))
        except IntegrityError:
            raise PreconditionFailed(STALE) from None
    elif not s.execute(update(ReceiveScheme)
                       .where(ReceiveScheme.employee_id == employee.id, ReceiveScheme.version == version)
                       .values(document=document, version=version + 1)).rowcount:
        raise PreconditionFailed(STALE)
    audit.record(s, actor, action, "scheme", employee.id, audience_id=employee.id)
    return version + 1


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only members of Administrators may change receive schemes.")


def _expect(version: int, expected: int | None) -> None:
    if expected is not None and expected != version:
        raise PreconditionFailed(STALE)


def get_scheme(pbx: PbxInstance, actor: Actor, employee_id: int) -> tuple[Scheme, int]:
    """Administrators read anyone's scheme, employees their own."""
    if not actor.is_admin and actor.employee_id != employee_id:
        raise Forbidden("Only members of Administrators may read other employees' receive schemes.")
    with pbx.sessions() as s:
        return _stored(s, directory._load(s, employee_id))


def replace_scheme(pbx: PbxInstance, actor: Actor, employee_id: int, expected_version: int | None,
                   document: object) -> tuple[Scheme, int]:
    _require_admin(actor)
    try:
        scheme = Scheme.from_dict(document)
    except InvalidSchemeError as e:
        raise _problems(e.problems) from None

    def write() -> tuple[Scheme, int]:
        with pbx.sessions.begin() as s:
            employee = directory._load(s, employee_id)
            stored, version = _stored(s, employee)
            _expect(version, expected_version)
            _check(employee, scheme)
            # Do-not-disturb is the employee's own switch (set_do_not_disturb): an
            # administrator's edit of the scheme keeps it as it is.
            kept = dataclasses.replace(scheme, do_not_disturb_until=stored.do_not_disturb_until)
            return kept, _save(s, actor, employee, kept, version, "scheme.replace")
    return versioned_write(expected_version, write, STALE)


def set_mode(pbx: PbxInstance, actor: Actor, employee_id: int, expected_version: int | None,
             mode: str) -> tuple[Scheme, int]:
    _require_admin(actor)
    if mode not in {m.value for m in Mode}:
        raise InvalidInput.field("mode", "bad_mode", f"{mode!r} is not main_only, all_at_once or in_turn.")

    def write() -> tuple[Scheme, int]:
        with pbx.sessions.begin() as s:
            employee = directory._load(s, employee_id)
            scheme, version = _stored(s, employee)
            _expect(version, expected_version)
            scheme = dataclasses.replace(scheme, mode=mode)
            return scheme, _save(s, actor, employee, scheme, version, "scheme.mode")
    return versioned_write(expected_version, write, STALE)


def set_device(pbx: PbxInstance, actor: Actor, employee_id: int, expected_version: int | None, device_id: str,
               *, active: bool | None = None, ring_timeout_s: int | None = None) -> tuple[Scheme, int]:
    """The quick switches of the tray menu and the browser popup. Switching a device off keeps
    its schedule for when it is switched on again."""
    _require_admin(actor)

    def write() -> tuple[Scheme, int]:
        with pbx.sessions.begin() as s:
            employee = directory._load(s, employee_id)
            scheme, version = _stored(s, employee)
            _expect(version, expected_version)
            if device_id not in {d.id for d in scheme.devices}:
                raise NotFound(f"{employee.name} has no device {device_id!r}.", code="unknown_device")
            devices = tuple(
                d if d.id != device_id else dataclasses.replace(
                    d, active=d.active if active is None else active,
                    ring_timeout_s=d.ring_timeout_s if ring_timeout_s is None else ring_timeout_s)
                for d in scheme.devices)
            scheme = dataclasses.replace(scheme, devices=devices)
            _check(employee, scheme)
            return scheme, _save(s, actor, employee, scheme, version, "scheme.device")
    return versioned_write(expected_version, write, STALE)


MAX_DO_NOT_DISTURB_MIN = 24 * 60


def set_do_not_disturb(pbx: PbxInstance, actor: Actor, minutes: int,
                       now: dt.datetime | None = None) -> tuple[Scheme, int]:
    """Nothing rings for the actor for `minutes` (0: ringing again now), whatever their scheme
    says; it ends by itself. Every employee may do it for themselves, administrators included
    (it is not a change of the scheme's devices, which only administrators make). The end is
    rounded up to a whole minute, where routing's cached plans change (decide.whole_minute_schedules)."""
    if actor.employee_id is None:
        raise Forbidden("Only an employee can ask not to be disturbed.")
    if not 0 <= minutes <= MAX_DO_NOT_DISTURB_MIN:
        raise InvalidInput.field("minutes", "bad_minutes",
                                 f"Do not disturb lasts 0 to {MAX_DO_NOT_DISTURB_MIN} minutes, not {minutes}.")
    until = None
    if minutes:
        end = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC) + dt.timedelta(minutes=minutes)
        until = end.replace(second=0, microsecond=0) + (dt.timedelta(minutes=1) if end.second or end.microsecond
                                                        else dt.timedelta())

    def write() -> tuple[Scheme, int]:
        with pbx.sessions.begin() as s:
            employee = directory._load(s, actor.employee_id)
            scheme, version = _stored(s, employee)
            scheme = dataclasses.replace(scheme, do_not_disturb_until=until)
            return scheme, _save(s, actor, employee, scheme, version, "scheme.do_not_disturb")
    return versioned_write(None, write, STALE)


def add_sip_account(pbx: PbxInstance, actor: Actor, employee_id: int, username: str,
                    password: str | None = None) -> directory.SipCredentials:
    """Another SIP login for an employee (a desk phone, a second app), appended to their scheme
    as an active device."""
    _require_admin(actor)
    password = password or directory.generate_sip_password()
    username = validation.extension(username, "username")

    def write() -> None:
        with pbx.sessions.begin() as s:
            employee = directory._load(s, employee_id)
            taken = s.scalar(select(Employee).where(Employee.extension == username))
            if taken is not None or username in {a.username for a in employee.sip_accounts}:
                raise InvalidInput.field("username", "taken", f"{username} is an extension or SIP login already.")
            employee.sip_accounts.append(directory._sip_account(pbx, username, password))
            directory._commit_or_conflict(s)
            scheme, version = _stored(s, employee)
            position = max((d.position for d in scheme.devices), default=0) + 1
            device = Device(id=sip_device_id(username), kind=DeviceKind.SIP, address=username, active=True,
                            position=position, ring_timeout_s=DEFAULT_RING_TIMEOUT_S)
            scheme = dataclasses.replace(scheme, devices=scheme.devices + (device,))
            _save(s, actor, employee, scheme, version, "scheme.sip_account")
            audit.record(s, actor, "employee.sip_account", "employee", employee.id, username=username)
    versioned_write(None, write, STALE)
    return directory.SipCredentials(username, pbx.domain, password)


def remove_sip_account(pbx: PbxInstance, actor: Actor, employee_id: int, username: str) -> None:
    """Take a SIP login (a desk phone) away from an employee, with its device in their scheme.
    The login named after the extension stays: it is the employee's own (their app's), and goes
    only with the employee or follows a new extension. A phone still registered with the removed
    login keeps its registration until it expires, but the PBX neither authenticates it again
    nor rings it (no scheme lists it)."""
    _require_admin(actor)

    def write() -> None:
        with pbx.sessions.begin() as s:
            employee = directory._load(s, employee_id)
            account = next((a for a in employee.sip_accounts if a.username == username), None)
            if account is None:
                raise NotFound(f"{employee.name} has no SIP account {username!r}.", code="unknown_sip_account")
            if username == employee.extension:
                raise Conflict(f"{username} is {employee.name}'s own SIP account (their extension): change the "
                               "extension or remove the employee instead.", code="main_sip_account")
            scheme, version = _stored(s, employee)
            employee.sip_accounts.remove(account)
            directory._commit_or_conflict(s)
            devices = tuple(d for d in scheme.devices
                            if not (d.kind == DeviceKind.SIP and d.address == username))
            scheme = dataclasses.replace(scheme, devices=devices)
            _save(s, actor, employee, scheme, version, "scheme.sip_account")
            audit.record(s, actor, "employee.sip_account.delete", "employee", employee.id,
                         audience_id=employee.id, username=username)
    versioned_write(None, write, STALE)


def registered_usernames(s, usernames: list[str]) -> set[str]:
    """The SIP accounts with a live registration in Kamailio's `location` table."""
    if not usernames:
        return set()
    rows = s.execute(text("SELECT username, expires FROM location WHERE username IN :names")
                     .bindparams(bindparam("names", expanding=True)), {"names": list(usernames)})
    now = dt.datetime.now(dt.UTC)
    return {username for username, expires in rows if (when := _kamailio_time(expires)) is None or when > now}


def _kamailio_time(value) -> dt.datetime | None:
    """A time as Kamailio's db drivers write it: db_sqlite stores a Julian day number (UTC);
    db_postgres a timestamp without zone in the server's local time (usrloc uses localtime())."""
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp((value - 2440587.5) * 86400, dt.UTC)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo is None else value
    return None


def ring_plan(pbx: PbxInstance, actor: Actor, employee_id: int, at: dt.datetime) -> RingPlan:
    """Who would ring at `at`, and why the others would not: SIP devices that are not
    registered now count as not registered. A naive `at` is a wall-clock time in the scheme's
    zone (moved, and said so, when the clocks skip it). The plan warns when the calendar has no
    year of the moment's date imported: every weekday then counts as a working day."""
    scheme, _ = get_scheme(pbx, actor, employee_id)
    with pbx.sessions() as s:
        sip = [d.address for d in scheme.devices if d.kind == DeviceKind.SIP]
        online = registered_usernames(s, sip)
        calendar = load_calendar(s)
        shorten = settings.get(s, "shortened_days_end_earlier") == "1"
    status = device_statuses(scheme, online.__contains__)
    try:
        asked = None
        if at.tzinfo is None:
            wall = at
            at, moved = local_moment(wall, scheme.timezone)
            asked = wall if moved else None
        plan = compute_plan(scheme, calendar, at, status, shortened_days_end_earlier=shorten,
                            max_ring_s=MAX_RING_TIMEOUT_S, asked_local=asked)
    except InvalidSchemeError:
        raise
    except RingPlanError as e:  # `at` is beyond what a datetime can carry in the scheme's zone
        raise InvalidInput.field("at", "out_of_range", str(e)) from None
    year = plan.local_time.year
    if year not in calendar.years():
        plan = dataclasses.replace(plan, notices=plan.notices + (Notice(
            NoticeCode.CALENDAR_YEAR_MISSING,
            f"The production calendar for {year} has not been imported: every Monday to Friday counts as a "
            "working day and every Saturday and Sunday as a day off, holidays included.", {"year": year}),))
    return plan
