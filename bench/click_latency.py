"""Benchmark: a click on a number in a web page → INVITE at the callee.

Real Chromium (headless) with the real extension, the real native host and app, a loopback
Kamailio and a pjsua2 phone that stamps the moment the INVITE arrives and declines at once. The
click's moment is the page's own timestamp of the click event (performance.timeOrigin +
event.timeStamp), so Playwright's round trip is not counted. A figure, never a pass/fail.

    .venv/bin/python bench/click_latency.py [--calls 30]

Also prints the first click after the service worker was evicted (new worker, new host process).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.browser import ExtensionBrowser, PageServer, build_extension, page, text_point, wait_for_numbers  # noqa: E402
from bench.support import isolate, pct, precompile  # noqa: E402
from tests.support.app import App, configure_account  # noqa: E402
from tests.support.pbx import TestPbx  # noqa: E402
from tests.support.peer import Peer  # noqa: E402

NUMBER = "+7 (495) 123-45-67"
# The page stamps each click before anything else sees it (its listener is the first on the window).
STAMP = ("window.clicks = []; addEventListener('click', (e) => "
         "clicks.push(performance.timeOrigin + e.timeStamp), {capture: true})")






def one_click(tab, peer: Peer, point: dict) -> float:
    mark = peer.mark()
    clicks = tab.evaluate("clicks.length")
    tab.mouse.click(point["x"], point["y"])
    invite = peer.wait_call("incoming", after=mark)
    peer.wait_call("ended", after=mark)
    clicked = tab.evaluate("(i) => clicks[i]", clicks) / 1000
    return (invite["t"] - clicked) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=30)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-click-"))
    run = isolate(tmp)
    precompile()  # the native host starts per browser session: measure it as installed
    extension = build_extension(tmp / "extension")
    pbx = TestPbx(tmp / "pbx").start()
    creds = pbx.add_employee("150", "Callee")
    from pbx import directory
    from pbx.audit import Actor

    [callee] = [e for e in directory.list_employees(pbx.instance, Actor.console()) if e.extension == "150"]
    directory.add_number(pbx.instance, Actor.console(), NUMBER, "Callee", inbound_employee_id=callee.id)
    peer = Peer(pbx, "150", creds.password, workdir=tmp, options=("--reject-code", "486"))
    app = browser = server = None
    try:
        peer.wait_registered()
        me = pbx.add_employee("101", "Caller", admin=True)
        configure_account(pbx, "101", me.password)
        app = App(tmp)
        app.wait_registered()
        server = PageServer()
        url = server.add("/bench.html", page(f"<p>Отдел продаж: {NUMBER}</p>", script=STAMP))
        browser = ExtensionBrowser(tmp / "chromium", runtime_dir=run, extension=extension)
        tab = browser.open(url)
        wait_for_numbers(tab, 1)
        point = text_point(tab, NUMBER)
        one_click(tab, peer, point)  # warm: the host starts, the app's first call
        samples = []
        for _ in range(args.calls):
            samples.append(one_click(tab, peer, point))
            time.sleep(0.05)

        evicted, worker_start, port_open = [], [], []
        for _ in range(5):
            browser.stop_service_worker()
            clicks = tab.evaluate("clicks.length")
            evicted.append(one_click(tab, peer, point))
            clicked = tab.evaluate("(i) => clicks[i]", clicks)
            started, timeline = browser.sw("[talker.startedAt, talker.timeline]")
            connected = next(t for what, t in timeline if what == "native-connect")
            worker_start.append(started - clicked)
            port_open.append(connected - clicked)

        print(f"click on a number in a page → INVITE at the callee, {args.calls} calls "
              "(headless Chromium, native host, app, loopback Kamailio)")
        print(f"  warm (worker and host running)  p50 {statistics.median(samples):6.1f} ms   "
              f"p95 {pct(samples, 95):6.1f} ms   (goal p50 ≤ 30 ms)")
        print(f"  after the worker was evicted    p50 {statistics.median(evicted):6.1f} ms   "
              f"max {max(evicted):6.1f} ms   (5 clicks; new worker and host process)")
        print(f"    of which: click → worker started p50 {statistics.median(worker_start):6.1f} ms, "
              f"click → native port opened p50 {statistics.median(port_open):6.1f} ms; "
              "the rest is the host process starting and the call")
    finally:
        if browser is not None:
            browser.close()
        if server is not None:
            server.close()
        if app is not None:
            app.quit()
        peer.stop()
        pbx.stop()


if __name__ == "__main__":
    main()
