"""The production calendar: weekday rule, exceptions, and the xmlcalendar import/export."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbx.prodcalendar import (
    MAX_XML_BYTES,
    CalendarDay,
    CalendarError,
    CalendarImportError,
    DayKind,
    InvalidCalendarError,
    ProductionCalendar,
    parse_xml,
)

# The Russian calendar for 2025 as the government decree set it (Jan 4/5 and Feb 23/Mar 8 moved,
# Saturday Nov 1 a shortened working day): 247 working days, 118 days off.
RU_2025 = """<?xml version="1.0" encoding="UTF-8"?>
<calendar year="2025" lang="ru" date="2024.10.04" country="ru">
  <holidays>
    <holiday id="1" title="Новогодние каникулы"/>
    <holiday id="2" title="Рождество Христово"/>
    <holiday id="3" title="День защитника Отечества"/>
    <holiday id="4" title="Международный женский день"/>
    <holiday id="5" title="Праздник Весны и Труда"/>
    <holiday id="6" title="День Победы"/>
    <holiday id="7" title="День России"/>
    <holiday id="8" title="День народного единства"/>
  </holidays>
  <days>
    <day d="01.01" t="1" h="1"/>
    <day d="01.02" t="1" h="1"/>
    <day d="01.03" t="1" h="1"/>
    <day d="01.04" t="1" h="1"/>
    <day d="01.05" t="1" h="1"/>
    <day d="01.06" t="1" h="1"/>
    <day d="01.07" t="1" h="2"/>
    <day d="01.08" t="1" h="1"/>
    <day d="02.23" t="1" h="3"/>
    <day d="03.07" t="2"/>
    <day d="03.08" t="1" h="4"/>
    <day d="04.30" t="2"/>
    <day d="05.01" t="1" h="5"/>
    <day d="05.02" t="1" f="01.04"/>
    <day d="05.08" t="1" f="02.23"/>
    <day d="05.09" t="1" h="6"/>
    <day d="06.11" t="2"/>
    <day d="06.12" t="1" h="7"/>
    <day d="06.13" t="1" f="03.08"/>
    <day d="11.01" t="2"/>
    <day d="11.03" t="1" f="11.01"/>
    <day d="11.04" t="1" h="8"/>
    <day d="12.31" t="1" f="01.05"/>
  </days>
