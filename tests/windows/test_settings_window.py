"""The settings window against the real app and a real PBX, on a private X display: what an
administrator edits reaches the PBX in one save; a stale save and a bad value keep the window
open and say why; anyone else sees their scheme read-only."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_until
from tests.support.words import assert_sentence

pytestmark = pytest.mark.slow


def _scheme(api, person) -> dict:
    with api.as_(person) as c:
        return c.get(f"/employees/{person.employee.id}/scheme").json()


def _loaded(window) -> dict:
    return window.settled(lambda s: s.get("devices"))


def test_an_administrator_edits_the_whole_scheme_and_one_save_puts_it_on_the_pbx(windowed_app, pbx_api, xsession):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna)
    w = app.open("settings")
    state = _loaded(w)
    assert xsession.find(name="Talker — Settings"), "the window is not on the screen"
    assert state["devices"] == [["1", "SIP account 101", "active", "30 s", "always"]]
    assert state["mode"] == "all_at_once"
    preview = w.settled(lambda s: "SIP account 101" in s["preview"])["preview"]
    assert preview.splitlines()[0].endswith(("a working day:", "a day off:"))

    # A mobile number, typed the way people type it, joins the scheme as E.164.
    w.set("new_number", "8 (916) 123-45-67")
    w.invoke("add_number")
    assert [row[1] for row in w.read()["devices"]] == ["SIP account 101", "Number +79161234567"]

    # In turn, a ring-forever device before another: the window warns before anything is saved.
    w.set("mode", "in_turn")
    w.select("devices", 0)
    w.set("timeout", "0")
    state = w.read()
    assert "Number +79161234567 will never ring" in state["timeout_message"]["text"]
    assert "will never ring" in state["warnings"]["text"]
    w.set("timeout", "20")
    assert w.read()["timeout_message"]["text"] == ""

    # The mobile rings only on weekdays 10:00–14:00 and Saturdays, and first.
    w.select("devices", 1)
    w.set("scheduled", True)
    w.set("rule_kind", "weekdays")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        w.set(f"day_{day}", True)
    w.set("hours", "10:00-14:00")
    w.invoke("add_rule")
    w.set("rule_kind", "weekdays")
    w.set("day_sat", True)
    w.set("hours", "")
    w.invoke("up")
    state = w.read()
    assert [row[1] for row in state["devices"]] == ["Number +79161234567", "SIP account 101"]
    assert state["devices"][0][4] == "Mon–Fri, 10:00–14:00; Sat, all day"
    assert state["message"]["text"] == "Changes not saved yet."

    w.invoke("save")
    state = w.settled(lambda s: s["message"]["text"] != "Saving…")
    assert state["message"]["text"] == "Saved: the next incoming call rings this way."
    saved = _scheme(pbx_api, anna)
    assert saved["mode"] == "in_turn"
    assert [(d["address"], d["position"], d["ring_timeout_s"], d["active"]) for d in saved["devices"]] == [
        ("+79161234567", 1, 30, True), ("101", 2, 20, True)]
    assert saved["devices"][0]["schedule"] == {"rules": [
        {"type": "weekdays", "days": ["mon", "tue", "wed", "thu", "fri"], "start": None, "end": None,
         "windows": [{"start": "10:00", "end": "14:00"}]},
        {"type": "weekdays", "days": ["sat"], "start": None, "end": None, "windows": []}]}
    assert saved["devices"][1]["schedule"] is None
    # The preview now explains the saved scheme: at 12:00 on a Monday the mobile rings first.
    w.set("preview_at", "2026-03-02 12:00")
    w.invoke("preview_refresh")
    preview = w.settled(lambda s: "2026-03-02" in s["preview"])["preview"]
    # (Whether SIP account 101 rings too depends on the PBX seeing the app's registration.)
    assert "1. Number +79161234567 — rings for 30 s" in preview
    assert "SIP account 101" in preview
    w.set("preview_at", "2026-03-02 20:00")
    w.invoke("preview_refresh")
    preview = w.settled(lambda s: "20:00" in s["preview"])["preview"]
    assert "Number +79161234567: its schedule does not cover this moment." in preview
    assert w.alive()


def test_a_stale_save_says_the_scheme_changed_meanwhile_and_shows_the_current_one(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna)
    w = app.open("settings")
    _loaded(w)
    w.set("timeout", "45")
    # Meanwhile another administrator switches the mode.
    with pbx_api.as_(anna) as c:
        etag = c.get(f"/employees/{anna.employee.id}/scheme").headers["ETag"]
        c.patch(f"/employees/{anna.employee.id}/scheme", json={"mode": "main_only"},
                headers={"If-Match": etag}).raise_for_status()
    w.invoke("save")
    state = w.settled(lambda s: "meanwhile" in s["message"]["text"])
    assert state["message"]["text"].startswith("Someone changed the scheme meanwhile")
    assert state["mode"] == "main_only" and state["timeout"] == "30"
    saved = _scheme(pbx_api, anna)
    assert saved["mode"] == "main_only" and saved["devices"][0]["ring_timeout_s"] == 30
    # The form now carries the new ETag: the same change saves.
    w.set("timeout", "45")
    w.invoke("save")
    w.settled(lambda s: s["message"]["text"].startswith("Saved"))
    assert _scheme(pbx_api, anna)["devices"][0]["ring_timeout_s"] == 45


def test_bad_values_keep_the_window_open_with_the_reasons_next_to_the_fields(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna)
    w = app.open("settings")
    _loaded(w)
    before = _scheme(pbx_api, anna)

    # What cannot even be read is refused by the window, nothing is sent.
    w.set("timeout", "soon")
    w.invoke("save")
    state = w.read()
    assert state["message"]["text"].startswith("Some values cannot be read")
    assert "whole number of seconds" in state["timeout_message"]["text"]
    assert state["devices"][0][0] == "⚠ 1"

    # What the PBX refuses comes back next to each field, in the user's language.
    w.set("timeout", "700")
    w.set("scheduled", True)
    w.set("rule_kind", "period")
    w.set("start", "2026-02-10")
    w.set("end", "01.02.2026")
    w.invoke("save")
    state = w.settled(lambda s: s["message"]["text"] not in ("Saving…", ""))
    assert state["message"]["text"].startswith("The PBX did not accept this; the problems are marked:")
    assert "device 1 (SIP account 101): The ring timeout must be 0 (ring forever) to 600 seconds." \
        in state["message"]["text"]
    assert state["timeout_message"]["text"] == "The ring timeout must be 0 (ring forever) to 600 seconds."
    assert state["end_error"]["text"] == "The period ends before it starts."
    assert state["rules"] == [["⚠ 1. 2026-02-10 – 01.02.2026, 09:00–18:00"]]
    assert _scheme(pbx_api, anna) == before
    assert w.alive()

    # Fixing one field clears its mark; fixing both saves.
    w.set("end", "2026-02-20")
    assert w.read()["end_error"]["text"] == ""
    w.set("timeout", "60")
    w.invoke("save")
    w.settled(lambda s: s["message"]["text"].startswith("Saved"))
    assert _scheme(pbx_api, anna)["devices"][0]["schedule"]["rules"][0]["end"] == "2026-02-20"


def test_someone_outside_administrators_sees_their_scheme_read_only_in_russian(windowed_app, pbx_api, xsession):
    pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    boris = pbx_api.add_employee("102", "Boris Petrov")
    app = windowed_app(boris, lang="ru")
    w = app.open("settings")
    state = w.settled(lambda s: s.get("summary"))
    assert xsession.find(name="Talker — Настройки")
    assert state["read_only_note"]["text"].startswith("Схемы приёма меняют только члены группы «Администраторы»")
    assert state["summary"].splitlines() == ["Режим: На все номера одновременно",
                                             "1. SIP-аккаунт 102 — активен, 30 с, всегда"]
    assert "save" not in state
    wait_until(lambda: "SIP-аккаунт 102" in w.read()["preview"], 10, 0.1, "the preview")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_saving_a_scheme_that_rings_nothing_asks_first(lang, windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, lang=lang)
    w = app.open("settings")
    _loaded(w)
    save_text = w.read()["save"]["text"]
    w.select("devices", 0)
    w.set("active", False)
    w.invoke("save")
    state = w.settled()
    warning = state["message"]["text"]
    assert_sentence(warning, lang)
    assert state["save"]["text"] != save_text, "the button does not say it saves anyway"
    assert _scheme(pbx_api, anna)["devices"][0]["active"] is True, "saved without asking"

    w.invoke("save")
    wait_until(lambda: _scheme(pbx_api, anna)["devices"][0]["active"] is False, 10, 0.1, "the save")
    assert w.settled(lambda s: s["save"]["text"] == save_text)
