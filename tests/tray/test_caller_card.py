"""An incoming call says who it is beyond the name: a colleague, a contact (with the contact's
note) or nobody known, and how the last call with that number went, with the note typed on it.
Real calls from a real phone through real Kamailio to the real app (pystray's dummy backend);
the notification in English and Russian."""

from __future__ import annotations

import pytest

from common import i18n
from common.control_client import ControlClient
from tests.support.processes import wait_until
from tray.windows.forms import short_time

pytestmark = pytest.mark.slow


def _rings(app, boris):
    """Boris calls Anna; once her app rings and has said so."""
    mark, said = boris.mark(), len(app.icon.notifications)
    boris.command("call", number="101")
    call = wait_until(lambda: next((c for c in app.calls() if c.state.value == "incoming"), None), 10, 0.05,
                      "Anna's app to ring")
    wait_until(lambda: len(app.icon.notifications) > said, 10, 0.05, "the notification")
    return mark, call


def _ended(app, count: int) -> None:
    wait_until(lambda: len(app.recent_calls(10)) >= count and not app.call_list.any(), 10, 0.05,
               f"call {count} to end")


def test_the_incoming_call_names_the_caller_and_the_last_call_with_its_note(kamailio, pbx_api, peers, logged_in,
                                                                            monkeypatch):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    boris = peers(kamailio, "102", "Boris Petrov")
    app = logged_in(anna)
    # The directory reaches the app a moment after the login.
    wait_until(lambda: app.caller_info("102")["source"] == "directory", 10, 0.05, "the directory")

    # The first call: nothing before it. Boris gives up: missed.
    mark, _ = _rings(app, boris)
    assert app.icon.notifications[-1] == "Incoming call from Boris Petrov (102)\nColleague"
    boris.command("hangup")
    _ended(app, 1)

    # The second: the notification says that she missed him.
    mark, call = _rings(app, boris)
    first = short_time(app.recent_calls(1)[0]["at"])
    assert app.icon.notifications[-1] == \
        f"Incoming call from Boris Petrov (102)\nColleague\nLast call: {first} · ✗ missed"
    with ControlClient.connect(client="test") as c:
        c.request("answer", call_id=call.call_id)
        boris.wait_call("connected", after=mark)
        # Typed during the call; changed after it: the last word counts.
        c.request("set_call_note", call_id=call.call_id, note="Wants a quote for 20 seats")
        c.request("hangup")
        _ended(app, 2)
        c.request("set_call_note", call_id=call.call_id, note="  Wants a quote for 20 seats by Friday ")
        assert app.recent_calls(1)[0]["note"] == "Wants a quote for 20 seats by Friday"
        with pytest.raises(Exception, match="no such call"):
            c.request("set_call_note", call_id="c999", note="lost")

    # The third, in Russian: the answered call and its note.
    monkeypatch.setattr(i18n, "_language", "ru")
    second = short_time(app.recent_calls(1)[0]["at"])
    _rings(app, boris)
    assert app.icon.notifications[-1] == (
        f"Входящий звонок от Boris Petrov (102)\nКоллега\nПоследний звонок: {second} · ↙ входящий\n"
        "Заметка: Wants a quote for 20 seats by Friday")
    with ControlClient.connect(client="test") as c:
        info = c.request("caller_info", number="102")
    assert info["source"] == "directory" and info["name"] == "Boris Petrov"
    assert info["last_call"]["note"] == "Wants a quote for 20 seats by Friday"
    boris.command("hangup")
    _ended(app, 3)


def test_a_contact_is_named_with_its_note_and_a_stranger_as_unknown(kamailio, pbx_api, logged_in):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    with pbx_api.as_(anna) as api:
        assert api.post("/contacts/personal", json={"name": "Oleg Smirnov", "number": "+74951112233",
                                                    "note": "Romashka LLC, buyer"}).status_code == 201
    logged_in(anna)
    with ControlClient.connect(client="test") as c:
        wait_until(lambda: c.request("caller_info", number="+74951112233")["source"] == "personal", 10, 0.1,
                   "the address book")
        info = c.request("caller_info", number="84951112233")
        stranger = c.request("caller_info", number="+79990001122")
    from tray.windows.forms import about_caller
    assert info["name"] == "Oleg Smirnov"
    assert about_caller(info) == ["Your contact — Romashka LLC, buyer"]
    assert stranger["source"] is None and stranger["pbx"] is True
    assert about_caller(stranger) == ["Not in the directory or your address books"]
