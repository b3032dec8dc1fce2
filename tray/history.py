"""Recent calls (in, out, missed, declined, answered elsewhere), kept in the state directory so
they survive a restart."""

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


def kind(entry: dict) -> str:
    """How a list of recent calls shows an entry: "out", "in" (answered here), or one of
    INCOMING_KINDS."""
    if entry.get("direction") != "in":
        return "out"
    outcome = entry.get("outcome")
    if outcome is None:
        # Written before outcomes were kept: only "missed" was told apart.
        return "missed" if entry.get("missed") else "in"
    return outcome if outcome in INCOMING_KINDS else "in"


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
