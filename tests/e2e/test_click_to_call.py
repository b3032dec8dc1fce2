"""Click-to-call end to end: a number on a localhost page in real Chromium → the content script →
the service worker → the real native host → the real app → Kamailio → a real phone rings.

The phone is employee 150, and the PBX routes its number +7 495 123-45-67 (a DID) to it: so the
phone ringing proves the app dialed exactly the number that was clicked."""

from __future__ import annotations

import time

import pytest

from pbx import directory
from pbx.audit import Actor
from tests.e2e.conftest import CALLEE_NUMBER, callee_phone, hang_up
from tests.e2e.browser import click_text, note_text, page, wait_for_note, wait_for_numbers

pytestmark = pytest.mark.slow


PAGE = page("""
<p>Отдел продаж: +7 (495) 123-45-67, бухгалтерия: 8 (499) 765-43-21.</p>
<table><tr><td>Склад</td><td>8 (495) 123-45-67</td></tr></table>
<p><a id="tel" href="tel:150" onclick="window.pageSawClick = true">Позвонить на 150</a></p>
<p><a id="crafted" href="sip:150@pbx.local;method=BYE?X-Evil=1">crafted</a></p>
<div id="later"></div>
""", script="window.pageSawClick = false")


@pytest.fixture
def callee(kamailio, peers):
    """The phone of extension 150, reachable also as +7 495 123-45-67."""
    return callee_phone(kamailio, peers, ())


def test_clicking_numbers_rings_the_callee_with_the_number_clicked(browser, pages, kamailio, callee, talker_app):
    app = talker_app(kamailio)
    tab = browser.open(pages.add("/call.html", PAGE), wait_numbers=3)

    # In running text.
    mark = callee.mark()
    click_text(tab, "+7 (495) 123-45-67")
    assert callee.wait_call("incoming", after=mark)["remote_number"] == "101"
    assert wait_for_note(tab, lambda t: "placing" in t) == f"Calling {CALLEE_NUMBER} — Talker is placing the call."
    hang_up(app)
    callee.wait_call("ended", after=mark)

    # In a table cell, in the national format.
    mark = callee.mark()
    click_text(tab, "8 (495) 123-45-67")
    assert callee.wait_call("incoming", after=mark)["remote_number"] == "101"
    hang_up(app)
    callee.wait_call("ended", after=mark)

    # Added by the page's script after it loaded.
    tab.evaluate("document.getElementById('later').textContent = 'Новый номер склада: +7 495 123 45 67'")
    wait_for_numbers(tab, 4)
    mark = callee.mark()
    click_text(tab, "+7 495 123 45 67")
    assert callee.wait_call("incoming", after=mark)["remote_number"] == "101"
    hang_up(app)


EXTENSIONS = page("""
<p>Приёмная: 8(495)1234567, доб. 204</p>
<p>Reception: +7 495 123-45-67 x31</p>
""")

GLUED = page("""
<p>Тел.+74951234567,факс+74951234568</p>
<p>Офис в Токио: ＋７（４９５）１２３－４５－６７</p>
<p>Дубай: ٨ (٤٩٥) ١٢٣-٤٥-٦٧</p>
""")


def test_a_number_with_an_extension_rings_the_number_then_keys_in_the_extension(browser, pages, kamailio,
                                                                                 talker_app, peers):
    """The extension is part of what a click dials: the app calls the number and, once the far
    end answers, sends the extension as tones, as a company's reception menu expects."""
    phone = peers(kamailio, "150", "Vera Callee", options=("--auto-answer", "0.2"))
    [vera] = [e for e in directory.list_employees(kamailio.instance, Actor.console()) if e.extension == "150"]
    directory.add_number(kamailio.instance, Actor.console(), CALLEE_NUMBER, "Sales", inbound_employee_id=vera.id)
    app = talker_app(kamailio)
    tab = browser.open(pages.add("/ext.html", EXTENSIONS))
    assert wait_for_numbers(tab, 2) == ["8(495)1234567, доб. 204", "+7 495 123-45-67 x31"]

    for text, digits, shown in (("8(495)1234567, доб. 204", "204", "ext. 204"),
                                ("+7 495 123-45-67 x31", "31", "ext. 31")):
        mark = phone.mark()
        click_text(tab, text)
        assert phone.wait_call("connected", after=mark)["remote_number"] == "101"
        assert wait_for_note(tab, lambda t: "placing" in t) == \
            f"Calling {CALLEE_NUMBER}, {shown} — Talker is placing the call."
        assert phone.wait_digits(len(digits), timeout=15, after=mark) == digits
        hang_up(app)
        phone.wait_call("ended", after=mark)


