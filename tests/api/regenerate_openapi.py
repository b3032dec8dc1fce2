"""Write docs/openapi.json, the published OpenAPI document, from a live `talker-pbx serve`.

    .venv/bin/python -m tests.api.regenerate_openapi

tests/api/test_openapi_document.py fails while the committed copy differs from what the API
serves; this is how to bring the copy up to date (and then review the diff like code).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import httpx

PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
COMMAND = ".venv/bin/python -m tests.api.regenerate_openapi"


def render(document: dict) -> str:
    """The committed form: stable key order and indentation, so that diffs show real changes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def live_document(api_url: str) -> dict:
    r = httpx.get(api_url + "/api/v1/openapi.json", timeout=30)
    r.raise_for_status()
    return r.json()


def main() -> int:
    from pbx.instance import PbxInstance
    from tests.support.api import ApiServer

    with tempfile.TemporaryDirectory(prefix="talker-openapi-") as tmp:
        pbx = PbxInstance.init(Path(tmp) / "pbx")
        server = ApiServer(pbx, Path(tmp) / "api.log")
        try:
            text = render(live_document(server.url))
        finally:
            server.stop()
            pbx.engine.dispose()
    PUBLISHED.write_text(text, encoding="utf-8")
    print(f"wrote {PUBLISHED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
