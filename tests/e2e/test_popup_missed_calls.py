"""The popup lists the missed calls not seen yet, each with Call back, and "Mark as seen": real
Chromium with the real extension, native host and app, a real phone calling through real
Kamailio; in English and in Russian."""

from __future__ import annotations

import pytest

from tests.e2e.test_popup import russian_browser, wait_text  # noqa: F401  (a fixture, shared)
from tests.support.app import wait_call_event

pytestmark = pytest.mark.slow


def _missed_call(boris, app) -> None:
    """Boris calls Anna's app and gives up before she answers."""
    mark = boris.mark()
    with app.client() as c:
        c.request("subscribe")
        boris.command("call", number="101")
        wait_call_event(c, "incoming")
        boris.command("hangup")
        wait_call_event(c, "ended")
    boris.wait_call("ended", after=mark)


def _no_missed(popup) -> None:
    popup.locator("#missed-section").wait_for(state="hidden", timeout=15_000)


def test_the_popup_shows_a_missed_call_and_calls_it_back(browser, kamailio, peers, talker_app):
    boris = peers(kamailio, "102", "Boris Petrov")
    app = talker_app(kamailio)
    popup = browser.open_popup()
    wait_text(popup.locator("#registration-text"), lambda t: t.startswith("Online"))
    assert popup.locator("#missed-section").is_hidden()

    _missed_call(boris, app)   # while the popup is open: it appears without reopening
    row = popup.locator("#missed li")
    wait_text(row, lambda t: "Boris Petrov (102)" in t)
    assert popup.locator("#missed-section h2").inner_text().lower() == "missed calls"
    assert row.locator("button").inner_text() == "Call back"

    mark = boris.mark()
    row.locator("button").click()
    assert boris.wait_call("incoming", after=mark)["remote_number"] == "101"
    wait_text(popup.locator("#dial-result"), lambda t: t.startswith("Calling 102"))
    _no_missed(popup)   # called back: settled
    boris.command("decline")
    boris.wait_call("ended", after=mark)

    # A popup opened later does not bring it back.
    again = browser.open_popup()
    wait_text(again.locator("#registration-text"), lambda t: t.startswith("Online"))
    with app.client() as c:
        assert c.request("missed_calls")["calls"] == []
    assert again.locator("#missed-section").is_hidden()


def test_in_russian_mark_as_seen_empties_the_list(russian_browser, kamailio, peers, talker_app,  # noqa: F811
                                                   monkeypatch):
    monkeypatch.setenv("TALKER_RUNTIME_DIR", str(russian_browser.runtime_dir))
    russian_browser.reset()
    boris = peers(kamailio, "102", "Boris Petrov")
    app = talker_app(kamailio)
    _missed_call(boris, app)
    _missed_call(boris, app)
    popup = russian_browser.open_popup()
    rows = popup.locator("#missed li")
    wait_text(popup.locator("#missed"), lambda t: t.count("Boris Petrov (102)") == 2)
    assert popup.locator("#missed-section h2").inner_text().lower() == "пропущенные звонки"
    assert rows.first.locator("button").inner_text() == "Перезвонить"
    assert popup.locator("#mark-seen").inner_text() == "Отметить как просмотренные"

    popup.click("#mark-seen")
    _no_missed(popup)
    with app.client() as c:
        assert c.request("missed_calls")["calls"] == []
        # Seen, not forgotten: both stay in the recent calls.
        assert [e["outcome"] for e in c.request("recent_calls")["calls"]] == ["missed", "missed"]
