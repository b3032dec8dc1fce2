"""The cabinet's scheme editor, production calendar, address book and audit log in real Chromium
against a real `talker-pbx serve` (SQLite and PostgreSQL), checked through the API the way the
next reader of the data (the apps, Kamailio) sees it."""

from __future__ import annotations


import pytest

from pbx import schemes
from pbx.audit import Actor
from tests.cabinet.conftest import Cabinet

pytestmark = pytest.mark.slow

YEAR_XML = """<?xml version="1.0" encoding="UTF-8"?>
<calendar year="2026" lang="ru"><holidays><holiday id="1" title="Новогодние каникулы"/></holidays><days>
<day d="01.01" t="1" h="1"/><day d="01.02" t="1" h="1"/><day d="03.06" t="2"/><day d="03.09" t="1" f="03.08"/>
<day d="11.01" t="3"/>
</days></calendar>"""
WORKING_HOURS = {"rules": [{"type": "calendar", "days": "working_days", "windows": [{"start": "09:00", "end": "18:00"}]}]}


def _admin(cabinet: Cabinet, company) -> None:
    cabinet.log_in("101", company["admin"].communicator_password)


def _scheme_tab(cabinet: Cabinet, employee_id: int) -> None:
    cabinet.go(f"employees/{employee_id}/scheme", "#scheme-form")
    cabinet.page.wait_for_selector("#preview-result p")


def test_the_calendar_year_view_import_a_day_off_and_the_preview_that_explains_it(api, company, cabinet, tmp_path):
    boris = company["boris"].employee.id
    with api.as_(company["admin"]) as admin:
        scheme = admin.get(f"/employees/{boris}/scheme").json()
        scheme["devices"][0]["schedule"] = WORKING_HOURS
        assert admin.put(f"/employees/{boris}/scheme", json=scheme, headers={"If-Match": "*"}).status_code == 200
    _admin(cabinet, company)
    page = cabinet.page
    cabinet.go("calendar/2026", "#calendar-prev")
    assert "has not been imported" in page.inner_text("#calendar-not-imported")

    xml = tmp_path / "2026.xml"
    xml.write_text(YEAR_XML, encoding="utf-8")
    page.set_input_files("#calendar-file", str(xml))
    page.click("#calendar-import-button")
    page.wait_for_selector("[data-date='2026-03-09'].day_off.moved")
    assert page.locator("#calendar-not-imported").count() == 0
    assert "shortened" in page.get_attribute("[data-date='2026-03-06']", "aria-label")
    assert "working Saturday or Sunday" in page.get_attribute("[data-date='2026-11-01']", "aria-label")

    # A Tuesday made a day off by clicking it.
    page.click("[data-date='2026-03-10']")
    page.select_option("#calendar-kind", "day_off")
    page.fill("#calendar-holiday", "Office move")
    page.click("#calendar-day-save")
    page.wait_for_selector("[data-date='2026-03-10'].day_off")
    with api.as_(company["admin"]) as admin:
        days = {d["date"]: d for d in admin.get("/calendar", params={"year": 2026}).json()["days"]}
    assert days["2026-03-10"]["kind"] == "day_off" and days["2026-03-10"]["holiday"] == "Office move"
    assert days["2026-03-09"]["moved_from"] == "2026-03-08"

    # The preview at that date says why nothing rings.
    _scheme_tab(cabinet, boris)
    page.fill("#preview-date", "2026-03-10")
    page.fill("#preview-time", "10:00")
    page.click("#preview-show")
    silent = page.wait_for_selector("#preview-result [data-reason='day_off']")
    assert "production calendar makes this a day off" in silent.inner_text()
    assert "caller hears busy / temporarily unavailable (SIP 480)" in page.inner_text("[data-notice='nobody_rings']")
    # A year never imported is said in the preview too (2027-01-01 would count as a working day).
    page.fill("#preview-date", "2027-01-01")
    page.click("#preview-show")
    assert "2027 has not been imported" in page.inner_text("[data-notice='calendar_year_missing']")
    assert cabinet.problems == []


