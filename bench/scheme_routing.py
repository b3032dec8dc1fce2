"""Benchmark: calls per second through the receive-scheme routing, against a fixed route, in
one Kamailio; and ring-plan computations per second.

One Kamailio (the generated config, 4 workers, -m 1024) on loopback, a sipp caller that answers
the digest challenge of every call and hangs up 100 ms after the answer (sooner, its ACK and BYE
can overtake each other in Kamailio's workers under load and the device fails the call), and a
sipp device that answers 200 at once (no 180, see docs/platform-notes.md). Three routes:

* fixed   - the caller dials a SIP account's own username: a plain usrloc lookup, no plan;
* scheme  - the caller dials an extension: the scheme row and the calendar are read, the plan
            computed (or taken from the worker's per-minute cache), its step relayed directly;
* leg     - the extension of an employee whose only device is an external number: the step
            goes through a per-device leg (a second transaction) and out to the "trunk" with a
            caller ID (uac, a second Record-Route).

It prints Kamailio's CPU time per call on each route at a moderate rate, then the highest rate
each route completes with 0 failed calls (the routes take turns at every rate, x1.5 apart, then
two bisection steps), and the ratios to the fixed route (goal for scheme/fixed: >= 0.9). On a
machine shared with other work the clean rates move from run to run; the CPU per call is the
steadier figure. Figures, never a pass/fail; about three minutes.

    .venv/bin/python bench/scheme_routing.py [--seconds 5] [--max-rate 3500] [--postgres]
"""

from __future__ import annotations

import argparse
import os
import datetime as dt
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Only the standard library and the two modules Kamailio's interpreter imports are needed for
# plan_rate(), which is also run under that interpreter; the rest is imported by main().
from pbx.prodcalendar import CalendarDay, DayKind, ProductionCalendar  # noqa: E402
from pbx.ringplan import Scheme, compute_plan  # noqa: E402

DOMAIN = "pbx.local"
CALLER, CALLER_PASSWORD = "101", "bench-" + secrets.token_hex(6)


# --- ring plans in pure Python -----------------------------------------------------------------
def plan_rate(seconds: float = 2.0) -> tuple[float, float]:
    """compute_plan calls per second (and the mean microseconds) for a three-device scheme with
    schedules, the way routing.py calls it for every incoming call."""
    scheme = Scheme.from_dict({"mode": "in_turn", "timezone": "Europe/Moscow", "devices": [
        {"id": "sip-200", "kind": "sip", "address": "200", "active": True, "position": 1,
         "ring_timeout_s": 15, "schedule": {"rules": [
             {"type": "calendar", "days": "working_days", "windows": [{"start": "09:00", "end": "18:00"}]},
             {"type": "weekdays", "days": ["sat"], "windows": [{"start": "22:00", "end": "02:00"}]}]}},
        {"id": "sip-2001", "kind": "sip", "address": "2001", "active": True, "position": 2,
         "ring_timeout_s": 20, "schedule": None},
        {"id": "ext-1", "kind": "external", "address": "+79161234567", "active": True, "position": 3,
         "ring_timeout_s": 0, "schedule": {"rules": [
             {"type": "period", "start": "2025-01-01", "end": "2030-12-31", "windows": []}]}},
    ]})
    today = dt.date.today()
    calendar = ProductionCalendar((CalendarDay(today + dt.timedelta(days=1), DayKind.DAY_OFF, "Holiday"),))
    status = {"sip-200": "available", "sip-2001": "not_registered"}
    n, t0 = 0, time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            compute_plan(scheme, calendar, dt.datetime.now(dt.UTC), status)
        n += 100
    elapsed = time.perf_counter() - t0
    return n / elapsed, elapsed / n * 1e6


