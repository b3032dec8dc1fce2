"""Benchmark: the PBX API as the app uses it, on SQLite and on PostgreSQL.

For each backend: p50/p95 of the settings read the app makes (GET /me, GET the scheme) and of
the write it makes (PATCH the scheme's mode, with If-Match), over N requests each; and logins
per second (POST /auth/login, which runs a deliberately slow password hash). The API runs as
`talker-pbx serve` in its own process, on loopback. Figures, never a pass/fail.

    .venv/bin/python bench/api_latency.py [--requests 200] [--logins 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import isolate, pct  # noqa: E402
from pbx.instance import PbxInstance  # noqa: E402
from tests.support.api import ApiServer  # noqa: E402


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def line(label: str, values: list[float]) -> str:
    return f"  {label:<34} p50 {statistics.median(values):6.2f} ms   p95 {pct(values, 95):6.2f} ms"


def run(backend: str, tmp: Path, requests: int, logins: int, pg=None) -> None:
    url = None
    if pg is not None:
        url = pg.create_database()
    pbx = PbxInstance.init(tmp / f"pbx-{backend}", database_url=url)
    api = ApiServer(pbx, tmp / f"api-{backend}.log")
    try:
        anna = api.add_employee("101", "Anna Ivanova", admin=True)
        with api.as_(anna) as c:
            c.get("/me").raise_for_status()  # warm up the connection and the caches
            scheme_path = f"/employees/{anna.employee.id}/scheme"
            reads_me = timed(lambda: c.get("/me").raise_for_status(), requests)
            reads_scheme = timed(lambda: c.get(scheme_path).raise_for_status(), requests)
            modes = ["in_turn", "all_at_once"]

            def write():
                etag = c.get(scheme_path).headers["ETag"]
                t0 = time.perf_counter()
                c.patch(scheme_path, json={"mode": modes[len(writes) % 2]},
                        headers={"If-Match": etag}).raise_for_status()
                writes.append((time.perf_counter() - t0) * 1000)

            writes: list[float] = []
            for _ in range(requests):
                write()
        body = {"login": "101@pbx.local", "password": anna.communicator_password}
        with api.client() as c:
            c.post("/auth/login", json=body).raise_for_status()
            started = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda _: c.post("/auth/login", json=body).raise_for_status(), range(logins)))
            per_s = logins / (time.perf_counter() - started)
        print(f"{backend}:")
        print(line("GET /me", reads_me))
        print(line("GET /employees/{id}/scheme", reads_scheme))
        print(line("PATCH …/scheme (If-Match)", writes))
        print(f"  {'logins (scrypt N=2^14), 4 clients':<34} {per_s:6.1f} per second")
    finally:
        api.stop()
        pbx.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--logins", type=int, default=40)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    print(f"PBX API latency, {args.requests} requests each, loopback, one client")
    run("sqlite", tmp, args.requests, args.logins)
    from tests.support.postgres import PostgresServer, PostgresUnavailable

    try:
        with PostgresServer() as pg:
            run("postgresql", tmp, args.requests, args.logins, pg)
    except PostgresUnavailable as e:
        print(f"postgresql: skipped ({e})")


if __name__ == "__main__":
    main()
