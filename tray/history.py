"""Recent calls (in, out, missed, declined, answered elsewhere; for a call out, whether it was
answered, not answered, declined by the callee or failed, and why), kept in the state directory
so they survive a restart."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from common import locations

MAX_ENTRIES = 50
# What an incoming call can be listed as besides "in" (answered here): tray/sip/engine.py's
# CallOutcome values that a person tells apart in the list.
INCOMING_KINDS = ("missed", "declined", "answered_elsewhere")
# And an outgoing one besides "out" (answered): nobody answered before the caller hung up (or
# the PBX's 487), the callee declined (603), or it failed (any other final reply; the entry's
# SIP code and reason say why, tray/failures.py words it).
OUTGOING_KINDS = ("out_unanswered", "out_declined", "out_failed")


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
        with self._lock:
            self._entries.insert(0, entry)
            del self._entries[MAX_ENTRIES:]
            data = json.dumps(self._entries, ensure_ascii=False)
        locations.ensure_private_dir(self.path.parent)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        tmp.replace(self.path)

    def recent(self, count: int = MAX_ENTRIES) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._entries[:count]]
