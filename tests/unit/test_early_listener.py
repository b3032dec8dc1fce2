"""The SIP engine starts before the app exists (tray/boot.py): what it reports meanwhile is kept
and reaches the app in the order it happened, and later events go straight through, even while
the kept ones are being handed over from another thread."""

from __future__ import annotations

import threading

from tray.boot import EarlyListener
from tray.sip.engine import CallEvent, CallState, RegistrationEvent, RegistrationState


class App:
    def __init__(self):
        self.seen: list[str] = []

    def registration_changed(self, event: RegistrationEvent) -> None:
        self.seen.append(event.state.value)

    def call_changed(self, event: CallEvent) -> None:
        self.seen.append(f"call {event.call_id} {event.state.value}")


def _registration(state: RegistrationState) -> RegistrationEvent:
    return RegistrationEvent(state, "101@pbx.local")


def test_what_the_engine_said_before_the_app_existed_reaches_it_in_order_then_events_pass_through():
    early = EarlyListener()
    early.registration_changed(_registration(RegistrationState.REGISTERING))
    early.call_changed(CallEvent("c1", "in", CallState.INCOMING, "102", "Boris"))
    early.registration_changed(_registration(RegistrationState.REGISTERED))
    app = App()
    assert app.seen == []
    early.attach(app)
    assert app.seen == ["registering", "call c1 incoming", "registered"]
    early.call_changed(CallEvent("c1", "in", CallState.ENDED, "102", "Boris"))
    assert app.seen[-1] == "call c1 ended"


def test_events_that_come_while_the_kept_ones_are_handed_over_keep_their_place():
    early = EarlyListener()
    for i in range(200):
        early.call_changed(CallEvent(f"c{i}", "in", CallState.INCOMING, "102", ""))
    app = App()
    engine = threading.Thread(target=lambda: [early.call_changed(CallEvent(f"c{i}", "in", CallState.INCOMING, "102", ""))
                                              for i in range(200, 400)])
    engine.start()
    early.attach(app)
    engine.join()
    assert app.seen == [f"call c{i} incoming" for i in range(400)]
