"""The published API document (docs/openapi.json) is exactly what the running API serves."""

from __future__ import annotations

import difflib

import pytest

from tests.api.regenerate_openapi import COMMAND, PUBLISHED, live_document, render


@pytest.fixture
def db_url() -> None:
    """The document does not depend on the database: the default SQLite is enough."""
    return None


def test_the_published_openapi_document_is_the_live_one(api):
    live = render(live_document(api.url))
    published = PUBLISHED.read_text(encoding="utf-8") if PUBLISHED.exists() else ""
    if published != live:
        diff = "".join(list(difflib.unified_diff(published.splitlines(True), live.splitlines(True),
                                                 "docs/openapi.json", "live /api/v1/openapi.json"))[:80])
        raise AssertionError(f"docs/openapi.json is not the API's document: regenerate it with\n"
                             f"    {COMMAND}\nand review the change.\n{diff}")
