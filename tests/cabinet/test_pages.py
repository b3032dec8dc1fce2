"""Every page of the cabinet, in English and Russian, at 1280x720 and at a phone's width: axe-core
finds no serious or critical accessibility problem, nothing spills sideways, the CSP refuses
nothing the cabinet itself does, and the README's screenshots are taken from it."""

from __future__ import annotations


import pytest

from pbx import directory
from pbx.audit import Actor
from tests.cabinet.conftest import Cabinet

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}


def _pages(boris_id: int) -> list[tuple[str, str, str]]:
    """(name, #/path, what shows the page is ready) for every page an administrator has."""
    return [
        ("employees", "employees", "#employee-list"),
        ("register", "employees/new", "#register-form"),
        ("card", f"employees/{boris_id}/card", "#card-form"),
        ("telephony", f"employees/{boris_id}/telephony", "#add-sip-form"),
        ("scheme", f"employees/{boris_id}/scheme", "#tab-panel > *"),
        ("outgoing", f"employees/{boris_id}/outgoing", "#outgoing-form"),
        ("numbers", "numbers", "#number-list"),
        ("settings", "settings", "#settings-form"),
    ]


SHOWN = {"login", "employees", "card", "telephony", "numbers", "settings"}


def _no_sideways_scroll(cabinet: Cabinet) -> bool:
    # Wide tables scroll inside their own box (.table-wrap); the page itself must not.
    return cabinet.page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_page_is_accessible_and_fits_a_phone(api, company, browser, lang, db_url, request, screenshots):
    admin, boris = company["admin"], company["boris"]
    directory.add_number(api.pbx, Actor.console(), "+74951234567", "Sales", boris.employee.id)
    with api.as_(admin) as client:
        client.patch("/settings", json={"buy_numbers_url": "https://shop.example.com/numbers"},
                     headers={"If-Match": "*"})
    context = browser.new_context(viewport={"width": 1280, "height": 720},
                                  locale="ru-RU" if lang == "ru" else "en-US")
    shots = db_url is None  # once, from the SQLite run
    failures: dict[str, list] = {}
    try:
        cabinet = Cabinet(context, api.url)
        cabinet.open()
        cabinet.page.wait_for_selector("form.login")
        assert cabinet.page.locator("html").get_attribute("lang") == lang  # the browser's language
        failures["login"] = cabinet.axe()
        # The check itself works: the same page with the login field's label taken away fails it.
        cabinet.page.evaluate("document.querySelector('label[for=login]').remove()")
        assert "label" in {v["id"] for v in cabinet.axe()}
        cabinet.open()
        cabinet.page.reload()
        cabinet.page.wait_for_selector("label[for=login]")
        if shots:
            cabinet.page.screenshot(path=screenshots / f"cabinet-login-{lang}.png")
        cabinet.log_in("101", admin.communicator_password)
        for name, path, ready in _pages(boris.employee.id):
            cabinet.page.set_viewport_size({"width": 1280, "height": 720})
            cabinet.go(path, ready)
            failures[name] = cabinet.axe()
            if shots and name in SHOWN:
                cabinet.page.screenshot(path=screenshots / f"cabinet-{name}-{lang}.png")
            cabinet.page.set_viewport_size(PHONE)
            assert _no_sideways_scroll(cabinet), f"{name} scrolls sideways at {PHONE['width']} px"
        # What an employee who is not an administrator has: their own card.
        # Logging out and in again at once: no page of the old session may load meanwhile.
        cabinet.page.click("#logout")
        cabinet.page.set_viewport_size({"width": 1280, "height": 720})
        cabinet.log_in("102", boris.communicator_password)
        cabinet.page.wait_for_selector("#card-form")
        failures["own card"] = cabinet.axe()
        assert cabinet.problems == []
    finally:
        context.close()
    assert {name: found for name, found in failures.items() if found} == {}
