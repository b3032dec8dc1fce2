"""Reading the parties of a call out of SIP name-addr strings (RFC 3261 §25.1)."""

from __future__ import annotations

import re
from urllib.parse import unquote

_NAME_ADDR = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^>]*)>')
_ADDR_SPEC = re.compile(r"^\s*([^;,\s]+)")


def parse_name_addr(value: str) -> tuple[str, str, str]:
    """`"Anna" <sip:101@pbx.local>;tag=x` → ("sip:101@pbx.local", "101", "Anna")."""
    m = _NAME_ADDR.match(value)
    if m:
        display = m.group(1) if m.group(1) is not None else (m.group(2) or "")
        display = re.sub(r"\\(.)", r"\1", display).strip()
        uri = m.group(3).strip()
    else:
        m = _ADDR_SPEC.match(value)
        uri, display = (m.group(1) if m else value.strip()), ""
    user = ""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() in ("sip", "sips", "tel"):
        userinfo = rest.split(";", 1)[0].split("?", 1)[0]
        user = unquote(userinfo.rsplit("@", 1)[0] if "@" in userinfo else userinfo)
        user = user.split(":", 1)[0]  # drop a password, never show it
    return uri, user, display
