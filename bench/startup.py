"""Benchmark: app start → registered, and the resident memory of the registered idle app.

Each run starts `python -m tray` (dummy tray backend, null audio) against a real Kamailio on
loopback, subscribes to its events as soon as its control channel is up, and stamps the
registration. Memory is VmRSS after 10 s idle. Figures, never a pass/fail.

    .venv/bin/python bench/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import isolate, pct, rss_mb  # noqa: E402
from common.control_client import AppNotRunning, ControlClient  # noqa: E402
from tests.support.app import App, configure_account  # noqa: E402
from tests.support.pbx import TestPbx  # noqa: E402




def time_to_registered(tmp: Path) -> tuple[float, App]:
    t0 = time.perf_counter()
    app = App(tmp)
    while True:
        try:
            client = ControlClient.connect(client="test")
            break
        except AppNotRunning:
            time.sleep(0.002)
    with client:
        status = client.request("subscribe")
        if status["registration"]["state"] != "registered":
            while True:
                ev = client.next_event(10)
                if ev is None:
                    raise SystemExit("the app did not register")
                if ev.get("event") == "registration" and ev["registration"]["state"] == "registered":
                    break
    return (time.perf_counter() - t0) * 1000, app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    pbx = TestPbx(tmp / "pbx").start()
    try:
        me = pbx.add_employee("101", "Caller")
        configure_account(pbx, "101", me.password)
        times, rss = [], []
        for i in range(args.runs):
            ms, app = time_to_registered(tmp)
            times.append(ms)
            if i < 3:  # memory is steady; three samples are enough
                time.sleep(10)
                rss.append(rss_mb(app.proc.pid))
            app.quit()
        print(f"app start → registered, {args.runs} runs (loopback Kamailio, digest auth)")
        print(f"  p50 {statistics.median(times):6.1f} ms   p95 {pct(times, 95):6.1f} ms   (goal ≤ 1000 ms)")
        print(f"  resident memory, registered and idle 10 s: {statistics.median(rss):.1f} MB (goal ≤ 60 MB)")
    finally:
        pbx.stop()


if __name__ == "__main__":
    main()
