"""The extension in real Firefox (Debian's firefox-esr): click-to-call, the popup, and a page
that tries to reach the app, with the real native host installed the Firefox way
(~/.mozilla/native-messaging-hosts), the real app, Kamailio and a phone (tests/e2e/firefox.py).

One Firefox serves the module (a cold start costs tens of seconds here). The app and the host
talk over loopback TCP (the Windows design, forced on Linux): the worst case for a page that
wants to talk to the app directly, and the page is even told the port."""

from __future__ import annotations

import json
import time

import pytest

from common import locations
from tests.e2e.conftest import CALLEE_NUMBER, callee_phone, hang_up
from tests.e2e.browser import build_extension, page
from tests.e2e.firefox import ExtensionFirefox, missing

pytestmark = [pytest.mark.slow, pytest.mark.skipif(missing() is not None, reason=f"needs {missing()}")]


PAGE = page("""
<p id="real">Отдел продаж: +7 (495) 123-45-67</p>
<p>Приёмная: 8(495)1234567, доб. 204</p>
<p id="decoy">Позвонить на 150 прямо сейчас</p>
<p><a id="tel" href="tel:150">обычная ссылка</a></p>
<p><a id="method" href="sip:150@pbx.local;method=BYE">method</a>
   <a id="headers" href="sip:150@pbx.local?X-Evil=1">headers</a></p>
""")


