"""Encryption at rest for the secrets an administrator may read back (SIP passwords).

The key is the PBX's own: a file readable only by the PBX's user in its data directory, or the
TALKER_PBX_KEY environment variable (a Fernet key) where the key is managed outside the host.
"""

from __future__ import annotations

import os
import tempfile
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
        # Two PBX processes opening a new data directory at once must end with one key, and
        # neither may read it half written: the key is written aside, then linked into place,
        # which fails if the other one's is there already.
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
                f.flush()
                os.fsync(f.fileno())  # never a key file that a power cut leaves empty
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
        return cls(path.read_bytes().strip())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as e:
            raise SecretBoxError("the PBX key does not match the one this secret was stored with") from e