# --- the PBX -----------------------------------------------------------------------------------
def build_pbx(tmp: Path, database_url: str | None, device_port: int):
    from pbx import directory, schemes, settings
    from pbx.audit import Actor
    from pbx.instance import PbxInstance
    from pbx.kamailio.config import KamailioSettings
    from pbx.kamailio.supervisor import KamailioProcess
    from tests.support.processes import free_port
    from tests.support.sipp import register

    CONSOLE = Actor.console()
    pbx = PbxInstance.init(tmp / "pbx", domain=DOMAIN, database_url=database_url)
    directory.add_employee(pbx, CONSOLE, name="Caller", extension=CALLER, sip_password=CALLER_PASSWORD)
    callee = directory.add_employee(pbx, CONSOLE, name="Callee", extension="200")
    desk = schemes.add_sip_account(pbx, CONSOLE, callee.employee.id, "2001")
    # The extension's own account is not registered (excluded by the plan), the desk phone is.
    schemes.replace_scheme(pbx, CONSOLE, callee.employee.id, None, {
        "mode": "all_at_once", "timezone": "Europe/Moscow", "devices": [
            {"id": "sip-200", "kind": "sip", "address": "200", "active": True, "position": 1,
             "ring_timeout_s": 30, "schedule": None},
            {"id": "sip-2001", "kind": "sip", "address": "2001", "active": True, "position": 2,
             "ring_timeout_s": 30, "schedule": None}]})
    mobile = directory.add_employee(pbx, CONSOLE, name="Mobile", extension="300")
    schemes.replace_scheme(pbx, CONSOLE, mobile.employee.id, None, {
        "mode": "all_at_once", "timezone": "Europe/Moscow", "devices": [
            {"id": "ext-1", "kind": "external", "address": "+79161234567", "active": True,
             "position": 1, "ring_timeout_s": 30, "schedule": None}]})
    directory.add_number(pbx, CONSOLE, "+74951234567", inbound_employee_id=mobile.employee.id)
    with pbx.sessions.begin() as s:
        settings.update(s, CONSOLE, {"trunk": f"127.0.0.1:{device_port}"}, None)
    ks = KamailioSettings(run_dir=pbx.run_dir, database_url=pbx.database_url, domain=DOMAIN,
                          sip_port=free_port(), children=4, log_level=1)
    kamailio = KamailioProcess(ks, shm_mb=1024, pkg_mb=16)
    kamailio.start()
    # sipp cannot register itself: its address is registered for the desk phone's account.
    register(ks.sip_port, DOMAIN, "2001", desk.password, device_port)
    return pbx, kamailio


# --- load --------------------------------------------------------------------------------------
def run_load(tmp: Path, kamailio_port: int, service: str, rate: int, seconds: float) -> tuple[int, int, float]:
    """(successful, failed, achieved calls/s) of one sipp run at `rate` for `seconds`."""
    from tests.support.processes import free_port
    from tests.support.sipp import SCENARIOS, SIPP, register

    calls = max(1, int(rate * seconds))
    # The caller is a registered phone, as callers are: the PBX's flood limits spare its address.
    caller_port = free_port()
    register(kamailio_port, DOMAIN, CALLER, CALLER_PASSWORD, caller_port)
    screen = tmp / f"uac-{service}-{rate}.log"
    cmd = [SIPP, "-sf", str(SCENARIOS / "uac_auth_call.xml"), "-s", service,
           "-key", "caller", CALLER, "-au", CALLER, "-ap", CALLER_PASSWORD,
           "-i", "127.0.0.1", "-p", str(caller_port), "-mp", str(free_port()),
           "-r", str(rate), "-m", str(calls), "-d", "100", "-l", str(max(100, rate * 4)),
           "-nostdin", "-recv_timeout", "8000", "-trace_err", "-error_file", str(screen.with_suffix(".err")),
           f"127.0.0.1:{kamailio_port}"]
    t0 = time.monotonic()
    with open(screen, "wb") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=seconds * 4 + 60, cwd=tmp)
    elapsed = time.monotonic() - t0
    text = screen.read_text(errors="replace")
    ok = _last_int(text, r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)")
    failed = _last_int(text, r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)")
    total_time = _last_float(text, r"\)/1\.000s\s+\d+\s+([0-9.]+) s\s+\d+")
    if proc.returncode not in (0, 1) and ok == 0:
        raise RuntimeError(f"sipp failed ({proc.returncode}): {text[-1500:]}")
    return ok, failed, ok / (total_time or elapsed)


def _last_int(text: str, pattern: str) -> int:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else 0


def _last_float(text: str, pattern: str) -> float | None:
    found = re.findall(pattern, text)
    return float(found[-1]) if found else None


ROUTES = (("fixed", "2001"), ("scheme", "200"), ("leg", "300"))


