"""The SIP password lives in the OS keyring when the desktop has one: a real Secret Service
(gnome-keyring on a private D-Bus session bus), not the file the test machines fall back to.
The app reads it back from there to register, and it is in no file in plain text."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.app import App, configure_account, talker
from tests.support.processes import wait_until
from tests.support.secret_service import AVAILABLE, SecretService
from tray.pbx_client import refresh_token_key
from tray.secret_store import KeyringRefused, SecretServiceKeyring

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not AVAILABLE, reason="needs gnome-keyring, libsecret-tools and dbus"),
]


@pytest.fixture
def secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A user's unlocked login keyring, as a desktop session has it; the app may use it."""
    service = SecretService(tmp_path / "secret-service.log")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
    monkeypatch.delenv("TALKER_SECRET_BACKEND")  # the app chooses by itself, as on a desktop
    try:
        yield service
    finally:
        service.stop()


def _files_holding(home: Path, secret: str) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def _registers_without_leaking(tmp_path: Path, *secrets: str) -> None:
    app = App(tmp_path)
    try:
        app.wait_registered(timeout=20)  # with the password it read from the keyring
    finally:
        app.quit()
    log = (tmp_path / "home/.local/state/talker/talker.log").read_text()
    assert "no OS keyring" not in log
    for secret in secrets:
        assert secret not in log + app.stderr()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_sip_password_is_kept_in_the_os_keyring_and_the_app_registers_with_it(
        kamailio, secret_service, tmp_path):
    creds = kamailio.add_employee("101", "Anna Ivanova")
    configure_account(kamailio, "101", creds.password)

    assert secret_service.lookup(f"sip:101@{kamailio.domain}") == creds.password
    assert _files_holding(tmp_path / "home", creds.password) == []
    _registers_without_leaking(tmp_path, creds.password)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_pbx_login_keeps_its_session_and_sip_password_in_the_os_keyring(
        kamailio, pbx_api, secret_service, tmp_path):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    done = talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n")
    assert done.returncode == 0, done.stderr

    sip_password = secret_service.lookup(f"sip:101@{kamailio.domain}")
    refresh_token = secret_service.lookup(refresh_token_key(pbx_api.url))
    assert sip_password and refresh_token, "the PBX login left nothing in the keyring"
    for secret in (sip_password, refresh_token, anna.communicator_password):
        assert _files_holding(tmp_path / "home", secret) == []
    _registers_without_leaking(tmp_path, sip_password, refresh_token, anna.communicator_password)
    rotated = secret_service.lookup(refresh_token_key(pbx_api.url))  # the app refreshed its session
    assert rotated and _files_holding(tmp_path / "home", rotated) == []


# Native libraries of what `keyring` imports to choose a backend: cryptography (the Secret
# Service backend's session encryption) and PyGObject (libsecret's backend, where installed).
# Reading the keyring needs neither; loaded, they stay resident all day (about 10 MB).
KEYRING_LIBRARIES = ("_rust.abi3", "_gi.cpython")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the loaded libraries are read from /proc")
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_app_logged_in_with_the_os_keyring_loads_no_library_the_keyring_does_not_need(
        kamailio, pbx_api, secret_service, tmp_path):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    assert talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n").returncode == 0
    app = App(tmp_path)
    try:
        app.wait_registered(timeout=20)
        wait_until(lambda: not app.client().request("pbx_state")["stale"], 15, 0.1, "the PBX state")
        maps = Path(f"/proc/{app.proc.pid}/maps").read_text()
    finally:
        app.quit()
    assert secret_service.lookup(f"sip:101@{kamailio.domain}")  # it did read the keyring
    assert [name for name in KEYRING_LIBRARIES if f"/{name}" in maps] == []


@pytest.fixture
def refusing_secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Secret Service that exists but refuses, as on a desktop-less session: gnome-keyring with
    no login keyring, whose prompter (to create one) has no display — every store or lookup
    ends in "Failed to create the collection: Prompt dismissed"."""
    service = SecretService(tmp_path / "secret-service.log", unlocked=False)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
    monkeypatch.delenv("TALKER_SECRET_BACKEND")
    try:
        refusal = wait_until(lambda: _store_refusal() or not service.running(), 30, 0.2,
                             "the Secret Service to answer")
        service.check_running()
        assert "Prompt dismissed" in refusal  # the keyring itself says no, for real
        yield
    finally:
        service.stop()


def _store_refusal() -> str | None:
    """What the app's way in to the Secret Service says when asked to store a secret, once the
    service answers (secret-tool writes to the "login" alias and never asks for a collection)."""
    try:
        SecretServiceKeyring().set("probe", "x")
    except KeyringRefused as e:
        return str(e) if "Prompt dismissed" in str(e) else None
    return None


@pytest.mark.parametrize("lang, notice", [
    ("en", "The system keyring refused to store passwords: they are kept in {path}, readable by you only."),
    ("ru", "Системное хранилище паролей отказалось их хранить: пароли сохранены в {path}, доступном только вам."),
])
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_keyring_that_refuses_leaves_the_secrets_in_the_user_only_file_with_a_one_line_notice(
        kamailio, pbx_api, refusing_secret_service, tmp_path, lang, notice):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    secrets_file = tmp_path / "home/.config/talker/secrets.json"
    line = notice.format(path=secrets_file)

    # The first start: the login window's request, and the app says where the secrets went.
    app = App(tmp_path, extra_env={"TALKER_LANG": lang})
    try:
        with app.client() as c:
            c.request("login", pbx_url=pbx_api.url, login="101", password=anna.communicator_password, timeout=30)
        app.wait_registered(timeout=20)
        assert app.notifications() == [line]
    finally:
        app.quit()
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert f"sip:101@{kamailio.domain}" in secrets_file.read_text()

    # `talker --login` with no app running says it in one line, and the app registers next time.
    secrets_file.unlink()
    done = talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n",
                  env=dict(os.environ, TALKER_LANG=lang))
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"talker: {line}\n"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    app = App(tmp_path, extra_env={"TALKER_LANG": lang})
    try:
        app.wait_registered(timeout=20)
    finally:
        app.quit()
