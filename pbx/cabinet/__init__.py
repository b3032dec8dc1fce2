"""The administrators' web cabinet: a static single-page client of the PBX's JSON API, served by
the same app at `/` (see README, "The web cabinet").

The pages hold no rule of their own: every check is the API's. What the server adds here is
what a browser needs to keep the pages honest: a Content-Security-Policy that lets in nothing but
this origin's own scripts, styles and API (no inline script, no CDN, no framing), and no caching
of index.html so that a new PBX version is picked up on the next load.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from common.i18n_app import APP_MESSAGES

STATIC = Path(__file__).resolve().parent / "static"

# 'self' only: the cabinet is plain ES modules and one stylesheet from this origin. No
# 'unsafe-inline' for scripts or styles, no eval; connect-src covers fetch() to /api/v1.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _CabinetFiles(StaticFiles):
    async def get_response(self, path, scope):
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        if path in ("", ".", "index.html"):
            response.headers["Cache-Control"] = "no-cache"
        return response


# The sentences for the API's refusals and field problems by their stable codes, in English and
# Russian: the same ones the app shows (common/i18n_app.py), so that the cabinet never shows the
# API's own English message to a person who reads Russian.
REFUSAL_PREFIXES = ("api.", "problem.")


def refusal_texts() -> dict[str, dict[str, str]]:
    chosen = {key: texts for key, texts in APP_MESSAGES.items() if key.startswith(REFUSAL_PREFIXES)}
    return {lang: {key: texts[i] for key, texts in chosen.items()} for i, lang in enumerate(("en", "ru"))}


def mount(app: FastAPI) -> None:
    """Serve the cabinet at `/`: after the API's routes, so that /api/v1 keeps its own 404s."""
    texts = refusal_texts()

    @app.get("/refusals.json", include_in_schema=False)
    def refusals() -> JSONResponse:
        return JSONResponse(texts, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    app.mount("/", _CabinetFiles(directory=STATIC, html=True), name="cabinet")
