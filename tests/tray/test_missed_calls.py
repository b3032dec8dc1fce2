"""Missed calls a person cannot overlook: until seen they are counted on the icon (a red bubble
and the tooltip) and listed at the top of the menu, each one calling back when clicked; calling
back or "Mark as seen" settles them. Real calls from a real phone through real Kamailio to the
real app (pystray's dummy backend), in English and Russian."""

from __future__ import annotations

import datetime as dt

import pytest

from common import i18n
from common.i18n import tr
from tests.support.processes import wait_until
from tests.support.tray import find, menu, start_app, texts
from tray.history import CallHistory
from tray.icon import render
from tray.windows.forms import short_time

pytestmark = pytest.mark.slow


def _missed_call(boris, app, count: int) -> None:
    """Boris calls Anna and gives up before she answers."""
    mark = boris.mark()
    boris.command("call", number="101")
    wait_until(lambda: any(c.state.value == "incoming" for c in app.calls()), 10, 0.05, "Anna's app to ring")
    boris.command("hangup")
    boris.wait_call("ended", after=mark)
    wait_until(lambda: app.icon.state.missed == count, 10, 0.05, f"{count} missed calls on the icon")


def test_missed_calls_stay_on_the_icon_and_the_menu_until_called_back(kamailio, pbx_api, peers, logged_in,
                                                                      monkeypatch):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    boris = peers(kamailio, "102", "Boris Petrov")
    app = logged_in(anna)
    assert texts(menu(app))[1] != tr("tray.missed_count", count=1)

    _missed_call(boris, app, 1)
    _missed_call(boris, app, 2)
    when = short_time(app.recent_calls(1)[0]["at"])
    # The icon's picture and tooltip follow its state a moment later (pystray's thread).
    wait_until(lambda: "\nMissed calls: 2" in app.icon.icon.title, 5, 0.05, "the tooltip")
    wait_until(lambda: app.icon.icon.icon.tobytes() == render("registered", missed=2).tobytes(), 5, 0.05,
               "the red bubble")
    assert app.icon.icon.icon.tobytes() != render("registered").tobytes()
    # Right under the status line, where a glance at the menu finds it.
    assert texts(menu(app))[1] == "Missed calls: 2"
    assert texts(find(menu(app), "Missed calls: 2")._action) == [
        f"✗ Boris Petrov (102) at {when} — call back", f"✗ Boris Petrov (102) at {when} — call back",
        "Mark as seen"]
    monkeypatch.setattr(i18n, "_language", "ru")
    assert texts(find(menu(app), "Пропущенные звонки: 2")._action)[0] == \
        f"✗ Boris Petrov (102) в {when} — перезвонить"
    assert "\nПропущенные звонки: 2" in app.icon.state.tooltip
    monkeypatch.setattr(i18n, "_language", "en")

    # One click calls Boris back, and both of his missed calls are settled.
    mark = boris.mark()
    find(menu(app), "Missed calls: 2", "✗ Boris Petrov (102)*")(app.icon.icon)
    assert boris.wait_call("incoming", after=mark)["remote_number"] == "101"
    wait_until(lambda: app.icon.state.missed == 0, 10, 0.05, "the count to go")
    assert "Missed calls" not in app.icon.icon.title
    assert not any(t.startswith("Missed calls") for t in texts(menu(app)))
    boris.command("decline")
    boris.wait_call("ended", after=mark)
    # Still in the recent calls: seen is not forgotten.
    assert [e["outcome"] for e in app.recent_calls(3)] == ["unanswered", "missed", "missed"]


@pytest.fixture
def app_with_missed_calls():
    history = CallHistory()
    old = {"number": "103", "name": "", "direction": "in", "outcome": "missed", "answered": False,
           "at": "2026-12-01T07:00:00+00:00"}
    history._entries.append(old)   # written before "seen" was kept: counts as seen
    history.add({**old, "number": "102", "name": "Boris Petrov", "at": "2026-12-02T07:00:00+00:00"})
    history.add({**old, "number": "104", "at": "2026-12-03T07:00:00+00:00", "outcome": "unreached"})
    history.add({**old, "number": "105", "outcome": "answered", "answered": True,
                 "at": "2026-12-03T08:00:00+00:00"})
    app = start_app()
    try:
        yield app
    finally:
        app.shutdown()


def test_mark_as_seen_empties_the_list_and_calls_from_before_the_upgrade_do_not_count(app_with_missed_calls):
    app = app_with_missed_calls
    wait_until(lambda: app.icon.state.missed == 2, 5, 0.05, "the count")
    day = dt.datetime.fromisoformat("2026-12-02T07:00:00+00:00").astimezone().strftime("%Y-%m-%d %H:%M")
    assert texts(find(menu(app), "Missed calls: 2")._action)[1] == f"✗ Boris Petrov (102) at {day} — call back"
    assert texts(find(menu(app), "Missed calls: 2")._action)[0].startswith("⌀ 104 at ")
    find(menu(app), "Missed calls: 2", "Mark as seen")(app.icon.icon)
    wait_until(lambda: app.icon.state.missed == 0, 5, 0.05, "the count to go")
    assert not any(t.startswith("Missed calls") for t in texts(menu(app)))
    assert len(app.recent_calls(10)) == 4
    # Kept across a restart.
    assert CallHistory().unseen() == []
