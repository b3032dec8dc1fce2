"""What Talker.app does as it starts, before the app itself runs (installers/frozen/talker.py).

1. The first time (or after the bundle moved), it ties itself into this user's Mac: a drag to
   /Applications is the whole install, so the app's first start does what an installer would.
   It never asks then: schemes another app holds stay with it, and the log says so
   (~/Library/Logs/Talker/integration.log).
2. While it runs, macOS hands it links as Apple Events (kAEGetURL), not as arguments; each one
   goes to `talker --callto=<link>`, the same path and checks as a link typed in a shell.
   (A link that starts the app arrives as an argument: PyInstaller's argv emulation.)

Neither step may keep the app from starting: failures are logged.
"""

from __future__ import annotations

import subprocess
import sys
import time

_keep: list = []  # the Apple Event handler must outlive this function


def prepare() -> None:
    try:
        _integrate_once()
    except Exception as e:
        _log(f"integration failed: {e!r}")
    try:
        _take_links()
    except Exception as e:
        _log(f"no link handler: {e!r}")


def _log(line: str) -> None:
    try:
        from common import locations

        folder = locations.ensure_private_dir(locations.state_dir())
        with open(folder / "integration.log", "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
    except Exception:
        pass


def _integrate_once() -> None:
    from installers.base import Options, never
    from installers.macos import MacTarget
    from installers.record import Record

    target = MacTarget()
    bundle = target.running_bundle()
    if bundle is None:
        return
    record = Record.load(target.record_path())
    if record.exists and record.options.get("app_dir") == str(bundle):
        return
    report = target.install(Options(app_dir=bundle), never)
    _log("installed:\n" + report.text())


def _take_links() -> None:
    import objc  # noqa: F401  (pyobjc, which pystray's macOS backend brings)
    from Foundation import NSAppleEventManager, NSObject

    def fourcc(code: bytes) -> int:
        return int.from_bytes(code, "big")

    k_internet_event_class = k_ae_get_url = fourcc(b"GURL")
    key_direct_object = fourcc(b"----")

    class LinkHandler(NSObject):
        def handleURL_withReply_(self, event, reply):
            url = event.paramDescriptorForKeyword_(key_direct_object).stringValue()
            if url:
                # One argument, no shell: tray/cli.py decides whether it is a number.
                subprocess.Popen([sys.executable, f"--callto={url}"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    handler = LinkHandler.alloc().init()
    NSAppleEventManager.sharedAppleEventManager().setEventHandler_andSelector_forEventClass_andEventID_(
        handler, b"handleURL:withReply:", k_internet_event_class, k_ae_get_url)
    _keep.append(handler)
