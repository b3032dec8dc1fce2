"""Recent calls (in, out, missed, declined, answered elsewhere; for a call out, whether it was
answered, not answered, declined by the callee or failed, and why), kept in the state directory
so they survive a restart."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

from common import locations

MAX_ENTRIES = 50
# What an incoming call can be listed as besides "in" (answered here): tray/sip/engine.py's
# CallOutcome values that a person tells apart in the list.
INCOMING_KINDS = ("missed", "declined", "answered_elsewhere", "unreached")
# An incoming call that rang none of the employee's devices (every one off, out of its schedule
# or not registered): the PBX records it (GET /me/unreached-calls) and the app adds it here.
UNREACHED = "unreached"
# And an outgoing one besides "out" (answered): nobody answered before the caller hung up (or
# the PBX's 487), the callee declined (603), or it failed (any other final reply; the entry's
# SIP code and reason say why, tray/failures.py words it).
OUTGOING_KINDS = ("out_unanswered", "out_declined", "out_failed")
# The incoming calls a person owes a call back: they stay counted on the icon, at the top of the
# menu and in the popup until seen ("seen": false in the entry). Marked seen by calling that
# number (a call back), by answering it when it calls again, or by "Mark as seen". Entries
# written before this was kept have no "seen" and count as seen: an upgrade must not bring back
# fifty old calls as news.
OWED_KINDS = ("missed", "unreached")


def kind(entry: dict) -> str:
    """How a list of recent calls shows an entry: "in" (answered here), "out" (answered there),
    or one of INCOMING_KINDS and OUTGOING_KINDS."""
    outcome = entry.get("outcome")
    if entry.get("direction") != "in":
        if outcome in (None, "answered"):
            return "out"  # answered, or written before outgoing outcomes were kept
        code = entry.get("code")
        if not code or code < 400 or code == 487:
            return "out_unanswered"
        return "out_declined" if code == 603 else "out_failed"
    if outcome is None:
        # Written before outcomes were kept: only "missed" was told apart.
        return "missed" if entry.get("missed") else "in"
    return outcome if outcome in INCOMING_KINDS else "in"


def failure(entry: dict) -> str:
    """Why an "out_failed" call did not go through, as a clause in the user's language."""
    from tray import failures

    return failures.sip_failure(entry.get("code"), entry.get("reason"))


class CallHistory:
    def __init__(self, path: Path | None = None):
        self.path = path or locations.state_dir() / "recent-calls.json"
        self._lock = threading.Lock()
        try:
            self._entries: list[dict] = json.loads(self.path.read_text(encoding="utf-8"))[:MAX_ENTRIES]
        except (OSError, ValueError):
            self._entries = []

    def add(self, entry: dict) -> None:
        if kind(entry) in OWED_KINDS:
            entry = {**entry, "seen": False}
        with self._lock:
            self._entries.insert(0, entry)
            del self._entries[MAX_ENTRIES:]
        self._save()

    def _save(self) -> None:
        with self._lock:
            data = json.dumps(self._entries, ensure_ascii=False)
        locations.ensure_private_dir(self.path.parent)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        tmp.replace(self.path)

    def add_unreached(self, calls: list[dict], name_of=lambda number: None) -> list[dict]:
        """Calls the PBX recorded as reaching nobody ({id, at, caller}): those not listed yet
        join the list in time order. Returns the ones added."""
        with self._lock:
            known = {e.get("pbx_id") for e in self._entries if e.get("outcome") == UNREACHED}
        new = [{"number": c.get("caller") or "", "name": name_of(c.get("caller") or "") or "", "direction": "in",
                "outcome": UNREACHED, "answered": False, "at": c["at"], "pbx_id": c["id"], "seen": False}
               for c in calls if c.get("id") not in known]
        if not new:
            return []
        with self._lock:
            entries = self._entries + new
            entries.sort(key=moment, reverse=True)
            self._entries = entries[:MAX_ENTRIES]
            added = [e for e in new if any(e is x for x in self._entries)]
        self._save()
        return added

    def unseen(self) -> list[dict]:
        """The missed calls not seen yet (OWED_KINDS), newest first."""
        with self._lock:
            return [dict(e) for e in self._entries if e.get("seen") is False]

    def mark_seen(self, number: str | None = None) -> int:
        """Mark the unseen missed calls seen: those from `number`, or all. Returns how many."""
        with self._lock:
            changed = [e for e in self._entries
                       if e.get("seen") is False and (number is None or e.get("number") == number)]
            for e in changed:
                e["seen"] = True
        if changed:
            self._save()
        return len(changed)

    def last_with(self, number: str) -> dict | None:
        """The newest call with this number, either way, or None."""
        with self._lock:
            found = next((e for e in self._entries if number and e.get("number") == number), None)
            return dict(found) if found else None

    def set_note(self, call_id: str, note: str) -> bool:
        """Keep a note on the call `call_id` (tray/calls.py makes the ids unique across runs); an
        empty note removes it. False when no such call is listed."""
        with self._lock:
            entry = next((e for e in self._entries if e.get("call_id") == call_id), None)
            if entry is None:
                return False
            if note:
                entry["note"] = note
            else:
                entry.pop("note", None)
        self._save()
        return True

    def recent(self, count: int = MAX_ENTRIES) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._entries[:count]]


def moment(entry_or_at) -> dt.datetime:
    """When a recent call came (an entry, or its "at"), as an aware datetime."""
    at = entry_or_at.get("at") if isinstance(entry_or_at, dict) else entry_or_at
    try:
        when = dt.datetime.fromisoformat(str(at))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
