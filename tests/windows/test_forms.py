"""The windows' logic without a display: the scheme as a form and back, the hints shown while
editing, where the PBX's problems land, and the ring-plan preview in words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from common import i18n
from pbx import ringplan
from pbx.schemes import _problems
from tray.windows import forms
from tray.settings import normalise_pbx_url
from tray.windows.callpanel import state_text
from tray.windows.forms import FormInvalid, RuleForm, SchemeForm


@pytest.fixture
def russian(monkeypatch):
    monkeypatch.setattr(i18n, "_language", "ru")


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setattr(i18n, "_language", "en")


SCHEME = {
    "mode": "in_turn", "timezone": "Europe/Moscow", "devices": [
        {"id": "mobile", "kind": "external", "address": "+79161234567", "active": True, "position": 7,
         "ring_timeout_s": 30, "schedule": {"rules": [
             {"type": "calendar", "days": "working_days", "windows": [{"start": "09:00", "end": "18:00"}]},
             {"type": "weekdays", "days": ["sat", "sun"], "windows": []},
             {"type": "period", "start": "2026-12-29", "end": "2027-01-08",
              "windows": [{"start": "22:00", "end": "08:00"}]}]}},
        {"id": "sip-101", "kind": "sip", "address": "101", "active": True, "position": 2,
         "ring_timeout_s": 0, "schedule": None},
        {"id": "home", "kind": "external", "address": "+74951234567", "active": False, "position": 9,
         "ring_timeout_s": 15, "schedule": None},
    ]}


# --- paths -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, path", [
    ("devices[0].schedule.rules[1].end", ("devices", 0, "schedule", "rules", 1, "end")),
    ("devices.0.ring_timeout_s", ("devices", 0, "ring_timeout_s")),
    ("mode", ("mode",)),
    ("", ()),
])
def test_field_paths_of_both_kinds_of_pbx_problem_are_read(text, path):
    assert forms.parse_path(text) == path


@pytest.mark.parametrize("path, key", [
    (("mode",), ("mode",)),
    (("timezone",), ("timezone",)),
    (("devices", 2, "ring_timeout_s"), ("devices", 2, "ring_timeout_s")),
    (("devices", 2, "address"), ("devices", 2, "address")),
    (("devices", 2), ("devices", 2)),
    (("devices", 2, "schedule"), ("devices", 2, "schedule")),
    (("devices", 2, "schedule", "rules"), ("devices", 2, "schedule")),
    (("devices", 2, "schedule", "rules", 1), ("devices", 2, "schedule", "rules", 1)),
    (("devices", 2, "schedule", "rules", 1, "end"), ("devices", 2, "schedule", "rules", 1, "end")),
    (("devices", 2, "schedule", "rules", 1, "windows", 0, "start"), ("devices", 2, "schedule", "rules", 1, "windows")),
    (("devices",), ()),
    (("body",), ()),
])
def test_a_problem_lands_on_the_deepest_field_the_form_has(path, key):
    assert forms.widget_key(path) == key


# --- values as typed ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [("9:00", "09:00"), ("09.30", "09:30"), ("24:00", "00:00"), ("23:59", "23:59"),
                                         ("25:00", None), ("9", None), ("", None), ("12:60", None)])
def test_times_of_day(text, value):
    assert forms.parse_time(text) == value


@pytest.mark.parametrize("text, value", [("2026-01-31", dt.date(2026, 1, 31)), ("31.01.2026", dt.date(2026, 1, 31)),
                                         ("2026-02-30", None), ("31/01/2026", None), ("", None)])
def test_dates_in_iso_or_russian_order(text, value):
    assert forms.parse_date(text) == value


def test_hours_are_a_list_of_windows_and_empty_is_the_whole_day():
    assert forms.parse_hours("") == []
    assert forms.parse_hours("9:00-13:00, 14:00 – 18:00; 22:00—08:00") == [
        {"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}, {"start": "22:00", "end": "08:00"}]
    with pytest.raises(ValueError, match="“9 to 5” is not a time window like 09:00–18:00"):
        forms.parse_hours("09:00-13:00, 9 to 5")
    assert forms.format_hours(forms.parse_hours("9:00-13:00,14:00-18:00")) == "09:00–13:00, 14:00–18:00"


# --- the scheme as a form ----------------------------------------------------------------------------
def test_a_scheme_survives_the_form_in_position_order_and_positions_become_1_to_n():
    form = SchemeForm.from_json(SCHEME)
    assert [d.id for d in form.devices] == ["sip-101", "mobile", "home"]
    out = form.to_json()
    assert [d["position"] for d in out["devices"]] == [1, 2, 3]
    by_id = {d["id"]: dict(d, position=None) for d in SCHEME["devices"]}
    assert [dict(d, position=None) for d in out["devices"]] == [by_id["sip-101"], by_id["mobile"], by_id["home"]]
    # And the PBX's own reader takes it as it is.
    assert ringplan.validate_scheme(ringplan.Scheme.from_dict(out)) == []


def test_the_tables_say_what_rings_when_in_words():
    form = SchemeForm.from_json(SCHEME)
    sip, mobile, home = form.devices
    assert (sip.label, sip.timeout_text(), sip.schedule_text()) == ("SIP account 101", "∞", "always")
    assert mobile.timeout_text() == "30 s"
    assert mobile.schedule_text() == ("Working days, 09:00–18:00; Sat, Sun, all day; "
                                      "2026-12-29 – 2027-01-08, 22:00–08:00")
    assert RuleForm("weekdays", days={"mon", "tue", "wed", "thu", "fri", "sun"}).summary() == "Mon–Fri, Sun, all day"
    assert RuleForm("weekdays").summary() == "no days, all day"


def test_a_schedule_too_long_for_its_place_shows_whole_rules_and_how_many_more():
    parts = ["Working days, 09:00–18:00", "Sat, 10:00–14:00", "Sun, 22:00–23:30"]
    assert forms.fit_rules(parts, lambda text: True) == "Working days, 09:00–18:00; Sat, 10:00–14:00; Sun, 22:00–23:30"
    assert forms.fit_rules(parts, lambda text: len(text) <= 45) == "Working days, 09:00–18:00; +2 more"
    assert forms.fit_rules(parts, lambda text: len(text) <= 10) == "rules: 3"


def test_the_russian_tables(russian):
    form = SchemeForm.from_json(SCHEME)
    assert form.devices[1].label == "Номер +79161234567"
    assert form.devices[1].schedule_text().startswith("Рабочие дни, 09:00–18:00; Сб, Вс, весь день")
    assert form.devices[0].timeout_text() == "∞"
    assert forms.fit_rules(["Рабочие дни, 09:00–18:00", "Сб, весь день"], lambda text: len(text) <= 31) == \
        "Рабочие дни, 09:00–18:00; ещё 1"


def test_values_that_cannot_be_sent_are_refused_with_their_paths():
    form = SchemeForm.from_json(SCHEME)
    form.devices[0].timeout = "soon"
    form.devices[1].rules[2].end = "08.13.2027"
    form.devices[1].rules[0].hours = "nine to six"
    with pytest.raises(FormInvalid) as e:
        form.to_json()
    assert set(e.value.problems) == {("devices", 0, "ring_timeout_s"),
                                     ("devices", 1, "schedule", "rules", 2, "end"),
                                     ("devices", 1, "schedule", "rules", 0, "windows")}
    assert e.value.problems[("devices", 1, "schedule", "rules", 2, "end")] == \
        "“08.13.2027” is not a date like 2026-01-31."


def test_semantic_problems_are_left_to_the_pbx():
    form = SchemeForm.from_json(SCHEME)
    form.devices[0].timeout = "700"
    form.devices[1].rules[2].start, form.devices[1].rules[2].end = "2027-02-01", "2027-01-01"
    out = form.to_json()  # sent as it is: the PBX answers with the reasons
    assert out["devices"][0]["ring_timeout_s"] == 700


def test_moving_and_adding_devices():
    form = SchemeForm.from_json(SCHEME)
    assert form.move(0, -1) == 0
    assert form.move(0, 1) == 1
    assert [d.id for d in form.devices] == ["mobile", "sip-101", "home"]
    assert form.move(2, 1) == 2
    first = form.add_number("+79990001122")
    second = form.add_number("+79990001122")
    assert [form.devices[i].id for i in (first, second)] == ["ext-79990001122", "ext-79990001122-2"]
    assert form.devices[first].active and form.devices[first].timeout == "30" and not form.devices[first].scheduled


def test_in_turn_a_ring_forever_device_warns_that_the_later_ones_never_ring():
    form = SchemeForm.from_json(SCHEME)
    hints = form.hints()
    # sip-101 rings forever and comes first; the home number is off, so only the mobile is named.
    assert hints == {("devices", 0, "ring_timeout_s"):
                     "rings forever (0) in turn, so Number +79161234567 will never ring."}
    form.mode = "all_at_once"
    assert form.hints() == {}
    form.mode = "in_turn"
    form.move(0, 1)  # the ring-forever device is the last active one: nothing is cut off
    assert form.hints() == {}
    form.devices[2].active = True
    assert list(form.hints()) == [("devices", 1, "ring_timeout_s")]


def test_hints_for_schedules_the_pbx_would_refuse_and_timeouts_out_of_range():
    form = SchemeForm.from_json(SCHEME)
    form.mode = "all_at_once"
    form.devices[2].scheduled = True
    form.devices[0].scheduled = True
    form.devices[1].timeout = "601"
    assert form.hints() == {
        ("devices", 2, "schedule"): "Switched off: it does not ring; its schedule is kept for when it is on again.",
        ("devices", 0, "schedule"): "Add at least one rule, or choose “always”.",
        ("devices", 1, "ring_timeout_s"): "The ring timeout is a whole number of seconds from 0 (ring forever) to 600.",
    }


# --- the PBX's answers ---------------------------------------------------------------------------------
def _pbx_refusal(scheme: dict) -> dict:
    """The body the PBX answers a bad PUT with, made by the PBX's own code."""
    problems = ringplan.validate_scheme(ringplan.Scheme.from_dict(scheme))
    error = _problems(problems)
    return {"error": {"code": error.code, "message": str(error), "fields": [f.to_dict() for f in error.fields]}}


