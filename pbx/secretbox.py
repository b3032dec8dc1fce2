"""Encryption at rest for the secrets an administrator may read back (SIP passwords).

The key is the PBX's own: a file readable only by the PBX's user in its data directory, or the
TALKER_PBX_KEY environment variable (a Fernet key) where the key is managed outside the host.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_ENV = "TALKER_PBX_KEY"


class SecretBoxError(Exception):
    pass


class SecretBox:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    @classmethod
    def load_or_create(cls, path: Path) -> SecretBox:
        env_key = os.environ.get(KEY_ENV)
        if env_key:
            return cls(env_key.encode("ascii"))
        try:
            return cls(path.read_bytes().strip())
        except FileNotFoundError:
            pass
        key = Fernet.generate_key()
        # O_EXCL: two PBX processes racing on a new data directory must not end with two keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return cls(key)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as e:
            raise SecretBoxError("the PBX key does not match the one this secret was stored with") from e
