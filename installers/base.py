"""The base every OS backend implements, and what they share: options, questions, the report.

A backend (`Target`) says what it can do through class attributes (its capability flags), and
implements `apply` (make this machine match the wanted state, listing every change) and `undo`
(for the kinds of change only it makes). Install, repair, upgrade, autostart on/off and
uninstall are the same few steps for every OS and live here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from common.i18n import tr
from installers.record import Changes, Record, RecordError, undo_file_item

# A question for the user: True means yes. Non-interactive runs answer no without waiting.
Ask = Callable[[str], bool]


def never(question: str) -> bool:
    return False


def always(question: str) -> bool:
    return True


def terminal_ask(question: str) -> bool:
    """Ask on the terminal; anything but yes is no, and so is the end of input."""
    try:
        answer = input(f"{question} {tr('install.ask_suffix')} ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes", "д", "да")


@dataclass(frozen=True)
class Options:
    # None: keep what the previous install chose (on for a first install).
    autostart: bool | None = None
    # Hand the URL schemes to Talker even when another app holds them (--yes).
    take_schemes: bool = False
    # The Python environment Talker runs from (Linux); None: the previous one, else this one.
    venv: Path | None = None
    # Where the app's files are (Windows, macOS); None: the previous one, else the default.
    app_dir: Path | None = None
    # Folders install.sh created before handing over to us: ours to remove when empty.
    created_dirs: tuple[Path, ...] = ()


@dataclass
class Report:
    """What an install did and what the user still has to do, in sentences."""

    done: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)     # the user has to act
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"  {line}" for line in self.done]
        if self.warnings:
            lines.append(tr("install.report.note"))
            lines += [f"  {line}" for line in self.warnings]
        if self.todo:
            lines.append(tr("install.report.todo"))
            lines += [f"  - {line}" for line in self.todo]
        return "\n".join(lines)


class Target:
    """One OS's installer. Subclasses set the class attributes and implement `apply`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""        # "Linux", for sentences
    platform: ClassVar[str] = ""     # the sys.platform prefix of the OS it changes
    # Capability flags: how this OS does each part.
    host_manifests: ClassVar[str] = ""   # "folders" | "registry"
    url_handlers: ClassVar[str] = ""     # "desktop-entry" | "registry" | "app-bundle"
    autostart: ClassVar[str] = ""        # "xdg-autostart" | "run-key" | "launch-agent"
    builds: ClassVar[tuple[str, ...]] = ()  # packaging files it can write on any OS
    # Undo order per kind of change: lower first. Files go before the folders that hold them.
    undo_phases: ClassVar[dict[str, int]] = {"file": 1, "symlink": 1, "venv": 1, "dir": 9}

    def __init__(self, env: Mapping[str, str] | None = None):
        self.env = dict(os.environ if env is None else env)
        self.home = Path(self.env.get("HOME") or os.path.expanduser("~"))

    @classmethod
    def runs_here(cls) -> bool:
        return sys.platform.startswith(cls.platform)

    # --- what each backend provides -------------------------------------------------------------
    def record_path(self) -> Path:
        raise NotImplementedError

    def apply(self, changes: Changes, options: Options, ask: Ask, report: Report) -> None:
        raise NotImplementedError

    def undo(self, item: dict, report: Report) -> None:
        """Undo a change of a kind this backend made (not files, links or folders)."""
        raise RecordError(tr("install.cannot_undo", target=self.title, kind=repr(item["kind"])))

    def finish_undo(self, report: Report) -> None:
        """After files are gone and before folders are: refresh caches that listed them."""

    def describe(self, record: Record) -> dict:
        """What `status` shows beyond the record."""
        return {}

    def build(self, kind: str, outdir: Path, version: str) -> list[Path]:
        raise RecordError(tr("install.no_build", target=self.title, kind=repr(kind)))

    # --- the same for every OS ------------------------------------------------------------------
    def effective_options(self, options: Options, old: Record) -> Options:
        """The options of this run: those given, else the previous install's, else defaults."""
        autostart = options.autostart
        if autostart is None:
            autostart = old.options.get("autostart", True)
        venv = options.venv or (Path(old.options["venv"]) if old.options.get("venv") else None)
        app_dir = options.app_dir or (Path(old.options["app_dir"]) if old.options.get("app_dir") else None)
        return replace(options, autostart=autostart, venv=venv, app_dir=app_dir)

    def install(self, options: Options, ask: Ask = never, report: Report | None = None) -> Report:
        """Install, or repair and upgrade in place: afterwards the machine has exactly what
        this install wants, and what an earlier install added but this one does not is gone."""
        report = report if report is not None else Report()
        old = Record.load(self.record_path())
        options = self.effective_options(options, old)
        new = Record(self.record_path(), target=self.name,
                     options={"autostart": options.autostart,
                              "venv": str(options.venv) if options.venv else None,
                              "app_dir": str(options.app_dir) if options.app_dir else None})
        changes = Changes(old, new, stop_at=self.home)
        for d in options.created_dirs:
            changes.claim_dir(d)
        # The record's folder too, if the install makes it: uninstall removes it when empty.
        changes.ensure_dir(self.record_path().parent)
        try:
            self.apply(changes, options, ask, report)
        except BaseException:
            if not old.exists and all(item["kind"] == "dir" for item in new.items):
                # A first install that failed before changing anything: leave no trace.
                self._undo_items(new.items, report)
                raise
            # Otherwise the record lists what this run did, so that uninstall can still undo
            # it; what the old record had and this run did not redo is kept for the next try.
            new.items = [item for item in old.items if new.find(item["id"]) is None] + new.items
            new.save()
            raise
        stale = [item for item in old.items if new.find(item["id"]) is None]
        self._undo_items(stale, report)
        new.save()
        return report

    def uninstall(self, report: Report | None = None) -> Report:
        report = report if report is not None else Report()
        record = Record.load(self.record_path())
        if not record.exists:
            report.warnings.append(tr("install.not_installed", record=record.path))
            return report
        dirs = [item for item in record.items if item["kind"] == "dir"]
        self._undo_items([item for item in record.items if item["kind"] != "dir"], report)
        record.delete()
        self._undo_items(dirs, report)
        report.done.append(tr("install.removed"))
        return report

    def set_autostart(self, on: bool, report: Report | None = None) -> Report:
        """Switch starting with the session on or off: an install run that changes only that."""
        record = Record.load(self.record_path())
        if not record.exists:
            raise RecordError(tr("install.install_first"))
        return self.install(Options(autostart=on), never, report)

    def status(self) -> dict:
        record = Record.load(self.record_path())
        summary: dict = {"target": self.name, "installed": record.exists, "record": str(record.path)}
        if record.exists:
            summary["options"] = record.options
            summary["changes"] = [{k: v for k, v in item.items() if k not in ("backup", "sha256")}
                                  for item in record.items]
            summary.update(self.describe(record))
        return summary

    def _undo_items(self, items: list[dict], report: Report) -> None:
        if not items:
            return
        order = sorted(range(len(items)),
                       key=lambda i: (self.undo_phases.get(items[i]["kind"], 0), -i))
        refreshed = False
        for i in order:
            item = items[i]
            if not refreshed and self.undo_phases.get(item["kind"], 0) >= self.undo_phases["dir"]:
                self.finish_undo(report)
                refreshed = True
            if item["kind"] in ("file", "symlink", "dir", "venv"):
                left = undo_file_item(item)
                if left:
                    report.warnings.append(left)
            else:
                self.undo(item, report)
        if not refreshed:
            self.finish_undo(report)
