"""The test side of tray/windows/testhook.py: drive a window process line by line."""

from __future__ import annotations

import glob
import json
import os
import socket
import time
from pathlib import Path

from tests.support.processes import wait_until


class WindowDriver:
    def __init__(self, path: str):
        self.path = path
        self.pid = int(Path(path).stem.rsplit("-", 1)[1])
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(20)
        self._sock.connect(path)
        self._file = self._sock.makefile("rwb")

    @classmethod
    def wait_for(cls, hook_dir: Path, window: str, *, known: set[str] = frozenset(), timeout: float = 20
                 ) -> WindowDriver:
        """The next window of that kind to appear (one whose socket is not in `known`)."""
        def fresh():
            for path in glob.glob(str(hook_dir / f"{window}-*.sock")):
                if path not in known and _alive(path):
                    return path
            return None
        return cls(wait_until(fresh, timeout, 0.1, f"the {window} window"))

    def do(self, op: str, **fields) -> object:
        self._file.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        self._file.flush()
        line = self._file.readline()
        if not line:
            raise ConnectionError("the window went away")
        reply = json.loads(line)
        if not reply["ok"]:
            raise AssertionError(f"the window refused {op} {fields}: {reply['error']}")
        return reply["result"]

    def set(self, name: str, value) -> None:
        self.do("set", name=name, value=value)

    def invoke(self, name: str) -> None:
        self.do("invoke", name=name)

    def select(self, name: str, index: int) -> None:
        self.do("select", name=name, index=index)

    def hover(self, name: str, row: int, column: str) -> None:
        self.do("hover", name=name, row=row, column=column)

    def read(self) -> dict:
        return self.do("read")

    def place(self, name: str | None = None) -> dict:
        """Where a named widget (or, without a name, the window) is on the screen."""
        return self.do("place", **({"name": name} if name else {}))

    def settled(self, predicate=lambda state: True, timeout: float = 20) -> dict:
        """The window's state once no request is pending and `predicate` holds."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.read()
            if state["busy"] == 0 and predicate(state):
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"the window did not settle: {state}")
            time.sleep(0.05)

    def text(self, name: str) -> str:
        value = self.read()[name]
        return value["text"] if isinstance(value, dict) else value

    def alive(self) -> bool:
        return _pid_alive(self.pid)

    def close(self) -> None:
        try:
            self.do("close")
        except (OSError, ConnectionError):
            pass
        self._sock.close()


def _alive(path: str) -> bool:
    return _pid_alive(int(Path(path).stem.rsplit("-", 1)[1]))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by the app) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
