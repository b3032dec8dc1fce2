"""The app's recent calls tell how each incoming call ended, as its user would put it: a call
another of the employee's phones answered was "answered elsewhere", one the user declined was
"declined", and only a call nobody took is "missed" (with a notification).

The app is one of two SIP accounts of an employee whose scheme rings all numbers at once; the
other account is a pjsua2 phone. Kamailio cancels the app's branch with RFC 3326's
`Reason: SIP;cause=200` when the phone answers, directly or through a leg (one transaction per
device when the devices' timeouts differ, see pbx/kamailio/routing.py).
"""

from __future__ import annotations

import pytest

from tests.support.app import App, configure_account, wait_call_event
from tests.support.ringing import device
from tray.windows.forms import recent_row

pytestmark = pytest.mark.slow

MISSED = "Missed call from Boris Petrov (102)"


@pytest.fixture
def anna(kamailio, phones, tmp_path):
    """`anna(timeouts)`: employee 101 with the app on account 101 and a phone on 1011, both
    ringing at once for these timeouts (equal: one transaction; different: a leg each)."""
    started: list[App] = []

    def start(timeouts=(30, 30)):
        employee = phones.employee(kamailio, "101", ("1011",), unregistered=("101",))
        employee.set_scheme(kamailio, "all_at_once", [device("101", 1, timeouts[0]),
                                                      device("1011", 2, timeouts[1])])
        configure_account(kamailio, "101", employee.passwords["101"], display_name="Anna Ivanova")
        app = App(tmp_path)
        started.append(app)
        app.wait_registered()
        return app, employee.phones["1011"]

    try:
        yield start
    finally:
        for app in started:
            app.quit()


def _last_call(app: App) -> dict:
    with app.client() as c:
        return c.request("recent_calls")["calls"][0]


def _notifications_after_quit(app: App) -> list[str]:
    # Once the app has exited, every notification it was going to show is in its log.
    assert app.quit() == 0
    return app.notifications()


@pytest.mark.parametrize("timeouts", [(30, 30), (30, 25)], ids=["one-transaction", "legs"])
def test_a_call_answered_on_another_phone_is_answered_elsewhere(kamailio, peers, anna, timeouts):
    app, mobile = anna(timeouts)
    boris = peers(kamailio, "102", "Boris Petrov")
    with app.client() as c:
        c.request("subscribe")
        boris.command("call", number="101")
        assert wait_call_event(c, "incoming")["number"] == "102"
        mobile.wait_call("incoming")
        mobile.command("answer")
        ended = wait_call_event(c, "ended")
    boris.wait_call("connected")

    entry = _last_call(app)
    assert recent_row(entry)[:2] == ("↪ answered elsewhere", "Boris Petrov (102)")
    boris.command("hangup")
    assert MISSED not in _notifications_after_quit(app)
    assert entry["outcome"] == ended["outcome"] == "answered_elsewhere"


def test_a_call_declined_in_the_app_is_declined(kamailio, peers, anna):
    app, mobile = anna()
    boris = peers(kamailio, "102", "Boris Petrov")
    with app.client() as c:
        c.request("subscribe")
        boris.command("call", number="101")
        incoming = wait_call_event(c, "incoming")
        c.request("decline", call_id=incoming["call_id"])
        ended = wait_call_event(c, "ended")
    # A decline on one phone does not stop the others: the employee can still answer there.
    mobile.wait_call("incoming")
    mobile.command("answer")
    boris.wait_call("connected")

    entry = _last_call(app)
    assert recent_row(entry)[:2] == ("⊘ declined", "Boris Petrov (102)")
    boris.command("hangup")
    assert MISSED not in _notifications_after_quit(app)
    assert entry["outcome"] == ended["outcome"] == "declined"


def test_a_call_the_caller_gave_up_is_still_missed(kamailio, peers, anna):
    app, mobile = anna()
    boris = peers(kamailio, "102", "Boris Petrov")
    with app.client() as c:
        c.request("subscribe")
        boris.command("call", number="101")
        wait_call_event(c, "incoming")
        mobile.wait_call("incoming")
        boris.command("hangup")
        ended = wait_call_event(c, "ended")
    mobile.wait_call("ended")

    entry = _last_call(app)
    assert recent_row(entry)[:2] == ("✗ missed", "Boris Petrov (102)")
    assert _notifications_after_quit(app).count(MISSED) == 1
    # The control channel says so in words of its own (the dial window and the popup read them).
    assert entry["outcome"] == ended["outcome"] == "missed"
