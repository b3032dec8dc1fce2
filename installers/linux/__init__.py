"""Linux, for the user's own account (no root): what installers/linux/install.sh hands over to
once the app's venv exists.

Where things go (XDG base directories; ~ is $HOME):
- $XDG_DATA_HOME/talker/ (~/.local/share/talker): the venv (install.sh), the icon, launchers
  for commands an older venv lacks, and the install record;
- ~/.local/bin/talker, talker-native-host, talker-integration: links to the venv's commands;
- host manifests in each present browser's folder (common/browser_bridge.py), and inert ones
  for Flatpak browsers (see `_flatpak`);
- $XDG_DATA_HOME/applications/talker.desktop: the URL handler (MimeType x-scheme-handler/...),
  made the default with `xdg-mime default` unless another app holds a scheme and the user
  does not say so;
- $XDG_CONFIG_HOME/autostart/talker.desktop: start with the session (XDG autostart).

The desktop entries run the venv's `talker` by absolute path with the link as one argument
(`talker %u` → `talker tel:...`); tray/cli.py takes nothing from a link but a number to dial.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import browser_bridge
from common.i18n import tr
from installers import SCHEMES
from installers.base import Ask, Options, Report, Target
from installers.browsers import InstallFacts, browsers
from installers.record import Changes, RecordError, atomic_write, item_id

DESKTOP_ID = "talker.desktop"
COMMANDS = {"talker": "tray.cli", "talker-native-host": "native_host", "talker-integration": "installers"}
# xdg-mime and update-desktop-database are quick; a hung one must not hang the install.
TOOL_TIMEOUT_S = 30
# Where a sandboxed browser's native folders are, inside the home of its sandbox.
FLATPAK_APP_DIR = ".var/app"


def _xdg(env: dict, name: str, default: Path) -> Path:
    value = env.get(name, "")
    # The base directory spec: a relative path is invalid and must be ignored.
    return Path(value) if value.startswith("/") else default


def desktop_string(value: str) -> str:
    """A desktop-entry string value: backslash and control characters escaped."""
    return (value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r"))


def exec_arg(arg: str) -> str:
    """One argument of an Exec key (Desktop Entry Specification, "The Exec key"): quoted when
    it has a reserved character, with `%` doubled so it is never read as a field code."""
    arg = arg.replace("%", "%%")
    if any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
        arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    return desktop_string(arg)


class LinuxTarget(Target):
    name = "linux"
    title = "Linux"
    platform = "linux"
    host_manifests = "folders"
    url_handlers = "desktop-entry"
    autostart = "xdg-autostart"
    undo_phases = {"xdg-default": 0, "file": 1, "symlink": 1, "venv": 1, "desktop-database": 2, "dir": 9}

    def __init__(self, env=None):
        super().__init__(env)
        self.data_home = _xdg(self.env, "XDG_DATA_HOME", self.home / ".local" / "share")
        self.config_home = _xdg(self.env, "XDG_CONFIG_HOME", self.home / ".config")
        self.app_home = self.data_home / "talker"
        self.bin_dir = self.home / ".local" / "bin"
        self.applications = self.data_home / "applications"
        self.desktop_file = self.applications / DESKTOP_ID
        self.autostart_file = self.config_home / "autostart" / DESKTOP_ID
        self.default_venv = self.app_home / "venv"

    def record_path(self) -> Path:
        return self.app_home / "install-record.json"

    # --- where a browser keeps its host manifests ----------------------------------------------
    def manifest_folder(self, browser: browser_bridge.Browser) -> Path:
        """The browser's per-user folder (Chromium-family browsers follow $XDG_CONFIG_HOME,
        Firefox's ~/.mozilla does not), for the environment this installer was given."""
        return Path(browser.folder("linux", str(self.home), str(self.config_home)))

    def _which(self, command: str) -> str | None:
        return shutil.which(command, path=self.env.get("PATH", os.defpath))

    def is_native(self, browser: browser_bridge.Browser, facts: InstallFacts) -> bool:
        """Installed as a normal program: it has run here (its folder exists), or its command
        is on PATH and is not a Snap or Flatpak wrapper."""
        if self.manifest_folder(browser).parent.is_dir():
            return True
        for command in facts.commands:
            found = self._which(command)
            if found and not os.path.realpath(found).startswith(("/snap/", "/var/lib/flatpak/")) \
                    and "/flatpak/exports/" not in found:
                return True
        return False

    def flatpak_installed(self, facts: InstallFacts) -> bool:
        if not facts.flatpak:
            return False
        return any(p.is_dir() for p in (self.home / FLATPAK_APP_DIR / facts.flatpak,
                                        self.data_home / "flatpak" / "app" / facts.flatpak,
                                        Path("/var/lib/flatpak/app") / facts.flatpak))

    def snap_installed(self, facts: InstallFacts) -> bool:
        if not facts.snap:
            return False
        return (self.home / "snap" / facts.snap).is_dir() or Path("/snap", facts.snap).is_dir()

    # --- install --------------------------------------------------------------------------------
    def apply(self, changes: Changes, options: Options, ask: Ask, report: Report) -> None:
        venv = options.venv or self._running_venv()
        if not (venv / "bin" / "python").exists():
            raise RecordError(tr("install.linux.no_venv", venv=venv))
        changes.ensure_dir(self.app_home)
        if venv == self.default_venv:
            # install.sh made it for us: uninstall removes it.
            changes.add({"kind": "venv", "id": item_id("venv", venv), "path": str(venv)})
        commands = self._commands(changes, venv, report)
        self._host_manifests(changes, commands["talker-native-host"], report)
        icon = self._icon(changes)
        self._desktop_entry(changes, commands["talker"], icon)
        self._desktop_database(changes, report)
        self._scheme_defaults(changes, options, ask, report)
        if options.autostart:
            self._autostart(changes, commands["talker"], icon)
            report.done.append(tr("install.linux.autostart_on", file=self.autostart_file))
        else:
            report.done.append(tr("install.linux.autostart_off"))

    @staticmethod
    def _running_venv() -> Path:
        if sys.prefix == sys.base_prefix:
            raise RecordError(tr("install.linux.run_from_venv"))
        return Path(sys.prefix)

    def _commands(self, changes: Changes, venv: Path, report: Report) -> dict[str, Path]:
        """The venv's console scripts, linked into ~/.local/bin. A venv from before a command
        existed gets a launcher in the app's folder instead."""
        found = {}
        for name, module in COMMANDS.items():
            command = venv / "bin" / name
            if not command.exists():
                command = self.app_home / "bin" / name
                python = str(venv / "bin" / "python").replace("'", "'\\''")
                # -P: never import from the folder the command is run in.
                changes.write_text(command, f"#!/bin/sh\nexec '{python}' -P -m {module} \"$@\"\n", 0o755)
            changes.symlink(self.bin_dir / name, command)
            found[name] = command
        report.done.append(tr("install.linux.commands", commands=", ".join(COMMANDS), folder=self.bin_dir))
        path_dirs = self.env.get("PATH", "").split(os.pathsep)
        if str(self.bin_dir) not in path_dirs:
            report.todo.append(tr("install.linux.not_on_path", folder=self.bin_dir))
        return found

    def _write_manifest(self, changes: Changes, folder: Path, family: str, host: Path) -> Path:
        manifest = browser_bridge.host_manifest(family, str(host))
        path = folder / f"{browser_bridge.HOST_NAME}.json"
        changes.write_text(path, json.dumps(manifest, indent=2) + "\n")
        return path

    def _host_manifests(self, changes: Changes, host: Path, report: Report) -> None:
        names = []
        for browser, facts in browsers():
            native = self.is_native(browser, facts)
            snap = self.snap_installed(facts)
            # Firefox from Snap reads the same ~/.mozilla manifest, through the desktop portal.
            if native or (snap and browser.family == "firefox"):
                self._write_manifest(changes, self.manifest_folder(browser), browser.family, host)
                names.append(browser.name)
            if snap:
                self._snap(browser, report)
            if self.flatpak_installed(facts):
                self._flatpak(changes, browser, facts, host, report)
        if names:
            report.done.append(tr("install.bridge", browsers=", ".join(names)))
        else:
            report.warnings.append(tr("install.no_browser"))

    def flatpak_manifest_folder(self, browser: browser_bridge.Browser, facts: InstallFacts) -> Path:
        """The browser's folder as seen inside its sandbox: the sandbox has its own
        $XDG_CONFIG_HOME (~/.var/app/ID/config) and keeps ~/.mozilla in ~/.var/app/ID/."""
        sandbox = self.home / FLATPAK_APP_DIR / facts.flatpak
        if browser.linux.startswith("~/.config/"):
            return sandbox / "config" / browser.linux.removeprefix("~/.config/")
        return sandbox / browser.linux.removeprefix("~/")

    def _flatpak(self, changes: Changes, browser, facts: InstallFacts, host: Path, report: Report) -> None:
        """A Flatpak browser can start only programs inside its sandbox. What is safe to do
        is done: a manifest in the sandbox's folder naming a wrapper that asks Flatpak to run
        the host outside. That works only once the user lets this browser run programs outside
        its sandbox, which is the user's call, not ours."""
        sandbox = self.home / FLATPAK_APP_DIR / facts.flatpak
        wrapper = sandbox / "data" / "talker" / "talker-native-host"
        quoted = str(host).replace("'", "'\\''")
        changes.write_text(wrapper, "#!/bin/sh\n"
                           f"# Talker's browser bridge for {browser.name} (Flatpak): runs the host outside the\n"
                           f"# sandbox, which works once `flatpak override --user --talk-name=org.freedesktop.Flatpak\n"
                           f"# {facts.flatpak}` allows it.\n"
                           f"exec flatpak-spawn --host '{quoted}' \"$@\"\n", 0o755)
        self._write_manifest(changes, self.flatpak_manifest_folder(browser, facts), browser.family, wrapper)
        report.todo.append(tr("install.linux.flatpak", browser=browser.name, app_id=facts.flatpak))

    def _snap(self, browser, report: Report) -> None:
        if browser.family == "firefox":
            report.todo.append(tr("install.linux.snap_portal", browser=browser.name))
        else:
            report.todo.append(tr("install.linux.snap_sandboxed", browser=browser.name))

    def _icon(self, changes: Changes) -> str:
        """The tray icon's art as the app's icon; an icon-theme name if Pillow is missing."""
        try:
            import io

            from tray.icon import render

            buf = io.BytesIO()
            render("registered", 256).save(buf, format="PNG")
        except Exception:
            return "call-start"
        path = self.app_home / "talker.png"
        changes.write_file(path, buf.getvalue())
        return str(path)

    def _desktop_entry(self, changes: Changes, talker: Path, icon: str) -> None:
        mime = "".join(f"x-scheme-handler/{s};" for s in SCHEMES)
        changes.write_text(self.desktop_file, "\n".join([
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.4",
            "Name=Talker",
            "GenericName=Communicator",
            "GenericName[ru]=Коммуникатор",
            "Comment=Calls through your company's phone system",
            "Comment[ru]=Звонки через телефонию вашей компании",
            # %u as an argument of its own: the generic xdg-open replaces only whole words.
            f"Exec={exec_arg(str(talker))} %u",
            f"TryExec={desktop_string(str(talker))}",
            f"Icon={desktop_string(icon)}",
            "Terminal=false",
            "StartupNotify=false",
            "Categories=Network;Telephony;",
            "Keywords=phone;call;sip;voip;телефон;звонок;",
            f"MimeType={mime}",
            "",
        ]))

    def _autostart(self, changes: Changes, talker: Path, icon: str) -> None:
        changes.write_text(self.autostart_file, "\n".join([
            "[Desktop Entry]",
            "Type=Application",
            "Name=Talker",
            "Comment=Start Talker with the session",
            f"Exec={exec_arg(str(talker))}",
            f"TryExec={desktop_string(str(talker))}",
            f"Icon={desktop_string(icon)}",
            "Terminal=false",
            "NoDisplay=true",
            "X-GNOME-Autostart-enabled=true",
            "",
        ]))

    # --- the desktop database and default handlers ---------------------------------------------
    def _run(self, *args: str) -> subprocess.CompletedProcess | None:
        if self._which(args[0]) is None:
            return None
        try:
            return subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                                  timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None

    def _desktop_database(self, changes: Changes, report: Report) -> None:
        """mimeinfo.cache lets desktops that read it (and xdg-mime's fallback) see which apps
        take which schemes."""
        cache = self.applications / "mimeinfo.cache"
        ident = item_id("desktop-database", cache)
        previous = changes.previous(ident)
        created = previous["created"] if previous else not cache.exists()
        done = self._run("update-desktop-database", str(self.applications))
        if done is None:
            report.warnings.append(tr("install.linux.no_desktop_database"))
        elif cache.exists():
            changes.add({"kind": "desktop-database", "id": ident, "path": str(cache), "created": created})

    def mimeapps_files(self) -> list[Path]:
        """The user's files that say which app opens what, in the spec's order of precedence."""
        desktops = [d.lower() for d in self.env.get("XDG_CURRENT_DESKTOP", "").split(":") if d]
        return ([self.config_home / f"{d}-mimeapps.list" for d in desktops]
                + [self.config_home / "mimeapps.list"]
                + [self.applications / f"{d}-mimeapps.list" for d in desktops]
                + [self.applications / "mimeapps.list"])

    def scheme_holder(self, scheme: str) -> str:
        """The desktop ID that opens `scheme:` links now, as xdg-open will find it."""
        done = self._run("xdg-mime", "query", "default", f"x-scheme-handler/{scheme}")
        return done.stdout.strip() if done is not None and done.returncode == 0 else ""

    def desktop_file_of(self, desktop_id: str) -> Path | None:
        """Where a desktop ID's file is, searched as xdg-open searches (vendor-app.desktop may
        be vendor/app.desktop)."""
        dirs = [self.data_home] + [Path(d) for d in
                                   (self.env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":") if d]
        for d in dirs:
            for candidate in (d / "applications" / desktop_id,
                              d / "applications" / desktop_id.replace("-", "/", 1)):
                if candidate.is_file():
                    return candidate
        return None

    def app_name(self, desktop_id: str) -> str:
        """"Name (id.desktop)" for sentences."""
        path = self.desktop_file_of(desktop_id)
        if path is not None:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("Name="):
                    return f"{line[5:].strip()} ({desktop_id})"
        return desktop_id

    def _scheme_defaults(self, changes: Changes, options: Options, ask: Ask, report: Report) -> None:
        if self._which("xdg-mime") is None:
            report.warnings.append(tr("install.linux.no_xdg_mime"))
            return
        taken, kept = [], []
        for scheme in SCHEMES:
            mime = f"x-scheme-handler/{scheme}"
            ident = item_id("xdg-default", mime)
            holder = self.scheme_holder(scheme)
            previous = changes.previous(ident)
            if holder == DESKTOP_ID and previous is not None:
                changes.add(dict(previous))  # ours from an earlier run; it keeps what it replaced
                taken.append(f"{scheme}:")
                continue
            if holder and self.desktop_file_of(holder) is None:
                holder = ""  # a default left behind by an app that is gone holds nothing
            if holder and holder != DESKTOP_ID:
                who = self.app_name(holder)
                question = tr("install.scheme_question", scheme=scheme, app=who)
                if not (options.take_schemes or ask(question)):
                    kept.append((scheme, who))
                    continue
                report.done.append(tr("install.scheme_taken", scheme=scheme, app=who))
            before = {p: (read_default(p, mime), p.exists(), has_section(p)) for p in self.mimeapps_files()}
            done = self._run("xdg-mime", "default", DESKTOP_ID, mime)
            if done is None or done.returncode != 0:
                reason = (done.stderr.strip() if done else "") or tr("install.no_reason")
                report.warnings.append(tr("install.linux.xdg_mime_failed", scheme=scheme, reason=reason))
                continue
            edits = []
            for path, (was, existed, had_section) in before.items():
                now = read_default(path, mime)
                if now != was:
                    edits.append({"file": str(path), "before": was, "after": now,
                                  "existed": existed, "had_section": had_section})
            changes.add({"kind": "xdg-default", "id": ident, "mime": mime, "edits": edits})
            taken.append(f"{scheme}:")
        if taken:
            report.done.append(tr("install.linux.links_open", schemes=", ".join(taken), file=self.desktop_file))
        for scheme, who in kept:
            report.todo.append(tr("install.linux.scheme_kept", scheme=scheme, app=who, desktop_id=DESKTOP_ID))

    # --- undo -----------------------------------------------------------------------------------
    def undo(self, item: dict, report: Report) -> None:
        if item["kind"] == "xdg-default":
            for edit in reversed(item["edits"]):
                path = Path(edit["file"])
                # Only if it still says what we made it say: a choice made since then stays.
                if read_default(path, item["mime"]) != edit["after"]:
                    continue
                write_default(path, item["mime"], edit["before"])
                if not edit["had_section"]:
                    drop_empty_section(path)
                if not edit["existed"] and not has_keys(path):
                    path.unlink()
        elif item["kind"] == "desktop-database":
            # After the desktop file is gone (undo_phases): the cache forgets it, or goes with
            # it if it was not there before Talker.
            cache = Path(item["path"])
            if item["created"] and not self.desktop_file.exists():
                try:
                    cache.unlink()
                except FileNotFoundError:
                    pass
            elif self.applications.is_dir():
                self._run("update-desktop-database", str(self.applications))
        else:
            super().undo(item, report)

    def describe(self, record) -> dict:
        return {"schemes": {s: self.scheme_holder(s) for s in SCHEMES},
                "autostart": self.autostart_file.exists()}


