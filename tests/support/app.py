"""The real Talker app for a test: configured through its own CLI, started as `python -m tray`
with pystray's dummy backend and the null audio device, talked to over the control channel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import locations
from common.control_client import AppNotRunning, ControlClient, ControlError
from tests.support.pbx import TestPbx
from tests.support.processes import VENV_BIN, stop_process, wait_until

TALKER = str(VENV_BIN / "talker")


def talker(*args: str, stdin: str | None = None, timeout: float = 60, env: dict | None = None
           ) -> subprocess.CompletedProcess:
    """Run the `talker` console script as a user would."""
    return subprocess.run([TALKER, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=env)


def configure_account(pbx: TestPbx, extension: str, password: str, *, display_name: str = "",
                      names: dict[str, str] | None = None) -> None:
    args = ["--configure-account", f"{extension}@{pbx.domain}", "--server", pbx.server]
    if display_name:
        args += ["--display-name", display_name]
    for name, number in (names or {}).items():
        args.append(f"--name={name}={number}")
    done = talker(*args, stdin=password + "\n")
    assert done.returncode == 0, done.stderr


def app_env(workdir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TALKER_LOG_LEVEL", "DEBUG")   # a test's log says everything; bench/ sets ""
    env.update({"PYSTRAY_BACKEND": "dummy", "TALKER_AUDIO_DEVICE": "null",
                "TALKER_AUDIO_RECORD_DIR": str(workdir)})
    env.update(extra)
    return env


def wait_call_event(client: ControlClient, state: str, timeout: float = 10.0) -> dict:
    """The next call the app reports in `state`, on a subscribed control connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = client.next_event(deadline - time.monotonic())
        if ev and ev.get("event") == "call" and ev["call"]["state"] == state:
            return ev["call"]
    raise AssertionError(f"the app reported no '{state}' call within {timeout} s")


class App:
    def __init__(self, workdir: Path, *, play: Path | None = None, extra_env: dict | None = None):
        self.record_dir = workdir / "app-rec"
        self.record_dir.mkdir(parents=True, exist_ok=True)
        extra = dict(extra_env or {})
        if play is not None:
            extra["TALKER_AUDIO_PLAY"] = str(play)
        self.env = app_env(self.record_dir, **extra)
        self.stderr_path = workdir / "app.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "tray"], stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=self._stderr, env=self.env)

    def client(self) -> ControlClient:
        return wait_until(self._try_connect, 15, message="the app's control channel")

    def _try_connect(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"the app exited with {self.proc.returncode}: {self.stderr()}")
        try:
            return ControlClient.connect(client="test")
        except AppNotRunning:
            return None

    def status(self) -> dict:
        with self.client() as c:
            return c.request("status")

    def wait_registered(self, timeout: float = 15) -> dict:
        return wait_until(lambda: self._registered_status(), timeout, 0.1, "the app to register")

    def _registered_status(self):
        try:
            status = self.status()
        except ControlError:
            return None
        return status if status["registration"]["state"] == "registered" else None

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def notifications(self) -> list[str]:
        """What the app has shown as notifications (its log keeps each one), oldest first."""
        try:
            text = (locations.state_dir() / "talker.log").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        marker = " notification: "
        return [line.split(marker, 1)[1] for line in text.splitlines() if marker in line]

    def quit(self, timeout: float = 15) -> int:
        sig = None
        if self.proc.poll() is None:
            try:
                with ControlClient.connect(client="test") as c:
                    c.request("quit")
            except ControlError:
                sig = signal.SIGTERM
        stop_process(self.proc, timeout, sig)
        self._stderr.close()
        return self.proc.returncode
