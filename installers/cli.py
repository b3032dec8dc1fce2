"""`talker-integration` (python -m installers): install, repair, switch autostart, uninstall,
and write the packaging files of another OS.

Exit codes: 0 done (the report says what the user may still have to do), 1 failed (one
sentence says why), 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from common.i18n import tr
from installers import TARGET_ENV
from installers.base import Options, Report, Target, always, never, terminal_ask
from installers.record import RecordError

TARGETS = {
    "linux": "installers.linux:LinuxTarget",
    "windows": "installers.windows:WindowsTarget",
    "macos": "installers.macos:MacTarget",
}
PLATFORMS = {"linux": "linux", "win32": "windows", "darwin": "macos"}


def target_class(name: str | None = None) -> type[Target]:
    """The backend for `name`, else $TALKER_INSTALLER_TARGET, else this OS's."""
    name = name or os.environ.get(TARGET_ENV) or next(
        (t for p, t in PLATFORMS.items() if sys.platform.startswith(p)), "")
    if name not in TARGETS:
        raise RecordError(tr("install.no_target", name=repr(name or sys.platform), names=", ".join(TARGETS)))
    module, cls = TARGETS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="talker-integration",
                                description=tr("install.cli.description"))
    sub = p.add_subparsers(dest="command", required=True)

    install = sub.add_parser("install", help=tr("install.cli.install"))
    asking = install.add_mutually_exclusive_group()
    asking.add_argument("--yes", "--force", dest="yes", action="store_true",
                        help=tr("install.cli.yes"))
    asking.add_argument("--no-input", action="store_true",
                        help=tr("install.cli.no_input"))
    asking.add_argument("--ask-gui", action="store_true", help=argparse.SUPPRESS)  # Windows installer
    auto = install.add_mutually_exclusive_group()
    auto.add_argument("--autostart", dest="autostart", action="store_true", default=None,
                      help=tr("install.cli.autostart"))
    auto.add_argument("--no-autostart", dest="autostart", action="store_false",
                      help=tr("install.cli.no_autostart"))
    install.add_argument("--venv", type=Path, help=tr("install.cli.venv"))
    install.add_argument("--app-dir", type=Path, help=tr("install.cli.app_dir"))
    install.add_argument("--created-dir", type=Path, action="append", default=[], help=argparse.SUPPRESS)

    sub.add_parser("uninstall", help=tr("install.cli.uninstall"))
    autostart = sub.add_parser("autostart", help=tr("install.cli.autostart_command"))
    autostart.add_argument("state", choices=("on", "off"))
    status = sub.add_parser("status", help=tr("install.cli.status"))
    status.add_argument("--json", action="store_true")

    build = sub.add_parser("build", help=tr("install.cli.build"))
    build.add_argument("os", choices=("windows", "macos"))
    build.add_argument("outdir", type=Path)
    build.add_argument("--version", help=tr("install.cli.version"))

    p.add_argument("--target", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    return p


def _ask(ns) -> object:
    if ns.yes:
        return always
    if ns.ask_gui:
        from installers.windows import message_box_ask

        return message_box_ask
    if ns.no_input or not sys.stdin.isatty():
        return never
    return terminal_ask


def app_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("talker")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def main(argv: list[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    try:
        if ns.command == "build":
            target = target_class(ns.os)()
            written = target.build("all", ns.outdir, ns.version or app_version())
            for path in written:
                print(path)
            return 0
        target = target_class(ns.target)()
        if ns.command == "status":
            status = target.status()
            if ns.json:
                print(json.dumps(status, indent=2, ensure_ascii=False))
            else:
                print(_status_text(status))
            return 0
        report = Report()
        if ns.command == "install":
            options = Options(autostart=ns.autostart, take_schemes=ns.yes, venv=ns.venv, app_dir=ns.app_dir,
                              created_dirs=tuple(ns.created_dir))
            target.install(options, _ask(ns), report)
        elif ns.command == "uninstall":
            target.uninstall(report)
        elif ns.command == "autostart":
            target.set_autostart(ns.state == "on", report)
        print(report.text())
        if getattr(ns, "ask_gui", False) and (report.todo or report.warnings):
            # Run by the Windows installer with no console: what is left to do goes in a box.
            from installers.windows import message_box_tell

            message_box_tell(report.text())
        return 0
    except (RecordError, OSError) as e:
        print(f"talker-integration: {e}", file=sys.stderr)
        return 1


def _status_text(status: dict) -> str:
    """`status` for a person; `status --json` is the same facts for programs, untranslated."""
    if not status["installed"]:
        return tr("install.status.not_installed", target=status["target"], record=status["record"])
    lines = [tr("install.status.installed", target=status["target"], record=status["record"])]
    if "schemes" in status:
        lines.append(tr("install.status.schemes", schemes=status["schemes"]))
    if "autostart" in status:
        lines.append(tr("install.status.autostart_on" if status["autostart"] else "install.status.autostart_off"))
    for change in status["changes"]:
        where = change.get("path") or change.get("mime") or change.get("key", "")
        lines.append(f"  {change['kind']}: {where}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