def test_numbers_glued_to_words_and_in_other_digits_are_marked_and_call(browser, pages, kamailio, callee,
                                                                        talker_app):
    app = talker_app(kamailio)
    tab = browser.open(pages.add("/glued.html", GLUED))
    marked = wait_for_numbers(tab, 4)
    for text in ("+74951234567", "+74951234568", "＋７（４９５）１２３－４５－６７", "٨ (٤٩٥) ١٢٣-٤٥-٦٧"):
        assert text in marked, marked
    # Bottom up: the note of a call shows below the number clicked, over the line under it.
    for text in ("٨ (٤٩٥) ١٢٣-٤٥-٦٧", "＋７（４９５）１２３－４５－６７", "+74951234567"):
        mark = callee.mark()
        click_text(tab, text)
        assert callee.wait_call("incoming", after=mark)["remote_number"] == "101", text
        hang_up(app)
        callee.wait_call("ended", after=mark)


def test_a_tel_link_calls_through_talker_and_the_page_never_sees_the_click(browser, pages, kamailio, callee,
                                                                           talker_app):
    talker_app(kamailio)
    tab = browser.open(pages.add("/tel.html", PAGE), wait_numbers=3)
    tab.click("#tel")
    assert callee.wait_call("incoming")["remote_number"] == "101"
    assert tab.evaluate("window.pageSawClick") is False
    assert tab.url.endswith("/tel.html")


def test_a_link_with_more_than_a_number_is_refused_and_dials_nothing(browser, pages, kamailio, callee, talker_app):
    talker_app(kamailio)
    tab = browser.open(pages.add("/crafted.html", PAGE), wait_numbers=3)
    tab.click("#crafted")
    note = wait_for_note(tab, lambda t: "Calling" not in t)
    assert note == "A link to call may carry only a number, not “?” headers."
    time.sleep(0.5)
    assert callee.calls() == []


def test_with_confirmation_on_a_click_asks_first(browser, pages, kamailio, callee, talker_app):
    talker_app(kamailio)
    browser.sw("chrome.storage.local.set({confirm: true})")
    tab = browser.open(pages.add("/confirm.html", PAGE), wait_numbers=3)
    click_text(tab, "+7 (495) 123-45-67")
    assert wait_for_note(tab, lambda t: "?" in t) == "Call +7 (495) 123-45-67 with Talker?"
    time.sleep(0.5)
    assert callee.calls() == [], "it called without asking"
    click_note_button(tab, "Call")
    assert callee.wait_call("incoming")["remote_number"] == "101"


def test_after_the_service_worker_is_evicted_the_next_click_still_calls(browser, pages, kamailio, callee,
                                                                        talker_app):
    app = talker_app(kamailio)
    tab = browser.open(pages.add("/evict.html", PAGE), wait_numbers=3)
    click_text(tab, "+7 (495) 123-45-67")
    callee.wait_call("incoming")
    hang_up(app)
    callee.wait_call("ended")

    browser.sw("globalThis.beforeEviction = true")
    browser.stop_service_worker()
    mark = callee.mark()
    click_text(tab, "8 (495) 123-45-67")
    assert callee.wait_call("incoming", after=mark)["remote_number"] == "101"
    assert browser.sw("globalThis.beforeEviction") is None, "the worker was not really evicted"


def test_when_the_app_is_not_registered_the_page_says_why(browser, pages, kamailio, callee, talker_app):
    kamailio.stop()  # the app starts, but nothing answers its REGISTER
    app = talker_app(kamailio, register=False)
    assert app.status()["registration"]["state"] != "registered"  # its control channel is up
    tab = browser.open(pages.add("/unregistered.html", PAGE), wait_numbers=3)
    click_text(tab, "+7 (495) 123-45-67")
    # The app waits for the registration a while (CALL_WAIT_FOR_REGISTRATION_S), then says why not.
    note = wait_for_note(tab, lambda t: not t.startswith("Calling"), timeout=30)
    assert note.startswith("Not registered with the PBX"), note
    assert note.endswith("the call was not placed."), note


def click_note_button(tab, label: str) -> None:
    """Buttons of the note live in a closed shadow root: find them as devtools do."""
    cdp = tab.context.new_cdp_session(tab)
    try:
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]

        def find(node, inside=False):
            inside = inside or node.get("nodeName") == "TALKER-OVERLAY"
            if inside and node.get("nodeName") == "BUTTON" and any(
                    c.get("nodeValue") == label for c in node.get("children", [])):
                return node
            for child in node.get("children", []) + node.get("shadowRoots", []):
                found = find(child, inside)
                if found:
                    return found
            return None

        button = find(root)
        assert button is not None, f"no {label!r} button; the note says {note_text(tab)!r}"
        quad = cdp.send("DOM.getBoxModel", {"backendNodeId": button["backendNodeId"]})["model"]["content"]
    finally:
        cdp.detach()
    x = sum(quad[0::2]) / 4
    y = sum(quad[1::2]) / 4
    tab.mouse.click(x, y)
