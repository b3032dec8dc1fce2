"""Benchmark: what the app costs while nothing happens — registered, no call, for a minute.

Starts `python -m tray` (dummy tray backend, null audio) against a real Kamailio on loopback,
waits until it is registered and settled, then reads /proc for `--seconds`: CPU (utime + stime
of every thread), wake-ups per thread (voluntary context switches: each is the thread going to
sleep after it woke), and resident memory (RSS, and PSS from smaps_rollup). Figures, never a
pass/fail.

By default the account is configured by hand and secrets are in a plain file (the test machines'
fallback). As a user on a Linux desktop runs it: `--logged-in` logs in to the PBX (`talker
--login`, the PBX's API on loopback; the app then holds its session and the PBX's event stream),
and `--keyring` gives it a real Secret Service (gnome-keyring on a private D-Bus bus) to read the
SIP password and the session from.

    .venv/bin/python bench/idle.py [--seconds 60] [--logged-in] [--keyring]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import cpu_s, isolate, memory_by_mapping, precompile, pss_mb, rss_mb, threads  # noqa: E402
from tests.support.app import App, configure_account, talker  # noqa: E402
from tests.support.pbx import TestPbx  # noqa: E402
from tests.support.processes import wait_until  # noqa: E402

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--logged-in", action="store_true", help="log in to the PBX (talker --login)")
    ap.add_argument("--keyring", action="store_true", help="secrets in a real Secret Service")
    args = ap.parse_args()
    precompile()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    stop = []
    try:
        if args.keyring:
            from tests.support.secret_service import SecretService

            service = SecretService(tmp / "secret-service.log")
            stop.append(service.stop)
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.address
            del os.environ["TALKER_SECRET_BACKEND"]  # the app finds the keyring, as on a desktop
        pbx = TestPbx(tmp / "pbx").start()
        stop.append(pbx.stop)
        if args.logged_in:
            from tests.support.api import ApiServer

            api = ApiServer.for_kamailio(pbx, tmp / "api.log")
            stop.append(api.stop)
            anna = api.add_employee("101", "Anna Ivanova")
            done = talker("--login", "101", "--pbx", api.url, stdin=anna.communicator_password + "\n")
            assert done.returncode == 0, done.stderr
        else:
            me = pbx.add_employee("101", "Caller")
            configure_account(pbx, "101", me.password)
        app = App(tmp)
        try:
            app.wait_registered()
            if args.keyring:  # and not the file it falls back to
                assert service.lookup(f"sip:101@{pbx.domain}"), "the SIP password is not in the keyring"
                assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "talker/secrets.json").exists()
            if args.logged_in:
                wait_until(lambda: not app.client().request("pbx_state")["stale"], 10, 0.1, "the PBX state")
            time.sleep(5)  # start-up work (the first route check, timers of the registration) is over
            pid = app.proc.pid
            before, cpu0 = threads(pid), cpu_s(pid)
            time.sleep(args.seconds)
            after, cpu1 = threads(pid), cpu_s(pid)
            per_min = 60 / args.seconds
            how = ", ".join(["logged in to the PBX" if args.logged_in else "account set by hand",
                             "secrets in a Secret Service" if args.keyring else "secrets in a file"])
            print(f"The app registered and idle for {args.seconds:g} s ({how}; loopback Kamailio, null audio):")
            tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
            print(f"  CPU {1000 * (cpu1 - cpu0) * per_min:6.0f} ms per minute   (goal ≤ 20; /proc counts "
                  f"{tick_ms:g} ms ticks)")
            wakeups = {tid: after[tid][1] - before[tid][1] for tid in after if tid in before}
            print(f"  wake-ups {sum(wakeups.values()) * per_min:6.1f} per minute, all threads "
                  f"(goal ≤ 2 apart from SIP keep-alives and re-registration), by thread:")
            for tid, count in sorted(wakeups.items(), key=lambda item: -item[1]):
                print(f"    {after[tid][0]:16} {count * per_min:7.1f}")
            print(f"  resident memory {rss_mb(pid):.1f} MB, PSS {pss_mb(pid):.1f} MB; where it is "
                  f"(/proc/PID/smaps, ≥ 0.5 MB):")
            for name, rss, pss in memory_by_mapping(pid):
                if rss >= 0.5:
                    print(f"    {name:40} RSS {rss:5.1f} MB   PSS {pss:5.1f} MB")
        finally:
            app.quit()
    finally:
        for end in reversed(stop):
            end()


if __name__ == "__main__":
    main()
