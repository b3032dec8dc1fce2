"""Run Kamailio in the foreground under talker-pbx, and stop it cleanly.

Kamailio's main process forks its workers (`children`, timers, the ctl socket), and a worker
outlives the main process when that one is killed: it keeps its UDP socket and keeps answering,
and Kamailio binds with SO_REUSEADDR, so a new Kamailio on the same port would share the traffic
with the orphans. Hence the rules here: Kamailio runs in a process group of its own, every stop
ends the whole group and waits until no member is left, and a start begins only after that.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from pbx.instance import PRIVATE_FILE, PbxError
from pbx.kamailio.config import ROUTING_CONFIG_ENV, KamailioSettings, write_config

log = logging.getLogger(__name__)

KAMAILIO = os.environ.get("TALKER_KAMAILIO", "kamailio")

# How long the processes of a killed group may take to disappear (SIGKILL is not instant for a
# process in uninterruptible sleep, and a loaded machine schedules the exits late).
GROUP_EXIT_TIMEOUT_S = 10.0

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
except (OSError, AttributeError):
    _prctl = None


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, PRIVATE_FILE)


def sip_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a SIP server answers an OPTIONS to itself on UDP host:port with 200."""
    branch = "z9hG4bK" + secrets.token_hex(8)
    request = (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:9;branch={branch};rport\r\n"
        f"Max-Forwards: 2\r\nTo: <sip:{host}:{port}>\r\n"
        f"From: <sip:probe@{host}>;tag={secrets.token_hex(4)}\r\n"
        f"Call-ID: {secrets.token_hex(8)}@talker-pbx\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(request.encode("ascii"), (host, port))
            data = s.recv(4096)
        except OSError:
            return False
    return data.startswith(b"SIP/2.0 200") and branch.encode() in data


def _die_with_parent(parent_pid: int):
    """A hook run in the forked child before exec: ask the kernel for SIGTERM when the process
    that started Kamailio dies, however it dies (even by SIGKILL, when no `finally` runs).

    Why this and not a pipe: Kamailio reads no pipe of ours, so a pipe would need a watcher
    process of its own, which could die just as the API did. The death signal survives exec and
    goes to Kamailio's main process, and SIGTERM is what makes that process end every worker
    before it exits (the workers themselves do not inherit the setting: the kernel clears it on
    fork). Two limits, both covered elsewhere: the signal follows the *thread* that started
    Kamailio, so start() must be called from a thread that lives as long as Kamailio should
    (the main thread, or the supervisor's); and if Kamailio's main process is killed first,
    its orphaned workers are ended by the next stop() or start()."""
    def hook() -> None:
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent_pid:
            os._exit(1)  # the parent died before the request above was made: nobody to serve
    return hook


def _live_group_members(pgid: int) -> list[int]:
    """The processes of group `pgid` that are not zombies. A zombie holds no socket any more,
    and an orphaned one may stay for good where PID 1 does not reap (as in some containers), so
    killpg(pgid, 0), which counts zombies, is no test of "gone"."""
    try:
        entries = os.listdir("/proc")
    except OSError:  # no procfs: fall back to the signal probe
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # it exited while we looked
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(name))
    return members