def test_the_pbx_problems_land_next_to_their_fields_in_the_users_language(russian):
    form = SchemeForm.from_json(SCHEME)
    form.devices[1].timeout = "700"
    form.devices[1].rules[2].start, form.devices[1].rules[2].end = "2027-02-01", "2027-01-01"
    form.devices[1].rules[0].hours = "09:00-09:00"
    body = _pbx_refusal(form.to_json())
    problems = forms.field_problems(body)
    assert problems == {
        ("devices", 1, "ring_timeout_s"): ["Время ожидания — от 0 (звонить, пока не ответят) до 600 секунд."],
        ("devices", 1, "schedule", "rules", 0, "windows"): [
            "Интервал 1: Интервал не может начинаться и заканчиваться в одно время; "
            "для всего дня оставьте часы пустыми."],
        ("devices", 1, "schedule", "rules", 2, "end"): ["Период заканчивается раньше, чем начинается."],
    }
    assert forms.where(("devices", 1, "schedule", "rules", 2, "end"), form) == \
        "устройство 2 (Номер +79161234567), правило 3"
    assert forms.api_failure(422, body) == "ВАТС это не приняла; проблемы отмечены:"


def test_request_validation_problems_and_unknown_codes_get_a_sentence_of_the_users_language(russian):
    body = {"error": {"code": "invalid_input", "message": "devices.0.ring_timeout_s: Input should be a valid integer",
                      "fields": [{"field": "devices.0.ring_timeout_s", "code": "int_parsing",
                                  "message": "Input should be a valid integer"}]}}
    assert forms.field_problems(body) == {("devices", 0, "ring_timeout_s"): ["Это значение не принимается."]}


