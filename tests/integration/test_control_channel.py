"""The control channel is the app's only door: only this user's processes get in, never a web
page. Checked against the running app on both transports."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from common import locations
from common.control_client import ControlClient, ControlError
from tests.support.app import App

pytestmark = pytest.mark.slow


@pytest.fixture
def idle_app(tmp_path):
    """The app with no account: the channel is what is under test here."""
    app = App(tmp_path)
    app.client().close()
    yield app
    app.quit()


@pytest.fixture
def tcp_app(tmp_path, monkeypatch):
    """The app on the loopback-port transport (the Windows design), run here on Linux."""
    monkeypatch.setenv(locations.CONTROL_TRANSPORT_ENV, "tcp")
    app = App(tmp_path)
    app.client().close()
    yield app
    app.quit()


def _raw(transport: str) -> socket.socket:
    run = locations.runtime_dir()
    if transport == "unix":
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(run / locations.CONTROL_SOCKET))
    else:
        info = json.loads((run / locations.CONTROL_PORT_FILE).read_text())
        s = socket.create_connection(("127.0.0.1", info["port"]))
    s.settimeout(5)
    return s


def _read_all(s: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data


def test_socket_lives_in_a_user_only_directory(idle_app):
    run = locations.runtime_dir()
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert stat.S_IMODE((run / locations.CONTROL_SOCKET).stat().st_mode) & 0o077 == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_user_cannot_connect_even_through_an_opened_directory(tmp_path, monkeypatch):
    # A runtime directory whose parents "nobody" may traverse: pytest's tmp_path is root-only.
    base = Path(tempfile.mkdtemp(prefix="talker-peercred-"))
    os.chmod(base, 0o755)
    monkeypatch.setenv("TALKER_RUNTIME_DIR", str(base / "run"))
    app = App(tmp_path)
    try:
        app.client().close()
        run = locations.runtime_dir()
        sock = run / locations.CONTROL_SOCKET
        probe = ("import socket,sys\n"
                 "s=socket.socket(socket.AF_UNIX); s.settimeout(5)\n"
                 "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('refused', e.errno); sys.exit(0)\n"
                 # The app may close the connection before the request is even sent: a broken
                 # pipe, a reset and an empty read all mean it said nothing.
                 "try:\n"
                 " s.sendall(b'{\"id\":\"1\",\"action\":\"hello\",\"client\":\"cli\"}\\n"
                 "{\"id\":\"2\",\"action\":\"status\"}\\n')\n"
                 " data = s.recv(4096)\n"
                 "except (BrokenPipeError, ConnectionResetError):\n data = b''\n"
                 "print('got', repr(data))\n")
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                     sys.executable, "-c", probe, str(sock)]
        # The directory alone keeps others out...
        out = subprocess.run(as_nobody, capture_output=True, text=True, timeout=20)
        assert out.stdout.startswith("refused 13"), out
        # ...and with the directory and the socket opened up, the peer uid check still does.
        os.chmod(run, 0o755)
        os.chmod(sock, 0o777)
        out = subprocess.run(as_nobody, capture_output=True, text=True, timeout=20)
        assert out.stdout.strip() == "got b''", out
        os.chmod(run, 0o700)
        assert app.status()["registration"]["state"] == "offline"
    finally:
        app.quit()
        shutil.rmtree(base, ignore_errors=True)


def test_requests_need_a_known_action_and_valid_fields(idle_app):
    with idle_app.client() as c:
        with pytest.raises(ControlError) as err:
            c.request("dial", target="102")
        assert err.value.code == "unknown_action"
        with pytest.raises(ControlError) as err:
            c.request("call", target="102", headers={"X": "1"})
        assert err.value.code == "invalid_message"
        with pytest.raises(ControlError) as err:
            c.request("call")
        assert err.value.code == "invalid_message"
        # The connection is still good after refused requests.
        assert c.request("status")["registration"]["state"] == "offline"


def test_garbage_and_oversized_messages_get_an_error_and_the_app_keeps_running(idle_app):
    s = _raw("unix")
    s.sendall(b'{"id":"0","action":"hello","client":"test"}\n{not json\n')
    reply = b""
    while reply.count(b"\n") < 2:
        reply += s.recv(4096)
    hello, bad = [json.loads(line) for line in reply.splitlines()]
    assert hello["ok"] is True
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_message"
    # Just over the limit, and no newline: the app must not buffer without end.
    s.sendall(b"{" + b"x" * (1024 * 1024 + 16))
    data = _read_all(s)
    assert b'"invalid_message"' in data
    s.close()
    assert idle_app.status()["registration"]["state"] == "offline"


def test_tcp_transport_demands_the_secret(tcp_app):
    port_file = locations.runtime_dir() / locations.CONTROL_PORT_FILE
    assert stat.S_IMODE(port_file.stat().st_mode) & 0o077 == 0
    s = _raw("tcp")
    s.sendall(b'{"id":"0","action":"hello","client":"cli","secret":"guess"}\n{"id":"1","action":"status"}\n')
    replies = [json.loads(line) for line in _read_all(s).splitlines()]
    s.close()
    assert replies[0]["error"]["code"] == "unauthorized"
    assert all(not r["ok"] for r in replies), "a request got through without the secret"

    s = _raw("tcp")
    s.sendall(b'{"id":"1","action":"status"}\n')
    replies = [json.loads(line) for line in _read_all(s).splitlines()]
    s.close()
    assert [r["error"]["code"] for r in replies] == ["unauthorized"]

    with ControlClient.connect(client="cli") as c:  # reads the secret from the user-only file
        assert c.request("status")["registration"]["state"] == "offline"


@pytest.mark.parametrize("request_bytes", [
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: null\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 40\r\n\r\n{\"id\":\"1\",\"action\":\"call\",\"target\":\"1\"}\n",
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://evil.example\r\n\r\n",
])
def test_tcp_transport_closes_on_anything_a_browser_can_send(tcp_app, request_bytes):
    s = _raw("tcp")
    s.sendall(request_bytes)
    data = _read_all(s)
    s.close()
    assert b"HTTP/" not in data and b'"ok":true' not in data
    assert tcp_app.status()["calls"] == []
