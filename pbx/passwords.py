"""Communicator passwords: generated strong, stored only as a slow hash.

scrypt from the standard library (RFC 7914), N=2^14, r=8, p=1: about 16 MiB and tens of
milliseconds per check, which is the point. The stored form names its parameters, so they can
grow later without breaking old hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1
# No look-alikes (0/O, 1/l/I): the password is read off a screen and typed in.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 16  # ≈ 93 bits


def generate() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant work whether or not there is a stored hash, so timing tells nothing."""
    if not stored:
        hash_password(password)  # spend the same time as a real check
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)
