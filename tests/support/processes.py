"""Small helpers for tests that run real processes."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _worker_share(low: int, high: int) -> tuple[int, int]:
    """This pytest-xdist worker's own slice of [low, high): workers pick ports independently,
    and a port another worker's Kamailio is between a stop and a start on looks free."""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    # A worker that replaces a crashed one gets a new number: it takes over a slice mod count.
    index = int(worker[2:]) % count if worker[2:].isdigit() else 0
    size = (high - low) // count
    return low + index * size, low + (index + 1) * size


def port_is_free(port: int, *, tcp: bool = True) -> bool:
    """Whether nothing holds this loopback port for UDP (and TCP). No SO_REUSEADDR: the bind
    fails while any socket, a server's that is still closing included, holds the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
        try:
            u.bind(("127.0.0.1", port))
            if tcp:
                t.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(span: int = 1) -> int:
    """A loopback port free for UDP and TCP, below the kernel's ephemeral range: a server that a
    test stops and starts again (Kamailio) finds its port still free, because no socket that
    binds port 0 (an app, a phone, a client) can be given it meanwhile; and from this xdist
    worker's own slice, so no other worker picks it either. Never the same twice in one run.
    `span`: the first of that many free ports in a row (sipp's media takes four from its -mp:
    audio, video and their RTCP; a run once had its video port land on its own SIP port)."""
    low, high = _worker_share(20000, max(20001, _ephemeral_low()))
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(low, max(low + 1, high - span + 1))
        ports = range(port, port + span)
        if any(p in _handed_out or not port_is_free(p) for p in ports):
            continue
        _handed_out.update(ports)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def stop_process(proc: subprocess.Popen, timeout: float = 5.0, sig: int | None = signal.SIGTERM) -> int:
    """End a process the polite way (SIGTERM unless told otherwise; None: it has been asked
    already, by a command of its own), and kill it if it has not gone within `timeout` s:
    whatever happens, it is gone and reaped. Its exit status."""
    if proc.poll() is None:
        if sig is not None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_until(predicate, timeout: float, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def start_session_bus(log) -> tuple[subprocess.Popen, str]:
    """A private D-Bus session bus (the caller stops the process): it and its address."""
    proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    address = proc.stdout.readline().strip()
    if not address:
        proc.kill()
        raise RuntimeError("dbus-daemon did not print its address")
    return proc, address


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def modules_loaded(code: str, among: tuple[str, ...]) -> list[str]:
    """Which of the modules `among` a fresh interpreter (this venv, the test's environment, the
    checkout as its working directory) has loaded once it has run `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {among!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()
