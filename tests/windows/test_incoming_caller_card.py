"""The incoming-call window for a number nobody knows, from the trunk: it says so, takes a note
during the call, stays open after it with "Add to contacts…" (which opens the contact form with
the number filled in), and the next call from that number shows the last call and its note.
The real app, PBX and Kamailio, a trunk gateway by hand (tests/support/rawsip.py), Tk windows on
a private X display."""

from __future__ import annotations

import time

import pytest

from pbx import directory
from pbx.audit import Actor
from tests.support.processes import wait_until
from tests.support.rawsip import Endpoint, TrunkCall
from tests.windows.driver import WindowDriver

pytestmark = pytest.mark.slow

STRANGER = "+79990001122"


def _ringing(app) -> None:
    wait_until(lambda: any(c["state"] == "incoming" for c in app.request("status")["calls"]), 15, 0.1,
               "the incoming call")


def test_a_stranger_gets_a_note_and_add_to_contacts_and_the_next_call_shows_them(windowed_app, pbx_api, kamailio,
                                                                                  ):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    directory.add_number(kamailio.instance, Actor.console(), "+74951112233", inbound_employee_id=anna.employee.id)
    app = windowed_app(anna)
    with Endpoint() as gateway:
        kamailio.set_trunk(gateway.address)
        pbx = ("127.0.0.1", kamailio.port)
        call = TrunkCall(gateway, pbx, "+74951112233", STRANGER)
        _ringing(app)
        w = app.open("incoming")
        state = w.settled(lambda s: s["answer"]["mapped"] and s["call_about"]["text"])
        assert state["call_party"]["text"] == STRANGER
        assert state["call_about"]["text"] == "Not in the directory or your address books"
        assert not state["save_note"]["mapped"]   # nothing to note before it is answered
        w.invoke("answer")
        call.answered()
        call.ack()
        state = w.settled(lambda s: s["save_note"]["mapped"])
        w.set("call_note", "Romashka LLC: wants a quote for 20 seats")
        w.invoke("save_note")
        assert w.settled(lambda s: s["note_status"]["text"])["note_status"]["text"] == \
            "Note saved: it shows the next time this number calls or is called."
        call.bye()

        # Over, yet the window stays: the number is nobody's, and it can be added.
        w.settled(lambda s: s["call_state"]["text"] == "The call has ended." and s["add_contact"]["mapped"])
        time.sleep(3)   # longer than a window with nothing to offer stays
        assert w.alive() and w.read()["close"]["mapped"]
        assert app.request("recent_calls")["calls"][0]["note"] == "Romashka LLC: wants a quote for 20 seats"
        w.invoke("add_contact")
        contact = WindowDriver.wait_for(app.hook_dir, "contact")
        assert contact.settled()["number"] == STRANGER
        contact.close()
        try:
            w.invoke("close")
        except ConnectionError:
            pass   # it closed before it could reply
        wait_until(lambda: not w.alive(), 10, 0.1, "the incoming-call window to close")

        # The next call from that number: the last call and its note, before anyone speaks.
        call = TrunkCall(gateway, pbx, "+74951112233", STRANGER)
        _ringing(app)
        w = app.open("incoming")
        about = w.settled(lambda s: "Last call" in s["call_about"]["text"])["call_about"]["text"]
        lines = about.split("\n")
        assert lines[0] == "Not in the directory or your address books"
        assert lines[1].startswith("Last call: ") and lines[1].endswith(" · ↙ incoming")
        assert lines[2] == "Note: Romashka LLC: wants a quote for 20 seats"
        w.invoke("decline")
        assert call.final() == 603
    # Declined with nothing typed: it closes by itself, as before.
    wait_until(lambda: not w.alive(), 10, 0.1, "the incoming-call window to close")