</calendar>
"""


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(n) for n in range((date(year + 1, 1, 1) - first).days)]


def xml(days: str, *, year: str = '"2025"', holidays: str = '<holiday id="1" title="X"/>') -> str:
    return (f'<calendar year={year} lang="ru"><holidays>{holidays}</holidays>'
            f"<days>{days}</days></calendar>")


@pytest.fixture(scope="module")
def ru2025() -> ProductionCalendar:
    return ProductionCalendar.from_xml(RU_2025)


# --- the weekday rule and exceptions --------------------------------------------------------
def test_default_calendar_is_monday_to_friday():
    cal = ProductionCalendar()
    week = [date(2025, 6, 2) + timedelta(n) for n in range(7)]  # Monday to Sunday
    assert [cal.kind(d) for d in week] == [DayKind.WORKING] * 5 + [DayKind.DAY_OFF] * 2
    assert [cal.is_working_day(d) for d in week] == [True] * 5 + [False] * 2
    assert cal.exception_on(week[0]) is None
    assert cal.years() == ()


def test_exceptions_override_the_weekday_rule():
    cal = ProductionCalendar((
        CalendarDay(date(2025, 6, 4), DayKind.DAY_OFF),        # a Wednesday off
        CalendarDay(date(2025, 6, 7), DayKind.WORKING),        # a working Saturday
        CalendarDay(date(2025, 6, 8), DayKind.SHORTENED),      # a shortened working Sunday
        CalendarDay(date(2025, 6, 5), DayKind.SHORTENED),      # a shortened Thursday
    ))
    assert not cal.is_working_day(date(2025, 6, 4))
    assert cal.is_working_day(date(2025, 6, 7))
    assert cal.kind(date(2025, 6, 8)) is DayKind.SHORTENED and cal.is_working_day(date(2025, 6, 8))
    assert cal.kind(date(2025, 6, 5)) is DayKind.SHORTENED and cal.is_working_day(date(2025, 6, 5))
    assert [d.day for d in cal.days] == sorted(d.day for d in cal.days)


def test_kind_accepts_a_datetime_as_its_date():
    cal = ProductionCalendar((CalendarDay(date(2025, 6, 4), DayKind.DAY_OFF),))
    assert cal.kind(datetime(2025, 6, 4, 23, 59)) is DayKind.DAY_OFF


def test_kind_strings_are_accepted_and_normalised():
    day = CalendarDay(date(2025, 6, 7), "working")  # type: ignore[arg-type]
    assert day.kind is DayKind.WORKING


@pytest.mark.parametrize("make, words", [
    (lambda: CalendarDay(date(2025, 6, 4), DayKind.WORKING), "Wednesday"),
    (lambda: CalendarDay(datetime(2025, 6, 7, 1), DayKind.WORKING), "needs a date"),
    (lambda: CalendarDay(date(2025, 6, 7), "holiday"), "'holiday' is not one of"),  # type: ignore[arg-type]
    (lambda: CalendarDay(date(2025, 6, 7), DayKind.DAY_OFF, holiday=""), "non-empty"),
    (lambda: CalendarDay(date(2025, 6, 7), DayKind.DAY_OFF, moved_from="01.04"),  # type: ignore[arg-type]
     "moved_from"),
    (lambda: ProductionCalendar((CalendarDay(date(2025, 1, 1), DayKind.DAY_OFF),
                                 CalendarDay(date(2025, 1, 1), DayKind.SHORTENED))),
     "more than once"),
    (lambda: ProductionCalendar(("2025-01-01",)), "Not a calendar day"),  # type: ignore[arg-type]
])
def test_inconsistent_days_are_refused(make, words):
    with pytest.raises(InvalidCalendarError, match=words) as info:
        make()
    assert isinstance(info.value, CalendarError) and isinstance(info.value, ValueError)


def test_edits_return_new_calendars():
    base = ProductionCalendar()
    holiday = CalendarDay(date(2025, 6, 12), DayKind.DAY_OFF, "День России")
    edited = base.with_day(holiday)
    assert base.is_working_day(date(2025, 6, 12)) and not edited.is_working_day(date(2025, 6, 12))
    replaced = edited.with_day(CalendarDay(date(2025, 6, 12), DayKind.SHORTENED))
    assert replaced.kind(date(2025, 6, 12)) is DayKind.SHORTENED and len(replaced.days) == 1
    assert edited.without_day(date(2025, 6, 12)) == base
    assert edited.exception_on(date(2025, 6, 12)) == holiday


def test_with_year_replaces_only_that_year():
    cal = ProductionCalendar((CalendarDay(date(2024, 12, 31), DayKind.DAY_OFF),
                              CalendarDay(date(2025, 1, 1), DayKind.DAY_OFF)))
    new = cal.with_year(2025, [CalendarDay(date(2025, 1, 2), DayKind.DAY_OFF)])
    assert [d.day for d in new.days] == [date(2024, 12, 31), date(2025, 1, 2)]
    assert new.years() == (2024, 2025)
    with pytest.raises(InvalidCalendarError, match="not in 2025"):
        cal.with_year(2025, [CalendarDay(date(2026, 1, 1), DayKind.DAY_OFF)])


def test_calendars_are_hashable_values():
    a = ProductionCalendar((CalendarDay(date(2025, 1, 1), DayKind.DAY_OFF),))
    b = ProductionCalendar([CalendarDay(date(2025, 1, 1), DayKind.DAY_OFF)])  # type: ignore[arg-type]
    assert a == b and hash(a) == hash(b)


# --- a whole real year -----------------------------------------------------------------------
def test_2025_has_the_published_number_of_working_days(ru2025):
    year = days_of(2025)
    assert sum(ru2025.is_working_day(d) for d in year) == 247
    assert sum(not ru2025.is_working_day(d) for d in year) == 118
    assert [d for d in year if ru2025.kind(d) is DayKind.SHORTENED] == [
        date(2025, 3, 7), date(2025, 4, 30), date(2025, 6, 11), date(2025, 11, 1)]


@pytest.mark.parametrize("day, kind", [
    *[(date(2025, 1, n), DayKind.DAY_OFF) for n in range(1, 9)],      # New Year holidays
    (date(2025, 1, 9), DayKind.WORKING),                                # first working Thursday
    (date(2025, 2, 23), DayKind.DAY_OFF),                               # a holiday on a Sunday...
    (date(2025, 2, 24), DayKind.WORKING),                               # ...moved to May 8, not here
    (date(2025, 3, 7), DayKind.SHORTENED),
    (date(2025, 5, 1), DayKind.DAY_OFF), (date(2025, 5, 2), DayKind.DAY_OFF),
    (date(2025, 5, 3), DayKind.DAY_OFF), (date(2025, 5, 4), DayKind.DAY_OFF),
    (date(2025, 5, 5), DayKind.WORKING),
    (date(2025, 5, 8), DayKind.DAY_OFF), (date(2025, 5, 9), DayKind.DAY_OFF),
    (date(2025, 5, 12), DayKind.WORKING),
    (date(2025, 6, 13), DayKind.DAY_OFF),                               # moved from Mar 8
    (date(2025, 11, 1), DayKind.SHORTENED),                             # a working Saturday
    (date(2025, 11, 2), DayKind.DAY_OFF),
    (date(2025, 11, 3), DayKind.DAY_OFF), (date(2025, 11, 4), DayKind.DAY_OFF),
    (date(2025, 12, 30), DayKind.WORKING), (date(2025, 12, 31), DayKind.DAY_OFF),
])
def test_2025_dates(ru2025, day, kind):
    assert ru2025.kind(day) is kind


def test_import_keeps_titles_and_moves(ru2025):
    assert ru2025.exception_on(date(2025, 1, 7)).holiday == "Рождество Христово"
    assert ru2025.exception_on(date(2025, 5, 2)).moved_from == date(2025, 1, 4)
    assert ru2025.exception_on(date(2025, 5, 2)).holiday is None
    assert ru2025.exception_on(date(2025, 3, 7)).holiday is None


def test_parse_xml_reports_year_and_language():
    parsed = parse_xml(RU_2025)
    assert (parsed.year, parsed.lang, len(parsed.days)) == (2025, "ru", 23)


def test_importing_a_year_keeps_the_other_years(ru2025):
    other = ProductionCalendar((CalendarDay(date(2024, 12, 28), DayKind.WORKING),
                                CalendarDay(date(2025, 7, 1), DayKind.DAY_OFF)))
    merged = other.import_xml(RU_2025)
    assert merged.exception_on(date(2024, 12, 28)) is not None
    assert merged.exception_on(date(2025, 7, 1)) is None  # 2025 was replaced as a whole
    assert merged.days_of_year(2025) == ru2025.days


# --- export -----------------------------------------------------------------------------------
def test_export_round_trips(ru2025):
    text = ru2025.to_xml(2025)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<calendar year="2025" lang="ru">')
    assert '<day d="11.01" t="2" />' in text
    assert '<day d="05.02" t="1" f="01.04" />' in text
    assert '<holiday id="2" title="Рождество Христово" />' in text
    assert '<day d="01.07" t="1" h="2" />' in text
    assert ProductionCalendar.from_xml(text) == ru2025
    assert ProductionCalendar.from_xml(text.encode("utf-8")) == ru2025


def test_export_of_an_empty_year_imports_as_no_exceptions(ru2025):
    text = ru2025.to_xml(2031, lang="en")
    assert 'lang="en"' in text
    assert ProductionCalendar.from_xml(text) == ProductionCalendar()


def test_export_writes_working_weekends_as_type_3():
    cal = ProductionCalendar((CalendarDay(date(2024, 4, 27), DayKind.WORKING),))
    assert '<day d="04.27" t="3" />' in cal.to_xml(2024)


# --- import: accepted variations ------------------------------------------------------------
def test_unknown_attributes_and_top_level_elements_are_ignored():
    text = ('<calendar year="2025" lang="ru" date="2024.10.04" source="x">'
            '<note>hello</note><days><day d="01.01" t="1" extra="y"/></days></calendar>')
    assert ProductionCalendar.from_xml(text).kind(date(2025, 1, 1)) is DayKind.DAY_OFF


def test_holidays_element_is_optional_and_days_may_be_empty():
    assert ProductionCalendar.from_xml('<calendar year="2025"><days/></calendar>') == ProductionCalendar()


def test_untitled_holiday_still_marks_its_day():
    cal = ProductionCalendar.from_xml(xml('<day d="01.01" t="1" h="1"/>', holidays='<holiday id="1"/>'))
    assert cal.exception_on(date(2025, 1, 1)).holiday is None


def test_other_encodings_and_a_bom_are_read():
    text = RU_2025.replace('encoding="UTF-8"', 'encoding="windows-1251"')
    assert ProductionCalendar.from_xml(text.encode("cp1251")) == ProductionCalendar.from_xml(RU_2025)
    with_bom = b"\xef\xbb\xbf" + RU_2025.encode()
    assert ProductionCalendar.from_xml(with_bom) == ProductionCalendar.from_xml(RU_2025)


def test_a_leap_day_is_accepted_in_a_leap_year():
    cal = ProductionCalendar.from_xml(xml('<day d="02.29" t="1"/>', year='"2024"'))
    assert not cal.is_working_day(date(2024, 2, 29))


# --- import: refused files --------------------------------------------------------------------
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE calendar [
  <!ENTITY a "aaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<calendar year="2025"><days><day d="01.01" t="1" h="&c;"/></days></calendar>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE calendar [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<calendar year="2025"><holidays><holiday id="1" title="&x;"/></holidays><days/></calendar>"""


