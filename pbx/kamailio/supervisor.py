"""Run Kamailio in the foreground under talker-pbx, and stop it cleanly."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from pbx.instance import PbxError
from pbx.kamailio.config import ROUTING_CONFIG_ENV, KamailioSettings, write_config

log = logging.getLogger(__name__)

KAMAILIO = os.environ.get("TALKER_KAMAILIO", "kamailio")


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


class KamailioProcess:
    """One Kamailio process tree with a generated config, logging into the run directory."""

    def __init__(self, settings: KamailioSettings, *, shm_mb: int = 64, pkg_mb: int = 8):
        self.settings = settings
        self.shm_mb = shm_mb
        self.pkg_mb = pkg_mb
        self.proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.settings.run_dir / "kamailio.log"

    def start(self, timeout: float = 15.0) -> None:
        if shutil.which(KAMAILIO) is None:
            raise PbxError("Kamailio is not installed: run 'apt-get install kamailio "
                           "kamailio-python3-modules kamailio-sqlite-modules'.")
        s = self.settings
        write_config(s)
        env = dict(os.environ, **{ROUTING_CONFIG_ENV: str(s.routing_config_path)})
        # Kamailio's embedded Python must not pick up the venv's interpreter settings.
        for var in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV"):
            env.pop(var, None)
        cmd = [KAMAILIO, "-f", str(s.config_path), "-DD", "-E", "-Y", str(s.run_dir),
               "-P", str(s.pid_path), "-m", str(self.shm_mb), "-M", str(self.pkg_mb)]
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
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
        """SIGTERM to the main process stops every worker; SIGKILL the group if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("Kamailio did not stop within %.0f s: killing it", timeout)
        self._kill_group()
        self.proc.wait()

    def kill(self) -> None:
        """Die the way a crash would: no cleanup (used to test recovery)."""
        if self.proc is not None:
            self._kill_group()
            self.proc.wait()

    def _kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def supervise(kamailio: KamailioProcess, stop: threading.Event) -> None:
    """Keep Kamailio up until `stop`: restart it, with backoff, whenever it dies."""
    delay = 1.0
    while not stop.is_set():
        if not kamailio.running():
            log.error("Kamailio exited (code %s): %s", kamailio.proc.returncode, kamailio.log_tail(3))
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