def test_flat_forms_get_their_problems_by_field_name_and_a_conflict_by_its_code(russian):
    body = {"error": {"code": "extension_taken", "message": "The extension 104 belongs to Boris Petrov already.",
                      "value": "104", "owner": "Boris Petrov", "fields": []}}
    assert forms.field_problems(body, forms.top_field) == {
        ("extension",): ["Внутренний номер 104 уже принадлежит сотруднику Boris Petrov."]}
    body = {"error": {"code": "invalid_input", "message": "…", "fields": [
        {"field": "email", "code": "invalid_email", "message": "'x' is not an e-mail address."}]}}
    assert forms.field_problems(body, forms.top_field) == {("email",): ["Это не адрес электронной почты."]}


@pytest.mark.parametrize("status, body, text", [
    (403, {"error": {"code": "forbidden", "message": "Only members…"}}, "Only members of Administrators may do this."),
    (412, {"error": {"code": "precondition_failed", "message": "…"}},
     "Someone changed the scheme meanwhile: this is the current one now. Make your changes again."),
    (409, {"error": {"code": "conflict", "message": "That would duplicate."}},
     "This would duplicate something the PBX has already."),
    (409, {"error": {"code": "something_new", "message": "A sentence only in English."}}, "The PBX refused this."),
    (502, None, "Something between this computer and the PBX failed to pass the request on."),
    (404, "<html>", "There is no Talker PBX at this address."),
])
def test_failures_in_one_sentence(status, body, text):
    assert forms.api_failure(status, body) == text


