"""The Playwright driver for the tests that drive Chromium. Its sync API allows one driver per
process, and while it runs it leaves its asyncio loop marked as running in the main thread, so a
later `asyncio.run()` in any other test would fail. So each package that needs it (tests/cabinet,
tests/e2e, tests/installers) defines a package-scoped `playwright_driver` fixture in its conftest
that yields from `running()`: the driver stops when that package's last test has run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def running() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    driver = sync_api.sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()
