"""Checks and normal forms for what people type into the directory: names, extensions, mobile
numbers, e-mail addresses, URLs. Each returns the normal form or raises InvalidInput naming the
field."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from common import dialstring
from pbx.errors import FieldProblem, InvalidInput

EXTENSION_RE = re.compile(r"[0-9]{2,6}")
# Practical e-mail syntax (RFC 5321 limits, one @, a dotted domain); deliverability is not ours.
_EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                       r"[A-Za-z]{2,63}")


def problem(field: str, code: str, message: str) -> InvalidInput:
    return InvalidInput(message, [FieldProblem(field, code, message)])


def name(value: str, field: str = "name", max_len: int = 128) -> str:
    value = " ".join(value.split())
    if not value:
        raise problem(field, "required", "A name is required.")
    if len(value) > max_len:
        raise problem(field, "too_long", f"A name has at most {max_len} characters.")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise problem(field, "invalid", "A name may not contain control characters.")
    return value


def extension(value: str, field: str = "extension") -> str:
    value = value.strip()
    if not EXTENSION_RE.fullmatch(value):
        raise problem(field, "invalid_extension", f"The extension {value!r} is not 2 to 6 digits.")
    return value


def phone_number(value: str, region: str, field: str) -> str:
    """Any common format → E.164; a number that cannot exist is refused."""
    try:
        target = dialstring.parse(value)
        if target.is_name:
            raise dialstring.InvalidTarget("target.no_digits", target=value)
        number = dialstring.normalise(target, region)
    except dialstring.InvalidTarget as e:
        raise problem(field, "invalid_number", f"{value!r} is not a phone number: {e}") from None
    if not number.startswith("+"):
        raise problem(field, "invalid_number", f"{value!r} is not a full phone number.")
    return number


def dial_string(value: str, region: str, field: str = "number") -> str:
    """A contact's number: E.164, or an extension/short code as it is dialed."""
    try:
        target = dialstring.parse(value)
        if target.is_name:
            raise dialstring.InvalidTarget("target.no_digits", target=value)
        return dialstring.normalise(target, region)
    except dialstring.InvalidTarget as e:
        raise problem(field, "invalid_number", f"{value!r} is not a phone number: {e}") from None


def email(value: str, field: str = "email") -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL_RE.fullmatch(value):
        raise problem(field, "invalid_email", f"{value!r} is not an e-mail address.")
    return value.lower()


def http_url(value: str, field: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 1000:
        raise problem(field, "invalid_url", f"{value!r} is not an http(s) address.")
    return value


def region(value: str, field: str = "region") -> str:
    value = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise problem(field, "invalid_region", f"{value!r} is not a two-letter region code.")
    return value


def host_port(value: str, field: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?", value):
        raise problem(field, "invalid_address", f"{value!r} is not host[:port].")
    return value


def flag(value: object, field: str) -> str:
    """A yes/no setting as stored ("1"/"0"), from JSON true/false or what an operator types."""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return "1"
    if text in {"0", "false", "no", "off"}:
        return "0"
    raise problem(field, "invalid_flag", f"{field}: give true or false, not {value!r}.")


def timezone(value: str, field: str = "timezone") -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = value.strip()
    try:
        if not value or value == "localtime":
            raise ValueError
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(field, "invalid_timezone", f"{value!r} is not an IANA time zone such as Europe/Moscow.") from None
    return value