# --- the preview ----------------------------------------------------------------------------------------
class _Calendar:
    def is_working_day(self, day):
        return day.weekday() < 5


def _plan(scheme: dict, when: str, status=None) -> dict:
    moment = dt.datetime.fromisoformat(when).replace(tzinfo=ZoneInfo("Europe/Moscow"))
    return ringplan.compute_plan(ringplan.Scheme.from_dict(scheme), _Calendar(), moment, status).to_dict()


def test_the_preview_says_who_rings_in_turn_and_why_the_others_do_not():
    scheme = SchemeForm.from_json(SCHEME)
    scheme.move(0, 1)  # the mobile first, then the app that rings forever
    plan = _plan(scheme.to_json(), "2026-03-02T10:30")
    assert forms.describe_plan(plan, {}) == [
        ("head", "Mon 2026-03-02 10:30 (Europe/Moscow), a working day:"),
        ("ring", "1. Number +79161234567 — rings for 30 s"),
        ("ring", "2. SIP account 101 — rings until answered (at most 600 s, the PBX-wide limit)"),
        ("head", "Do not ring:"),
        ("off", "   • Number +74951234567: switched off in the scheme."),
    ]


def test_the_preview_of_ringing_together_of_nobody_and_in_russian(russian):
    scheme = dict(SCHEME, mode="all_at_once")
    plan = _plan(scheme, "2026-03-04T20:00", {"sip-101": "not_registered"})
    lines = forms.describe_plan(plan, {"mobile": "Мобильный"})
    assert lines[0] == ("head", "Ср 04.03.2026 20:00 (Europe/Moscow), рабочий день:")
    assert lines[1] == ("none", "Никто не звонит: звонящий услышит «занято / временно недоступен» (SIP 480).")
    assert ("off", "   • Мобильный: его расписание не охватывает этот момент.") in lines
    assert ("off", "   • SIP-аккаунт 101: SIP-аккаунт не зарегистрирован ни на одном телефоне.") in lines
    scheme["devices"][0]["schedule"] = None
    lines = forms.describe_plan(_plan(scheme, "2026-03-04T20:00"), {})
    assert lines[1:4] == [("ring", "Звонят одновременно:"), ("ring", "   • SIP-аккаунт 101 — звонит, пока не ответят (не дольше 600 с — предел ВАТС)"),
                          ("ring", "   • Номер +79161234567 — звонит 30 с")]


def test_the_preview_says_a_skipped_time_a_missing_calendar_and_the_forever_device(russian):
    plan = {"mode": "in_turn", "timezone": "Europe/Berlin", "local_time": "2026-03-29T03:30:00+02:00",
            "working_day": False, "rings": True, "caller_hears": None, "max_ring_s": 600,
            "steps": [{"parallel": False, "devices": [{"id": "sip-101", "kind": "sip", "address": "101",
                                                       "timeout_s": 0, "until_answered": True, "limit_s": 600}]}],
            "excluded": [{"id": "m", "kind": "external", "address": "+79161234567", "reason": "after_forever",
                          "after": "sip-101", "why": "…"}],
            "notices": [{"code": "nonexistent_local_time", "asked": "2026-03-29T02:30", "message": "…"},
                        {"code": "calendar_year_missing", "year": 2026, "message": "…"}]}
    lines = forms.describe_plan(plan, {})
    assert ("none", "2026-03-29 02:30 не существует в поясе Europe/Berlin (часы переводят вперёд): показан план "
                    "на 03:30 — тот же момент по новому времени.") in lines
    assert ("none", "Производственный календарь на 2026 год не загружен: праздники считаются рабочими днями.") in lines
    assert ("ring", "1. SIP-аккаунт 101 — звонит, пока не ответят (не дольше 600 с — предел ВАТС)") in lines
    assert ("off", "   • Номер +79161234567: SIP-аккаунт 101 перед ним звонит, пока не ответят, — до этого очередь "
                   "не дойдёт.") in lines


