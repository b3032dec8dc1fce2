"""The seed's words and the small things a user stumbles on (issue 14, "Words and layout"), in
the real windows of the real app on a real PBX, under Xvfb, in English and Russian: «Активен»,
«Порядок», «Время ожидания», ∞ for "ring until answered", a marker on the main number, the
card's mobile one click away from the scheme, dates in the user's format, Enter registering an
employee, and no "save to see your changes" where there is nothing to save."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import wait_until
from tests.windows.xsession import XSession, missing_tools

pytestmark = pytest.mark.slow

WORDS = {  # what the user sees, per language
    "en": {"active": "active", "infinity": "∞", "mobile": "Add my mobile +79160001122",
           "date": "2026-12-20", "main": "★ SIP account 101"},
    "ru": {"active": "активен", "infinity": "∞", "mobile": "Добавить мой мобильный +79160001122",
           "date": "20.12.2026", "main": "★ SIP-аккаунт 101"},
}


@pytest.fixture
def xsession(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """A small laptop's screen: 1024×600 (the windows' own fixture has 1280×800), or the size a
    test asks for with indirect parametrization."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    with XSession(tmp_path / "x", size=getattr(request, "param", "1024x600")) as x:
        monkeypatch.setenv("DISPLAY", x.display)
        yield x


def _scheme(api, person) -> dict:
    with api.as_(person) as c:
        return c.get(f"/employees/{person.employee.id}/scheme").json()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_settings_window_speaks_the_seeds_words(lang, windowed_app, pbx_api):
    words = WORDS[lang]
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True, mobile="+79160001122")
    app = windowed_app(anna, lang=lang)
    w = app.open("settings")
    state = w.settled(lambda s: s.get("devices"))
    assert state["devices"][0][2] == words["active"]

    # The mobile of her card is one click away from being a device of her scheme.
    assert state["add_mobile"]["mapped"] and state["add_mobile"]["text"] == words["mobile"]
    w.invoke("add_mobile")
    state = w.read()
    assert [row[1] for row in state["devices"]][1].endswith("+79160001122")
    assert not state["add_mobile"]["mapped"]

    # 0 is ∞ (ring until answered); in "only the main number" the main one is marked.
    w.select("devices", 0)
    w.set("timeout", "0")
    assert w.read()["devices"][0][3] == words["infinity"]
    w.set("mode", "main_only")
    state = w.read()
    assert state["devices"][0][1] == words["main"] and state["main_note"]["mapped"]

    # A period typed the way the language writes dates comes back the same way after a save.
    w.select("devices", 1)
    w.set("scheduled", True)
    w.set("rule_kind", "period")
    w.set("start", "20.12.2026")
    w.set("end", "31.12.2026")
    w.invoke("save")
    wait_until(lambda: len(_scheme(pbx_api, anna)["devices"]) == 2, 10, 0.1, "the save")
    state = w.settled(lambda s: s["message"]["text"] and not s["message"]["text"].startswith(("Saving", "Сохранение")))
    w.select("devices", 1)
    assert w.read()["start"] == words["date"]

    # «When» shows whole rules (and how many more, when they are too many); the detail and the
    # cell's tooltip say every rule (tests/windows/test_schedule_words.py).
    for _ in range(2):
        w.invoke("add_rule")
    state = w.read()
    assert state["schedule_summary"]["text"].count(";") == 2
    w.hover("devices", 1, "when")
    assert w.read()["when_tip"]["text"] == state["schedule_summary"]["text"]
    assert _scheme(pbx_api, anna)["devices"][1]["schedule"]["rules"][0]["start"] == "2026-12-20"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_enter_registers_an_employee_and_the_read_only_view_asks_nobody_to_save(lang, windowed_app, pbx_api,
                                                                               xsession):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, lang=lang)
    w = app.open("employee")
    w.settled()
    title = {"en": "Talker — New employee", "ru": "Talker — Новый сотрудник"}[lang]
    window = wait_until(lambda: xsession.find(name=title), 10, 0.1, "the window")[0]
    w.set("name", "Dmitry Orlov")
    w.set("extension", "104")
    xsession.xdotool("windowfocus", "--sync", window)
    xsession.xdotool("key", "Return")
    w.settled(lambda s: "communicator_password" in s)
    w.close()

    # An administrator's preview notes that it shows the saved scheme; a read-only view has no
    # Save button, so it says nothing about saving.
    s = app.open("settings")
    assert s.settled(lambda st: st.get("devices"))["preview_note"]["mapped"]
    s.close()
    app.app.quit()
    boris = pbx_api.add_employee("102", "Boris Petrov")
    app = windowed_app(boris, lang=lang)
    s = app.open("settings")
    state = s.settled(lambda st: st.get("summary"))
    assert "save" not in state and "preview_note" not in state


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_settings_window_fits_a_small_screen_and_asks_before_losing_changes(lang, windowed_app, pbx_api,
                                                                               xsession):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, lang=lang)
    w = app.open("settings")
    w.settled(lambda s: s.get("devices"))
    title = {"en": "Talker — Settings", "ru": "Talker — Настройки"}[lang]
    window = wait_until(lambda: xsession.find(name=title), 10, 0.1, "the window")[0]
    wait_until(lambda: xsession.geometry(window)[2] > 400, 10, 0.1, "the window laid out")
    x, y, width, height = xsession.geometry(window)
    assert x >= 0 and y >= 0 and x + width <= 1024 and y + height <= 600, (x, y, width, height)

    # A change not saved: Close asks first, a second Close discards it.
    w.set("mode", "in_turn")
    w.invoke("close")
    state = w.read()
    assert w.alive() and state["close"]["text"] != {"en": "Close", "ru": "Закрыть"}[lang]
    assert state["message"]["text"]
    try:
        w.invoke("close")
    except ConnectionError:
        pass  # closed before it could answer
    wait_until(lambda: not w.alive(), 10, 0.1, "the window to close")
    assert _scheme(pbx_api, anna)["mode"] == "all_at_once"


