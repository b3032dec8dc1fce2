"""Secrets (the SIP password, the PBX session) in the OS keyring: the Secret Service on Linux
(gnome-keyring, KWallet's and KeePassXC's Secret Service), the macOS Keychain, the Windows
Credential Locker.

Each platform's keyring is reached directly, never by the `keyring` library's choice among all of
its backends: choosing imports every backend (libsecret's loads PyGObject, the Secret Service's
`cryptography`), about 21 MB resident for the whole day in an app that reads a password at start
(docs/decisions.md #31). On Linux the app speaks the Secret Service's D-Bus API itself, through
jeepney (pure Python, 0.4 MB); on macOS and Windows it constructs `keyring`'s one backend for the
OS. Items keep the attributes `keyring` gives them (service, username, application), so what an
earlier version stored is found and replaced, not duplicated.

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
import sys
from pathlib import Path

from common import locations

log = logging.getLogger(__name__)

SERVICE = "talker"
SECRETS_FILE = "secrets.json"


class SecretStoreError(Exception):
    pass


class KeyringRefused(SecretStoreError):
    """The OS keyring exists but would not do it (no collection and no way to make one, locked,
    the person dismissed its prompt, the service went away)."""


class SecretServiceKeyring:
    """The freedesktop.org Secret Service API (specifications.freedesktop.org/secret-service),
    the few calls a password needs, one D-Bus connection per operation (as `keyring` does: the
    idle app holds no socket for it). Secrets cross the bus with the "plain" algorithm: the
    session bus is the user's own socket, and whoever can read its traffic can as well ask the
    service for the secret; the alternative, Diffie-Hellman and AES, would bring `cryptography`
    (7 MB resident) back for nothing."""

    name = "keyring"
    errors: tuple[type[BaseException], ...] = (KeyringRefused,)
    BUS_NAME = "org.freedesktop.secrets"
    PATH = "/org/freedesktop/secrets"
    IFACE = "org.freedesktop.Secret"
    # `keyring`'s own: items written through it by earlier versions are found and replaced.
    APPLICATION = "Python keyring library"

    def __init__(self):
        from jeepney import DBusAddress

        self._service = DBusAddress(self.PATH, bus_name=self.BUS_NAME, interface=self.IFACE + ".Service")

    def usable(self) -> bool:
        """A session bus with a Secret Service on it (asking activates it, as a desktop does)."""
        try:
            self._run(lambda c: c.call(c.service, "ReadAlias", "s", "default"))
        except KeyringRefused as e:
            log.debug("no Secret Service: %s", e)
            return False
        return True

    def _run(self, operation):
        from jeepney import DBusErrorResponse
        from jeepney.io.blocking import open_dbus_connection

        try:
            conn = open_dbus_connection(bus="SESSION")
        except KeyError:
            raise KeyringRefused("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)") from None
        except (OSError, ValueError, RuntimeError) as e:
            raise KeyringRefused(f"the D-Bus session bus: {type(e).__name__}: {e}") from None
        try:
            with conn:
                return operation(_Session(conn, self._service))
        except DBusErrorResponse as e:
            raise KeyringRefused(f"{e.name}: {' '.join(map(str, e.data))}") from None
        except OSError as e:  # the bus went away
            raise KeyringRefused(f"the D-Bus session bus: {type(e).__name__}: {e}") from None

    def get(self, key: str) -> str | None:
        def read(c: _Session) -> str | None:
            for item in c.search(c.collection(), _attributes(key)):
                c.unlock(item)
                _session, _params, value, _type = c.call(
                    c.at(item, "Item"), "GetSecret", "o", c.open_session())[0]
                return bytes(value).decode("utf-8")
            return None
        return self._run(read)

    def set(self, key: str, value: str) -> None:
        def write(c: _Session) -> None:
            collection = c.collection()
            props = {self.IFACE + ".Item.Label": ("s", f"Password for '{key}' on '{SERVICE}'"),
                     self.IFACE + ".Item.Attributes": ("a{ss}", dict(_attributes(key),
                                                                     application=self.APPLICATION))}
            secret = (c.open_session(), b"", value.encode("utf-8"), "text/plain")
            _item, prompt = c.call(c.at(collection, "Collection"), "CreateItem", "a{sv}(oayays)b",
                                   props, secret, True)
            c.prompt(prompt)
        self._run(write)

    def delete(self, key: str) -> None:
        def remove(c: _Session) -> None:
            for item in c.search(c.collection(), _attributes(key)):
                c.prompt(c.call(c.at(item, "Item"), "Delete")[0])
        self._run(remove)


def _attributes(key: str) -> dict[str, str]:
    return {"service": SERVICE, "username": key}


class _Session:
    """One connection's calls to the Secret Service."""

    def __init__(self, conn, service):
        self.conn = conn
        self.service = service
        self._session: str | None = None

    def at(self, path: str, interface: str):
        from jeepney import DBusAddress

        return DBusAddress(path, bus_name=SecretServiceKeyring.BUS_NAME, interface=f"{SecretServiceKeyring.IFACE}.{interface}")

    def call(self, address, method: str, signature: str | None = None, *body) -> tuple:
        from jeepney import new_method_call
        from jeepney.wrappers import unwrap_msg

        return tuple(unwrap_msg(self.conn.send_and_get_reply(new_method_call(address, method, signature, body))))

    def open_session(self) -> str:
        if self._session is None:
            _output, self._session = self.call(self.service, "OpenSession", "sv", "plain", ("s", ""))
        return self._session

    def collection(self) -> str:
        """The default collection ("login" on gnome-keyring), made if there is none (its prompt
        asks the person for a password), unlocked."""
        path = self.call(self.service, "ReadAlias", "s", "default")[0]
        if path == "/":
            path, prompt = self.call(self.service, "CreateCollection", "a{sv}s",
                                     {SecretServiceKeyring.IFACE + ".Collection.Label": ("s", "Default keyring")},
                                     "default")
            if path == "/":
                path = self.prompt(prompt)
            if path in (None, "/"):
                raise KeyringRefused("no collection to keep secrets in")
        self.unlock(path)
        return path

    def unlock(self, path: str) -> None:
        unlocked, prompt = self.call(self.service, "Unlock", "ao", [path])
        if path not in unlocked and path not in (self.prompt(prompt) or ()):
            raise KeyringRefused(f"{path} stays locked")

    def search(self, collection: str, attributes: dict[str, str]) -> list[str]:
        return list(self.call(self.at(collection, "Collection"), "SearchItems", "a{ss}", attributes)[0])

    def prompt(self, path: str):
        """Let the service ask the person (a password, a confirmation), wait for the answer, and
        return its result (the value of the variant it sends); None if there is nothing to ask
        (the path "/")."""
        if path == "/":
            return None
        from jeepney import MatchRule, message_bus

        rule = MatchRule(type="signal", interface=SecretServiceKeyring.IFACE + ".Prompt", member="Completed", path=path)
        self.call(message_bus, "AddMatch", "s", rule.serialise())
        with self.conn.filter(rule) as completed:
            self.call(self.at(path, "Prompt"), "Prompt", "s", "")
            dismissed, (_signature, result) = self.conn.recv_until_filtered(completed).body
        if dismissed:
            raise KeyringRefused("Prompt dismissed: the Secret Service's prompt was dismissed")
        return result