def test_the_preview_moment_is_read_in_the_schemes_zone():
    assert forms.plan_query("", "Europe/Moscow") == ""
    # Without an offset: the PBX reads it in the scheme's zone and says when the clocks skip it.
    assert forms.plan_query("2026-03-02 12:00", "Europe/Moscow") == "?at=2026-03-02T12:00:00"
    assert forms.plan_query("02.03.2026 9:05", "UTC") == "?at=2026-03-02T09:05:00"
    with pytest.raises(ValueError, match="is not a moment like"):
        forms.plan_query("tomorrow", "UTC")


# --- the other windows' logic ---------------------------------------------------------------------------
@pytest.mark.parametrize("typed, url", [
    ("pbx.example.com", "https://pbx.example.com"),
    ("pbx.example.com:8443/", "https://pbx.example.com:8443"),
    ("127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("localhost:8080", "http://localhost:8080"),
    ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
    ("  https://pbx.example.com/ ", "https://pbx.example.com"),
    ("", ""),
])
def test_the_pbx_address_gets_a_scheme(typed, url):
    assert normalise_pbx_url(typed) == url


def test_an_external_number_becomes_e164_or_gets_the_callto_sentence():
    assert forms.normalise_number("8 (916) 123-45-67", "RU") == "+79161234567"
    assert forms.normalise_number("tel:+7-495-123-45-67", "RU") == "+74951234567"
    with pytest.raises(ValueError, match="“102” is not a full phone number"):
        forms.normalise_number("102", "RU")
    with pytest.raises(ValueError, match="“echo” is not a phone number"):
        forms.normalise_number("echo", "RU")
    with pytest.raises(ValueError, match="parameter “method” is not allowed"):
        forms.normalise_number("sip:+79161234567@x;method=BYE", "RU")


def test_required_fields():
    assert forms.required({"name": " ", "number": "1"}, ("name", "number")) == {("name",): "Fill this in."}


def test_recent_calls_and_call_states_in_words():
    assert forms.recent_row({"number": "102", "name": "Boris Petrov", "direction": "in", "missed": True,
                             "at": "2026-03-02T09:15:00+00:00"})[:2] == ("✗ missed", "Boris Petrov (102)")
    assert forms.recent_row({"number": "+74951234567", "direction": "out", "at": "?"}) == \
        ("↗ outgoing", "+74951234567", "")
    call = {"call_id": "c1", "number": "102", "name": "Boris Petrov", "state": "incoming"}
    assert state_text(call) == "Incoming call from Boris Petrov (102)"
    assert state_text(dict(call, state="ended", code=486, reason="Busy Here")) == \
        "The call has ended: the line is busy."
    assert state_text(dict(call, state="ended", code=503, reason="No Trunk Configured")) == \
        "The call has ended: the PBX has no line to outside numbers (no trunk is set up)."
    assert state_text(dict(call, state="ended", code=200, reason="OK")) == "The call has ended."


def test_audio_choices_list_the_default_each_device_and_an_unplugged_choice():
    state = {"device": None, "present": True, "devices": [
        {"name": "spk", "description": "Speakers"},
        {"name": "usb-1", "description": "Headset"}, {"name": "usb-2", "description": "Headset"}]}
    choices = forms.AudioChoices(state)
    assert choices.labels == ["System default", "Speakers", "Headset (usb-1)", "Headset (usb-2)"]
    assert choices.chosen_label == "System default"
    assert choices.name_for("Headset (usb-2)") == "usb-2" and choices.name_for("System default") is None
    with pytest.raises(KeyError):
        choices.name_for("Headset")

    gone = forms.AudioChoices({"device": "bt-headset", "present": False, "devices": state["devices"][:1]})
    assert gone.labels[-1] == gone.chosen_label == "bt-headset (not connected: the system default plays)"
    assert gone.name_for(gone.chosen_label) == "bt-headset"
