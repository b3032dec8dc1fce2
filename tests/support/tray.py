"""The app in the test's own process, with pystray's dummy backend: its menu can be opened and
clicked as a user would, item by item (docs/platform-notes.md: the dummy backend exposes text, checked,
radio, enabled and submenus; calling an item runs its action)."""

from __future__ import annotations

import os

from tray import settings as settings_mod
from tray.app import TalkerApp
from tray.history import CallHistory
from tray.secret_store import open_store, sip_password_key
from tray.sip.engine import AudioConfig


def dummy_pystray():
    os.environ["PYSTRAY_BACKEND"] = "dummy"
    import pystray

    # The backend is chosen once per process, at the first import: make sure it is the dummy.
    assert pystray.Icon.__module__ == "pystray._base", "pystray was imported with a real backend"
    return pystray


def start_app() -> TalkerApp:
    settings = settings_mod.load()
    store = open_store()
    password = store.get(sip_password_key(settings.account.aor)) if settings.account else None
    app = TalkerApp(settings, password, audio=AudioConfig(device="null"), store=store, history=CallHistory())
    app.attach_icon(dummy_pystray())
    app.start()
    return app


def visible(menu) -> list:
    return list(menu)  # pystray drops invisible items and redundant separators


def texts(menu) -> list[str]:
    return [item.text for item in visible(menu) if item.text != "- - - -"]


def find(menu, *path: str):
    """The item reached by clicking through `path` (exact texts, or a prefix ending in "…*")."""
    item = None
    for step in path:
        candidates = visible(menu)
        match = [i for i in candidates if i.text == step or (step.endswith("*") and i.text.startswith(step[:-1]))]
        if not match:
            raise AssertionError(f"no menu item {step!r} among {[i.text for i in candidates]}")
        item = match[0]
        submenu = item._action if hasattr(item._action, "items") else None
        menu = submenu
    return item


def menu(app: TalkerApp):
    return app.icon.icon.menu
