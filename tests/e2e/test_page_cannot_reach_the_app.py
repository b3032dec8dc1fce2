"""A hostile page, in real Chromium with the real extension, host and app, gets nothing beyond a
call to the number a user really clicked.

The app here uses the loopback TCP channel (the Windows design, forced on Linux), and the page
is even told its port: the worst case for a page that wants to talk to the app directly."""

from __future__ import annotations

import json
import time

import pytest

from common import locations
from pbx import directory
from pbx.audit import Actor
from tests.e2e.browser import EXTENSION_ID, ExtensionBrowser, click_text, note_text, page, wait_for_note

pytestmark = pytest.mark.slow

HOSTILE = page("""
<p id="real">Отдел продаж: +7 (495) 123-45-67</p>
<p id="decoy">Позвонить на 150 прямо сейчас</p>
<p><a id="tel" href="tel:150">обычная ссылка</a></p>
<p><a id="method" href="sip:150@pbx.local;method=BYE">method</a>
   <a id="headers" href="sip:150@pbx.local?X-Evil=1">headers</a>
   <a id="transport" href="sip:150@evil.example;transport=tcp">transport</a>
   <a id="callto" href="callto:150?Subject=x">callto</a>
   <a id="control" href="tel:15%070">control</a>
   <a id="option" href="tel:-rf">option</a>
   <a id="otherhost" href="sip:150@evil.example">other host</a></p>
""", script="window.results = {}")


@pytest.fixture(scope="module")
def module_browser(extension_dir, playwright_driver, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("chromium-tcp")
    browser = ExtensionBrowser(workdir, runtime_dir=workdir / "run", extension=extension_dir,
                               playwright=playwright_driver, extra_env={"TALKER_CONTROL_TRANSPORT": "tcp"})
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def app(browser, kamailio, talker_app, monkeypatch):
    monkeypatch.setenv("TALKER_CONTROL_TRANSPORT", "tcp")
    return talker_app(kamailio)


@pytest.fixture
def callee(kamailio, peers):
    phone = peers(kamailio, "150", "Vera Callee")
    [vera] = [e for e in directory.list_employees(kamailio.instance, Actor.console()) if e.extension == "150"]
    directory.add_number(kamailio.instance, Actor.console(), "+74951234567", "Sales", inbound_employee_id=vera.id)
    return phone


def control_port() -> int:
    with open(locations.control_port_file(), encoding="utf-8") as f:
        return json.load(f)["port"]


def test_a_page_cannot_talk_to_the_apps_port(browser, pages, app, callee):
    port = control_port()
    tab = browser.open(pages.add("/direct.html", HOSTILE))
    results = tab.evaluate("""async (port) => {
        const line = JSON.stringify({id: '1', action: 'call', target: '150'}) + '\\n'
        const out = {}
        for (const [name, attempt] of Object.entries({
            fetch_post: () => fetch(`http://127.0.0.1:${port}/`, {method: 'POST', body: line, mode: 'no-cors'}),
            fetch_get: () => fetch(`http://127.0.0.1:${port}/?${encodeURIComponent(line)}`, {mode: 'no-cors'}),
            beacon: async () => navigator.sendBeacon(`http://127.0.0.1:${port}/`, line),
            websocket: () => new Promise((resolve, reject) => {
                const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
                ws.onopen = () => { ws.send(line); resolve('open') }
                ws.onerror = () => reject(new Error('websocket error'))
            }),
        })) {
            try { out[name] = String(await attempt()) } catch (e) { out[name] = 'failed: ' + e.message }
        }
        // The extension is not reachable from pages either: it declares no externally_connectable.
        out.runtime = typeof chrome !== 'undefined' && chrome.runtime && chrome.runtime.sendMessage ? 'present' : 'absent'
        window.postMessage({type: 'call', target: '150'}, '*')
        return out
    }""", port)
    assert results["websocket"].startswith("failed"), results
    assert results["runtime"] == "absent", results
    time.sleep(1.0)
    assert callee.calls() == [], f"something was dialed: {results}"
    # The app is unharmed: it still takes a real click.
    click_text(tab, "+7 (495) 123-45-67")
    assert callee.wait_call("incoming")["remote_number"] == "101"


def test_clicks_made_by_the_page_itself_call_nothing(browser, pages, app, callee):
    tab = browser.open(pages.add("/synthetic.html", HOSTILE), wait_numbers=1)
    tab.evaluate("""() => {
        document.getElementById('tel').click()
        const p = document.getElementById('real')
        const r = p.firstChild
        const range = document.createRange()
        range.setStart(r, 15); range.setEnd(r, 16)
        const b = range.getBoundingClientRect()
        for (const type of ['pointerdown', 'mousedown', 'mouseup', 'click']) {
            p.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, clientX: b.left + 1,
                                                   clientY: b.top + 2, button: 0}))
        }
    }""")
    time.sleep(1.0)
    assert callee.calls() == []
    assert note_text(tab) is None


def test_a_page_that_forges_a_marked_number_gets_no_call(browser, pages, app, callee):
    tab = browser.open(pages.add("/forged.html", HOSTILE), wait_numbers=1)
    # The page adds its own range to the extension's highlight, over "150": it looks marked.
    tab.evaluate("""() => {
        const t = document.getElementById('decoy').firstChild
        const i = t.data.indexOf('150')
        CSS.highlights.get('talker-number').add(new StaticRange({startContainer: t, startOffset: i,
                                                                 endContainer: t, endOffset: i + 3}))
    }""")
    click_text(tab, "150")
    time.sleep(1.0)
    assert callee.calls() == []
    assert note_text(tab) is None


CRAFTED = {
    "method": "the parameter “method” is not allowed",
    "headers": "not “?” headers",
    "transport": "the parameter “transport” is not allowed",
    "callto": "not “?” headers",
    "control": "control characters",
    "option": "neither a phone number nor a name",
}


def test_crafted_links_are_refused_with_a_reason_and_dial_nothing(browser, pages, app, callee):
    tab = browser.open(pages.add("/crafted.html", HOSTILE), wait_numbers=1)
    for link, refusal in CRAFTED.items():
        tab.click(f"#{link}")
        note = wait_for_note(tab, lambda t: not t.startswith("Calling"), what=f"a refusal of #{link}")
        assert refusal in note, (link, note)
    time.sleep(0.5)
    assert callee.calls() == []


def test_a_link_to_another_host_dials_only_the_number_at_our_pbx(browser, pages, app, callee):
    tab = browser.open(pages.add("/otherhost.html", HOSTILE), wait_numbers=1)
    tab.click("#otherhost")
    assert callee.wait_call("incoming")["remote_number"] == "101"


def test_the_extension_is_unreachable_by_id_from_a_page(browser, pages, app):
    tab = browser.open(pages.add("/byid.html", HOSTILE))
    outcome = tab.evaluate("""(id) => new Promise((resolve) => {
        try {
            if (typeof chrome === 'undefined' || !chrome.runtime) return resolve('no runtime API')
            chrome.runtime.sendMessage(id, {type: 'call', target: '150'}, () => resolve(chrome.runtime.lastError
                ? 'refused: ' + chrome.runtime.lastError.message : 'answered'))
        } catch (e) { resolve('refused: ' + e.message) }
    })""", EXTENSION_ID)
    assert outcome != "answered"
