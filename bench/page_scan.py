"""Benchmark: scanning a 1 MB text page with about 2,000 phone numbers in real Chromium.

The page (bench/page_scan.mjs: extension/bench/page.mjs's deterministic text as paragraphs,
tables and lists) is opened in headless Chromium with the real extension. Printed, as medians
over the runs:
- the content script's scan: the sum of its idle-time slices (main-thread time it took), the
  wall time from its first slice to the last, and its longest slice;
- the longest main-thread task while it scanned (PerformanceObserver "longtask", which reports
  tasks of 50 ms and more; "none" means every task was shorter);
- libphonenumber-js's own findPhoneNumbersInText (max metadata) over the page's text
  (document.body.innerText) in the same page, and Talker's detector alone on that text.
Figures only, never a pass/fail. Goals (issue 6): scan ≤ 1.3× the raw scan; longest task ≤ 50 ms.

    .venv/bin/python bench/page_scan.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.browser import ExtensionBrowser, PageServer, build_extension  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LONGTASKS = ("window.longTasks = []; new PerformanceObserver((list) => { for (const e of list.getEntries()) "
             "longTasks.push([e.startTime, e.duration]) }).observe({type: 'longtask', buffered: true})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-scan-"))
    extension = build_extension(tmp / "extension")
    made = subprocess.run(["node", str(ROOT / "bench" / "page_scan.mjs"), str(tmp / "site")], check=True,
                          capture_output=True, text=True)
    info = json.loads(made.stdout)
    server = PageServer()
    site = tmp / "site"
    url = server.add("/page.html", (site / "page.html").read_text(encoding="utf-8"))
    server.pages["/raw.js"] = (site / "raw.js").read_bytes()
    browser = ExtensionBrowser(tmp / "chromium", runtime_dir=tmp / "run", extension=extension)
    try:
        browser.context.add_init_script(LONGTASKS)
        browser.sw("chrome.storage.local.set({debugStats: true})")
        busy, wall, slices, longest_task, found, raw, ours_alone, which = [], [], [], [], [], [], [], []
        for _ in range(args.runs):
            browser.sw("talker.stats.clear()")
            tab = browser.context.new_page()
            tab.goto(url)
            stats = wait_stats(browser, url)
            busy.append(stats["busyMs"])
            wall.append(stats["doneAt"] - stats["firstAt"])
            slices.append(stats["longestSliceMs"])
            which.append(f"{stats['longestSlice']}/{stats['slices']}")
            found.append(stats["found"])
            tasks = tab.evaluate("(from) => longTasks.filter(([start, d]) => start + d >= from).map(([s, d]) => d)",
                                 stats["firstAt"])
            longest_task.append(max(tasks, default=0.0))
            timing = tab.evaluate("""() => {
                const text = document.body.innerText
                const time = (f) => { const t = performance.now(); const n = f().length; return [performance.now() - t, n] }
                time(() => talkerRaw.findPhoneNumbersInText(text, {defaultCountry: 'RU'}))  // warm-up
                return {raw: time(() => talkerRaw.findPhoneNumbersInText(text, {defaultCountry: 'RU'})),
                        ours: time(() => talkerRaw.findPhoneNumbers(text, {region: 'RU'})),
                        chars: text.length}
            }""")
            raw.append(timing["raw"][0])
            ours_alone.append(timing["ours"][0])
            tab.close()

        med = statistics.median
        print(f"scan of a generated page: {info['chars']} characters of text, {info['placed']} numbers placed, "
              f"{args.runs} runs, medians (headless Chromium, 2 cores)")
        print(f"  extension scan, main-thread time   {med(busy):7.1f} ms   ({med(found):.0f} numbers found)")
        print(f"  extension scan, first to last slice {med(wall):6.1f} ms   (idle-time slices)")
        print(f"  longest scan slice                  {med(slices):6.1f} ms   (max over runs {max(slices):.1f} ms; "
              f"which slice of how many, per run: {', '.join(which)})")
        tasks = [t for t in longest_task if t > 0]
        print("  longest main-thread task (≥ 50 ms)  "
              + (f"{max(tasks):6.1f} ms" if tasks else "  none") + "   (goal ≤ 50 ms)")
        print(f"  libphonenumber-js findPhoneNumbersInText on innerText {med(raw):7.1f} ms (one task)")
        print(f"  Talker's detector alone on innerText                  {med(ours_alone):7.1f} ms")
        print(f"  ratio extension scan / raw libphonenumber-js scan: {med(busy) / med(raw):.2f} (goal ≤ 1.3)")
    finally:
        browser.close()
        server.close()


def wait_stats(browser: ExtensionBrowser, url: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = browser.sw("(url) => [...talker.stats.values()].find(s => s.url === url && s.doneAt) ?? null", url)
        if stats:
            return stats
        if time.monotonic() > deadline:
            raise SystemExit("the content script reported no finished scan")
        time.sleep(0.1)


if __name__ == "__main__":
    main()