@pytest.fixture(scope="module")
def firefox(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("firefox")
    addon = build_extension(tmp_path_factory.mktemp("extension-firefox"), "firefox")
    browser = ExtensionFirefox(workdir, runtime_dir=workdir / "run", extension=addon,
                               extra_env={"TALKER_CONTROL_TRANSPORT": "tcp"})
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def ff(firefox, monkeypatch):
    """The module's Firefox on a blank tab; the test's app listens where its host looks."""
    monkeypatch.setenv("TALKER_RUNTIME_DIR", str(firefox.runtime_dir))
    monkeypatch.setenv("TALKER_CONTROL_TRANSPORT", "tcp")
    firefox.reset()
    return firefox


@pytest.fixture
def callee(kamailio, peers):
    """The phone of extension 150, reachable also as +7 495 123-45-67; it answers at once."""
    return callee_phone(kamailio, peers, ("--auto-answer", "0.2"))


def test_in_firefox_a_click_on_a_number_calls_it_and_its_extension(ff, pages, kamailio, callee, talker_app):
    # The host manifest is where Firefox reads it for this user, and admits the add-on only.
    assert ff.host_manifest == ff.workdir / "home" / ".mozilla" / "native-messaging-hosts" / "org.talker.host.json"
    assert json.loads(ff.host_manifest.read_text())["allowed_extensions"] == ["browser@talker.invalid"]
    app = talker_app(kamailio)
    ff.open(pages.add("/ff-call.html", PAGE))
    assert ff.wait_for_numbers(2) == ["+7 (495) 123-45-67", "8(495)1234567, доб. 204"]

    mark = callee.mark()
    ff.click_text("+7 (495) 123-45-67")
    assert callee.wait_call("incoming", after=mark, timeout=20)["remote_number"] == "101"
    assert ff.wait_for_note(lambda t: "placing" in t) == f"Calling {CALLEE_NUMBER} — Talker is placing the call."
    hang_up(app)
    callee.wait_call("ended", after=mark)

    mark = callee.mark()
    ff.click_text("8(495)1234567, доб. 204")
    assert callee.wait_call("connected", after=mark, timeout=20)["remote_number"] == "101"
    assert callee.wait_digits(3, timeout=15, after=mark) == "204"
    hang_up(app)
    callee.wait_call("ended", after=mark)

    # A tel: link calls through Talker too.
    mark = callee.mark()
    ff.element("#tel").click()
    assert callee.wait_call("incoming", after=mark, timeout=20)["remote_number"] == "101"
    hang_up(app)


def test_in_firefox_the_popup_waits_for_talker_then_shows_it_and_its_dial_field_calls(ff, kamailio, callee,
                                                                                    talker_app):
    ff.open_popup()
    assert ff.wait_text("#problem-title", bool) == "Talker is not running."
    assert ff.text("#problem-command") == "talker"

    talker_app(kamailio)
    ff.wait_text("#registration-text", lambda t: t == f"Online as 101@{kamailio.domain}", timeout=20)
    assert ff.text("#connection-state") == "Online"
    ff.element("#dial-input").send_keys("150")
    ff.element("#dial-button").click()
    assert callee.wait_call("incoming", timeout=20)["remote_number"] == "101"
    ff.wait_text("#dial-result", lambda t: t == "Calling 150 — Talker is placing the call.")


def test_in_firefox_the_popup_without_the_host_names_firefox(ff):
    saved = ff.host_manifest.read_bytes()
    ff.host_manifest.unlink()
    try:
        ff.open_popup()
        assert ff.wait_text("#problem-title", bool) == "Talker is not installed on this computer."
        assert ff.text("#problem-command") == "python -m native_host.install --browser firefox"
    finally:
        ff.host_manifest.write_bytes(saved)


def test_in_firefox_a_page_gets_nothing_beyond_a_real_click(ff, pages, kamailio, callee, talker_app):
    talker_app(kamailio)
    with open(locations.control_port_file(), encoding="utf-8") as f:
        port = json.load(f)["port"]
    ff.open(pages.add("/ff-hostile.html", PAGE), wait_numbers=2)
    results = ff.js("""
        const port = arguments[0]
        const line = JSON.stringify({id: '1', action: 'call', target: '150'}) + '\\n'
        const out = {}
        const attempts = {
            fetch_post: () => fetch(`http://127.0.0.1:${port}/`, {method: 'POST', body: line, mode: 'no-cors'}),
            beacon: async () => navigator.sendBeacon(`http://127.0.0.1:${port}/`, line),
            websocket: () => new Promise((resolve, reject) => {
                const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
                ws.onopen = () => { ws.send(line); resolve('open') }
                ws.onerror = () => reject(new Error('websocket error'))
            }),
        }
        return (async () => {
            for (const [name, attempt] of Object.entries(attempts)) {
                try { out[name] = String(await attempt()) } catch (e) { out[name] = 'failed: ' + e.message }
            }
            // No extension API reaches a page: the add-on declares no externally_connectable.
            out.runtime = typeof browser !== 'undefined' && browser.runtime && browser.runtime.sendMessage
                ? 'present' : 'absent'
            window.postMessage({type: 'call', target: '150'}, '*')
            // Clicks the page makes itself are not the user's.
            document.getElementById('tel').click()
            const t = document.getElementById('real').firstChild
            const r = document.createRange()
            r.setStart(t, 16); r.setEnd(t, 17)
            const b = r.getBoundingClientRect()
            for (const type of ['pointerdown', 'mousedown', 'mouseup', 'click']) {
                t.parentElement.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true,
                    clientX: b.left + 1, clientY: b.top + 2, button: 0}))
            }
            return out
        })()
    """, port)
    assert results["websocket"].startswith("failed"), results
    assert results["runtime"] == "absent", results
    time.sleep(1.5)
    assert callee.calls() == [], f"something was dialed: {results}"
    assert ff.note_text() is None

    # A crafted link is refused with a reason, and dials nothing.
    ff.element("#method").click()
    note = ff.wait_for_note(lambda t: not t.startswith("Calling"))
    assert "the parameter “method” is not allowed" in note, note
    time.sleep(0.5)
    assert callee.calls() == []

    # The app is unharmed: a real click still calls.
    ff.click_text("+7 (495) 123-45-67")
    assert callee.wait_call("incoming", timeout=20)["remote_number"] == "101"
