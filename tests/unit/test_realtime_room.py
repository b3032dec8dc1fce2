"""The test run's own rule (tests/conftest.py): while a realtime test runs, no ordinary test
does, and realtime tests in different workers share the room, REALTIME_AT_ONCE at most. Four processes play workers with
their turns taken and given back exactly as the hooks do; every test is an interval."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from pathlib import Path

from tests.conftest import REALTIME_AT_ONCE, _Turns

# True: a realtime test. The first three workers ask for the room together.
PLANS = [[True, True, True, False], [True, True, True, False], [True, True, False], [False, True, False, False]]


def _worker(folder: str, plan: list[bool], start_together, results) -> None:
    turns = _Turns()
    start_together.wait()
    for i, realtime in enumerate(plan):
        turns.take(Path(folder), realtime)
        start = time.monotonic()
        time.sleep(0.2)
        results.put((realtime, start, time.monotonic()))
        following = plan[i + 1] if i + 1 < len(plan) else False
        if not (turns.realtime and following):
            turns.give_back()


def test_no_ordinary_test_overlaps_a_realtime_one_and_realtime_ones_share(tmp_path: Path):
    ctx = multiprocessing.get_context("fork")
    results, start_together = ctx.Queue(), ctx.Barrier(len(PLANS))
    workers = [ctx.Process(target=_worker, args=(str(tmp_path), plan, start_together, results))
               for plan in PLANS]
    for w in workers:
        w.start()
    runs = [results.get(timeout=60) for _ in range(sum(map(len, PLANS)))]
    for w in workers:
        w.join(timeout=60)

    def overlap(a, b) -> bool:
        return a[1] < b[2] and b[1] < a[2]
    mixed = [(a, b) for a in runs for b in runs if a[0] and not b[0] and overlap(a, b)]
    assert not mixed, "an ordinary test ran during a realtime one"
    shared = [(a, b) for a in runs for b in runs if a is not b and a[0] and b[0] and overlap(a, b)]
    assert shared, "realtime tests in two workers never ran at once"
    edges = sorted([(r[1], 1) for r in runs if r[0]] + [(r[2], -1) for r in runs if r[0]])
    most = max(itertools.accumulate(step for _, step in edges))   # at an equal time, an end first
    assert most <= REALTIME_AT_ONCE, f"{most} realtime tests ran at once"
