"""The other end of tray/sip/agent.py's `--control stdio`: start an agent in a process of its own,
hand each JSON event it prints to a callback (on a reader thread), send it JSON commands, stop it.
The demo's colleague phones (pbx/demo.py) and the tests' phones (tests/support/peer.py) drive
their agents through this one client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

Event = dict[str, Any]


class AgentProcess:
    def __init__(self, user: str, domain: str, server: str, password: str, on_event: Callable[[Event], None], *,
                 display_name: str = "", options: tuple[str, ...] = (),
                 stderr: IO[bytes] | int = subprocess.DEVNULL):
        """`options`: more of the agent's command-line options (--auto-answer, --record-dir, …);
        the password goes in the environment, never on a command line others can read."""
        cmd = [sys.executable, "-m", "tray.sip.agent", "--user", user, "--domain", domain,
               "--server", server, "--control", "stdio", *options]
        if display_name:
            cmd += ["--display-name", display_name]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                     env=dict(os.environ, TALKER_AGENT_PASSWORD=password), text=True, bufsize=1)
        self._on_event = on_event
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, name=f"agent-{user}", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                # Not the agent's protocol (a library printing to stdout): kept visible, not fatal.
                event = {"event": "garbage", "line": line}
            self._on_event(event)

    def send(self, cmd: str, **fields: Any) -> None:
        """One command ({"cmd": ..., fields}); the agent answers it with a {"reply": cmd} event."""
        assert self.proc.stdin is not None
        with self._send_lock:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
            self.proc.stdin.flush()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the agent to quit; kill it if it has not within `timeout` seconds."""
        if self.proc.poll() is None:
            try:
                self.send("quit")
            except OSError:
                pass  # its stdin is already closed: it is on its way out
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
