"""The calls the app has now, and the record of each one that ends (tray/history.py).

The SIP engine reports every change of a call on its own thread (`update`); the control
channel, the menu and the icon read from theirs. The calls are kept under a lock and handed out
as copies.
"""

from __future__ import annotations

import datetime as dt
import os
import threading

from tray.history import CallHistory
from tray.sip.engine import CallEvent, CallState


def call_message(ev: CallEvent) -> dict:
    """A call as the control channel describes it ($defs/call)."""
    return {"call_id": ev.call_id, "direction": ev.direction, "state": ev.state.value,
            "number": ev.remote_number, "name": ev.remote_name, "code": ev.code, "reason": ev.reason,
            "muted": ev.muted, "held": ev.held, "answered": ev.answered, "outcome": ev.outcome}


class Calls:
    def __init__(self, history: CallHistory | None = None):
        self.history = history or CallHistory()
        self._lock = threading.Lock()
        self._calls: dict[str, CallEvent] = {}
        self._started: dict[str, dt.datetime] = {}
        self._notes: dict[str, str] = {}  # typed during a call: kept with it when it ends
        self._run = os.urandom(4).hex()

    def update(self, event: CallEvent) -> None:
        """A call changed (the SIP thread); one that ended goes into the history."""
        # Calling a number back, or answering it when it calls again, settles its missed calls.
        if (event.direction == "out" and event.state == CallState.CALLING) or \
                (event.direction == "in" and event.state == CallState.CONNECTED):
            self.history.mark_seen(event.remote_number)
        with self._lock:
            if event.state != CallState.ENDED:
                self._calls[event.call_id] = event
                self._started.setdefault(event.call_id, dt.datetime.now(dt.UTC))
                return
            self._calls.pop(event.call_id, None)
            started = self._started.pop(event.call_id, None)
            note = self._notes.pop(event.call_id, "")
            # The engine decides how it went: only it sees a decline and a CANCEL's Reason
            # before it reports the end. Added under the lock: a note sent as the call ends
            # finds it either here or in the history.
            self.history.add({"number": event.remote_number, "name": event.remote_name,
                              "direction": event.direction, "outcome": event.outcome,
                              "answered": event.answered, "code": event.code, "reason": event.reason,
                              "at": (started or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
                              "call_id": self._key(event.call_id), **({"note": note} if note else {})})

    def _key(self, call_id: str) -> str:
        # The engine's call ids start again with every run: the history tells runs apart.
        return f"{self._run}:{call_id}"

    def set_note(self, call_id: str, note: str) -> bool:
        """A note on a call, typed while it goes on or after it ended; False: no such call
        (nor one that ended since the app started)."""
        note = note.strip()
        with self._lock:
            if call_id in self._calls:
                self._notes[call_id] = note
                return True
            return self.history.set_note(self._key(call_id), note)

    def now(self) -> list[CallEvent]:
        """The calls in progress (ringing, dialling, connected), oldest first."""
        with self._lock:
            return list(self._calls.values())

    def get(self, call_id: str) -> CallEvent | None:
        with self._lock:
            return self._calls.get(call_id)

    def any(self) -> bool:
        with self._lock:
            return bool(self._calls)

    def recent(self, limit: int | None = None) -> list[dict]:
        """The calls that ended, newest first."""
        return self.history.recent() if limit is None else self.history.recent(limit)
