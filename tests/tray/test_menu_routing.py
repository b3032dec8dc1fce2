"""What a menu click does to the next call, end to end: the tray menu (in-process app, dummy
pystray backend) → the PBX API → Kamailio's ring plan / trunk route → real phones and a sipp
trunk gateway."""

from __future__ import annotations

import re
import time

import pytest

from pbx import directory, schemes, settings as pbx_settings
from pbx.audit import Actor
from tests.support import sipp
from tests.support.app import talker
from tests.support.peer import Peer
from tests.support.processes import wait_until
from tests.support.tray import find, menu

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sipp.available(), reason="sipp is not installed (sip-tester)")]

CONSOLE = Actor.console()


@pytest.fixture
def desk_phone(kamailio, pbx_api, tmp_path):
    """Anna (101, Administrators) with a second SIP account 1011 (her desk phone, a real pjsua2
    process) in her scheme; the caller is Boris's phone (102)."""
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    creds = schemes.add_sip_account(kamailio.instance, CONSOLE, anna.employee.id, "1011")
    boris = pbx_api.add_employee("102", "Boris Petrov")
    desk = Peer(kamailio, "1011", creds.password, workdir=tmp_path, options=("--reject-code", "486"))
    caller = Peer(kamailio, "102", boris.sip.password, workdir=tmp_path)
    try:
        desk.wait_registered()
        caller.wait_registered()
        yield anna, desk, caller
    finally:
        desk.stop()
        caller.stop()


def _call_anna(app, caller: Peer) -> None:
    """Boris calls 101 and gives up after the first step had its chance to ring."""
    mark = caller.mark()
    caller.command("call", number="101")
    wait_until(lambda: any(c.state.value == "incoming" for c in app.calls()), 10, 0.05, "the app to ring")
    time.sleep(1.5)
    caller.command("hangup")
    caller.wait_call("ended", after=mark)
    wait_until(lambda: not app.calls(), 10, 0.05, "the call to end in the app")


def test_switching_the_mode_in_the_menu_decides_who_rings_on_the_next_call(desk_phone, logged_in):
    anna, desk, caller = desk_phone
    app = logged_in(anna)
    wait_until(lambda: len(find(menu(app), "My numbers")._action.items) == 2, 5, 0.05, "both devices")

    mark = desk.mark()
    _call_anna(app, caller)  # all numbers at once (the default): the desk phone rings as well
    assert desk.wait_call("incoming", after=mark, timeout=5)

    find(menu(app), "Receive calls", "Only the main number")(app.icon.icon)
    wait_until(lambda: find(menu(app), "Receive calls", "Only the main number").checked, 5, 0.05, "the mode")
    mark = desk.mark()
    _call_anna(app, caller)  # only the main number: the app (sip-101) rings, the desk phone not
    assert desk.calls("incoming", since=mark) == [], "the desk phone rang although only the main number should"


def test_switching_a_device_off_in_the_menu_keeps_it_silent_on_the_next_call(desk_phone, logged_in):
    anna, desk, caller = desk_phone
    app = logged_in(anna)
    item = wait_until(lambda: next((i for i in find(menu(app), "My numbers")._action
                                    if i.text == "SIP account 1011"), None), 5, 0.05, "the desk phone")
    assert item.checked
    item(app.icon.icon)
    wait_until(lambda: not find(menu(app), "My numbers", "SIP account 1011").checked, 5, 0.05, "switched off")
    mark = desk.mark()
    _call_anna(app, caller)
    assert desk.calls("incoming", since=mark) == [], "a switched-off device rang"


def test_choosing_the_outgoing_number_in_the_menu_changes_the_next_external_caller_id(
        kamailio, pbx_api, logged_in, tmp_path):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    for number in ("+74951234567", "+74957654321"):
        directory.add_number(kamailio.instance, CONSOLE, number)
    with sipp.Sipp("uas_answer.xml", tmp_path, pause_ms=300) as gateway:
        with kamailio.instance.sessions.begin() as s:
            pbx_settings.update(s, CONSOLE, {"trunk": gateway.address}, None)
        app = logged_in(anna)
        find(menu(app), "Outgoing number", "+74957654321")(app.icon.icon)
        wait_until(lambda: find(menu(app), "Outgoing number", "+74957654321").checked, 5, 0.05, "the choice")
        assert talker("--callto=+7 916 123-45-67").returncode == 0
        invite = gateway.wait_received("INVITE")
        wait_until(lambda: any(c.state.value == "connected" for c in app.calls()), 10, 0.05, "the answer")
        gateway.wait_received("ACK")  # a BYE right on the ACK's heels may overtake it in the proxy
        find(menu(app), "Hang up")(app.icon.icon)
        assert gateway.wait(15) == 0, gateway.output()
    assert re.search(r"sip:\+74957654321@", invite.header("From")), invite.header("From")
    assert re.search(r"sip:\+74957654321@", invite.header("P-Asserted-Identity"))
