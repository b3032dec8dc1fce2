"""Benchmark: what the app costs while nothing happens — registered, no call, for a minute.

Starts `python -m tray` (dummy tray backend, null audio) against a real Kamailio on loopback,
waits until it is registered and settled, then reads /proc for `--seconds`: CPU (utime + stime
of every thread), wake-ups per thread (voluntary context switches: each is the thread going to
sleep after it woke), and resident memory (RSS, and PSS from smaps_rollup). Figures, never a
pass/fail.

    .venv/bin/python bench/idle.py [--seconds 60]
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
from tests.support.app import App, configure_account  # noqa: E402
from tests.support.pbx import TestPbx  # noqa: E402

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    precompile()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    pbx = TestPbx(tmp / "pbx").start()
    try:
        me = pbx.add_employee("101", "Caller")
        configure_account(pbx, "101", me.password)
        app = App(tmp)
        try:
            app.wait_registered()
            time.sleep(5)  # start-up work (the first route check, timers of the registration) is over
            pid = app.proc.pid
            before, cpu0 = threads(pid), cpu_s(pid)
            time.sleep(args.seconds)
            after, cpu1 = threads(pid), cpu_s(pid)
            per_min = 60 / args.seconds
            print(f"The app registered and idle for {args.seconds:g} s (loopback Kamailio, null audio):")
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
        pbx.stop()


if __name__ == "__main__":
    main()
