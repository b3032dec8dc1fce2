"""`talker-pbx run` and `talker-pbx demo` stopped the ways a service manager, a terminal or a crash
stop them: no Kamailio process of the PBX is left behind and its SIP port is free again; and a
Kamailio that crashes is replaced by one new Kamailio, never joined by a second group on its port.

Kamailio's processes are found the way an administrator would look for them: in /proc, by the
PBX's own config file on their command line, zombies excluded (they hold no socket, and PID 1 of
some containers never reaps them)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from pbx.kamailio.supervisor import sip_ping
from tests.support.processes import VENV_BIN, free_port, port_is_free, wait_until

pytestmark = pytest.mark.skipif(shutil.which("kamailio") is None,
                                reason="Kamailio is not installed (scripts/test installs it)")

STOP_SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL]
GONE_WITHIN_S = 30  # generous: two cores shared with other test runs


def live_processes_with_arg(arg: str) -> dict[int, tuple[int, int]]:
    """pid → (ppid, process group) of every live process with `arg` among its arguments."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if arg.encode() in argv and fields[0] not in (b"Z", b"X"):
            found[int(name)] = (int(fields[1]), int(fields[2]))
    return found


class PbxCommand:
    """`talker-pbx run` (or `demo`) in a process of its own, on its own data directory and ports."""

    def __init__(self, workdir: Path, command: str = "run"):
        self.data_dir = workdir / "pbx"
        self.sip_port = free_port()
        self.api_port = free_port()
        self.config = self.data_dir / "run" / "kamailio.cfg"
        self.server = f"127.0.0.1:{self.sip_port}"  # what the demo's phones register at
        self.log_path = workdir / f"talker-pbx-{command}.log"
        talker_pbx = [str(VENV_BIN / "talker-pbx"), "--data-dir", str(self.data_dir)]
        if command == "run":  # demo creates its data directory itself
            subprocess.run([*talker_pbx, "init"], check=True, capture_output=True, timeout=60)
        args = [command, "--sip-port", str(self.sip_port), "--api-port", str(self.api_port), "--children", "2"]
        if command == "demo":
            args.append("--no-app")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([*talker_pbx, *args], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        ready = "Ctrl-C stops the demo" if command == "demo" else "Ctrl-C stops it"
        try:
            wait_until(lambda: self.proc.poll() is not None or ready in self.log(), 90,
                       message=f"talker-pbx {command} to start")
            assert self.proc.poll() is None, self.log()
            assert httpx.get(f"http://127.0.0.1:{self.api_port}/api/v1/health", timeout=10).status_code == 200
            assert sip_ping("127.0.0.1", self.sip_port, timeout=2), self.log()
        except BaseException:
            self.close()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kamailio(self) -> dict[int, tuple[int, int]]:
        return live_processes_with_arg(str(self.config))

    def groups(self) -> set[int]:
        return {pgid for _, pgid in self.kamailio().values()}

    def close(self) -> None:
        """Whatever the outcome, leave nothing running on a machine other tests share."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pgid in self.groups():
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in live_processes_with_arg(self.server):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def assert_all_gone(pbx: PbxCommand, how: str) -> None:
    wait_until(lambda: not pbx.kamailio(), GONE_WITHIN_S, interval=0.1,
               message=f"every Kamailio process to end after {how}")
    # A process loses its command line (what pbx.kamailio() looks for) a moment before the
    # kernel closes its sockets, as it exits: so the port is waited for too.
    wait_until(lambda: port_is_free(pbx.sip_port, tcp=False), 5, interval=0.05,
               message=f"the SIP port to be free after {how}")
    assert not sip_ping("127.0.0.1", pbx.sip_port, timeout=0.5), f"SIP still answered after {how}"


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_run_leaves_no_kamailio_behind(tmp_path: Path, sig: signal.Signals):
    pbx = PbxCommand(tmp_path)
    try:
        assert len(pbx.groups()) == 1 and len(pbx.kamailio()) >= 3, pbx.kamailio()  # main + workers
        os.kill(pbx.proc.pid, sig)
        code = pbx.proc.wait(GONE_WITHIN_S)
        assert_all_gone(pbx, f"{sig.name} to talker-pbx run")
        if sig != signal.SIGKILL:
            # It ends by the signal it got, after its cleanup: what a service manager calls a clean stop.
            assert code == -sig, pbx.log()
    finally:
        pbx.close()


def test_crashed_kamailio_is_replaced_by_one_group(tmp_path: Path):
    pbx = PbxCommand(tmp_path)
    try:
        (old_group,) = pbx.groups()
        (main,) = [pid for pid, (ppid, _) in pbx.kamailio().items() if ppid == pbx.proc.pid]
        os.kill(main, signal.SIGKILL)

        # Watch every moment of the restart: at no time may two groups of this PBX's Kamailio live.
        overlaps: list[set[int]] = []
        replaced_at = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            groups = pbx.groups()
            if len(groups) > 1:
                overlaps.append(groups)
            if replaced_at is None and groups - {old_group} and sip_ping("127.0.0.1", pbx.sip_port, timeout=0.5):
                replaced_at = time.monotonic()
            if replaced_at is not None and time.monotonic() - replaced_at > 3:
                break
            time.sleep(0.02)
        assert not overlaps, f"two Kamailio process groups at once: {overlaps[:3]}"
        assert replaced_at is not None, f"Kamailio was not restarted: {pbx.log()}"
        (new_group,) = pbx.groups()
        assert new_group != old_group
        assert sip_ping("127.0.0.1", pbx.sip_port, timeout=2)
        assert pbx.proc.poll() is None

        # The replacement was started by the supervisor's thread: it too ends with the PBX, even
        # when the PBX gets no chance to clean up.
        pbx.proc.kill()
        pbx.proc.wait()
        assert_all_gone(pbx, "SIGKILL to talker-pbx run after a Kamailio restart")
    finally:
        pbx.close()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name)
def test_demo_leaves_no_kamailio_behind(tmp_path: Path, sig: signal.Signals):
    pbx = PbxCommand(tmp_path, "demo")
    try:
        assert len(pbx.groups()) == 1
        assert live_processes_with_arg(pbx.server), "the demo's phones are not running"
        os.kill(pbx.proc.pid, sig)
        pbx.proc.wait(GONE_WITHIN_S)
        assert_all_gone(pbx, f"{sig.name} to talker-pbx demo")
        # The demo's phones (agents started with --server HOST:PORT) go too.
        wait_until(lambda: not live_processes_with_arg(pbx.server), GONE_WITHIN_S, interval=0.1,
                   message="the demo's phones to end")
    finally:
        pbx.close()


def test_the_demo_prints_the_address_of_its_web_cabinet(tmp_path: Path):
    pbx = PbxCommand(tmp_path, "demo")
    try:
        [address] = [line.split("Web cabinet: ", 1)[1].split()[0] for line in pbx.log().splitlines()
                     if "Web cabinet: " in line]
        assert address == f"http://127.0.0.1:{pbx.api_port}/"
        page = httpx.get(address, timeout=10)
        assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    finally:
        pbx.close()


def test_the_demo_without_its_app_prints_what_a_person_needs_to_log_in_from_their_own(tmp_path: Path):
    """Everything comes from the demo's own words: the address, the login and this run's
    communicator password log the app in; "Add number…" then leads to the cabinet's numbers."""
    from tests.support.app import talker
    from tests.support.tray import menu, start_app

    pbx = PbxCommand(tmp_path, "demo")
    app = None
    try:
        said = {}
        for line in pbx.log().splitlines():
            for label in ("PBX address: ", "Login: ", "for this run: "):
                if label in line:
                    said[label] = line.split(label, 1)[1].split()[0]
        assert said.keys() == {"PBX address: ", "Login: ", "for this run: "}, pbx.log()
        done = talker("--login", said["Login: "], "--pbx", said["PBX address: "], stdin=said["for this run: "] + "\n")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Logged in as Anna Ivanova (101)")

        app = start_app()
        wait_until(lambda: app.status()["registration"]["state"] == "registered", 15, 0.05, "registration")
        add = wait_until(lambda: _item_or_none(menu(app), "Outgoing number", "Add number…"), 15, 0.1,
                         "“Add number…” in the menu")
        assert add.enabled
        shown = subprocess.run([str(VENV_BIN / "talker-pbx"), "--data-dir", str(pbx.data_dir), "settings", "show"],
                               capture_output=True, text=True, timeout=60)
        assert f"buy_numbers_url=http://127.0.0.1:{pbx.api_port}/#/numbers" in shown.stdout.splitlines()
    finally:
        if app is not None:
            app.shutdown()
        pbx.close()


def _item_or_none(menu, *path):
    from tests.support.tray import find

    try:
        return find(menu, *path)
    except AssertionError:
        return None