# --- mimeapps.list: read and change one key of [Default Applications] -----------------------------
SECTION = "[Default Applications]"


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def _is_key(line: str, mime: str) -> bool:
    s = line.strip()
    return "=" in s and not s.startswith("#") and s.split("=", 1)[0].strip() == mime


def read_default(path: Path, mime: str) -> str | None:
    """The value of `mime` in the file's [Default Applications]; None if it has none."""
    section = None
    for line in _lines(path):
        if line.strip().startswith("["):
            section = line.strip()
        elif section == SECTION and _is_key(line, mime):
            return line.split("=", 1)[1].strip()
    return None


def has_section(path: Path) -> bool:
    return any(line.strip() == SECTION for line in _lines(path))


def has_keys(path: Path) -> bool:
    return any("=" in line and not line.strip().startswith(("#", "[")) for line in _lines(path))


def write_default(path: Path, mime: str, value: str | None) -> None:
    """Set `mime` in [Default Applications] to `value`, or remove it (None); every other line
    stays as it was."""
    out: list[str] = []
    section, placed, section_end = None, False, None
    for line in _lines(path):
        if line.strip().startswith("["):
            section = line.strip()
        elif section == SECTION and _is_key(line, mime):
            if value is not None and not placed:
                out.append(f"{mime}={value}")
                placed = True
                section_end = len(out)
            continue
        out.append(line)
        if section == SECTION and line.strip():
            section_end = len(out)
    if value is not None and not placed:
        if section_end is None:
            out += ([""] if out and out[-1].strip() else []) + [SECTION, f"{mime}={value}"]
        else:
            out.insert(section_end, f"{mime}={value}")
    atomic_write(path, ("\n".join(out) + "\n").encode("utf-8"), 0o644)


def drop_empty_section(path: Path) -> None:
    """Remove a [Default Applications] header with nothing under it (and the blank line that
    xdg-mime put before it)."""
    lines = _lines(path)
    try:
        start = [line.strip() for line in lines].index(SECTION)
    except ValueError:
        return
    end = start + 1
    while end < len(lines) and not lines[end].strip().startswith("["):
        if lines[end].strip():
            return
        end += 1
    if start > 0 and not lines[start - 1].strip():
        start -= 1
    del lines[start:end]
    atomic_write(path, ("\n".join(lines) + "\n" if lines else "").encode("utf-8"), 0o644)
