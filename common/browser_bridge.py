"""The browser bridge's shared facts: one definition for native_host/, tray/ and installers/.

The values live in browser_bridge.json next to this file, which extension/build.mjs reads too,
so the extension's manifest `key`, the host name it connects to and the host manifests that
allow it can never disagree. Standard library only: the native host imports this at start.

Where a browser looks for host manifests (per user):
- Linux and macOS: a folder per browser (`Browser.folder()`); a browser started with
  `--user-data-dir=DIR` (Chromium family) looks in `DIR/NativeMessagingHosts` instead.
- Windows: a registry key per browser whose default value is the manifest's path
  (`Browser.registry_keys()`); Brave, Vivaldi, Opera and Yandex Browser also read Chrome's key.
Opera's Linux and macOS folders are the ones Opera is reported to use; they are not verified
on a real installation yet.
"""

from __future__ import annotations

import json
import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs milliseconds
if TYPE_CHECKING:
    from typing import Any

BRIDGE_PATH = os.path.join(os.path.dirname(__file__), "browser_bridge.json")

with open(BRIDGE_PATH, encoding="utf-8") as _f:
    _FACTS = json.load(_f)

HOST_NAME: str = _FACTS["host_name"]
HOST_DESCRIPTION: str = _FACTS["host_description"]
CHROMIUM_KEY: str = _FACTS["chromium"]["key"]
CHROMIUM_EXTENSION_ID: str = _FACTS["chromium"]["extension_id"]
FIREFOX_ADDON_ID: str = _FACTS["firefox"]["addon_id"]
# Chrome refuses a host message over 1 MB (and then closes the port), so the host never sends one.
MAX_MESSAGE_BYTES_TO_BROWSER: int = _FACTS["max_message_bytes_to_browser"]
# Chrome would send up to 64 MiB; nothing the extension says is anywhere near this.
MAX_MESSAGE_BYTES_FROM_BROWSER: int = _FACTS["max_message_bytes_from_browser"]

FAMILIES = ("chromium", "firefox")


class Browser:
    """One browser: where it reads host manifests for the current user on each OS."""

    __slots__ = ("id", "name", "family", "linux", "darwin", "windows")

    def __init__(self, id: str, name: str, family: str, linux: str, darwin: str, windows: list[str]):
        self.id = id
        self.name = name
        self.family = family
        self.linux = linux
        self.darwin = darwin
        self.windows = tuple(windows)

    def __repr__(self) -> str:
        return f"Browser({self.id!r})"

    def folder(self, platform: str | None = None, home: str | None = None, config_home: str | None = None) -> str:
        """The per-user folder of host manifests on Linux or macOS. On Linux, the Chromium family
        keeps its user data in $XDG_CONFIG_HOME/<name>: `config_home`, else for the current
        user (no `home`) the environment's $XDG_CONFIG_HOME when it is absolute (a relative one
        is invalid by the base directory spec), else <home>/.config. Firefox's ~/.mozilla is
        always under the home folder."""
        platform = platform or sys.platform
        if platform == "win32":
            raise ValueError("on Windows, host manifests are registered in the registry (registry_keys)")
        template = self.darwin if platform == "darwin" else self.linux
        if platform != "darwin" and template.startswith("~/.config/"):
            if config_home is None:
                xdg = os.environ.get("XDG_CONFIG_HOME", "") if home is None else ""
                config_home = xdg if xdg.startswith("/") else os.path.join(home or os.path.expanduser("~"), ".config")
            return os.path.join(config_home, template.removeprefix("~/.config/"))
        home = home if home is not None else os.path.expanduser("~")
        return os.path.join(home, template.removeprefix("~/"))

    def registry_keys(self) -> tuple[str, ...]:
        """HKCU keys whose default value must be the manifest's path (Windows)."""
        return tuple(f"{key}\\{HOST_NAME}" for key in self.windows)


BROWSERS: dict[str, Browser] = {
    browser_id: Browser(browser_id, spec["name"], spec["family"], spec["linux"], spec["darwin"], spec["windows"])
    for browser_id, spec in _FACTS["browsers"].items()
}


def extension_id_from_key(key_b64: str) -> str:
    """Chromium's extension ID for a manifest `key`: the first 128 bits of the SHA-256 of the
    DER public key, each hex digit written as a letter a-p."""
    # Imported here: the native host imports this module at every start, and hashlib's
    # OpenSSL binding alone costs it about 10 ms.
    import base64
    import hashlib

    digest = hashlib.sha256(base64.b64decode(key_b64)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def allowed_origins() -> list[str]:
    return [f"chrome-extension://{CHROMIUM_EXTENSION_ID}/"]


def host_manifest(family: str, host_path: str) -> dict[str, Any]:
    """The host manifest for a browser family; `host_path` is the absolute path of the host
    executable (Chrome starts it without a shell, so it must be executable on its own)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown browser family {family!r}")
    manifest: dict[str, Any] = {"name": HOST_NAME, "description": HOST_DESCRIPTION, "path": host_path, "type": "stdio"}
    if family == "chromium":
        manifest["allowed_origins"] = allowed_origins()
    else:
        manifest["allowed_extensions"] = [FIREFOX_ADDON_ID]
    return manifest

