"""sipp (Debian package sip-tester) as a test's trunk gateway or load generator: one process per
scenario of tests/support/sipp_scenarios/, on loopback, with every SIP message it sent and
received written to a file the test can read."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port, stop_process
from tests.support.rawsip import register  # noqa: F401  (sipp cannot register itself)

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SCENARIOS = Path(__file__).with_name("sipp_scenarios")

# Each entry of sipp's -trace_msg file: a line of dashes with the local time, then this.
_MESSAGE_HEAD = re.compile(r"^-+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*\n(UDP|TCP) message (sent|received)",
                           re.MULTILINE)


def available() -> bool:
    return Path(SIPP).exists()


@dataclass(frozen=True)
class SipMessage:
    direction: str  # "sent" | "received"
    text: str
    t: float        # when, by the wall clock (time.time())

    @property
    def first_line(self) -> str:
        return self.text.split("\r\n", 1)[0].split("\n", 1)[0].strip()

    @property
    def method(self) -> str | None:
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        return int(self.first_line.split()[1]) if self.first_line.startswith("SIP/2.0") else None

    def header(self, name: str) -> str | None:
        """The first header of that name (compact forms are not needed: the PBX writes long ones)."""
        wanted = name.lower() + ":"
        for line in self.text.splitlines()[1:]:
            if not line.strip():
                break
            if line.lower().startswith(wanted):
                return line.split(":", 1)[1].strip()
        return None


class Sipp:
    """One sipp run. `remote` is where a UAC scenario sends to; `calls` ends it after that many
    calls (-m); `pause_ms` is the scenario's <pause/> (-d)."""

    def __init__(self, scenario: str, workdir: Path, *, port: int | None = None,
                 remote: str | None = None, service: str | None = None, calls: int = 1,
                 pause_ms: int = 1000, extra: tuple[str, ...] = (), trace: bool = True):
        self.scenario = SCENARIOS / scenario
        self.port = port or free_port()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        stem = f"sipp-{self.scenario.stem}-{self.port}"
        self.message_file = self.workdir / f"{stem}-messages.log"
        self.log_path = self.workdir / f"{stem}.log"
        cmd = [SIPP, "-sf", str(self.scenario), "-i", "127.0.0.1", "-p", str(self.port),
               "-m", str(calls), "-d", str(pause_ms), "-nostdin",
               # sipp opens its media sockets even when unused (audio and video, each with RTCP:
               # four ports from -mp), never on its fixed default ports.
               "-mp", str(free_port(span=4))]
        if trace:
            cmd += ["-trace_msg", "-message_file", str(self.message_file)]
        if service:
            cmd += ["-s", service]
        cmd += list(extra)
        if remote:
            cmd.append(remote)
        self.cmd = cmd
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Sipp:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=self.workdir)
        time.sleep(0.1)  # sipp binds its socket right after exec
        # A scenario may already be over (exit 0: every call succeeded, 1: one failed - a
        # refused call can take less than this wait); anything else is sipp failing to start.
        if self.proc.poll() not in (None, 0, 1):
            raise RuntimeError(f"sipp exited at start ({self.proc.returncode}): {self.output()}")
        return self

    def wait(self, timeout: float = 30.0) -> int:
        """sipp's exit code: 0 when every call followed the scenario."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"sipp {self.scenario.name} did not finish within {timeout} s; "
                                 f"messages: {[m.first_line for m in self.messages()]}") from None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self._log.close()

    def __enter__(self) -> Sipp:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def messages(self) -> list[SipMessage]:
        """What sipp sent and received, in order (sipp -trace_msg)."""
        try:
            text = self.message_file.read_text(errors="replace")
        except OSError:
            return []
        heads = list(_MESSAGE_HEAD.finditer(text))
        out = []
        for i, head in enumerate(heads):
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            body = text[head.end():end].split("\n", 1)[1] if "\n" in text[head.end():end] else ""
            at = dt.datetime.strptime(head.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            out.append(SipMessage(head.group(3), body.strip("\n"), at))
        return out

    def received(self, method: str) -> list[SipMessage]:
        return [m for m in self.messages() if m.direction == "received" and m.method == method]

    def wait_received(self, method: str, timeout: float = 10.0) -> SipMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.received(method)
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"sipp received no {method} within {timeout} s; "
                             f"messages: {[m.first_line for m in self.messages()]}")
