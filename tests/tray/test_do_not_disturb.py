"""Do not disturb from the tray menu, for an employee who is no administrator: the PBX keeps it,
the icon and the menu say until when, a call meanwhile rings nothing (it is listed as missed
while unavailable), "Ring again now" ends it, and one that runs out ends by itself in the app
too. The real app (pystray's dummy backend), the real PBX and Kamailio, a real phone calling."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from common import i18n
from common.i18n import tr
from pbx import directory, schemes
from pbx.audit import Actor
from tests.support.processes import wait_until
from tests.support.tray import find, menu, texts
from tray.windows.forms import short_time

pytestmark = pytest.mark.slow


def _until(app) -> str | None:
    return (app.pbx_state().get("receive") or {}).get("do_not_disturb_until")


def test_do_not_disturb_from_the_menu_rings_nothing_until_turned_off(kamailio, pbx_api, peers, logged_in,
                                                                     monkeypatch):
    vera = pbx_api.add_employee("103", "Vera Sidorova")   # not an administrator
    boris = peers(kamailio, "102", "Boris Petrov")
    app = logged_in(vera)
    assert texts(find(menu(app), "Do not disturb")._action) == [
        "For 15 minutes", "For 30 minutes", "For 1 hour", "For 2 hours"]

    before = dt.datetime.now(dt.UTC)
    find(menu(app), "Do not disturb", "For 30 minutes")(app.icon.icon)
    until = wait_until(lambda: _until(app), 10, 0.05, "the PBX to keep it")
    assert dt.timedelta(minutes=30) <= dt.datetime.fromisoformat(until) - before <= dt.timedelta(minutes=31, seconds=5)
    hhmm = short_time(until)
    wait_until(lambda: app.icon.state.badge == "do_not_disturb", 5, 0.05, "the badge")
    assert app.icon.state.detail == f"Do not disturb until {hhmm}: nothing rings for you."
    assert texts(find(menu(app), f"Do not disturb — until {hhmm}")._action)[-1] == "Ring again now"
    monkeypatch.setattr(i18n, "_language", "ru")
    # The end in Russian words: past midnight, its date is written the Russian way too.
    assert texts(find(menu(app), f"Не беспокоить — до {short_time(until)}")._action) == [
        "На 15 минут", "На 30 минут", "На 1 час", "На 2 часа", "Снова принимать звонки"]
    monkeypatch.setattr(i18n, "_language", "en")

    # Boris calls: nothing rings, he hears 480, and Vera finds the call afterwards.
    mark = boris.mark()
    boris.command("call", number="103")
    assert boris.wait_call("ended", after=mark)["code"] == 480
    wait_until(lambda: app.recent_calls(1) and app.recent_calls(1)[0]["outcome"] == "unreached", 10, 0.05,
               "the call listed as missed while unavailable")
    assert not any(n.startswith(tr("tray.ringing", party="Boris Petrov (102)")) for n in app.icon.notifications)

    find(menu(app), f"Do not disturb — until {hhmm}", "Ring again now")(app.icon.icon)
    wait_until(lambda: _until(app) is None, 10, 0.05, "do not disturb to end")
    wait_until(lambda: app.icon.state.badge == "registered", 5, 0.05, "the badge back")
    assert "Do not disturb" in texts(menu(app))
    mark = boris.mark()
    boris.command("call", number="103")
    wait_until(lambda: any(c.state.value == "incoming" for c in app.calls()), 10, 0.05, "Vera's app to ring")
    boris.command("hangup")
    boris.wait_call("ended", after=mark)


def test_do_not_disturb_that_runs_out_ends_in_the_app_by_itself(kamailio, pbx_api, logged_in):
    vera = pbx_api.add_employee("103", "Vera Sidorova")
    app = logged_in(vera)
    # As the PBX would have it a few seconds before its end (written as PUT /me/do-not-disturb
    # writes it; the API itself only sets whole minutes).
    actor = Actor(vera.employee.id, "Vera Sidorova", False)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)
    with kamailio.instance.sessions.begin() as s:
        employee = directory._load(s, vera.employee.id)
        stored, version = schemes._stored(s, employee)
        schemes._save(s, actor, employee, dataclasses.replace(stored, do_not_disturb_until=end), version,
                      "scheme.do_not_disturb")
    wait_until(lambda: app.icon.state.badge == "do_not_disturb", 10, 0.05, "the app to hear of it")
    # Nobody writes anything again: the app's own clock brings the icon and the menu back.
    wait_until(lambda: app.icon.state.badge == "registered", 15, 0.1, "the end, by itself")
    assert "Do not disturb" in texts(menu(app))
