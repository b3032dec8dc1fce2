"""macOS: Talker.app, a PyInstaller bundle (installers/talker.spec) that a user drags into
/Applications. Its Info.plist declares tel:, callto: and sip: (CFBundleURLTypes), so Launch
Services knows Talker can open them as soon as the bundle is there. The first time the app
starts, it runs `install` for this user (installers/macos/app_start.py):

- host manifests in ~/Library/Application Support/<browser>/NativeMessagingHosts for the
  browsers present, naming Talker.app/Contents/MacOS/talker-native-host by absolute path;
- ~/Library/LaunchAgents/org.talker.Talker.plist, which starts Talker at login (RunAtLoad),
  while autostart is on;
- the default handler of a scheme only where no other app has it, or the user says so
  (`talker-integration install --yes`); a scheme another app holds is reported.

`Talker.app/Contents/MacOS/talker-integration uninstall` removes all of it (then the bundle goes
to the Trash). `python -m installers build macos OUTDIR` writes the Info.plist and LaunchAgent
for review and the icon; docs/install.md says how to build the bundle on a Mac.
"""

from __future__ import annotations

import json
import plistlib
import sys
from pathlib import Path
from typing import Protocol

from common import browser_bridge
from common.i18n import tr
from installers import SCHEMES
from installers.base import Ask, Options, Report, Target
from installers.browsers import browsers
from installers.frozen import APP_NAME
from installers.record import Changes, item_id

BUNDLE_ID = "org.talker.Talker"
LAUNCH_AGENT_LABEL = "org.talker.Talker"
DEFAULT_APP = Path("/Applications/Talker.app")
MIN_MACOS = "11.0"


