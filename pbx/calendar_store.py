"""The PBX's production calendar, kept in table calendar_day (exceptions only) with one version
for the whole calendar (setting "calendar_version")."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pbx import audit, settings
from pbx.audit import Actor
from pbx.db import CalendarDayRow, versioned_write
from pbx.errors import Forbidden, InvalidInput, PreconditionFailed
from pbx.instance import PbxInstance
from pbx.prodcalendar import CalendarDay, CalendarError, ProductionCalendar, calendar_from_rows


def load_calendar(s: Session, years: tuple[int, ...] | None = None) -> ProductionCalendar:
    query = select(CalendarDayRow)
    if years:
        query = query.where(CalendarDayRow.day >= dt.date(min(years), 1, 1),
                            CalendarDayRow.day <= dt.date(max(years), 12, 31))
    return calendar_from_rows((r.day, r.kind, r.holiday, r.moved_from)
                              for r in s.scalars(query.order_by(CalendarDayRow.day)))


VERSION_SETTING = "calendar_version"
STALE = "The production calendar was changed meanwhile: reload it and try again."


def version(s: Session) -> int:
    return int(settings.get(s, VERSION_SETTING))


def read(pbx: PbxInstance, year: int | None) -> tuple[ProductionCalendar, int]:
    with pbx.sessions() as s:
        return load_calendar(s, (year,) if year else None), version(s)


def _write(pbx: PbxInstance, actor: Actor, expected: int | None, change, action: str) -> tuple[ProductionCalendar, int]:
    if not actor.is_admin:
        raise Forbidden("Only members of Administrators may change the production calendar.")

    def write() -> tuple[ProductionCalendar, int]:
        with pbx.sessions.begin() as s:
            current = settings.get(s, VERSION_SETTING)
            if expected is not None and expected != int(current):
                raise PreconditionFailed(STALE)
            try:
                new = change(load_calendar(s))
            except CalendarError as e:
                raise InvalidInput.field("calendar", "invalid_calendar", str(e)) from None
            if not settings.claim_version(s, VERSION_SETTING, current):
                raise PreconditionFailed(STALE)
            s.execute(delete(CalendarDayRow))
            s.add_all(CalendarDayRow(day=d.day, kind=str(d.kind), holiday=d.holiday, moved_from=d.moved_from)
                      for d in new.days)
            audit.record(s, actor, action, "calendar", None)
            return new, int(current) + 1
    return versioned_write(expected, write, STALE)


def set_day(pbx: PbxInstance, actor: Actor, expected: int | None, day: CalendarDay):
    return _write(pbx, actor, expected, lambda cal: cal.with_day(day), "calendar.day")


def clear_day(pbx: PbxInstance, actor: Actor, expected: int | None, day: dt.date):
    return _write(pbx, actor, expected, lambda cal: cal.without_day(day), "calendar.day")


def import_xml(pbx: PbxInstance, actor: Actor, expected: int | None, xml: bytes):
    """Replace one year with the one in an XML calendar file (<day d="MM.DD" t="1|2|3"/>)."""
    return _write(pbx, actor, expected, lambda cal: cal.import_xml(xml), "calendar.import")
