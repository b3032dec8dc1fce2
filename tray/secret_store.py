"""Secrets (the SIP password) in the OS keyring: Secret Service, macOS Keychain, Windows
Credential Locker, through the `keyring` library.

Where no keyring exists (a headless Linux box with no Secret Service, the test machines), the
secret goes into a file that only the user can read, in the user-only config directory, and the
app says so in its log. So it does where a keyring exists but refuses: a Secret Service with no
collection that cannot ask the user to create one ("Prompt dismissed": gnome-keyring without a
display for its prompter), a locked one; the person then gets a one-line notice
(`FallbackStore.notice`). TALKER_SECRET_BACKEND=keyring|file forces one.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from common import locations

log = logging.getLogger(__name__)

SERVICE = "talker"
SECRETS_FILE = "secrets.json"


class SecretStoreError(Exception):
    pass


class _KeyringBackend:
    name = "keyring"

    def __init__(self):
        import keyring

        self._keyring = keyring

    def get(self, key: str) -> str | None:
        return self._keyring.get_password(SERVICE, key)

    def set(self, key: str, value: str) -> None:
        self._keyring.set_password(SERVICE, key, value)

    def delete(self, key: str) -> None:
        try:
            self._keyring.delete_password(SERVICE, key)
        except self._keyring.errors.PasswordDeleteError:
            pass


class _FileBackend:
    name = "file"

    def __init__(self, path: Path | None = None):
        self.path = path or locations.config_dir() / SECRETS_FILE

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise SecretStoreError(f"{self.path} cannot be read: {e}") from None

    def _write(self, data: dict[str, str]) -> None:
        locations.ensure_private_dir(self.path.parent)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        tmp.replace(self.path)

    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def set(self, key: str, value: str) -> None:
        data = self._read()
        data[key] = value
        self._write(data)

    def delete(self, key: str) -> None:
        data = self._read()
        if data.pop(key, None) is not None:
            self._write(data)


def _keyring_errors() -> tuple[type[BaseException], ...]:
    import keyring.errors

    errors: list[type[BaseException]] = [keyring.errors.KeyringError]
    try:  # the Secret Service backend lets some of its library's errors through
        from secretstorage.exceptions import SecretStorageException
        errors.append(SecretStorageException)
    except ImportError:
        pass
    return tuple(errors)


class FallbackStore:
    """The OS keyring until it refuses, then the user-only file for the rest of the process."""

    def __init__(self, primary: _KeyringBackend):
        self._primary = primary
        self._errors = _keyring_errors()
        self._file: _FileBackend | None = None
        self.notice: str | None = None   # the one line a person is told once it fell back
        self.on_fallback = None          # called with the notice (the app shows it)

    @property
    def name(self) -> str:
        return self._primary.name if self._file is None else self._file.name

    def _run(self, operation: str, *args: str):
        if self._file is None:
            try:
                return getattr(self._primary, operation)(*args)
            except self._errors as e:
                self._fall_back(e)
        return getattr(self._file, operation)(*args)

    def _fall_back(self, error: BaseException) -> None:
        from common.i18n import tr

        self._file = _FileBackend()
        self.notice = tr("secrets.fallback", path=self._file.path)
        # INFO: the app logs it; `talker --login` prints the notice instead (no second line).
        log.info("the OS keyring refused (%s: %s): secrets are kept in %s, readable by this user only",
                 type(error).__name__, error, self._file.path)
        if self.on_fallback is not None:
            self.on_fallback(self.notice)

    def get(self, key: str) -> str | None:
        return self._run("get", key)

    def set(self, key: str, value: str) -> None:
        self._run("set", key, value)

    def delete(self, key: str) -> None:
        self._run("delete", key)


def _keyring_usable() -> bool:
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:
        return False
    kr = keyring.get_keyring()
    if isinstance(kr, fail.Keyring):
        return False
    if isinstance(kr, chainer.ChainerBackend) and not kr.backends:
        return False
    return True


def open_store():
    forced = os.environ.get("TALKER_SECRET_BACKEND")
    if forced == "file":
        return _FileBackend()
    if forced == "keyring":
        return _KeyringBackend()
    if _keyring_usable():
        return FallbackStore(_KeyringBackend())
    log.warning("no OS keyring is available: the SIP password is kept in %s, readable by this "
                "user only", locations.config_dir() / SECRETS_FILE)
    return _FileBackend()


def sip_password_key(aor: str) -> str:
    return f"sip:{aor}"