def test_the_scheme_order_changes_by_keyboard_and_a_stale_save_says_so(api, company, cabinet):
    boris = company["boris"].employee.id
    schemes.add_sip_account(api.pbx, Actor.console(), boris, "7102")
    _admin(cabinet, company)
    page = cabinet.page
    _scheme_tab(cabinet, boris)
    page.check("#scheme-mode-in_turn")
    second = page.locator("li.device").nth(1)
    second.focus()
    page.keyboard.press("Alt+ArrowUp")
    assert "is now number 1 of 2" in page.inner_text("#scheme-live")
    assert page.locator("li.device").nth(0).get_attribute("data-device") == "sip-7102"
    # The focus stays on the moved device, so pressing again keeps moving the same one.
    assert page.evaluate("document.activeElement.dataset.device") == "sip-7102"
    page.fill("li.device[data-device='sip-102'] input[type=number]", "0")
    assert "∞ until answered (at most 600 s, the PBX-wide limit)" in page.inner_text("li.device[data-device='sip-102']")
    page.click("#scheme-save")
    page.wait_for_selector("#preview-result .plan-head")
    with api.as_(company["admin"]) as admin:
        stored = admin.get(f"/employees/{boris}/scheme").json()
    assert stored["mode"] == "in_turn"
    assert [d["id"] for d in sorted(stored["devices"], key=lambda d: d["position"])] == ["sip-7102", "sip-102"]
    assert stored["devices"][0]["ring_timeout_s"] == 0 or stored["devices"][1]["ring_timeout_s"] == 0

    # Someone else changes the scheme; this form's save is refused and nothing is half-written.
    with api.as_(company["admin"]) as admin:
        admin.patch(f"/employees/{boris}/scheme", json={"mode": "all_at_once"}, headers={"If-Match": "*"})
    page.locator("li.device").nth(1).locator(".move-up").click()
    page.click("#scheme-save")
    page.wait_for_selector("#scheme-reload")
    assert "Changed by someone else" in page.inner_text("#scheme-status")
    with api.as_(company["admin"]) as admin:
        after = admin.get(f"/employees/{boris}/scheme").json()
    assert after["mode"] == "all_at_once"
    assert [d["id"] for d in sorted(after["devices"], key=lambda d: d["position"])] == ["sip-7102", "sip-102"]


def test_the_address_book_adds_edits_and_removes_and_the_api_agrees(api, company, cabinet):
    _admin(cabinet, company)
    page = cabinet.page
    cabinet.go("contacts", "#contact-add-company")
    page.fill("#contact-add-company-name", "Acme Supplies")
    page.fill("#contact-add-company-number", "+74957654321")
    page.fill("#contact-add-company-note", "Paper")
    page.click("#contact-add-company button[type=submit]")
    page.wait_for_selector("#contacts-company tr[data-contact] >> text=Acme Supplies")
    page.fill("#contact-add-personal-name", "Mum")
    page.fill("#contact-add-personal-number", "+79160000001")
    page.click("#contact-add-personal button[type=submit]")
    page.wait_for_selector("#contacts-personal tr[data-contact] >> text=Mum")
    with api.as_(company["admin"]) as admin:
        (acme,) = admin.get("/contacts/company").json()
        assert (acme["name"], acme["number"], acme["note"]) == ("Acme Supplies", "+74957654321", "Paper")
        assert [c["name"] for c in admin.get("/contacts/personal").json()] == ["Mum"]
    with api.as_(company["boris"]) as boris:
        assert [c["name"] for c in boris.get("/contacts/company").json()] == ["Acme Supplies"]
        assert boris.get("/contacts/personal").json() == []

    page.fill("#contacts-search", "7654")  # a piece of the number
    assert page.locator("#contacts-company tr[data-contact]").count() == 1
    assert page.locator("#contacts-personal tr[data-contact]").count() == 0
    page.click("#contacts-company button.edit")
    page.fill(f"#contact-{acme['id']}-name", "Acme Office Supplies")
    page.click(f"#contact-edit-{acme['id']} button[type=submit]")
    page.wait_for_selector("#contacts-company >> text=Acme Office Supplies")
    with api.as_(company["admin"]) as admin:
        assert admin.get("/contacts/company").json()[0]["name"] == "Acme Office Supplies"
    page.click("#contacts-company button.remove")
    page.wait_for_selector("#contacts-company >> text=Nothing matches")
    with api.as_(company["admin"]) as admin:
        assert admin.get("/contacts/company").json() == []

    # An employee who is not an administrator reads the company book and keeps their own.
    page.click("#logout")
    cabinet.log_in("102", company["boris"].communicator_password)
    cabinet.go("contacts", "#contact-add-personal")
    assert page.locator("#contact-add-company").count() == 0
    assert "Only members of Administrators" in page.inner_text("#contacts-company")
    assert cabinet.problems == []


