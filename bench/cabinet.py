"""Benchmark: the web cabinet with a big company, in real Chromium against `talker-pbx serve`.

With 2,000 employees (each with a SIP account) and 20,000 audit entries, on SQLite: p50/p95 of
- the employee list ready: from following the link to the table shown (its first 100 rows: the
  list shows at most 100, type to narrow);
- search as you type: from a keystroke to the filtered rows rendered (the next frame), typing
  pieces of names, mobiles and extensions (goal ≤ 50 ms p95);
- the card opened: from following an employee's link to their card's form (goal ≤ 150 ms p95).
Times are taken inside the page (performance.now()), so Playwright's own round trips are not in
them. The company is written straight into the database (one password hash shared by all: the
deliberately slow hash would otherwise take minutes). Figures, never a pass/fail.

    .venv/bin/python bench/cabinet.py [--employees 2000] [--audit 20000] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import isolate, pct  # noqa: E402
from pbx import directory  # noqa: E402
from pbx.db import AuditEntry, Employee, ReceiveScheme  # noqa: E402
from pbx.instance import PbxInstance  # noqa: E402
from pbx.ringplan import default_scheme  # noqa: E402
from tests.support.api import ApiServer  # noqa: E402

FIRST = ["Anna", "Boris", "Vera", "Galina", "Dmitry", "Elena", "Igor", "Olga", "Pavel", "Svetlana"]
LAST = ["Ivanova", "Petrov", "Sidorova", "Orlova", "Smirnov", "Kuznetsova", "Popov", "Volkova"]


def seed(pbx: PbxInstance, employees: int, audit: int) -> str:
    """The company, straight into the database; returns the password every employee has."""
    from pbx.audit import Actor

    admin = directory.add_employee(pbx, Actor.console(), name="Anna Admin", extension="100", admin=True)
    with pbx.sessions.begin() as s:
        shared_hash = s.get(Employee, admin.employee.id).communicator_password_hash
        rows = []
        for i in range(employees - 1):
            ext = str(1000 + i)
            e = Employee(name=f"{FIRST[i % len(FIRST)]} {LAST[i // len(FIRST) % len(LAST)]} {i}", extension=ext,
                         mobile=f"+7916{i:07d}", email=f"user{i}@example.com", communicator_password_hash=shared_hash)
            e.sip_accounts.append(directory._sip_account(pbx, ext, "bench-password"))
            rows.append(e)
        s.add_all(rows)
        s.flush()
        s.add_all(ReceiveScheme(employee_id=e.id, version=1,
                                document=json.dumps(default_scheme([e.extension], "Europe/Moscow").to_dict()))
                  for e in rows)
        s.add_all(AuditEntry(actor_id=admin.employee.id, actor="Anna Admin", action="employee.update",
                             resource="employee", resource_id=rows[i % len(rows)].id, details='{"changed": ["name"]}')
                  for i in range(audit))
    return admin.communicator_password


LIST_READY = """async (expected) => {
    location.hash = '#/settings';
    while (!document.querySelector('#settings-form')) await new Promise(r => requestAnimationFrame(r));
    const t0 = performance.now();
    location.hash = '#/employees';
    while (document.querySelectorAll("#employee-list tbody tr").length < Math.min(expected, 100))
        await new Promise(r => requestAnimationFrame(r));
    return performance.now() - t0;
}"""

TYPE = """async (text) => {
    const input = document.querySelector('#employee-search');
    input.value = '';
    input.dispatchEvent(new Event('input'));
    const times = [];
    for (let i = 1; i <= text.length; i++) {
        const t0 = performance.now();
        input.value = text.slice(0, i);
        input.dispatchEvent(new Event('input'));
        // The next frame, then a task after it: the rows' style, layout and paint are done.
        await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
        times.push(performance.now() - t0);
    }
    return times;
}"""

CARD = """async (id) => {
    const t0 = performance.now();
    location.hash = '#/employees/' + id + '/card';
    while (!document.querySelector('#card-form')) await new Promise(r => requestAnimationFrame(r));
    const ms = performance.now() - t0;
    location.hash = '#/employees';
    while (!document.querySelector('#employee-search')) await new Promise(r => requestAnimationFrame(r));
    return ms;
}"""


def line(label: str, values: list[float]) -> str:
    return (f"  {label:<44} p50 {statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms"
            f"   (n={len(values)})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--employees", type=int, default=2000)
    ap.add_argument("--audit", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=30)
    ns = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="talker-bench-cabinet-") as tmp:
        isolate(Path(tmp))
        pbx = PbxInstance.init(Path(tmp) / "pbx")
        password = seed(pbx, ns.employees, ns.audit)
        api = ApiServer(pbx, Path(tmp) / "api.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(api.url + "/")
                page.fill("#login", "100")
                page.fill("#password", password)
                page.click("form.login button[type=submit]")
                page.wait_for_selector("#employee-search", timeout=60_000)
                ready = [page.evaluate(LIST_READY, ns.employees) for _ in range(ns.runs)]
                typed: list[float] = []
                queries = ["Olga", "Petrov 1", "916000", "1234", "user12@", "Svetlana Popov"]
                for _ in range(max(1, ns.runs // 10)):
                    for q in queries:
                        typed += page.evaluate(TYPE, q)
                ids = [e["id"] for e in page.evaluate(
                    "async () => (await (await fetch('/api/v1/employees', {headers: {Authorization: 'Bearer ' +"
                    " JSON.parse(sessionStorage.getItem('talker.cabinet.session')).access_token}})).json())")]
                card = [page.evaluate(CARD, ids[(i * 97) % len(ids)]) for i in range(ns.runs)]
                browser.close()
        finally:
            api.stop()
    print(f"Cabinet, SQLite, {ns.employees} employees, {ns.audit} audit entries, Chromium 1280x720:")
    print(line("employee list ready (link → table shown)", ready))
    print(line("search as you type (keystroke → rows painted)", typed))
    print(line("card opened (link → card form)", card))
    return 0


if __name__ == "__main__":
    sys.exit(main())