@pytest.mark.parametrize("text, words", [
    ("", "not well-formed XML"),
    ("this is not xml", "not well-formed XML (line 1, column 1)"),
    ('<calendar year="2025"><days>', "not well-formed XML"),
    ('<calendar year="2025"><days></calendar>', "line 1"),
    ('<html><body/></html>', "root element is <html>"),
    ('<calendar><days/></calendar>', "no year attribute"),
    ('<calendar year="twenty"><days/></calendar>', 'year="twenty" is not a number'),
    ('<calendar year="0"><days/></calendar>', "out of range"),
    ('<calendar year="2025"><holidays/></calendar>', "no <days> element"),
    (xml('<day t="1"/>'), "Day 1 (d=\"\"): the d attribute is missing"),
    (xml('<day d="1.1" t="1"/>'), 'd="1.1" is not MM.DD'),
    (xml('<day d="2025-01-01" t="1"/>'), "is not MM.DD"),
    (xml('<day d="01.01" t="1"/><day d="02.29" t="1"/>'),
     'Day 2 (d="02.29"): d="02.29" is not a date in 2025'),
    (xml('<day d="13.01" t="1"/>'), "is not a date in 2025"),
    (xml('<day d="00.10" t="1"/>'), "is not a date in 2025"),
    (xml('<day d="01.01" t="1"/><day d="01.01" t="2"/>'), "01.01 is listed more than once"),
    (xml('<day d="01.01"/>'), 't="" is not 1 (day off), 2 (shortened day) or 3'),
    (xml('<day d="01.01" t="4"/>'), 't="4" is not 1'),
    (xml('<day d="01.01" t="day off"/>'), 't="day off"'),
    (xml('<day d="11.05" t="3"/>'), "2025-11-05 is a Wednesday"),
    (xml('<day d="01.01" t="1" h="9"/>'), 'h="9" names no declared <holiday>'),
    (xml('<day d="05.02" t="1" f="04.31"/>'), 'f="04.31" is not a date in 2025'),
    (xml('<day d="05.02" t="1" f=""/>'), 'f="" is not MM.DD'),
    (xml('<day d="01.01" t="1"/><holiday id="2"/>'), "<days> holds a <holiday>"),
    (xml("", holidays='<holiday id="1"/><holiday id="1"/>'), "id '1' is declared twice"),
    (xml("", holidays='<holiday title="X"/>'), "Holiday 1 has no id"),
    (xml("", holidays='<day d="01.01" t="1"/>'), "<holidays> holds a <day>"),
    (BILLION_LAUGHS, "DOCTYPE"),
    (EXTERNAL_ENTITY, "DOCTYPE"),
])
def test_bad_files_are_refused_with_a_sentence_naming_the_problem(text, words):
    with pytest.raises(CalendarImportError) as info:
        parse_xml(text)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_doctype_is_refused_in_any_encoding():
    with pytest.raises(CalendarImportError, match="DOCTYPE"):
        parse_xml(BILLION_LAUGHS.encode("utf-16"))


