"""Install the native host's manifest for one browser, for development and tests.

    .venv/bin/python -m native_host.install --browser chromium               # the user's Chromium
    .venv/bin/python -m native_host.install --browser chromium --profile DIR # chromium --user-data-dir=DIR
    .venv/bin/python -m native_host.install --browser firefox
    .venv/bin/python -m native_host.install --browser chrome --uninstall

The manifest names the host executable: `talker-native-host` next to this Python if the
package's console script is installed, else a small launcher written next to the manifest that
runs `python -m native_host` with this Python. The manifest admits only the extension IDs of
common/browser_bridge.json. The real installers (installers/) do the same per OS.
"""

from __future__ import annotations

import argparse
import json
import stat
import sys
from pathlib import Path

from common import browser_bridge


def host_command() -> Path | None:
    """The installed console script, if there is one."""
    name = "talker-native-host.exe" if sys.platform == "win32" else "talker-native-host"
    candidate = Path(sys.executable).parent / name
    return candidate if candidate.exists() else None


def write_launcher(folder: Path) -> Path:
    """A launcher that runs this checkout's host with this Python. Chrome starts the `path`
    of a manifest directly, with no arguments of ours, so they go into the launcher."""
    folder.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        path = folder / f"{browser_bridge.HOST_NAME}.bat"
        path.write_text(f'@echo off\r\n"{sys.executable}" -m native_host %*\r\n', encoding="utf-8")
        return path
    path = folder / f"{browser_bridge.HOST_NAME}.sh"
    python = sys.executable.replace("'", "'\\''")
    path.write_text(f"#!/bin/sh\nexec '{python}' -m native_host \"$@\"\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def manifest_folder(browser: browser_bridge.Browser, profile: Path | None) -> Path:
    if profile is not None:
        if browser.family != "chromium":
            raise SystemExit(f"{browser.name} reads host manifests per user, not per profile: leave out --profile")
        # A Chromium-family browser started with --user-data-dir looks only there (docs/platform-notes.md).
        return profile / "NativeMessagingHosts"
    if sys.platform == "win32":
        from common import locations

        return locations.config_dir() / "native-messaging" / browser.id
    return Path(browser.folder())


def install(browser_id: str, profile: Path | None = None, launcher: Path | None = None) -> Path:
    """Write the manifest (and the launcher when needed); returns the manifest's path."""
    browser = browser_bridge.BROWSERS[browser_id]
    folder = manifest_folder(browser, profile)
    folder.mkdir(parents=True, exist_ok=True)
    host = launcher or host_command() or write_launcher(folder)
    manifest = browser_bridge.host_manifest(browser.family, str(Path(host).resolve()))
    path = folder / f"{browser_bridge.HOST_NAME}.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if sys.platform == "win32" and profile is None:
        _register(browser, path)
    return path


def uninstall(browser_id: str, profile: Path | None = None) -> None:
    browser = browser_bridge.BROWSERS[browser_id]
    folder = manifest_folder(browser, profile)
    for name in (f"{browser_bridge.HOST_NAME}.json", f"{browser_bridge.HOST_NAME}.sh",
                 f"{browser_bridge.HOST_NAME}.bat"):
        try:
            (folder / name).unlink()
        except FileNotFoundError:
            pass
    if sys.platform == "win32" and profile is None:
        _unregister(browser)


def _register(browser: browser_bridge.Browser, manifest: Path) -> None:
    if sys.platform != "win32":  # only Windows calls this; the check also tells mypy winreg exists
        raise OSError("the registry exists only on Windows")
    import winreg

    for key in browser.registry_keys():
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, key.removeprefix("HKCU\\")) as k:
            winreg.SetValueEx(k, "", 0, winreg.REG_SZ, str(manifest))


def _unregister(browser: browser_bridge.Browser) -> None:
    if sys.platform != "win32":  # only Windows calls this; the check also tells mypy winreg exists
        raise OSError("the registry exists only on Windows")
    import winreg

    for key in browser.registry_keys():
        try:
            winreg.DeleteKey(winreg.HKEY_CURRENT_USER, key.removeprefix("HKCU\\"))
        except FileNotFoundError:
            pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m native_host.install", description=__doc__.split("\n\n")[0])
    p.add_argument("--browser", required=True, choices=sorted(browser_bridge.BROWSERS))
    p.add_argument("--profile", type=Path, help="a Chromium-family --user-data-dir to install into")
    p.add_argument("--uninstall", action="store_true")
    ns = p.parse_args(argv)
    if ns.uninstall:
        uninstall(ns.browser, ns.profile)
        print(f"removed the Talker host manifest for {browser_bridge.BROWSERS[ns.browser].name}")
    else:
        path = install(ns.browser, ns.profile)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