def group_cpu_s(pid: int) -> float:
    """CPU seconds used so far by every process of a process group (Kamailio's workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pid:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def cpu_per_call(tmp: Path, kamailio, rate: int, seconds: float) -> dict[str, float]:
    """Kamailio's CPU milliseconds per call on each route at a rate the machine sustains: a
    steadier figure than the highest clean rate on a shared machine."""
    out = {}
    for name, service in ROUTES:
        before = group_cpu_s(kamailio.proc.pid)
        ok, failed, _ = run_load(tmp, kamailio.settings.sip_port, service, rate, seconds)
        used = group_cpu_s(kamailio.proc.pid) - before
        out[name] = used * 1000 / max(ok, 1)
        print(f"  {name:>6} at {rate}/s: {ok} ok, {failed} failed, Kamailio {out[name]:.3f} ms CPU per call",
              flush=True)
        time.sleep(1)
    return out


def clean_rates(tmp: Path, port: int, seconds: float, start: int, max_rate: int,
                refine: int = 2) -> dict[str, int]:
    """The highest rate each route completes with 0 failed calls. The routes take turns at
    every rate (the machine's other load drifts: each route meets the same drift), climbing by
    x1.5 until a route fails a run, then `refine` bisection steps between its last clean rate
    and its first failed one."""
    good = {name: 0 for name, _ in ROUTES}
    bad: dict[str, int] = {}

    def attempt(name: str, service: str, rate: int) -> bool:
        ok, failed, achieved = run_load(tmp, port, service, rate, seconds)
        print(f"  {name:>6} at {rate:5d}/s: {ok:6d} ok, {failed:4d} failed ({achieved:.0f} calls/s)",
              flush=True)
        time.sleep(1.5)  # let the device's last calls finish
        return failed == 0 and ok > 0

    rate = start
    while rate <= max_rate and len(bad) < len(ROUTES):
        for name, service in ROUTES:
            if name in bad:
                continue
            if attempt(name, service, rate):
                good[name] = rate
            else:
                bad[name] = rate
        rate = int(rate * 1.5)
    for _ in range(refine):
        for name, service in ROUTES:
            if name not in bad or bad[name] - good[name] < 20:
                continue
            middle = (good[name] + bad[name]) // 2
            if attempt(name, service, middle):
                good[name] = middle
            else:
                bad[name] = middle
    return good


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each load run")
    ap.add_argument("--start-rate", type=int, default=200)
    ap.add_argument("--max-rate", type=int, default=3500)
    ap.add_argument("--cpu-rate", type=int, default=300, help="rate of the CPU-per-call runs")
    db = ap.add_mutually_exclusive_group()
    db.add_argument("--database-url", help="a PostgreSQL URL (default: a SQLite file)")
    db.add_argument("--postgres", action="store_true",
                    help="a throwaway PostgreSQL server (tests/support/postgres.py)")
    args = ap.parse_args()

    per_s, us = plan_rate()
    print(f"ring plans (pure Python, {sys.version.split()[0]}): {per_s:,.0f} plans/s, {us:.0f} µs each")
    system_python = Path("/usr/bin/python3")
    if system_python.exists():
        out = subprocess.run([str(system_python), "-c",
                              "import sys; sys.path.insert(0, sys.argv[1]); from bench.scheme_routing import "
                              "plan_rate; r, u = plan_rate(); print(f'{r:.0f} {u:.0f} ' + sys.version.split()[0])",
                              str(Path(__file__).resolve().parents[1])],
                             capture_output=True, text=True)
        if out.returncode == 0:
            r, u, version = out.stdout.split()
            print(f"ring plans (Kamailio's interpreter, Python {version}): {int(r):,} plans/s, {u} µs each")

    if args.postgres:
        from tests.support.postgres import PostgresServer

        with PostgresServer() as server, server.database() as url:
            load(args, url)
    else:
        load(args, args.database_url)


def load(args, database_url: str | None) -> None:
    from bench.support import isolate
    from tests.support.processes import free_port
    from tests.support.sipp import SCENARIOS, SIPP

    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    device_port = free_port()
    device = subprocess.Popen(
        [SIPP, "-sf", str(SCENARIOS / "uas_200.xml"), "-i", "127.0.0.1", "-p", str(device_port),
         "-mp", str(free_port()), "-nostdin"],
        stdout=open(tmp / "device.log", "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp)
    kamailio = None
    started = time.monotonic()
    try:
        time.sleep(0.2)
        pbx, kamailio = build_pbx(tmp, database_url, device_port)
        print(f"Kamailio: 4 workers, {'SQLite' if database_url is None else 'PostgreSQL'}; "
              f"{args.seconds:.0f} s per run; every call is digest-authenticated (407, INVITE), "
              f"answered at once, held 100 ms", flush=True)
        print("Kamailio CPU per call:")
        cpu = cpu_per_call(tmp, kamailio, args.cpu_rate, args.seconds)
        print("Highest rate with 0 failed calls:")
        rates = clean_rates(tmp, kamailio.settings.sip_port, args.seconds, args.start_rate, args.max_rate)
        print()
        print(f"{'route':<8}{'calls/s, 0 failed':>19}{'vs fixed':>10}{'CPU ms/call':>13}{'vs fixed':>10}")
        for name, _ in ROUTES:
            print(f"{name:<8}{rates[name]:>19}{rates[name] / max(rates['fixed'], 1):>10.2f}"
                  f"{cpu[name]:>13.3f}{cpu['fixed'] / cpu[name]:>10.2f}")
        print(f"scheme/fixed calls per second = {rates['scheme'] / max(rates['fixed'], 1):.2f} (goal >= 0.9); "
              f"by Kamailio CPU per call = {cpu['fixed'] / cpu['scheme']:.2f}; "
              f"{time.monotonic() - started:.0f} s")
        print(f"(logs and sipp screens: {tmp})")
    finally:
        if kamailio is not None:
            kamailio.stop()
            pbx.engine.dispose()  # so that a throwaway database can be dropped
        device.terminate()
        device.wait(10)


if __name__ == "__main__":
    main()