@pytest.mark.parametrize("xsession", ["1024x600", "1280x800"], indirect=True)
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_settings_window_puts_the_device_detail_under_the_list_on_a_small_screen(lang, windowed_app, pbx_api,
                                                                                    xsession):
    """On a 1024- or 1280-pixel-wide screen the list and the detail side by side are wider than
    the screen: the detail goes under the list, and nothing a user needs is off to the right,
    behind a sideways scroll."""
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True, mobile="+79160001122")
    app = windowed_app(anna, lang=lang)
    w = app.open("settings")
    w.settled(lambda s: s.get("devices"))
    w.invoke("add_mobile")
    w.select("devices", 1)
    w.invoke("schedule_button")   # the rules open: the detail at its widest
    w.settled(lambda s: s["schedule_button"]["mapped"])
    window = w.place()
    screen = window["screen_width"]
    assert not window["sideways"], window
    assert window["x"] >= 0 and window["x"] + window["width"] <= screen, window
    for name in ("save", "devices", "schedule_button"):
        where = w.place(name)
        assert where["x"] >= 0 and where["x"] + where["width"] <= screen, (name, where)
    # Save and Close stay in sight however far the content scrolls.
    for name in ("save", "close"):
        where = w.place(name)
        assert where["y"] >= 0 and where["y"] + where["height"] <= window["screen_height"], (name, where)
    # The detail is under the list, not beside it.
    devices, detail = w.place("devices"), w.place("schedule_button")
    assert detail["y"] > devices["y"] + devices["height"], (devices, detail)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_outgoing_number_is_chosen_inside_settings_too(lang, windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    with pbx_api.as_(anna) as admin:
        number = admin.post("/numbers", json={"number": "+74951112233", "label": "Office"}).json()
    app = windowed_app(anna, lang=lang)
    w = app.open("settings")
    state = w.settled(lambda s: s.get("devices") and s.get("outgoing"))
    assert state["outgoing"] == {"en": "PBX default", "ru": "По умолчанию ВАТС"}[lang]
    w.set("outgoing", "+74951112233 — Office")
    wait_until(lambda: (_me(pbx_api, anna).get("outgoing_number") or {}).get("id") == number["id"], 10, 0.1,
               "the outgoing number at the PBX")
    assert w.settled(lambda s: s["outgoing_message"]["text"])["outgoing"] == "+74951112233 — Office"


def _me(api, person) -> dict:
    with api.as_(person) as c:
        return c.get("/me").json()
