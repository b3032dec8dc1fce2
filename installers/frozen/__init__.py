"""The frozen builds (PyInstaller, Windows and macOS): their programs and how they start.

One definition of the programs' names, used by the PyInstaller spec (installers/talker.spec),
the Windows installer script and registry entries, and the macOS bundle.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

APP_NAME = "Talker"
HERE = Path(__file__).resolve().parent
# Program name → its entry script. `talker` is the bundle's main program on macOS.
PROGRAMS = {
    "talker": HERE / "talker.py",
    "talker-native-host": HERE / "talker_native_host.py",
    "talker-integration": HERE / "talker_integration.py",
}
# The app starts parts of itself as `sys.executable -m MODULE` (tray/cli.py starts the app,
# tray/app.py its windows). Frozen, sys.executable is the `talker` program, so it runs these
# modules when asked that way, and no others.
RUNNABLE_MODULES = ("tray", "tray.windows", "native_host", "installers")


def run_module_if_asked(argv: list[str]) -> bool:
    """`talker -m MODULE ARGS...`: run MODULE as __main__, as `python -m` would."""
    if len(argv) >= 3 and argv[1] == "-m" and argv[2] in RUNNABLE_MODULES:
        sys.argv = [argv[0], *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        return True
    return False


def version() -> str:
    """The app's version: the installed package's, else pyproject.toml's (a build from a
    checkout)."""
    from importlib import metadata

    try:
        return metadata.version("talker")
    except metadata.PackageNotFoundError:
        import tomllib

        root = HERE.parent.parent
        with open(root / "pyproject.toml", "rb") as f:
            return tomllib.load(f)["project"]["version"]
