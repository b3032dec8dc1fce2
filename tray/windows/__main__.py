"""python -m tray.windows dial|incoming|settings|login|contact|contacts|employee [--number N] [--book B]"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from common import protocol
from common.i18n import tr

# The window names are the control schema's (open_window); each has its module here (tested).
WINDOWS = {
    "dial": ("tray.windows.dial", "DialWindow"),
    "incoming": ("tray.windows.incoming", "IncomingWindow"),
    "settings": ("tray.windows.settings", "SettingsWindow"),
    "login": ("tray.windows.login", "LoginWindow"),
    "contact": ("tray.windows.contact", "ContactWindow"),
    "contacts": ("tray.windows.contacts", "ContactsWindow"),
    "employee": ("tray.windows.employee", "EmployeeWindow"),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tray.windows")
    p.add_argument("window", choices=protocol.window_names())
    p.add_argument("--number", default="", help="dial, contact: the number to put in the field")
    p.add_argument("--book", choices=("personal", "company"), default="personal",
                   help="contact: which address book")
    options = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="talker window %(name)s: %(message)s")

    import tkinter as tk

    from tray.windows import theme
    from tray.windows.base import Link, centre, setup_style, test_hook_dir

    if sys.platform == "win32":
        theme.enable_dpi_awareness()  # before Tk creates a window: Windows asks only then
    try:
        root = tk.Tk(className="Talker")
    except tk.TclError as e:
        print(tr("tray.no_display"), f"({e})", file=sys.stderr)
        return 1
    setup_style(root)
    module, cls = WINDOWS[options.window]
    window = getattr(importlib.import_module(module), cls)(root, Link(root), options)
    if test_hook_dir():
        from tray.windows import testhook

        testhook.install(window, test_hook_dir())
    centre(root)
    theme.dress_frame(root, root._look)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
