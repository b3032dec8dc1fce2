"""The real host process (`python -m native_host`) between a test playing the browser on its
stdin/stdout and a real control server (tray/control_server.py) with a stub app behind it."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import time

import pytest

from common import locations
from tray.control_server import ControlServer, RequestFailed

STATUS = {"registration": {"state": "registered", "account": "101@pbx.local", "reason": None, "retry_in_s": None},
          "calls": []}


class StubApp:
    """The app's control channel with canned answers; records what it was asked."""

    def __init__(self, transport: str | None = None):
        self.requests: list[tuple[str, dict]] = []
        self.server = ControlServer(self.handle, transport=transport, run_dir=locations.runtime_dir())

    async def handle(self, conn, message: dict) -> dict:
        self.requests.append((conn.client, message))
        action = message["action"]
        if action == "subscribe":
            conn.subscribed = True
            return STATUS
        if action == "status":
            return STATUS
        if action == "call":
            if message["target"] == "fail":
                raise RequestFailed("invalid_number", "“fail” is not a phone number.")
            return {"call": {"call_id": "c1", "direction": "out", "state": "calling", "number": message["target"]}}
        raise RequestFailed("pbx_unavailable", "Not logged in to a Talker PBX.")

    def __enter__(self) -> StubApp:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()


class HostProcess:
    """The browser's view of the host: frames in, frames out."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "native_host", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._buffer = b""

    def send(self, message: dict | bytes) -> None:
        payload = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.write(struct.pack("=I", len(payload)) + payload)

    def write(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def receive(self, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            if len(self._buffer) >= 4:
                (n,) = struct.unpack("=I", self._buffer[:4])
                if len(self._buffer) >= 4 + n:
                    payload, self._buffer = self._buffer[4:4 + n], self._buffer[4 + n:]
                    return json.loads(payload)
            if time.monotonic() > deadline:
                raise AssertionError(f"no message from the host within {timeout} s")
            chunk = self._read_some(deadline - time.monotonic())
            if not chunk:
                raise AssertionError(f"the host ended its output; stderr: {self.stderr()}")
            self._buffer += chunk

    def _read_some(self, timeout: float) -> bytes:
        result: list[bytes] = []
        t = threading.Thread(target=lambda: result.append(os.read(self.proc.stdout.fileno(), 65536)), daemon=True)
        t.start()
        t.join(max(timeout, 0.01))
        if not result:
            raise AssertionError("timed out reading from the host")
        return result[0]

    def close_stdin(self) -> None:
        self.proc.stdin.close()

    def wait(self, timeout: float = 5.0) -> int:
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read().decode(errors="replace")

    def rest_of_stdout(self) -> bytes:
        return self._buffer + self.proc.stdout.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def host():
    started: list[HostProcess] = []

    def start(*args: str) -> HostProcess:
        h = HostProcess(*args)
        started.append(h)
        return h

    try:
        yield start
    finally:
        for h in started:
            h.kill()


def test_a_request_is_relayed_and_the_app_sees_a_native_host_client(host):
    with StubApp() as app:
        h = host()
        h.send({"id": "1", "action": "status"})
        assert h.receive() == {"id": "1", "ok": True, "result": STATUS}
        h.send({"id": "2", "action": "call", "target": "+7 495 123-45-67"})
        reply = h.receive()
        assert reply["id"] == "2" and reply["result"]["call"]["number"] == "+7 495 123-45-67"
        assert [(client, m["action"]) for client, m in app.requests] == [("native-host", "status"),
                                                                          ("native-host", "call")]


def test_the_apps_errors_come_back_as_they_are(host):
    with StubApp():
        h = host()
        h.send({"id": "1", "action": "call", "target": "fail"})
        assert h.receive()["error"] == {"code": "invalid_number", "message": "“fail” is not a phone number."}


def test_events_after_subscribe_reach_the_browser(host):
    with StubApp() as app:
        h = host()
        h.send({"id": "s", "action": "subscribe"})
        assert h.receive()["id"] == "s"
        event = {"event": "registration", "registration": {"state": "failed", "account": "101@pbx.local",
                                                            "reason": "The PBX does not answer.", "retry_in_s": 4}}
        app.server.broadcast(event)
        assert h.receive() == event


def test_with_no_app_the_host_answers_and_stays_then_finds_the_app_once_it_runs(host):
    h = host()
    h.send({"id": "1", "action": "call", "target": "102"})
    assert h.receive() == {"id": "1", "ok": False,
                           "error": {"code": "app_not_running", "message": "Talker is not running."}}
    assert h.proc.poll() is None
    with StubApp():
        h.send({"id": "2", "action": "status"})
        assert h.receive()["ok"] is True


def test_the_host_exits_when_the_app_goes_away(host):
    app = StubApp().__enter__()
    try:
        h = host()
        h.send({"id": "1", "action": "status"})
        h.receive()
    finally:
        app.__exit__()
    assert h.wait() == 0


def test_the_host_exits_when_stdin_closes(host):
    with StubApp():
        h = host()
        h.send({"id": "1", "action": "status"})
        h.receive()
        started = time.monotonic()
        h.close_stdin()
        assert h.wait() == 0
        assert time.monotonic() - started < 2


def test_over_loopback_tcp_the_host_proves_itself_with_the_secret(host, monkeypatch):
    monkeypatch.setenv("TALKER_CONTROL_TRANSPORT", "tcp")
    with StubApp(transport="tcp"):
        h = host()
        h.send({"id": "1", "action": "status"})
        assert h.receive()["ok"] is True


def test_bad_frames_get_errors_and_stdout_stays_framed(host):
    with StubApp():
        h = host()
        h.send(b"\xff\xfe")
        h.send(b"not json")
        h.send(b"[1]")
        h.write(struct.pack("=I", 2_000_000) + b"x" * 2_000_000)  # over the 1 MB limit
        h.send({"id": "1", "action": "quit"})
        h.send({"id": "2", "action": "status"})
        replies = [h.receive() for _ in range(6)]
        assert [r["id"] for r in replies] == [None, None, None, None, "1", "2"]
        assert [r.get("error", {}).get("code") for r in replies] == ["invalid_message"] * 4 + ["unknown_action", None]
        h.write(struct.pack("=I", 100) + b"{")  # cut off by the end of input
        h.close_stdin()
        assert h.wait() == 0
        rest = h.rest_of_stdout()
        (n,) = struct.unpack("=I", rest[:4])
        assert len(rest) == 4 + n and json.loads(rest[4:])["error"]["code"] == "invalid_message"


def test_a_caller_that_is_not_our_extension_is_refused(host):
    h = host("chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/")
    assert h.wait() == 1
    assert h.rest_of_stdout() == b""


def test_our_extension_as_the_caller_is_served(host):
    from common import browser_bridge

    h = host(browser_bridge.allowed_origins()[0])
    h.send({"id": "1", "action": "status"})
    assert h.receive()["error"]["code"] == "app_not_running"


def test_a_stray_print_cannot_reach_the_browser():
    code = ("import os\nfrom native_host.main import _take_stdout\nfd = _take_stdout()\n"
            "print('stray'); os.write(1, b'stray too')\nos.write(fd, b'frames only')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert done.stdout == b"frames only"
    assert b"stray" in done.stderr