def info_plist(version: str) -> dict:
    """The keys Talker.app's Info.plist needs beyond what PyInstaller writes itself."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleExecutable": "talker",
        "CFBundlePackageType": "APPL",
        "CFBundleInfoDictionaryVersion": "6.0",
        "CFBundleVersion": version,
        "CFBundleShortVersionString": version,
        "LSMinimumSystemVersion": MIN_MACOS,
        # A menu-bar app: no Dock icon, no main menu.
        "LSUIElement": True,
        "NSHighResolutionCapable": True,
        "NSMicrophoneUsageDescription": "Talker uses the microphone for your calls.",
        "CFBundleURLTypes": [{
            "CFBundleURLName": f"{BUNDLE_ID}.call",
            "CFBundleTypeRole": "Viewer",
            "CFBundleURLSchemes": list(SCHEMES),
        }],
    }


def launch_agent(app: Path) -> dict:
    return {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": [str(app / "Contents" / "MacOS" / "talker")],
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
        # macOS 13+ lists the agent under Talker in Settings → General → Login Items.
        "AssociatedBundleIdentifiers": [BUNDLE_ID],
    }


class LaunchServices(Protocol):
    def default_handler(self, scheme: str) -> str | None: ...
    def set_default_handler(self, scheme: str, bundle_id: str) -> bool: ...


class CoreServices:
    """Launch Services through ctypes: which app opens a URL scheme, and changing it. Only on
    macOS (these calls are deprecated but still the documented per-scheme API)."""

    UTF8 = 0x08000100

    def __init__(self):
        import ctypes
        import ctypes.util

        self.ctypes = ctypes
        cf = ctypes.cdll.LoadLibrary(ctypes.util.find_library("CoreFoundation"))
        cs = ctypes.cdll.LoadLibrary(ctypes.util.find_library("CoreServices"))
        cf.CFStringCreateWithCString.restype = ctypes.c_void_p
        cf.CFStringCreateWithCString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32]
        cf.CFStringGetCString.restype = ctypes.c_bool
        cf.CFStringGetCString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_long, ctypes.c_uint32]
        cf.CFRelease.argtypes = [ctypes.c_void_p]
        cs.LSCopyDefaultHandlerForURLScheme.restype = ctypes.c_void_p
        cs.LSCopyDefaultHandlerForURLScheme.argtypes = [ctypes.c_void_p]
        cs.LSSetDefaultHandlerForURLScheme.restype = ctypes.c_int32
        cs.LSSetDefaultHandlerForURLScheme.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.cf, self.cs = cf, cs

    def _cfstr(self, s: str):
        return self.cf.CFStringCreateWithCString(None, s.encode(), self.UTF8)

    def default_handler(self, scheme: str) -> str | None:
        name = self._cfstr(scheme)
        try:
            handler = self.cs.LSCopyDefaultHandlerForURLScheme(name)
        finally:
            self.cf.CFRelease(name)
        if not handler:
            return None
        try:
            buf = self.ctypes.create_string_buffer(1024)
            ok = self.cf.CFStringGetCString(handler, buf, len(buf), self.UTF8)
            return buf.value.decode() if ok else None
        finally:
            self.cf.CFRelease(handler)

    def set_default_handler(self, scheme: str, bundle_id: str) -> bool:
        name, bundle = self._cfstr(scheme), self._cfstr(bundle_id)
        try:
            return self.cs.LSSetDefaultHandlerForURLScheme(name, bundle) == 0
        finally:
            self.cf.CFRelease(name)
            self.cf.CFRelease(bundle)


class MacTarget(Target):
    name = "macos"
    title = "macOS"
    platform = "darwin"
    host_manifests = "folders"
    url_handlers = "app-bundle"
    autostart = "launch-agent"
    builds = ("info-plist", "launch-agent", "icon")
    undo_phases = {"url-default": 0, "file": 1, "symlink": 1, "venv": 1, "dir": 9}

    def __init__(self, env=None, launch_services: LaunchServices | None = None):
        super().__init__(env)
        self.support = self.home / "Library" / "Application Support"
        self.launch_agent_file = self.home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        self._ls = launch_services

    @property
    def launch_services(self) -> LaunchServices:
        if self._ls is None:
            self._ls = CoreServices()
        return self._ls

    def record_path(self) -> Path:
        return self.support / APP_NAME / "install-record.json"

    @staticmethod
    def running_bundle() -> Path | None:
        """Talker.app, when this runs from inside it (Contents/MacOS/<program>)."""
        exe = Path(sys.executable).resolve()
        if getattr(sys, "frozen", False) and exe.parent.name == "MacOS" and exe.parents[2].suffix == ".app":
            return exe.parents[2]
        return None

    def is_present(self, browser: browser_bridge.Browser, mac_app: str) -> bool:
        """It has run for this user (its Application Support folder exists) or is installed."""
        folder = Path(browser.folder("darwin", str(self.home)))
        return (folder.parent.is_dir() or Path("/Applications", mac_app).exists()
                or (self.home / "Applications" / mac_app).exists())

    def apply(self, changes: Changes, options: Options, ask: Ask, report: Report) -> None:
        app = options.app_dir or self.running_bundle() or DEFAULT_APP
        host = app / "Contents" / "MacOS" / "talker-native-host"
        names = []
        for browser, facts in browsers():
            if self.is_present(browser, facts.mac_app):
                folder = Path(browser.folder("darwin", str(self.home)))
                manifest = browser_bridge.host_manifest(browser.family, str(host))
                changes.write_text(folder / f"{browser_bridge.HOST_NAME}.json", json.dumps(manifest, indent=2) + "\n")
                names.append(browser.name)
        if names:
            report.done.append(tr("install.bridge", browsers=", ".join(names)))
        else:
            report.warnings.append(tr("install.no_browser"))
        if options.autostart:
            changes.write_file(self.launch_agent_file, plistlib.dumps(launch_agent(app)))
            report.done.append(tr("install.macos.autostart_on"))
        self._url_defaults(changes, options, ask, report)

    def _url_defaults(self, changes: Changes, options: Options, ask: Ask, report: Report) -> None:
        for scheme in SCHEMES:
            ident = item_id("url-default", scheme)
            holder = self.launch_services.default_handler(scheme)
            mine = changes.previous(ident)
            if holder and holder.lower() == BUNDLE_ID.lower():
                if mine is not None:
                    changes.add(dict(mine))
                continue
            if holder:
                question = tr("install.scheme_question", scheme=scheme, app=holder)
                if not (options.take_schemes or ask(question)):
                    report.todo.append(tr("install.macos.scheme_kept", scheme=scheme, app=holder))
                    continue
            if self.launch_services.set_default_handler(scheme, BUNDLE_ID):
                changes.add({"kind": "url-default", "id": ident, "scheme": scheme, "previous": holder})
                if holder:
                    report.done.append(tr("install.scheme_taken", scheme=scheme, app=holder))
            else:
                report.warnings.append(tr("install.macos.not_default", scheme=scheme))

    def undo(self, item: dict, report: Report) -> None:
        if item["kind"] != "url-default":
            return super().undo(item, report)
        current = self.launch_services.default_handler(item["scheme"])
        if item["previous"] and current and current.lower() == BUNDLE_ID.lower():
            self.launch_services.set_default_handler(item["scheme"], item["previous"])
        # With no previous handler there is nothing to give it back to: Launch Services forgets
        # Talker's claim when the bundle goes to the Trash.

    def build(self, kind: str, outdir: Path, version: str) -> list[Path]:
        outdir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, data in (("Info.plist", info_plist(version)),
                           (f"{LAUNCH_AGENT_LABEL}.plist", launch_agent(DEFAULT_APP))):
            path = outdir / name
            path.write_bytes(plistlib.dumps(data))
            written.append(path)
        try:
            from tray.icon import render

            icon = outdir / "talker.icns"
            render("registered", 512).save(icon, format="ICNS")
            written.append(icon)
        except ImportError:
            pass
        return written

    def describe(self, record) -> dict:
        return {"app": record.options.get("app_dir"), "autostart": self.launch_agent_file.exists()}

