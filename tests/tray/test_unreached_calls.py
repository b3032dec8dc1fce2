"""Every device switched off: the menu warns before it does it, the icon's badge and tooltip say
that calls reach nobody, and a call that reached nobody (Kamailio answered it 480 without
ringing anything) is listed in the recent calls and notified: the PBX records it and its event
stream tells the app (GET /me/unreached-calls). The real app with pystray's dummy backend, the
real PBX, a real phone calling through real Kamailio; in English and Russian."""

from __future__ import annotations

import time

import pytest

from common import i18n
from common.i18n import tr
from tests.support.processes import wait_until
from tests.support.tray import find, menu, texts
from tests.support.words import assert_sentence

pytestmark = pytest.mark.slow


@pytest.mark.both_databases  # Kamailio writes the call that reached nobody: its INSERT on each database
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_scheme_that_rings_nothing_is_warned_of_shown_and_its_calls_are_listed(
        lang, monkeypatch, kamailio, pbx_api, peers, logged_in):
    monkeypatch.setattr(i18n, "_language", lang)
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    admin = pbx_api.as_(anna)
    app = logged_in(anna)
    boris = peers(kamailio, "102", "Boris Petrov")
    device = tr("pbx.device_sip", address="101")

    def active() -> bool:
        return admin.get(f"/employees/{anna.employee.id}/scheme").json()["devices"][0]["active"]

    # Her only device: the first click warns and changes nothing.
    find(menu(app), tr("menu.my_numbers"), device)(app.icon.icon)
    warning = wait_until(lambda: next((n for n in app.icon.notifications if device in n), None), 5, 0.05,
                         "the warning")
    assert_sentence(warning, lang, allowed=(device,))
    time.sleep(0.5)
    assert active() and app.icon.state.badge == "registered"

    # The second click does it: the badge and the tooltip say calls reach nobody.
    find(menu(app), tr("menu.my_numbers"), device)(app.icon.icon)
    wait_until(lambda: not active(), 5, 0.05, "the device switched off at the PBX")
    wait_until(lambda: app.icon.state.badge == "nobody_rings", 5, 0.05, "the badge")
    assert tr("tray.nobody_rings") in app.icon.icon.title
    assert_sentence(app.icon.state.detail, lang)
    assert texts(menu(app))[0].endswith(tr("tray.nobody_rings"))

    # Boris calls her: the PBX answers 480 and nothing rings, but she sees whom she missed.
    boris.command("call", number="101")
    assert boris.wait_call("ended")["code"] == 480
    said = tr("tray.unreached", party="Boris Petrov (102)")
    wait_until(lambda: said in app.icon.notifications, 10, 0.05, "the notification")
    assert_sentence(said, lang, allowed=("Boris Petrov (102)",))
    assert not any(n.startswith(tr("tray.ringing", party="Boris Petrov (102)")) for n in app.icon.notifications)
    recent = texts(find(menu(app), tr("menu.recent_calls"))._action)
    assert recent[0] == tr("menu.recent_unreached", call="⌀ Boris Petrov (102)")
    # The PBX keeps the record: an app that was not running finds it on its next start.
    assert [c["caller"] for c in admin.get("/me/unreached-calls").json()["calls"]] == ["102"]

    # Switched on again (from the menu: no warning for that), the badge is green again.
    find(menu(app), tr("menu.my_numbers"), device)(app.icon.icon)
    wait_until(lambda: active(), 5, 0.05, "the device switched on")
    wait_until(lambda: app.icon.state.badge == "registered", 5, 0.05, "the badge back")
    admin.close()
