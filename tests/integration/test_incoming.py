"""Incoming calls: the app reports who calls, and the user answers or declines through the
control channel (what the tray menu and the extension's popup will do)."""

from __future__ import annotations

import pytest

from tests.support.app import wait_call_event

pytestmark = pytest.mark.slow


def test_incoming_call_shows_the_caller_and_answer_connects_both_sides(kamailio, peers, talker_app):
    app = talker_app(kamailio, "101", "Anna Ivanova")
    caller = peers(kamailio, "102", "Boris Petrov")
    with app.client() as c:
        c.request("subscribe")
        caller.command("call", number="101")
        ringing = wait_call_event(c, "incoming")
        assert ringing["number"] == "102"
        assert ringing["name"] == "Boris Petrov"
        assert ringing["direction"] == "in"
        caller.wait_call("ringing")  # the caller hears ringback: we sent 180

        c.request("answer", call_id=ringing["call_id"])
        assert wait_call_event(c, "connected")["call_id"] == ringing["call_id"]
        caller.wait_call("connected")

        caller.command("hangup")
        wait_call_event(c, "ended")
    assert app.status()["calls"] == []


def test_decline_gives_the_caller_a_final_603(kamailio, peers, talker_app):
    app = talker_app(kamailio)
    caller = peers(kamailio, "102")
    with app.client() as c:
        c.request("subscribe")
        caller.command("call", number="101")
        wait_call_event(c, "incoming")
        c.request("decline")  # no call_id: the ringing call
        wait_call_event(c, "ended")
    ended = caller.wait_call("ended")
    assert ended["code"] == 603, ended
    assert caller.calls("connected") == []


def test_answer_without_a_ringing_call_is_a_clear_error(kamailio, talker_app):
    from common.control_client import ControlError

    app = talker_app(kamailio)
    with app.client() as c:
        with pytest.raises(ControlError) as err:
            c.request("answer")
    assert err.value.code == "no_such_call"
    assert str(err.value).endswith(".")
