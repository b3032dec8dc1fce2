"""The control channel where another local user got there first (issue 11, finding 4).

Without XDG_RUNTIME_DIR the channel used to live in /tmp/talker-<uid>, which any user can
create before us and listen in. Here another user ("nobody", as root can make a process) owns
the folder or the listening socket, and `talker --callto`, the native host and the app must
refuse it, say why in one sentence, and never hand it a number. Real processes, real sockets.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from common import locations
from tests.support.app import App, app_env, talker
from tests.integration.test_native_host_process import HostProcess

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")]

NOBODY = pwd.getpwnam("nobody")
# The venv's interpreter lives under /root, which nobody cannot enter; the listener is stdlib only.
SYSTEM_PYTHON = "/usr/bin/python3"

# Another user's process listening on a Unix socket: it reports each connection and every byte
# it was sent, and never answers.
LISTENER = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    data = b""
    try:
        while chunk := c.recv(65536):
            data += chunk
    except OSError:
        pass
    print("connection", repr(data), flush=True)
    c.close()
"""


class ForeignListener:
    """`nobody` listening on `path` (whose folder nobody must be able to write)."""

    def __init__(self, path: Path):
        self.path = path
        self.proc = subprocess.Popen([SYSTEM_PYTHON, "-I", "-c", LISTENER, str(path)], user=NOBODY.pw_uid,
                                     group=NOBODY.pw_gid, extra_groups=[], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line == "listening\n", (line, self.proc.stderr.read() if self.proc.poll() is not None else "")

    def received(self) -> list[str]:
        """What each connection sent, once the listener is stopped."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        return [line.removeprefix("connection ") for line in out.splitlines() if line.startswith("connection")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


@pytest.fixture
def world_readable_home(monkeypatch):
    """A HOME that `nobody` may traverse (pytest's tmp_path is root-only), and no per-login
    runtime directory: the fallback is what is under test."""
    home = Path(tempfile.mkdtemp(prefix="talker-owner-"))
    os.chmod(home, 0o755)
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _fallback_socket() -> Path:
    """Where the code under test puts the control socket in this environment."""
    out = subprocess.run([sys.executable, "-c", "from common import locations; print(locations.control_socket_path())"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


@pytest.fixture
def taken_fallback(world_readable_home):
    """The fallback folder, made first by another user, with their process listening in it."""
    sock = _fallback_socket()
    folder = sock.parent
    created = not folder.exists()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chown(folder, NOBODY.pw_uid, NOBODY.pw_gid)
    listener = ForeignListener(sock)
    try:
        yield listener
    finally:
        listener.stop()
        if created:
            shutil.rmtree(folder, ignore_errors=True)


def _one_sentence(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_without_a_runtime_directory_the_channel_is_in_the_users_own_folder(world_readable_home):
    sock = _fallback_socket()
    # Only a folder inside the user's own HOME is one no other user can create first.
    assert sock.is_relative_to(world_readable_home), sock


def test_talker_callto_refuses_a_fallback_folder_another_user_created_first(taken_fallback):
    done = talker("--callto=102", timeout=60)
    assert done.returncode == 1, (done.returncode, done.stderr)
    sentence = _one_sentence(done.stderr)
    assert sentence == f"talker: “{taken_fallback.path.parent}” belongs to another user: Talker will not use it."
    assert taken_fallback.received() == [], "a number went to another user's socket"
    # And the refusal did not start an app that would take the place over.
    assert os.stat(taken_fallback.path.parent).st_uid == NOBODY.pw_uid


def test_the_native_host_answers_unsafe_channel_and_keeps_running(taken_fallback):
    host = HostProcess()
    try:
        for rid in ("1", "2"):
            host.send({"id": rid, "action": "call", "target": "102"})
            reply = host.receive()
            assert reply["id"] == rid and reply["ok"] is False, reply
            assert reply["error"]["code"] == "unsafe_channel"
            assert "belongs to another user" in reply["error"]["message"]
            assert host.proc.poll() is None, "the host exited"
    finally:
        host.kill()
    assert taken_fallback.received() == [], "the host relayed to another user's socket"


def test_a_socket_swapped_for_another_users_listener_gets_nothing(tmp_path):
    """The folder and the socket file look like ours, but the process listening is not (a
    swap between the client's checks and its connect): the peer's uid gives it away."""
    base = Path(tempfile.mkdtemp(prefix="talker-swap-"))
    try:
        os.chmod(base, 0o755)
        theirs = base / "theirs"
        theirs.mkdir()
        os.chown(theirs, NOBODY.pw_uid, NOBODY.pw_gid)
        listener = ForeignListener(theirs / "s")
        try:
            ours = Path(locations.control_socket_path())
            ours.parent.mkdir(mode=0o700, parents=True)
            os.rename(theirs / "s", ours)
            os.chown(ours, os.getuid(), os.getgid())
            done = talker("--callto=102", timeout=60)
            assert done.returncode == 1, (done.returncode, done.stderr)
            sentence = _one_sentence(done.stderr)
            assert sentence == f"talker: “{ours}” belongs to another user: Talker will not use it."
            assert all(data == "b''" for data in listener.received()), "the number reached another user's process"
        finally:
            listener.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("owner, mode, reason", [
    ("nobody", 0o700, "belongs to another user"),
    ("us", 0o777, "is open to other users"),
])
def test_the_app_refuses_a_runtime_folder_that_is_not_ours_alone_and_leaves_it_as_it_was(tmp_path, owner, mode,
                                                                                         reason):
    run = Path(locations.control_socket_path()).parent
    run.mkdir(mode=0o700)
    os.chmod(run, mode)
    if owner == "nobody":
        os.chown(run, NOBODY.pw_uid, NOBODY.pw_gid)
    try:
        done = talker(timeout=30, env=app_env(tmp_path))
    except subprocess.TimeoutExpired:
        pytest.fail("the app started in a folder that is not the user's alone")
    assert done.returncode == 1, (done.returncode, done.stderr)
    sentence = _one_sentence(done.stderr)
    assert sentence == f"talker: Talker could not be started: “{run}” {reason}: Talker will not use it."
    st = os.stat(run)
    assert (st.st_uid, st.st_mode & 0o777) == ((NOBODY.pw_uid if owner == "nobody" else os.getuid()), mode)
    assert not (run / locations.CONTROL_SOCKET).exists()


@pytest.mark.parametrize("depth", [0, 120], ids=["short-home", "home-longer-than-sun-path"])
def test_the_app_and_its_clients_meet_in_the_fallback_folder_however_long_home_is(tmp_path, monkeypatch, depth):
    # Not under tmp_path: a pytest-xdist worker's folder in it makes even the short HOME too
    # long for sun_path.
    base = Path(tempfile.mkdtemp(prefix="talker-home-"))
    home = base / ("h" * depth if depth else "home")
    home.mkdir(mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    expected = home / ".cache" / "talker" / "run" / locations.CONTROL_SOCKET
    assert (len(os.fsencode(str(expected))) > 108) == bool(depth)
    app = App(tmp_path)
    try:
        app.client().close()
        assert expected.is_socket()
        assert os.stat(expected.parent).st_mode & 0o777 == 0o700
        done = talker("--status")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["registration"]["state"] == "offline"
        # The dial path reached the app too: it is the app that says there is no account.
        done = talker("--callto=102")
        assert done.returncode == 1 and "You are not logged in" in done.stderr, done.stderr
    finally:
        app.quit()
        shutil.rmtree(base, ignore_errors=True)
