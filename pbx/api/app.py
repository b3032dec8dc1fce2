"""The PBX's HTTP API (FastAPI): the directory, numbers, contacts, settings, and the event stream.

OpenAPI at /api/v1/openapi.json (a copy is committed as docs/openapi.json). Every error answers
{"error": {"code", "message", "fields"}}: see pbx/errors.py for the codes by status.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pbx.api import events, routes
from pbx.errors import PbxError
from pbx.instance import PbxInstance

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"


def _error(status: int, code: str, message: str, fields: list | None = None, headers: dict | None = None,
           **extra) -> JSONResponse:
    body = {"code": code, "message": message, "fields": fields or [], **extra}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def create_app(pbx: PbxInstance) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await app.state.events.start()
        try:
            yield
        finally:
            await app.state.events.stop()

    app = FastAPI(title="Talker PBX API", version=API_VERSION, lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
                  description="The PBX side of Talker: employees and their logins, the Administrators "
                              "group, numbers and the outgoing number, address books. Every write is one "
                              "transaction; versioned resources carry an ETag and need If-Match.")
    app.state.pbx = pbx
    app.state.events = events.EventHub(pbx)
    app.include_router(routes.router)
    app.include_router(events.router)

    @app.exception_handler(PbxError)
    async def pbx_error(request: Request, exc: PbxError) -> JSONResponse:
        return _error_of(exc)

    def _error_of(exc: PbxError) -> JSONResponse:
        fields = [f.to_dict() for f in getattr(exc, "fields", [])]
        headers, extra = None, {}
        retry = getattr(exc, "retry_after_s", None)
        if retry is not None:
            headers, extra = {"Retry-After": str(retry)}, {"retry_after_s": retry}
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return _error(exc.status, exc.code, str(exc), fields, headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            refusal = await routes.gates_refuse(request)
            if refusal is not None:
                return _error_of(refusal)
        fields = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            fields.append({"field": ".".join(loc) or "body", "code": err.get("type", "invalid"),
                           "message": err.get("msg", "invalid")})
        message = f"{fields[0]['field']}: {fields[0]['message']}" if fields else "The request is not valid."
        return _error(422, "invalid_input", message, fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail),
                      headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal", "The PBX failed to do this; its log has the details.")

    return app
