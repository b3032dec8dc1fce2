"""The PBX's HTTP API (FastAPI): the directory, numbers, contacts, settings, and the event stream.

OpenAPI at /api/v1/openapi.json (a copy is committed as docs/openapi.json). Every error answers
{"error": {"code", "message", "fields"}}: see pbx/errors.py for the codes by status.

Two guards sit in front of every route: a request body over its limit (MAX_JSON_BODY_BYTES,
MAX_XML_BODY_BYTES) is refused with 413 before it is read (by its Content-Length, or counted as
it streams in), and X-Forwarded-For is believed only from the proxies of the `trusted_proxies`
setting.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from pbx import cabinet, prodcalendar, settings
from pbx.api import events, routes
from pbx.errors import PbxError
from pbx.instance import PbxInstance

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
# The largest body a client has reason to send is a production calendar (XML, to
# POST /calendar/import) at the size the importer itself accepts; a real one is about 10 kB. The
# margin lets the importer's own 422, which says what is wrong, answer up to its limit.
MAX_XML_BODY_BYTES = prodcalendar.MAX_XML_BYTES + 64 * 1024
# Every other body is JSON, which FastAPI parses before any token check: the largest real one,
# a receive scheme of 32 devices with schedules, is a few kB. 256 kB still takes 40 schedule
# rules on each of 32 devices, and bounds what a stranger can make the PBX parse (0.2-0.3 s of
# CPU at worst, measured for 24,000 unknown keys at login).
MAX_JSON_BODY_BYTES = 256 * 1024
_XML_TYPES = (b"application/xml", b"text/xml")
# A 422 lists this many field problems at most: a body of 80,000 unknown keys would otherwise
# be answered with 7 MB of them.
MAX_FIELD_PROBLEMS = 20


def _error(status: int, code: str, message: str, fields: list | None = None, headers: dict | None = None,
           **extra) -> JSONResponse:
    body = {"code": code, "message": message, "fields": fields or [], **extra}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _body_too_large(limit: int) -> StarletteHTTPException:
    refusal = StarletteHTTPException(413, f"The request body is larger than the PBX accepts ({limit} bytes).")
    refusal.max_bytes = limit
    return refusal


class BodyLimit:
    """Refuses a request body over its limit (MAX_XML_BODY_BYTES for XML, MAX_JSON_BODY_BYTES
    for anything else) without holding it: at once when its Content-Length says so, or as soon
    as a chunked body passes the limit while the route reads it (uvicorn hands the body over in
    pieces and stops reading the socket while one waits)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = MAX_XML_BODY_BYTES if content_type in _XML_TYPES else MAX_JSON_BODY_BYTES
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > limit:
            # Answered without reading: uvicorn drops the rest as it arrives, so the client
            # still gets to read this answer once it has sent what it meant to.
            response = _error(413, "body_too_large", _body_too_large(limit).detail, max_bytes=limit)
            return await response(scope, receive, send)
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # FastAPI passes an HTTPException from reading the body through to the handler
                # below; anything else it would turn into a 400.
                raise _body_too_large(limit)
            return message

        return await self.app(scope, counting_receive, send)


def create_app(pbx: PbxInstance) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await app.state.events.start()
        try:
            yield
        finally:
            await app.state.events.stop()

    # No Swagger UI: FastAPI's loads its scripts from a CDN, and the PBX neither reaches the
    # network at run time nor serves pages that do. The OpenAPI document is the reference.
    app = FastAPI(title="Talker PBX API", version=API_VERSION, lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
                  description="The PBX side of Talker: employees and their logins, the Administrators "
                              "group, numbers and the outgoing number, address books. Every write is one "
                              "transaction; versioned resources carry an ETag and need If-Match.")
    app.state.pbx = pbx
    app.state.events = events.EventHub(pbx)
    app.include_router(routes.router)
    app.include_router(events.router)
    cabinet.mount(app)
    app.add_middleware(BodyLimit)
    # Read (and cache) the domain now: the first requests would otherwise each open a second
    # database connection for it while holding one, and a burst of them (a login storm) would
    # hold the whole pool and wait for it forever.
    _ = pbx.domain
    with pbx.sessions() as s:
        proxies = settings.get(s, "trusted_proxies")
    if proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)

    @app.exception_handler(PbxError)
    async def pbx_error(request: Request, exc: PbxError) -> JSONResponse:
        return _error_of(exc)

    def _error_of(exc: PbxError) -> JSONResponse:
        fields = [f.to_dict() for f in getattr(exc, "fields", [])]
        headers, extra = None, dict(getattr(exc, "details", {}))
        retry = getattr(exc, "retry_after_s", None)
        if retry is not None:
            headers = {"Retry-After": str(retry)}
            extra["retry_after_s"] = retry
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return _error(exc.status, exc.code, str(exc), fields, headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            refusal = await routes.gates_refuse(request)
            if refusal is not None:
                return _error_of(refusal)
        fields = []
        for err in errors[:MAX_FIELD_PROBLEMS]:
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            fields.append({"field": ".".join(loc) or "body", "code": err.get("type", "invalid"),
                           "message": err.get("msg", "invalid")})
        message = f"{fields[0]['field']}: {fields[0]['message']}" if fields else "The request is not valid."
        if len(errors) > MAX_FIELD_PROBLEMS:
            message += f" ({len(errors)} problems; the first {MAX_FIELD_PROBLEMS} are listed)"
        return _error(422, "invalid_input", message, fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, (RecursionError, ValueError)):
            # FastAPI's answer to JSON its parser gave up on (nested thousands deep, a number
            # of thousands of digits): refused like any other unreadable JSON, gates first.
            refusal = await routes.gates_refuse(request)
            if refusal is not None:
                return _error_of(refusal)
            why = "body: the JSON is nested too deeply or has a number too long to read."
            return _error(422, "invalid_input", why, [{"field": "body", "code": "json_invalid", "message": why}])
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        extra = {"max_bytes": exc.max_bytes} if hasattr(exc, "max_bytes") else {}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail),
                      headers=getattr(exc, "headers", None), **extra)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal", "The PBX failed to do this; its log has the details.")

    return app
