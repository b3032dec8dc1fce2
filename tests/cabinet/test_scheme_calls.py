"""The order an administrator gives in the cabinet's scheme editor is the order real phones
ring in: real Chromium, real `talker-pbx serve`, real Kamailio and a pjsua2 phone per SIP account
(tests/support/ringing.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.ringing import device, rang

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]


@pytest.mark.parametrize("how", ["drag", "keyboard"])
def test_a_device_moved_to_the_top_in_turn_rings_first_on_the_next_call(kamailio, phones, pbx_api, cabinet_on, how):
    admin = pbx_api.add_employee("100", "Anna Admin", admin=True)
    caller = phones.employee(kamailio, "101").phones["101"]
    callee = phones.employee(kamailio, "200", ("2001",))
    desk, mobile_app = callee.phones["200"], callee.phones["2001"]
    callee.set_scheme(kamailio, "in_turn", [device("200", 1, 20), device("2001", 2, 20)])

    cabinet = cabinet_on(pbx_api)
    cabinet.log_in("100", admin.communicator_password)
    cabinet.go(f"employees/{callee.employee_id}/scheme", "#scheme-form li.device")
    page = cabinet.page
    if how == "drag":
        page.drag_and_drop("li.device[data-device='sip-2001']", "li.device[data-device='sip-200']")
    else:
        page.focus("li.device[data-device='sip-2001']")
        page.keyboard.press("Alt+ArrowUp")
    assert page.locator("li.device").first.get_attribute("data-device") == "sip-2001"
    page.click("#scheme-save")
    page.wait_for_selector("#toast:not(:empty)")
    assert page.inner_text("#scheme-status") == ""

    mark = caller.mark()
    caller.command("call", number="200")
    caller.wait_call("calling", timeout=5, after=mark)
    mobile_app.wait_call("incoming", timeout=10)
    assert not rang(desk), "the device that was first before the change must wait its turn"
    mobile_app.command("answer")
    caller.wait_call("connected", timeout=10)
    assert not rang(desk)
    caller.command("hangup")
    assert cabinet.problems == []
