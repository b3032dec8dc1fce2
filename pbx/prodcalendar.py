"""The production calendar of a PBX: which dates are working days.

One calendar per PBX, shared by every employee's schedule. Without exceptions Monday to Friday
are working days and Saturday and Sunday are days off; the calendar stores only the exceptions
(public holidays, moved days off, working Saturdays/Sundays, shortened days), year by year.

It is imported by Kamailio's embedded interpreter (Debian's system Python) as well as by the PBX
service, so it uses the standard library only, does no I/O and keeps no global state: text in,
immutable values out.

The exchange format is the one most Russian payroll and HR software reads (xmlcalendar.ru):

    <calendar year="2025" lang="ru">
      <holidays><holiday id="1" title="Новогодние каникулы"/></holidays>
      <days>
        <day d="01.01" t="1" h="1"/>      t=1: day off; h: the public holiday it is
        <day d="05.02" t="1" f="01.04"/>  f: the weekend date this day off was moved from
        <day d="04.30" t="2"/>            t=2: shortened working day (any day of the week)
        <day d="11.01" t="3"/>            t=3: working Saturday or Sunday
      </days>
    </calendar>

Exceptions (all are ValueErrors, so a caller that only cares about "bad input" catches that):

    CalendarError               anything this module refuses
    ├── InvalidCalendarError    the days given do not make a calendar (a date twice, ...)
    └── CalendarImportError     the XML is not a calendar; nothing was imported
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "CalendarDay",
    "CalendarError",
    "CalendarImportError",
    "DayKind",
    "InvalidCalendarError",
    "MAX_XML_BYTES",
    "ProductionCalendar",
    "XmlCalendar",
    "parse_xml",
]

# A year's file is a few kilobytes; anything near this is not a calendar, and the cap keeps a
# hostile upload from costing more than a moment of parsing.
MAX_XML_BYTES = 1_000_000

_WEEKEND = frozenset({5, 6})  # date.weekday(): Saturday, Sunday
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_DAY_RE = re.compile(r"(\d{2})\.(\d{2})")


class CalendarError(ValueError):
    """Base of every error of this module; str() is one English sentence for the administrator."""


class InvalidCalendarError(CalendarError):
    """The days given do not make a consistent calendar."""


class CalendarImportError(CalendarError):
    """The text is not a valid XML production calendar. Nothing was imported."""


class DayKind(StrEnum):
    WORKING = "working"
    SHORTENED = "shortened"  # a working day, one hour shorter (the day before a holiday)
    DAY_OFF = "day_off"

    @property
    def is_working(self) -> bool:
        return self is not DayKind.DAY_OFF


# The numeric day types of the XML format, both ways.
_XML_TYPE = {DayKind.DAY_OFF: "1", DayKind.SHORTENED: "2", DayKind.WORKING: "3"}
_TYPE_FROM_XML = {code: kind for kind, code in _XML_TYPE.items()}


def _is_plain_date(value: object) -> bool:
    # datetime is a subclass of date; letting one in would make dict lookups by date miss.
    return isinstance(value, date) and not isinstance(value, datetime)


@dataclass(frozen=True)
class CalendarDay:
    """One exception to the Monday-to-Friday rule.

    `holiday` is the title of the public holiday the date is (if the source names one);
    `moved_from` is the weekend date whose day off was moved to this date. Both are kept so
    that an imported calendar exports back with the same information.
    """

    day: date
    kind: DayKind
    holiday: str | None = None
    moved_from: date | None = None

    def __post_init__(self) -> None:
        if not _is_plain_date(self.day):
            raise InvalidCalendarError(f"A calendar day needs a date, not {self.day!r}.")
        try:
            kind = DayKind(self.kind)
        except ValueError:
            raise InvalidCalendarError(
                f"{self.day}: the kind {self.kind!r} is not one of "
                f"{', '.join(k.value for k in DayKind)}.") from None
        object.__setattr__(self, "kind", kind)
        if kind is DayKind.WORKING and self.day.weekday() not in _WEEKEND:
            # A working Wednesday is no exception at all; in an import it almost always means
            # the file is for another year than the one it claims.
            raise InvalidCalendarError(
                f"{self.day} is a {_WEEKDAY_NAMES[self.day.weekday()]}: only a Saturday or a "
                "Sunday can be made a working day.")
        if self.holiday is not None and (not isinstance(self.holiday, str) or not self.holiday):
            raise InvalidCalendarError(f"{self.day}: a holiday title must be non-empty text.")
        if self.moved_from is not None and not _is_plain_date(self.moved_from):
            raise InvalidCalendarError(f"{self.day}: moved_from must be a date.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "kind": self.kind.value,
            "holiday": self.holiday,
            "moved_from": self.moved_from.isoformat() if self.moved_from else None,
        }


@dataclass(frozen=True)
class ProductionCalendar:
    """The working-day calendar of one PBX: Monday to Friday plus `days`, the exceptions.

    Immutable: editing methods return a new calendar, so a failed import or edit can never
    leave a half-changed one behind.
    """

    days: tuple[CalendarDay, ...] = ()
    _by_day: Mapping[date, CalendarDay] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_day: dict[date, CalendarDay] = {}
        for item in self.days:
            if not isinstance(item, CalendarDay):
                raise InvalidCalendarError(f"Not a calendar day: {item!r}.")
            if item.day in by_day:
                raise InvalidCalendarError(f"{item.day} is listed more than once.")
            by_day[item.day] = item
        ordered = tuple(by_day[d] for d in sorted(by_day))
        object.__setattr__(self, "days", ordered)
        object.__setattr__(self, "_by_day", MappingProxyType({d.day: d for d in ordered}))

    # --- questions -----------------------------------------------------------------------------
    def kind(self, day: date) -> DayKind:
        if isinstance(day, datetime):
            day = day.date()
        exception = self._by_day.get(day)
        if exception is not None:
            return exception.kind
        return DayKind.DAY_OFF if day.weekday() in _WEEKEND else DayKind.WORKING

    def is_working_day(self, day: date) -> bool:
        """True on working days, shortened ones included."""
        return self.kind(day).is_working

    def is_shortened_day(self, day: date) -> bool:
        """True on shortened (pre-holiday) working days."""
        return self.kind(day) is DayKind.SHORTENED

    def exception_on(self, day: date) -> CalendarDay | None:
        """The stored exception for `day`, or None when the weekday rule applies."""
        return self._by_day.get(day)

    def years(self) -> tuple[int, ...]:
        """The years that have at least one exception."""
        return tuple(sorted({d.day.year for d in self.days}))

    def days_of_year(self, year: int) -> tuple[CalendarDay, ...]:
        return tuple(d for d in self.days if d.day.year == year)

    # --- edits (each returns a new calendar) ---------------------------------------------------
    def with_day(self, day: CalendarDay) -> ProductionCalendar:
        """Add or replace the exception on `day.day`."""
        return ProductionCalendar(tuple(d for d in self.days if d.day != day.day) + (day,))

    def without_day(self, day: date) -> ProductionCalendar:
        """Drop the exception on `day`: the weekday rule applies again."""
        return ProductionCalendar(tuple(d for d in self.days if d.day != day))

    def with_year(self, year: int, days: Iterable[CalendarDay]) -> ProductionCalendar:
        """Replace every exception of `year` by `days` (all of which must fall in `year`)."""
        new = tuple(days)
        for d in new:
            if not isinstance(d, CalendarDay) or d.day.year != year:
                raise InvalidCalendarError(f"{getattr(d, 'day', d)} is not in {year}.")
        return ProductionCalendar(tuple(d for d in self.days if d.day.year != year) + new)

    # --- XML -----------------------------------------------------------------------------------
    @classmethod
    def from_xml(cls, data: str | bytes) -> ProductionCalendar:
        """A calendar holding just the year of one XML file."""
        return cls(parse_xml(data).days)

    def import_xml(self, data: str | bytes) -> ProductionCalendar:
        """This calendar with the year of the XML file replaced by the file's days.

        Other years are kept, so importing next year's file does not lose this year's.
        """
        parsed = parse_xml(data)
        return self.with_year(parsed.year, parsed.days)

    def to_xml(self, year: int, *, lang: str = "ru") -> str:
        """The exceptions of `year` in the XML format (what `import_xml` reads back).

        Holiday ids are numbered 1, 2, ... in date order of first use; holidays the source file
        declared but no day referred to are not kept, so they are not exported either.
        """
        root = ET.Element("calendar", {"year": str(year), "lang": lang})
        holidays = ET.SubElement(root, "holidays")
        days = ET.SubElement(root, "days")
        ids: dict[str, str] = {}
        for d in self.days_of_year(year):
            attrs = {"d": d.day.strftime("%m.%d"), "t": _XML_TYPE[d.kind]}
            if d.holiday is not None:
                if d.holiday not in ids:
                    ids[d.holiday] = str(len(ids) + 1)
                    ET.SubElement(holidays, "holiday", {"id": ids[d.holiday], "title": d.holiday})
                attrs["h"] = ids[d.holiday]
            if d.moved_from is not None:
                attrs["f"] = d.moved_from.strftime("%m.%d")
            ET.SubElement(days, "day", attrs)
        ET.indent(root)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                + ET.tostring(root, encoding="unicode") + "\n")

    # --- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"days": [d.to_dict() for d in self.days]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProductionCalendar:
        """Read what `to_dict` wrote; InvalidCalendarError names the first bad entry."""
        items = data.get("days") if isinstance(data, Mapping) else None
        if not isinstance(items, list):
            raise InvalidCalendarError("A calendar is an object with a list of days.")
        return cls(tuple(_day_from_dict(i, item) for i, item in enumerate(items)))


def calendar_from_rows(rows: Iterable[Sequence[Any]],
                       on_bad: Callable[[Any, CalendarError], None] | None = None) -> ProductionCalendar:
    """The calendar of table calendar_day's rows: (day, kind[, holiday, moved_from]), dates as
    `date` or as ISO text (Kamailio's sqlops returns text, a DATE with a time part). A bad row
    raises, or is handed to `on_bad(row, error)` and left out."""
    days = []
    for row in rows:
        try:
            day, kind, *rest = row
            holiday = rest[0] if rest else None
            moved_from = rest[1] if len(rest) > 1 and rest[1] is not None else None
            days.append(CalendarDay(_row_date(day), kind, holiday,
                                    None if moved_from is None else _row_date(moved_from)))
        except (CalendarError, ValueError) as e:
            if on_bad is None:
                raise
            on_bad(row, e if isinstance(e, CalendarError) else InvalidCalendarError(str(e)))
    return ProductionCalendar(tuple(days))


def _row_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value)[:10])


def _day_from_dict(index: int, item: object) -> CalendarDay:
    if not isinstance(item, Mapping):
        raise InvalidCalendarError(f"Calendar entry {index} is not an object.")
    try:
        moved = item.get("moved_from")
        return CalendarDay(
            day=date.fromisoformat(item["date"]),
            kind=item["kind"],
            holiday=item.get("holiday"),
            moved_from=date.fromisoformat(moved) if moved is not None else None,
        )
    except InvalidCalendarError:
        raise
    except KeyError as e:
        raise InvalidCalendarError(f"Calendar entry {index} has no {e.args[0]!r}.") from None
    except (TypeError, ValueError) as e:
        raise InvalidCalendarError(f"Calendar entry {index} is not valid: {e}.") from None


@dataclass(frozen=True)
class XmlCalendar:
    """What one XML file says: its year, its language and the exceptions of that year."""

    year: int
    lang: str | None
    days: tuple[CalendarDay, ...]


class _NoDoctypeBuilder(ET.TreeBuilder):
    """Refuses a DOCTYPE before its internal subset is read.

    No calendar has one, and refusing it up front rules out entity-expansion bombs and external
    entities whatever the expat version underneath (Python docs, "XML vulnerabilities").
    """

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise CalendarImportError("The file declares a DOCTYPE; a production calendar has none.")


def parse_xml(data: str | bytes) -> XmlCalendar:
    """Read one year of an xmlcalendar-style file, checking every value.

    Raises CalendarImportError naming the first thing that is wrong; it never returns part of
    a file. Unknown attributes (the publisher's `date`, `country`) and unknown elements outside
    <days> are ignored, so newer files still import.
    """
    if not isinstance(data, (str, bytes)):
        raise CalendarImportError("The calendar must be given as text or bytes.")
    if len(data) > MAX_XML_BYTES:
        raise CalendarImportError(
            f"The file is {len(data)} bytes; a calendar is far smaller than {MAX_XML_BYTES}.")
    parser = ET.XMLParser(target=_NoDoctypeBuilder())
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as e:
        line, column = e.position
        raise CalendarImportError(
            f"The file is not well-formed XML (line {line}, column {column + 1}).") from None

    if root.tag != "calendar":
        raise CalendarImportError(f"The root element is <{root.tag}>, not <calendar>.")
    year = _parse_year(root.get("year"))

    titles: dict[str, str | None] = {}
    holidays_el = root.find("holidays")
    if holidays_el is not None:
        for n, el in enumerate(holidays_el, start=1):
            if el.tag != "holiday":
                raise CalendarImportError(f"<holidays> holds a <{el.tag}>; only <holiday> may be there.")
            hid = (el.get("id") or "").strip()
            title = (el.get("title") or "").strip()
            if not hid:
                raise CalendarImportError(f"Holiday {n} has no id.")
            if hid in titles:
                raise CalendarImportError(f"Holiday id {hid!r} is declared twice.")
            titles[hid] = title or None  # an untitled holiday still marks its days

    days_el = root.find("days")
    if days_el is None:
        raise CalendarImportError("The file has no <days> element.")
    days: list[CalendarDay] = []
    seen: set[date] = set()
    for n, el in enumerate(days_el, start=1):
        if el.tag != "day":
            raise CalendarImportError(f"<days> holds a <{el.tag}>; only <day> may be there.")
        where = f'Day {n} (d="{el.get("d", "")}")'
        day = _parse_month_day(el.get("d"), year, where, "d")
        if day in seen:
            raise CalendarImportError(f"{where}: {day:%m.%d} is listed more than once.")
        seen.add(day)
        t = (el.get("t") or "").strip()
        if t not in _TYPE_FROM_XML:
            raise CalendarImportError(
                f'{where}: t="{t}" is not 1 (day off), 2 (shortened day) or 3 (working weekend day).')
        holiday = None
        h = el.get("h")
        if h is not None:
            if h.strip() not in titles:
                raise CalendarImportError(f'{where}: h="{h}" names no declared <holiday>.')
            holiday = titles[h.strip()]
        f = el.get("f")
        moved_from = _parse_month_day(f, year, where, "f") if f is not None else None
        try:
            days.append(CalendarDay(day, _TYPE_FROM_XML[t], holiday, moved_from))
        except InvalidCalendarError as e:
            raise CalendarImportError(f"{where}: {e}") from None
    return XmlCalendar(year=year, lang=root.get("lang"), days=tuple(days))


def _parse_year(raw: str | None) -> int:
    if raw is None:
        raise CalendarImportError("<calendar> has no year attribute.")
    try:
        year = int(raw.strip())
    except ValueError:
        raise CalendarImportError(f'year="{raw}" is not a number.') from None
    if not MINYEAR <= year <= MAXYEAR:
        raise CalendarImportError(f"year={year} is out of range.")
    return year


def _parse_month_day(raw: str | None, year: int, where: str, attr: str) -> date:
    if raw is None:
        raise CalendarImportError(f"{where}: the {attr} attribute is missing.")
    m = _MONTH_DAY_RE.fullmatch(raw.strip())
    if m is None:
        raise CalendarImportError(f'{where}: {attr}="{raw}" is not MM.DD.')
    try:
        return date(year, int(m.group(1)), int(m.group(2)))
    except ValueError:
        raise CalendarImportError(f'{where}: {attr}="{raw}" is not a date in {year}.') from None
