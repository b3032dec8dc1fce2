"""Starting and stopping the app: one instance per user, and a clean exit even mid-call."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.support.app import talker
from tests.support.processes import stop_process, wait_until

pytestmark = pytest.mark.slow


def test_a_second_instance_says_so_and_leaves_the_first_running(kamailio, talker_app):
    app = talker_app(kamailio)
    second = subprocess.run([sys.executable, "-m", "tray"], capture_output=True, text=True,
                            timeout=30, env=app.env)
    assert second.returncode == 0
    assert second.stderr.strip() == "Talker is already running."
    assert app.status()["registration"]["state"] == "registered"


def test_quit_during_a_call_hangs_up_unregisters_and_exits_cleanly(kamailio, peers, talker_app):
    peer = peers(kamailio, "102", options=("--auto-answer", "0"))
    app = talker_app(kamailio)
    assert talker("--callto=102").returncode == 0
    peer.wait_call("connected")
    assert kamailio.registered_contacts("101") == 1

    done = talker("--quit")
    assert done.returncode == 0, done.stderr
    assert app.proc.wait(15) == 0
    assert peer.wait_call("ended")["code"] == 200
    # The un-REGISTER left before the app exited; a busy PBX may take a moment to answer it.
    wait_until(lambda: kamailio.registered_contacts("101") == 0, 10, message="the registration to end")
    stderr = app.stderr()
    assert "Assertion" not in stderr and "Traceback" not in stderr, stderr


def test_sigterm_stops_the_app_cleanly(kamailio, talker_app):
    app = talker_app(kamailio)
    app.proc.send_signal(signal.SIGTERM)
    assert app.proc.wait(15) == 0
    assert "Assertion" not in app.stderr()
    assert talker("--status").returncode == 1  # nobody listens any more


# Started as `python -m tray` is, with a probe that notes, when asyncio is first imported (the
# control channel and the tray need it), whether the SIP engine's thread already runs.
_PROBE = """
import sys, threading
class Probe:
    def find_spec(self, name, path=None, target=None):
        if name == "asyncio":
            sys.meta_path.remove(self)
            with open(sys.argv[1], "w") as f:
                f.write(" ".join(sorted(t.name for t in threading.enumerate())))
        return None
sys.meta_path.insert(0, Probe())
import runpy
runpy.run_module("tray", run_name="__main__", alter_sys=True)
"""


def test_the_phone_starts_registering_before_the_rest_of_the_app_loads(kamailio, tmp_path):
    from tests.support.app import app_env, configure_account

    creds = kamailio.add_employee("101", "Anna Ivanova")
    configure_account(kamailio, "101", creds.password)
    seen = tmp_path / "threads-at-asyncio"
    log = open(tmp_path / "app.stderr", "wb")
    proc = subprocess.Popen([sys.executable, "-c", _PROBE, str(seen)], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, env=app_env(tmp_path))
    try:
        wait_until(lambda: kamailio.registered_contacts("101") == 1, 15, message="the app to register")
    finally:
        talker("--quit", env=app_env(tmp_path))
        stop_process(proc, 15, None)
        log.close()
    assert "sip" in seen.read_text().split(), (tmp_path / "app.stderr").read_text()


@pytest.mark.skipif(sys.platform != "linux", reason="thread names are read from /proc")
def test_the_apps_threads_carry_their_names_in_the_os(kamailio, talker_app):
    # What `top -H`, perf and bench/versus_baresip.py show: which thread spends what.
    app = talker_app(kamailio)
    names = wait_until(lambda: _thread_names(app.proc.pid) >= {"sip", "control", "route"} and _thread_names(app.proc.pid),
                       10, message="the threads named")
    assert {"sip", "control", "route"} <= names


def _thread_names(pid: int) -> set[str]:
    import os

    found = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                found.add(f.read().strip())
        except FileNotFoundError:
            continue
    return found