def test_the_audit_log_filters_by_employee_and_resource(api, company, cabinet):
    boris, vera = company["boris"].employee.id, company["vera"].employee.id
    with api.as_(company["admin"]) as admin:
        for who in (boris, vera):
            admin.patch(f"/employees/{who}/scheme", json={"mode": "in_turn"}, headers={"If-Match": "*"})
        admin.post("/contacts/company", json={"name": "Acme", "number": "+74957654321"})
    _admin(cabinet, company)
    page = cabinet.page
    cabinet.go("audit", "#audit-table tbody tr")
    assert page.locator("#audit-table tbody tr[data-action='contact.company.create']").count() == 1
    page.select_option("#audit-employee", str(boris))
    page.select_option("#audit-resource", "scheme")
    page.click("#audit-apply")
    page.wait_for_function("() => document.querySelectorAll('#audit-table tbody tr[data-action]').length === 1")
    row = page.locator("#audit-table tbody tr[data-action]")
    assert row.get_attribute("data-resource") == "scheme" and f"#{boris}" in row.inner_text()
    with api.as_(company["admin"]) as admin:
        r = admin.get("/audit", params={"employee_id": boris, "resource": "scheme", "before_id": 2**31 - 1})
        assert [(e["resource"], e["resource_id"]) for e in r.json()] == [("scheme", boris)]
    assert cabinet.problems == []


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_these_pages_pass_axe_and_are_photographed(api, company, browser, lang, db_url, screenshots):
    boris = company["boris"].employee.id
    schemes.add_sip_account(api.pbx, Actor.console(), boris, "7102")
    with api.as_(company["admin"]) as admin:
        scheme = admin.get(f"/employees/{boris}/scheme").json()
        scheme["devices"][1]["schedule"] = WORKING_HOURS
        admin.put(f"/employees/{boris}/scheme", json=scheme, headers={"If-Match": "*"})
        admin.post("/contacts/company", json={"name": "Acme Supplies", "number": "+74957654321", "note": "Paper"})
        admin.put("/calendar/days/2026-03-09", json={"kind": "day_off", "moved_from": "2026-03-08"},
                  headers={"If-Match": "*"})
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ru-RU" if lang == "ru" else "en-US")
    failures = {}
    try:
        cabinet = Cabinet(context, api.url)
        _admin(cabinet, company)
        for name, path, ready in [("scheme", f"employees/{boris}/scheme", "#preview-result p"),
                                  ("calendar", "calendar/2026", "[data-date='2026-03-09']"),
                                  ("contacts", "contacts", "#contacts-company tr[data-contact]"),
                                  ("audit", "audit", "#audit-table tbody tr[data-action]")]:
            cabinet.page.set_viewport_size({"width": 1280, "height": 720})
            cabinet.go(path, ready)
            failures[name] = cabinet.axe()
            if db_url is None:
                cabinet.page.screenshot(path=screenshots / f"cabinet-{name}-{lang}.png", full_page=name != "calendar")
            cabinet.page.set_viewport_size({"width": 390, "height": 844})  # a phone
            assert cabinet.page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"), \
                f"{name} scrolls sideways on a phone"
        assert cabinet.problems == []
    finally:
        context.close()
    assert {name: found for name, found in failures.items() if found} == {}


def test_shortened_days_are_switched_in_the_pbx_settings(api, company, cabinet):
    _admin(cabinet, company)
    page = cabinet.page
    cabinet.go("settings", "#settings-shortened")
    assert not page.is_checked("#settings-shortened")  # off by default
    page.check("#settings-shortened")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#toast:not(:empty)")
    with api.as_(company["admin"]) as admin:
        assert admin.get("/settings").json()["shortened_days_end_earlier"] is True
    assert cabinet.problems == []


def test_an_employee_sees_their_own_scheme_and_its_preview_but_cannot_change_it(api, company, cabinet):
    boris = company["boris"]
    cabinet.log_in("102", boris.communicator_password)
    _scheme_tab(cabinet, boris.employee.id)
    page = cabinet.page
    assert "Only members of Administrators may change receive schemes" in page.inner_text("#scheme-form")
    assert page.locator("#scheme-save").count() == 0
    assert page.is_disabled("li.device input[type=checkbox]")
    assert "the SIP account is not registered" in page.inner_text("#preview-result")
    assert cabinet.problems == []


def test_a_schedule_made_in_the_editor_is_the_one_the_pbx_keeps(api, company, cabinet):
    boris = company["boris"].employee.id
    _admin(cabinet, company)
    page = cabinet.page
    _scheme_tab(cabinet, boris)
    row = page.locator("li.device[data-device='sip-102']")
    row.locator(".schedule-button").click()  # «Указать» ("Set"): working days 9-18 to start from
    row.locator(".rule select").select_option("weekdays")
    row.get_by_label("Sat").check()
    row.get_by_label("Mon").uncheck()
    row.get_by_role("button", name="Add hours").click()
    row.locator(".hours input[type=time]").nth(2).fill("20:00")
    row.locator(".hours input[type=time]").nth(3).fill("02:00")
    page.click("#scheme-save")
    page.wait_for_selector("#toast:not(:empty)")
    with api.as_(company["admin"]) as admin:
        (device,) = admin.get(f"/employees/{boris}/scheme").json()["devices"]
    (rule,) = device["schedule"]["rules"]
    assert (rule["type"], rule["days"], rule["windows"]) == ("weekdays", ["tue", "wed", "thu", "fri", "sat"], [
        {"start": "09:00", "end": "18:00"}, {"start": "20:00", "end": "02:00"}])
    assert cabinet.problems == []
