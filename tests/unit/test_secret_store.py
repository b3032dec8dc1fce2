"""Which OS keyring the app opens on macOS and Windows: `keyring`'s one backend for the OS,
constructed directly, not chosen among all of `keyring`'s backends (choosing imports every one of
them, and their libraries stay resident all day). Linux's Secret Service is tested for real in
tests/integration/test_keyring.py."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("platform, backend", [("win32", "keyring.backends.Windows.WinVaultKeyring"),
                                               ("darwin", "keyring.backends.macOS.Keyring")])
def test_on_windows_and_macos_the_app_opens_the_os_keyring_alone_platform_mocked(platform, backend):
    # The mock: this machine is Linux, so sys.platform is set after the standard library and
    # `keyring` itself are imported (the Keychain and the Credential Locker cannot exist here).
    probe = f"""
import sys
import keyring, tray.secret_store as store
sys.platform = {platform!r}
kr = store._os_keyring()
print(type(kr._keyring).__module__ + "." + type(kr._keyring).__name__)
print(" ".join(sorted(m for m in sys.modules if m.startswith(("keyring.backends", "secretstorage", "gi", "jeepney")))))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    opened, loaded = done.stdout.splitlines()
    assert opened == backend
    module = backend.rsplit(".", 1)[0]
    assert [m for m in loaded.split() if m not in ("keyring.backends", "keyring.backends.fail", module)] == []
