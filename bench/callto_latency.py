"""Benchmark: `talker --callto` with the app running → INVITE at the callee.

Prints p50/p95 over N calls next to `python -c pass` measured in the same run with the same
interpreter. A figure, never a pass/fail. The callee is a real pjsua2 phone registered to a
real Kamailio; it stamps the moment the INVITE arrives and declines at once.

    .venv/bin/python bench/callto_latency.py [--calls 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import isolate, pct, precompile  # noqa: E402
from tests.support.app import TALKER, App, configure_account  # noqa: E402
from tests.support.pbx import TestPbx  # noqa: E402
from tests.support.peer import Peer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=30)
    args = ap.parse_args()
    precompile()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    pbx = TestPbx(tmp / "pbx").start()
    creds = pbx.add_employee("102", "Callee")
    peer = Peer(pbx, "102", creds.password, workdir=tmp, options=("--reject-code", "486"))
    app = None
    try:
        peer.wait_registered()
        me = pbx.add_employee("101", "Caller")
        configure_account(pbx, "101", me.password)
        app = App(tmp)
        app.wait_registered()

        python_pass, callto, callto_exit = [], [], []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            # Run as `talker` is, its output read through pipes: the reading costs this process
            # about 0.4 ms, which belongs to neither command.
            subprocess.run([sys.executable, "-c", "pass"], capture_output=True, text=True, check=True)
            python_pass.append((time.perf_counter() - t0) * 1000)

            mark = peer.mark()
            wall0, t0 = time.time(), time.perf_counter()
            done = subprocess.run([TALKER, "--callto=102"], capture_output=True, text=True)
            callto_exit.append((time.perf_counter() - t0) * 1000)
            if done.returncode != 0:
                raise SystemExit(f"talker --callto failed: {done.stderr}")
            invite = peer.wait_call("incoming", after=mark)
            callto.append((invite["t"] - wall0) * 1000)
            peer.wait_call("ended", after=mark)
            time.sleep(0.05)

        p50_pass = statistics.median(python_pass)
        print(f"talker --callto → INVITE at the callee, {args.calls} calls (app running, loopback Kamailio)")
        print(f"  python -c pass           p50 {p50_pass:6.1f} ms   p95 {pct(python_pass, 95):6.1f} ms")
        for what, values in (("--callto → INVITE", callto), ("--callto process exits", callto_exit)):
            print(f"  {what:24} p50 {statistics.median(values):6.1f} ms   p95 {pct(values, 95):6.1f} ms"
                  f"   ({statistics.median(values) / p50_pass:.2f}× python -c pass; goal ≤ 1.25×)")
        print(f"  load average {os.getloadavg()[0]:.1f} (1 min)")
    finally:
        if app is not None:
            app.quit()
        peer.stop()
        pbx.stop()


if __name__ == "__main__":
    main()
