"""A user's Secret Service for a test or a benchmark: gnome-keyring on a private D-Bus session
bus, the OS keyring a Linux desktop gives the app (instead of the file the test machines keep
secrets in)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.processes import start_session_bus, stop_process, wait_until

AVAILABLE = bool(shutil.which("gnome-keyring-daemon") and shutil.which("secret-tool") and shutil.which("dbus-daemon"))
UNLOCK_PASSWORD = "login-password-of-the-test-user"


class SecretService:
    """gnome-keyring's secrets component on a bus of its own (`address`; whoever should use it
    puts it in DBUS_SESSION_BUS_ADDRESS). `unlocked`: with the user's login keyring unlocked, as a
    desktop session has it; otherwise with no login keyring at all, which gnome-keyring cannot
    create without a display for its prompter, so every store ends in "Prompt dismissed". The
    unlocked one is ready when this returns; the caller waits for the other to answer."""

    def __init__(self, log_path: Path, *, unlocked: bool = True):
        self._log = open(log_path, "wb")
        self.log_path = log_path
        self._bus, self.address = start_session_bus(self._log)
        self.env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)
        command = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
        self._daemon = subprocess.Popen(command + ["--unlock"] if unlocked else command, env=self.env,
                                        stdin=subprocess.PIPE if unlocked else subprocess.DEVNULL,
                                        stdout=self._log, stderr=self._log)
        try:
            if unlocked:
                self._daemon.stdin.write(UNLOCK_PASSWORD.encode())
                self._daemon.stdin.close()
                wait_until(lambda: self.lookup("probe") is not None or not self.running(), 15, 0.1,
                           "the Secret Service on the bus")
                self.check_running()
        except BaseException:
            self.stop()
            raise

    def running(self) -> bool:
        return self._daemon.poll() is None

    def check_running(self) -> None:
        assert self.running(), self.log_path.read_text(errors="replace")

    def lookup(self, key: str) -> str | None:
        """What the service holds for Talker under `key` ("" if nothing), or None while it is not
        up yet (asked through libsecret's secret-tool, not the app's way in)."""
        done = subprocess.run(["secret-tool", "lookup", "service", "talker", "username", key],
                              capture_output=True, text=True, timeout=10, env=self.env)
        if done.returncode != 0 and done.stderr.strip():
            return None
        return done.stdout

    def stop(self) -> None:
        for proc in (self._daemon, self._bus):
            stop_process(proc)
        self._log.close()