def test_oversized_input_is_refused_before_parsing():
    with pytest.raises(CalendarImportError, match="far smaller"):
        parse_xml("<calendar year='2025'><days>" + " " * MAX_XML_BYTES + "</days></calendar>")


def test_input_must_be_text():
    with pytest.raises(CalendarImportError, match="text or bytes"):
        parse_xml(None)  # type: ignore[arg-type]


def test_a_failed_import_changes_nothing(ru2025):
    broken = RU_2025.replace('<day d="12.31" t="1" f="01.05"/>', '<day d="12.32" t="1"/>')
    with pytest.raises(CalendarImportError, match="12.32"):
        ru2025.import_xml(broken)
    with pytest.raises(CalendarImportError):
        ProductionCalendar().import_xml(broken)
    assert ru2025 == ProductionCalendar.from_xml(RU_2025)


# --- JSON form --------------------------------------------------------------------------------
def test_json_round_trip(ru2025):
    data = json.loads(json.dumps(ru2025.to_dict()))
    assert data["days"][13] == {"date": "2025-05-02", "kind": "day_off", "holiday": None,
                                "moved_from": "2025-01-04"}
    assert ProductionCalendar.from_dict(data) == ru2025


@pytest.mark.parametrize("data, words", [
    (None, "list of days"),
    ({"days": "2025-01-01"}, "list of days"),
    ({"days": ["2025-01-01"]}, "entry 0 is not an object"),
    ({"days": [{"kind": "day_off"}]}, "entry 0 has no 'date'"),
    ({"days": [{"date": "2025-13-01", "kind": "day_off"}]}, "entry 0 is not valid"),
    ({"days": [{"date": "2025-06-04", "kind": "working"}]}, "Wednesday"),
    ({"days": [{"date": 20250101, "kind": "day_off"}]}, "entry 0 is not valid"),
])
def test_bad_json_is_refused(data, words):
    with pytest.raises(InvalidCalendarError, match=words):
        ProductionCalendar.from_dict(data)


