"""The tray menu a person uses every day, clicked item by item (pystray's dummy backend) in an
app that is logged in to a real PBX (API + Kamailio): what it shows follows the PBX, what it
changes reaches the PBX, and what only administrators may do is absent for others — and
refused by the PBX anyway."""

from __future__ import annotations

import time

import pytest

from common.control_client import ControlClient, ControlError
from tests.support.processes import wait_until
from tests.support.tray import find, menu, texts

pytestmark = pytest.mark.slow


def test_an_administrator_sees_and_uses_the_scheme_switches(pbx_api, logged_in):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    admin = pbx_api.as_(anna)
    app = logged_in(anna)
    top = texts(menu(app))
    assert top[0] == "101@pbx.local: Registered"
    for item in ("Call…", "Recent calls", "Receive calls", "My numbers", "Outgoing number", "Contacts",
                 "Settings…", "Log out…", "Quit"):
        assert item in top, item
    modes = find(menu(app), "Receive calls")._action
    assert [(i.text, i.checked, i.radio) for i in modes] == [
        ("Only the main number", False, True), ("All numbers at once", True, True),
        ("All numbers in turn", False, True)]

    find(menu(app), "Receive calls", "All numbers in turn")(app.icon.icon)
    wait_until(lambda: admin.get(f"/employees/{anna.employee.id}/scheme").json()["mode"] == "in_turn",
               5, 0.05, "the PBX to store the mode")
    wait_until(lambda: find(menu(app), "Receive calls", "All numbers in turn").checked, 5, 0.05, "the menu")

    device = find(menu(app), "My numbers", "SIP account 101")
    assert device.checked is True
    device(app.icon.icon)  # the only device: the first click warns (tests/tray/test_unreached_calls.py)
    wait_until(lambda: any("leaves no device to ring" in n for n in app.icon.notifications), 5, 0.05, "the warning")
    device(app.icon.icon)
    wait_until(lambda: not admin.get(f"/employees/{anna.employee.id}/scheme").json()["devices"][0]["active"],
               5, 0.05, "the device switched off at the PBX")

    number = admin.post("/numbers", json={"number": "+74951112233", "label": "Office"}).json()
    wait_until(lambda: "+74951112233 — Office" in texts(find(menu(app), "Outgoing number")._action), 5, 0.05,
               "the new number in the menu")
    find(menu(app), "Outgoing number", "+74951112233 — Office")(app.icon.icon)
    wait_until(lambda: (admin.get("/me").json()["outgoing_number"] or {}).get("id") == number["id"], 5, 0.05,
               "the outgoing number at the PBX")
    wait_until(lambda: find(menu(app), "Outgoing number", "+74951112233 — Office").checked, 5, 0.05,
               "the check mark on the outgoing number")
    contacts = texts(find(menu(app), "Contacts")._action)
    assert contacts == ["Contacts…", "Add personal contact…", "Add to company address book…",
                        "Register new employee…"]
    admin.close()


def test_a_change_made_elsewhere_shows_in_the_menu_within_seconds(pbx_api, logged_in):
    """Pushed by the PBX's event stream (typically within 100 ms: bench/menu_action.py); the
    bound is generous so that a busy machine does not fail it."""
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = logged_in(anna)
    with pbx_api.as_(anna) as admin:
        etag = admin.get(f"/employees/{anna.employee.id}/scheme").headers["ETag"]
        admin.patch(f"/employees/{anna.employee.id}/scheme", json={"mode": "main_only"},
                    headers={"If-Match": etag}).raise_for_status()
    changed = time.monotonic()
    wait_until(lambda: find(menu(app), "Receive calls", "Only the main number").checked, 10, 0.02, "the menu")
    assert time.monotonic() - changed < 5.0


def test_someone_outside_administrators_sees_no_admin_items_and_the_pbx_refuses_anyway(pbx_api, logged_in):
    pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    boris = pbx_api.add_employee("102", "Boris Petrov")
    app = logged_in(boris)
    top = texts(menu(app))
    assert "Receive calls" not in top and "My numbers" not in top
    assert "Outgoing number" in top  # everyone chooses their own caller ID
    assert texts(find(menu(app), "Contacts")._action) == ["Contacts…", "Add personal contact…"]
    # Whatever a client sends, the PBX decides: the same request through the control channel.
    with ControlClient.connect(client="test") as c:
        with pytest.raises(ControlError) as err:
            c.request("set_receive_mode", mode="in_turn")
    assert err.value.code in ("forbidden", "pbx_refused")
    with pbx_api.as_(boris) as api:
        assert api.get(f"/employees/{boris.employee.id}/scheme").json()["mode"] == "all_at_once"


def test_an_unreachable_pbx_shows_the_last_state_disabled_with_the_reason(pbx_api, logged_in):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = logged_in(anna)
    pbx_api.stop()
    wait_until(lambda: app.pbx_state()["stale"], 30, 0.1, "the app to notice")
    top = texts(menu(app))
    assert any("cannot be reached" in t for t in top), top
    mode = find(menu(app), "Receive calls", "All numbers at once")
    assert mode.checked and not mode.enabled


def test_calls_in_the_menu_answer_hang_up_and_call_back(kamailio, pbx_api, peers, logged_in):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = logged_in(anna)
    boris = peers(kamailio, "102", "Boris Petrov")
    boris.command("call", number="101")
    wait_until(lambda: "Answer" in texts(menu(app)), 10, 0.05, "Answer in the menu")
    assert "Incoming call from Boris Petrov (102)" in texts(menu(app))
    find(menu(app), "Answer")(app.icon.icon)
    boris.wait_call("connected")
    wait_until(lambda: "Hang up" in texts(menu(app)), 5, 0.05, "Hang up in the menu")
    find(menu(app), "Mute")(app.icon.icon)
    wait_until(lambda: find(menu(app), "Mute").checked, 5, 0.05, "Mute checked")
    find(menu(app), "Hang up")(app.icon.icon)
    boris.wait_call("ended")

    # A call nobody answered is a missed call: notified, and in the recent calls to call back.
    boris.command("call", number="101")
    wait_until(lambda: "Answer" in texts(menu(app)), 10, 0.05, "the second call")
    boris.command("hangup")
    wait_until(lambda: any(n.startswith("Missed call from Boris Petrov") for n in app.icon.notifications),
               5, 0.05, "the missed-call notification")
    recent = texts(find(menu(app), "Recent calls")._action)
    assert recent[0] == "✗ Boris Petrov (102)" and recent[1] == "↙ Boris Petrov (102)"
    mark = boris.mark()
    find(menu(app), "Recent calls", "✗ Boris Petrov (102)")(app.icon.icon)
    assert boris.wait_call("incoming", after=mark)["remote_number"] == "101"