def _udp_port_taken(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


class KamailioProcess:
    """One Kamailio process tree with a generated config, logging into the run directory."""

    def __init__(self, settings: KamailioSettings, *, shm_mb: int = 64, pkg_mb: int = 8):
        self.settings = settings
        self.shm_mb = shm_mb
        self.pkg_mb = pkg_mb
        self.proc: subprocess.Popen | None = None
        # True once no process of proc's group is left: its number may then be given to an
        # unrelated group, which must never receive our signals.
        self._group_gone = True

    @property
    def log_path(self) -> Path:
        return self.settings.run_dir / "kamailio.log"

    def start(self, timeout: float = 15.0) -> None:
        """Start Kamailio and return once it answers SIP. Call it from a thread that lives as
        long as Kamailio should: Kamailio gets SIGTERM when that thread ends (see
        _die_with_parent)."""
        if shutil.which(KAMAILIO) is None:
            raise PbxError("Kamailio is not installed: run 'apt-get install kamailio "
                           "kamailio-python3-modules kamailio-sqlite-modules'.")
        s = self.settings
        # A previous run's workers would share the port with the new ones and could answer the
        # readiness ping below in their stead.
        self._end_group()
        if _udp_port_taken(s.listen_address, s.sip_port):
            raise PbxError(f"The SIP port {s.listen_address}:{s.sip_port} is in use by another "
                           f"program: stop it or choose another port (--sip-port).")
        write_config(s)
        env = dict(os.environ, **{ROUTING_CONFIG_ENV: str(s.routing_config_path)})
        # Kamailio's embedded Python must not pick up the venv's interpreter settings.
        for var in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV"):
            env.pop(var, None)
        cmd = [KAMAILIO, "-f", str(s.config_path), "-DD", "-E", "-Y", str(s.run_dir),
               "-P", str(s.pid_path), "-m", str(self.shm_mb), "-M", str(self.pkg_mb)]
        with open(self.log_path, "ab", opener=_private) as logf:
            # A session of its own: the terminal's Ctrl-C reaches talker-pbx alone, which stops
            # Kamailio in order, and the group's id (= Kamailio's pid) names only Kamailio.
            # umask: what Kamailio creates in the run directory (its pid file) is private too.
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         env=env, start_new_session=True, umask=0o077,
                                         preexec_fn=_die_with_parent(os.getpid()))
        self._group_gone = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._end_group()
                raise PbxError(f"Kamailio exited at start (code {self.proc.returncode}): "
                               f"{self.log_tail()}")
            if sip_ping(s.listen_address, s.sip_port, timeout=0.2):
                log.info("Kamailio answers on %s:%d (pid %d)", s.listen_address, s.sip_port, self.proc.pid)
                return
            time.sleep(0.05)
        self.stop()
        raise PbxError(f"Kamailio did not answer on {s.listen_address}:{s.sip_port} within "
                       f"{timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the main process stops every worker; SIGKILL the group if it lingers.
        Returns once no process of the group is left (PbxError if one outlives the bound)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("Kamailio did not stop within %.0f s: killing it", timeout)
        self._end_group()

    def kill(self) -> None:
        """Die the way a crash would: no cleanup (used to test recovery)."""
        self._end_group()

    def _end_group(self) -> None:
        """SIGKILL whatever is left of the group and wait, bounded, until nothing is."""
        if self.proc is None or self._group_gone:
            return
        pgid = self.proc.pid
        deadline = time.monotonic() + GROUP_EXIT_TIMEOUT_S
        while True:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(0.02)
            left = _live_group_members(pgid)
            if not left and self.proc.returncode is not None:
                self._group_gone = True
                return
            if time.monotonic() > deadline:
                raise PbxError(f"Kamailio's processes {', '.join(map(str, left))} did not end "
                               f"within {GROUP_EXIT_TIMEOUT_S:.0f} s after SIGKILL.")
            time.sleep(0.03)


def supervise(kamailio: KamailioProcess, stop: threading.Event) -> None:
    """Keep Kamailio up until `stop`: restart it, with backoff, whenever it dies."""
    delay = 1.0
    while not stop.is_set():
        if not kamailio.running():
            log.error("Kamailio exited (code %s): %s", kamailio.proc.returncode, kamailio.log_tail(3))
            try:
                # At once, not after the backoff: the dead main process's workers still answer.
                kamailio.stop()
            except PbxError as e:
                log.error("%s", e)
            if stop.wait(delay):
                break
            delay = min(delay * 2, 30.0)
            try:
                kamailio.start()
                log.warning("Kamailio restarted")
            except PbxError as e:
                log.error("%s", e)
                continue
        else:
            delay = 1.0
        stop.wait(0.5)


class Supervised:
    """Kamailio started, and restarted whenever it dies, on a thread of its own, until stop();
    stop() returns once none of Kamailio's processes is left."""

    def __init__(self, kamailio: KamailioProcess):
        self.kamailio = kamailio
        self._stop = threading.Event()
        self._thread = threading.Thread(target=supervise, args=(kamailio, self._stop),
                                        name="kamailio-supervisor", daemon=True)

    def start(self) -> None:
        self.kamailio.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        # A restart under way must finish (bounded by start()'s timeout) before the stop below,
        # or it would start a Kamailio nobody stops.
        if self._thread.ident is not None:
            self._thread.join()
        self.kamailio.stop()
