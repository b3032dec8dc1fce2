"""The browser bridge's shared facts (common/browser_bridge.py) and the development installer
of the host manifest (native_host/install.py). What needs Node or runs the installed host:
tests/integration/test_native_host_install.py."""

from __future__ import annotations

import json
import sys

import pytest

from common import browser_bridge
from native_host import install


def test_the_manifest_key_yields_the_extension_id():
    assert browser_bridge.extension_id_from_key(browser_bridge.CHROMIUM_KEY) == browser_bridge.CHROMIUM_EXTENSION_ID


def test_ids_are_32_letters_a_to_p():
    ident = browser_bridge.extension_id_from_key("AAAA")
    assert len(ident) == 32 and set(ident) <= set("abcdefghijklmnop")


def test_the_host_name_is_one_chrome_accepts():
    # Chrome: lowercase alphanumerics, underscores and dots; no leading/trailing or double dots.
    name = browser_bridge.HOST_NAME
    assert all(c.islower() or c.isdigit() or c in "._" for c in name)
    assert not name.startswith(".") and not name.endswith(".") and ".." not in name


def test_every_browser_has_a_place_on_every_os():
    assert {"chrome", "chromium", "edge", "yandex", "brave", "vivaldi", "opera", "firefox"} <= set(browser_bridge.BROWSERS)
    for b in browser_bridge.BROWSERS.values():
        assert b.family in browser_bridge.FAMILIES
        assert b.folder("linux", "/home/u").startswith("/home/u/.")
        assert b.folder("darwin", "/Users/u").startswith("/Users/u/Library/Application Support/")
        assert b.registry_keys() and all(k.startswith("HKCU\\Software\\") and k.endswith("\\" + browser_bridge.HOST_NAME)
                                         for k in b.registry_keys())


def test_host_manifests_admit_only_our_extension():
    chromium = browser_bridge.host_manifest("chromium", "/opt/talker/talker-native-host")
    assert chromium == {"name": browser_bridge.HOST_NAME, "description": browser_bridge.HOST_DESCRIPTION,
                        "path": "/opt/talker/talker-native-host", "type": "stdio",
                        "allowed_origins": [f"chrome-extension://{browser_bridge.CHROMIUM_EXTENSION_ID}/"]}
    firefox = browser_bridge.host_manifest("firefox", "/opt/talker/talker-native-host")
    assert firefox["allowed_extensions"] == [browser_bridge.FIREFOX_ADDON_ID]
    assert "allowed_origins" not in firefox
    with pytest.raises(ValueError):
        browser_bridge.host_manifest("safari", "/x")


def test_the_users_own_folder_is_under_home(isolated_environment):
    if sys.platform == "win32":
        pytest.skip("registry")
    path = install.install("firefox")
    assert path.is_relative_to(isolated_environment)
    assert json.loads(path.read_text())["allowed_extensions"] == [browser_bridge.FIREFOX_ADDON_ID]


def test_firefox_has_no_per_profile_manifests(tmp_path):
    with pytest.raises(SystemExit):
        install.install("firefox", tmp_path)


@pytest.mark.parametrize("browser", ["chromium", "chrome"])
def test_the_users_own_folder_follows_XDG_CONFIG_HOME(isolated_environment, tmp_path, monkeypatch, browser):
    if sys.platform != "linux":
        pytest.skip("XDG base directories are Linux's")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    path = install.install(browser)
    expected = {"chromium": "chromium", "chrome": "google-chrome"}[browser]
    assert path == tmp_path / "elsewhere" / expected / "NativeMessagingHosts" / "org.talker.host.json"
    # A relative value is invalid (XDG base directory spec): ~/.config it is.
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert install.install(browser).is_relative_to(isolated_environment / ".config" / expected)
    # Firefox keeps ~/.mozilla whatever XDG_CONFIG_HOME says.
    assert install.install("firefox").is_relative_to(isolated_environment / ".mozilla")
