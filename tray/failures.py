"""What went wrong, as one sentence in the user's language: a PBX that cannot be reached, a
refusal of the PBX's API, a SIP reply that ended a call or a registration.

The raw detail (an exception's text, a SIP status line, the API's English message) goes to the
log, never to the user: "[Errno 111] Connection refused" or "503 No Trunk Configured" tells a
person nothing. The PBX's error codes and Kamailio's reason phrases are stable, so each maps to
a sentence of common/i18n_app.py; anything unknown gets a general sentence of its kind.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl

from common.i18n import has_text, tr

log = logging.getLogger(__name__)


# --- reaching the PBX's API ----------------------------------------------------------------------
def unreachable(e: BaseException) -> str:
    """Why the PBX's API could not be asked: the cause of a tray/pbx_transport.py or OS error, as
    a clause that fits "The PBX at … cannot be reached ({detail})"."""
    log.info("the PBX cannot be reached: %r", e)
    return tr(f"net.{_network_kind(e)}")


def _network_kind(e: BaseException) -> str:
    from tray import pbx_transport

    if isinstance(e, pbx_transport.BadAddress):
        return "bad_address"
    if isinstance(e, TimeoutError):
        return "timeout"
    # The OS error underneath says what it really was.
    seen: set[int] = set()
    cause: BaseException | None = e
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError):
            return "tls"
        if isinstance(cause, socket.gaierror):
            return "unknown_host"
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return "refused"
        if isinstance(cause, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
            return "dropped"
        if getattr(cause, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
            return "no_route"
        cause = cause.__cause__ or cause.__context__
    text = str(e).lower()
    if "name or service not known" in text or "name resolution" in text or "nodename" in text:
        return "unknown_host"
    if "connection refused" in text or "connect call failed" in text:
        return "refused"
    if isinstance(e, (pbx_transport.Garbled, pbx_transport.HandshakeRefused, ValueError, KeyError)):
        return "garbled"
    if isinstance(e, (pbx_transport.NoAnswer, pbx_transport.StreamClosed)):
        return "dropped"
    return "other"


# Refusals whose sentence names who has the value already (the error's "owner").
_NAMES_OWNER = ("extension_taken", "mobile_taken", "email_taken")


# --- the PBX's API said no ---------------------------------------------------------------------------
def api_error(body: object) -> dict:
    """The `error` object of an API answer, or {} when the answer has none (not the PBX's)."""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def refusal(status: int, body: object) -> str:
    """The sentence for an API answer that is not a success: by the PBX's stable error code
    (docs/openapi.json), with the details the error carries; the English message only goes to
    the log."""
    error = api_error(body)
    code = str(error.get("code") or "")
    if error:
        log.info("the PBX refused (HTTP %s, %s): %s", status, code, error.get("message"))
    if code and has_text(f"api.{code}"):
        params = {"value": error.get("value") or "", "owner": error.get("owner") or "",
                  "seconds": error.get("retry_after_s") or ""}
        if code in _NAMES_OWNER and not (params["value"] and params["owner"]):
            return tr("api.taken")  # a PBX that does not name the owner
        return tr(f"api.{code}", **params)
    if not error:
        # Not the PBX's JSON at all: another server at that address, or a proxy in between.
        return tr("api.not_a_pbx") if status in (404, 405) else tr("api.proxy_failure")
    if status >= 500:
        return tr("api.internal")
    return tr("api.refused")


# --- SIP replies ---------------------------------------------------------------------------------------
# Reason phrases Talker's own PBX sends (pbx/kamailio/decide.py, routing.py): they say more than
# the code alone, and they are stable.
_PBX_REASONS = {
    "no trunk configured": "sip.no_trunk",
    "relaying forbidden": "sip.relaying_forbidden",
    "only calls go to the trunk": "sip.only_calls",
    "unknown caller": "sip.unknown_caller",
}


def sip_failure(code: int | None, reason: str | None = None) -> str:
    """Why a call did not go through (or ended), from its final SIP reply, as a clause that fits
    "The call has ended: …" and "Could not call …: …"."""
    key = _PBX_REASONS.get((reason or "").strip().lower())
    if key:
        return tr(key)
    if code is not None and has_text(f"sip.{code}"):
        return tr(f"sip.{code}")
    if code is None or code < 400:
        return tr("sip.other")
    return tr({4: "sip.4xx", 5: "sip.5xx", 6: "sip.6xx"}.get(code // 100, "sip.other"), code=code)