class _KeyringBackend:
    """`keyring`'s backend for this OS (macOS Keychain, Windows Credential Locker), constructed
    directly rather than chosen among all of `keyring`'s backends."""

    name = "keyring"
    BACKENDS = {"darwin": ("keyring.backends.macOS", "Keyring"),
                "win32": ("keyring.backends.Windows", "WinVaultKeyring")}

    def __init__(self, platform: str):
        import importlib

        import keyring.errors

        module, cls = self.BACKENDS[platform]
        self.backend_class = getattr(importlib.import_module(module), cls)
        self._keyring = self.backend_class()
        self.errors: tuple[type[BaseException], ...] = (keyring.errors.KeyringError,)

    def usable(self) -> bool:
        return bool(self.backend_class.viable)

    def get(self, key: str) -> str | None:
        return self._keyring.get_password(SERVICE, key)

    def set(self, key: str, value: str) -> None:
        self._keyring.set_password(SERVICE, key, value)

    def delete(self, key: str) -> None:
        import keyring.errors

        try:
            self._keyring.delete_password(SERVICE, key)
        except keyring.errors.PasswordDeleteError:
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


class FallbackStore:
    """The OS keyring until it refuses, then the user-only file for the rest of the process."""

    def __init__(self, primary: SecretServiceKeyring | _KeyringBackend):
        self._primary = primary
        self._errors = primary.errors
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


def _os_keyring() -> SecretServiceKeyring | _KeyringBackend | None:
    """This OS's keyring, or None where there is none (or its library is missing)."""
    if sys.platform in _KeyringBackend.BACKENDS:
        try:
            return _KeyringBackend(sys.platform)
        except ImportError:
            return None
    try:
        return SecretServiceKeyring()
    except ImportError:
        return None


def open_store():
    forced = os.environ.get("TALKER_SECRET_BACKEND")
    if forced == "file":
        return _FileBackend()
    keyring = _os_keyring()
    if forced == "keyring" and keyring is not None:
        return keyring
    if keyring is not None and keyring.usable():
        return FallbackStore(keyring)
    log.warning("no OS keyring is available: the SIP password is kept in %s, readable by this "
                "user only", locations.config_dir() / SECRETS_FILE)
    return _FileBackend()


def sip_password_key(aor: str) -> str:
    return f"sip:{aor}"
