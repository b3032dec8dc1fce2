"""What only an installer needs to know about each browser: how to tell that it is installed,
and the sandboxed packages it may come as. Keyed by the browser IDs of
common/browser_bridge.json, which stays the one list of browsers, their manifest folders and
registry keys (tests/installers/test_browsers.py checks that the two agree).

These facts could join browser_bridge.json; they are here because nothing but the installers
reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from common import browser_bridge


@dataclass(frozen=True)
class InstallFacts:
    # Linux commands that start it, when it is installed natively (a .deb, an .rpm, a tarball).
    commands: tuple[str, ...]
    # Its Flatpak application ID and Snap name, where it ships as one.
    flatpak: str | None
    snap: str | None
    # Its macOS application bundle, as found in /Applications.
    mac_app: str


FACTS: dict[str, InstallFacts] = {
    "chrome": InstallFacts(("google-chrome", "google-chrome-stable"), "com.google.Chrome", None,
                           "Google Chrome.app"),
    "chromium": InstallFacts(("chromium", "chromium-browser"), "org.chromium.Chromium", "chromium",
                             "Chromium.app"),
    "edge": InstallFacts(("microsoft-edge", "microsoft-edge-stable"), "com.microsoft.Edge", None,
                         "Microsoft Edge.app"),
    "yandex": InstallFacts(("yandex-browser", "yandex-browser-stable"), "ru.yandex.Browser", None,
                           "Yandex.app"),
    "brave": InstallFacts(("brave-browser", "brave"), "com.brave.Browser", "brave", "Brave Browser.app"),
    "vivaldi": InstallFacts(("vivaldi", "vivaldi-stable"), "com.vivaldi.Vivaldi", "vivaldi", "Vivaldi.app"),
    "opera": InstallFacts(("opera",), "com.opera.Opera", "opera", "Opera.app"),
    "firefox": InstallFacts(("firefox", "firefox-esr"), "org.mozilla.firefox", "firefox", "Firefox.app"),
}


def browsers() -> list[tuple[browser_bridge.Browser, InstallFacts]]:
    return [(browser, FACTS[browser_id]) for browser_id, browser in browser_bridge.BROWSERS.items()]
