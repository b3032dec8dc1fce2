"""Benchmark: a tray-menu click → the PBX has the change → the next call follows it.

The app runs in this process with pystray's dummy backend, logged in to a real PBX (API +
Kamailio on loopback); Anna has a second SIP account (a pjsua2 phone). Each round clicks
"Receive calls → Only the main number" or "→ All numbers at once", times the click until the
PBX stores it and until the menu shows it, then lets Boris call and checks the second phone rang
exactly when the mode says it should. Also the resident memory of the app process (separate,
dummy backend, logged in, menu built). Figures, never a pass/fail.

    .venv/bin/python bench/menu_action.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import isolate, pct, precompile, rss_mb  # noqa: E402
from pbx import schemes  # noqa: E402
from pbx.audit import Actor  # noqa: E402
from tests.support.api import ApiServer  # noqa: E402
from tests.support.app import App, talker  # noqa: E402
from tests.support.pbx import TestPbx  # noqa: E402
from tests.support.peer import Peer  # noqa: E402
from tests.support.processes import wait_until  # noqa: E402
from tests.support.tray import find, menu, start_app  # noqa: E402

MODES = ("Only the main number", "All numbers at once")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    precompile()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    pbx = TestPbx(tmp / "pbx").start()
    api = ApiServer.for_kamailio(pbx, tmp / "api.log")
    peers, app = [], None
    try:
        anna = api.add_employee("101", "Anna Ivanova", admin=True)
        desk_creds = schemes.add_sip_account(pbx.instance, Actor.console(), anna.employee.id, "1011")
        boris = api.add_employee("102", "Boris Petrov")
        desk = Peer(pbx, "1011", desk_creds.password, workdir=tmp, options=("--reject-code", "486"))
        caller = Peer(pbx, "102", boris.sip.password, workdir=tmp)
        peers += [desk, caller]
        desk.wait_registered()
        caller.wait_registered()
        assert talker("--login", "101@pbx.local", "--pbx", api.url,
                      stdin=anna.communicator_password + "\n").returncode == 0

        # Memory: the app as users run it, in its own process, logged in and with its menu.
        separate = App(tmp)
        separate.wait_registered()
        wait_until(lambda: not separate.client().request("pbx_state")["stale"], 10, 0.1, "the PBX state")
        time.sleep(5)
        memory = rss_mb(separate.proc.pid)
        separate.quit()

        app = start_app()
        wait_until(lambda: app.status()["registration"]["state"] == "registered", 15, 0.05, "registration")
        wait_until(lambda: not app.pbx_state()["stale"], 15, 0.05, "the PBX state")
        stored, shown, followed = [], [], 0
        with api.as_(anna) as admin:
            scheme_path = f"/employees/{anna.employee.id}/scheme"
            for i in range(args.rounds):
                text = MODES[i % 2]
                want = "main_only" if i % 2 == 0 else "all_at_once"
                t0 = time.perf_counter()
                find(menu(app), "Receive calls", text)(app.icon.icon)
                while admin.get(scheme_path).json()["mode"] != want:
                    time.sleep(0.002)
                stored.append((time.perf_counter() - t0) * 1000)
                while not find(menu(app), "Receive calls", text).checked:
                    time.sleep(0.002)
                shown.append((time.perf_counter() - t0) * 1000)
                mark = desk.mark()
                caller.command("call", number="101")
                wait_until(lambda: app.calls(), 10, 0.01, "the app to ring")
                time.sleep(1.0)
                caller.command("hangup")
                wait_until(lambda: not app.calls(), 10, 0.02, "the call to end")
                desk_rang = bool(desk.calls("incoming", since=mark))
                followed += desk_rang == (want == "all_at_once")
        print(f"tray menu → PBX → next call, {args.rounds} rounds (loopback PBX API and Kamailio)")
        print(f"  click → the PBX stores it    p50 {statistics.median(stored):6.1f} ms   p95 {pct(stored, 95):6.1f} ms")
        print(f"  click → the menu shows it    p50 {statistics.median(shown):6.1f} ms   p95 {pct(shown, 95):6.1f} ms")
        print(f"  the next call followed the change: {followed}/{args.rounds}")
        print(f"  resident memory of the app (logged in, menu built, idle 5 s): {memory:.1f} MB")
    finally:
        if app is not None:
            app.shutdown()
        for p in peers:
            p.stop()
        api.stop()
        pbx.stop()


if __name__ == "__main__":
    main()
