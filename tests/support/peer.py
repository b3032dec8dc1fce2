"""A real phone for a test: a pjsua2 user agent in a process of its own (tray/sip/agent.py),
registered to the test PBX, driven over its stdin/stdout by tray/sip/agent_client.py."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from tests.support.pbx import TestPbx
from tray.sip.agent_client import AgentProcess


class CallEvents:
    """What a test phone reported, kept in `events` under `_lock` (every kind of test phone)."""

    events: list[dict]
    _lock: threading.Lock

    def calls(self, state: str | None = None, *, since: int = 0) -> list[dict]:
        """Call events (in `state`), among the events from index `since` (a `mark()`) on."""
        with self._lock:
            return [e for e in self.events[since:]
                    if e.get("event") == "call" and (state is None or e["state"] == state)]

    def mark(self) -> int:
        with self._lock:
            return len(self.events)


class Peer(CallEvents):
    def __init__(self, pbx: TestPbx, extension: str, password: str, *, workdir: Path,
                 display_name: str = "", options: tuple[str, ...] = (), play: Path | None = None):
        self.extension = extension
        self.record_dir = workdir / f"peer-{extension}-rec"
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = workdir / f"peer-{extension}.log"
        options = ("--record-dir", str(self.record_dir), "--log-level", "INFO", *options)
        if play is not None:
            options += ("--play", str(play))
        self.events: list[dict] = []
        self._queue: queue.Queue[dict] = queue.Queue()
        self._lock = threading.Lock()
        self._stderr = open(self.stderr_path, "wb")
        self.agent = AgentProcess(extension, pbx.domain, pbx.server, password, self._event,
                                  display_name=display_name, options=options, stderr=self._stderr)
        self.proc = self.agent.proc

    def _event(self, ev: dict) -> None:
        with self._lock:
            self.events.append(ev)
        self._queue.put(ev)

    # --- waiting for what a user would notice ------------------------------------------
    def wait_for(self, predicate, timeout: float = 10.0, what: str = "an event") -> dict:
        deadline = time.monotonic() + timeout
        with self._lock:
            for ev in self.events:
                if predicate(ev):
                    return ev
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"peer {self.extension}: no {what} within {timeout} s; "
                                     f"events: {self.events[-8:]}")
            try:
                ev = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(ev):
                return ev

    def wait_registered(self, timeout: float = 10.0) -> dict:
        return self.wait_for(lambda e: e.get("event") == "registration" and e.get("state") == "registered",
                             timeout, "registration")

    def wait_call(self, state: str, timeout: float = 10.0, after: int = 0) -> dict:
        """The first call event in `state`, among the events from index `after` on."""
        def match(e):
            return e.get("event") == "call" and e.get("state") == state
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for ev in self.events[after:]:
                    if match(ev):
                        return ev
            if time.monotonic() > deadline:
                raise AssertionError(f"peer {self.extension}: no call '{state}' within {timeout} s; "
                                     f"events: {self.events[-8:]}")
            time.sleep(0.02)

    def wait_digits(self, count: int, timeout: float = 10.0, after: int = 0) -> str:
        """The first `count` DTMF digits this phone received, among the events from `after` on."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                digits = "".join(e["digit"] for e in self.events[after:] if e.get("event") == "dtmf")
            if len(digits) >= count:
                return digits[:count]
            if time.monotonic() > deadline:
                raise AssertionError(f"peer {self.extension}: {count} DTMF digits not received within "
                                     f"{timeout} s; got {digits!r}")
            time.sleep(0.02)

    # --- driving it ----------------------------------------------------------------------
    def command(self, cmd: str, timeout: float = 10.0, **fields) -> dict:
        start = self.mark()
        self.agent.send(cmd, **fields)
        def match(e):
            return e.get("reply") == cmd
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for ev in self.events[start:]:
                    if match(ev):
                        return ev
            time.sleep(0.01)
        raise AssertionError(f"peer {self.extension}: no reply to {cmd}")

    def recordings(self) -> list[Path]:
        return sorted(self.record_dir.glob("*.wav"))

    def recording(self, timeout: float = 10.0) -> Path:
        """The phone's one call recording, once it is closed. pjmedia's WAV writer writes nothing,
        not even the header, until its buffer fills, and the sizes only when the call's recorder
        goes (the bridge removes it on its clock's next tick): until then the file is no WAV."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.recordings()
            if len(found) == 1 and _closed_wav(found[0]):
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"peer {self.extension}: no closed call recording within {timeout} s: {found}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.agent.stop()
        self._stderr.close()


def _closed_wav(path: Path) -> bool:
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() > 0
    except (EOFError, OSError, wave.Error):
        return False
