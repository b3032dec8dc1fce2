"""The SIP password lives in the OS keyring when the desktop has one: a real Secret Service
(gnome-keyring on a private D-Bus session bus), not the file the test machines fall back to.
The app reads it back from there to register, and it is in no file in plain text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.app import App, configure_account, talker
from tests.support.processes import start_session_bus, stop_process, wait_until
from tray.pbx_client import refresh_token_key

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("gnome-keyring-daemon") and shutil.which("secret-tool")
                            and shutil.which("dbus-daemon")),
                       reason="needs gnome-keyring, libsecret-tools and dbus"),
]

KEYRING_UNLOCK_PASSWORD = "login-password-of-the-test-user"


@pytest.fixture
def secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A user's unlocked login keyring, as a desktop session has it; the app may use it."""
    log = open(tmp_path / "secret-service.log", "wb")
    bus, address = start_session_bus(log)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    monkeypatch.delenv("TALKER_SECRET_BACKEND")  # the app chooses by itself, as on a desktop
    daemon = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                              stdin=subprocess.PIPE, stdout=log, stderr=log)
    daemon.stdin.write(KEYRING_UNLOCK_PASSWORD.encode())
    daemon.stdin.close()
    wait_until(lambda: _lookup("probe") is not None or daemon.poll() is not None, 15, 0.1,
               "the Secret Service on the bus")
    try:
        assert daemon.poll() is None, (tmp_path / "secret-service.log").read_text(errors="replace")
        yield
    finally:
        for proc in (daemon, bus):
            stop_process(proc)
        log.close()


def _lookup(key: str) -> str | None:
    """What the Secret Service holds for Talker under `key` ("" if nothing), or None while the
    service is not up yet."""
    done = subprocess.run(["secret-tool", "lookup", "service", "talker", "username", key],
                          capture_output=True, text=True, timeout=10, env=os.environ)
    if done.returncode != 0 and done.stderr.strip():
        return None
    return done.stdout


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

    assert _lookup(f"sip:101@{kamailio.domain}") == creds.password
    assert _files_holding(tmp_path / "home", creds.password) == []
    _registers_without_leaking(tmp_path, creds.password)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_pbx_login_keeps_its_session_and_sip_password_in_the_os_keyring(
        kamailio, pbx_api, secret_service, tmp_path):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    done = talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n")
    assert done.returncode == 0, done.stderr

    sip_password = _lookup(f"sip:101@{kamailio.domain}")
    refresh_token = _lookup(refresh_token_key(pbx_api.url))
    assert sip_password and refresh_token, "the PBX login left nothing in the keyring"
    for secret in (sip_password, refresh_token, anna.communicator_password):
        assert _files_holding(tmp_path / "home", secret) == []
    _registers_without_leaking(tmp_path, sip_password, refresh_token, anna.communicator_password)
    rotated = _lookup(refresh_token_key(pbx_api.url))  # the app refreshed its session
    assert rotated and _files_holding(tmp_path / "home", rotated) == []


@pytest.fixture
def refusing_secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Secret Service that exists but refuses, as on a desktop-less session: gnome-keyring with
    no login keyring, whose prompter (to create one) has no display — every store or lookup
    ends in "Failed to create the collection: Prompt dismissed"."""
    log = open(tmp_path / "secret-service.log", "wb")
    bus, address = start_session_bus(log)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    monkeypatch.delenv("TALKER_SECRET_BACKEND")
    daemon = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--components=secrets"],
                              stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        refusal = wait_until(lambda: _store_refusal() or daemon.poll() is not None, 30, 0.2,
                             "the Secret Service to answer")
        assert daemon.poll() is None, (tmp_path / "secret-service.log").read_text(errors="replace")
        assert "Prompt dismissed" in refusal  # the keyring itself says no, for real
        yield
    finally:
        for proc in (daemon, bus):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def _store_refusal() -> str | None:
    """What the keyring library (the app's way in) says when asked to store a secret, once the
    service answers (secret-tool writes to the "login" alias and never asks for a collection)."""
    done = subprocess.run([sys.executable, "-c", "import keyring; keyring.set_password('probe', 'probe', 'x')"],
                          capture_output=True, text=True, timeout=30, env=os.environ)
    return done.stderr if done.returncode != 0 and "Prompt dismissed" in done.stderr else None


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