# --- properties -------------------------------------------------------------------------------
TITLES = st.sampled_from(["Новый год", "День Победы", "Holiday & <friends>", 'Quote "day"'])


@st.composite
def calendar_days(draw, year: int = 2024) -> tuple[CalendarDay, ...]:
    chosen = draw(st.lists(st.sampled_from(days_of(year)), unique=True, max_size=40))
    out = []
    for day in chosen:
        kinds = [DayKind.DAY_OFF, DayKind.SHORTENED]
        if day.weekday() >= 5:
            kinds.append(DayKind.WORKING)
        kind = draw(st.sampled_from(kinds))
        holiday = draw(st.none() | TITLES)
        moved = draw(st.none() | st.sampled_from(days_of(year)))
        out.append(CalendarDay(day, kind, holiday, moved))
    return tuple(out)


@settings(max_examples=60, deadline=None)
@given(calendar_days())
def test_property_xml_export_imports_back_unchanged(days):
    cal = ProductionCalendar(days)
    assert ProductionCalendar.from_xml(cal.to_xml(2024)) == cal


@settings(max_examples=60, deadline=None)
@given(calendar_days())
def test_property_json_round_trip_and_working_means_not_day_off(days):
    cal = ProductionCalendar(days)
    assert ProductionCalendar.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal
    for day in days_of(2024)[::7] + [d.day for d in days]:
        assert cal.is_working_day(day) == (cal.kind(day) is not DayKind.DAY_OFF)
        expected = next((d.kind for d in days if d.day == day), None)
        if expected is None:
            expected = DayKind.DAY_OFF if day.weekday() >= 5 else DayKind.WORKING
        assert cal.kind(day) is expected
