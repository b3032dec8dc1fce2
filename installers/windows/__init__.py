"""Windows, per user (no administrator): the Inno Setup installer puts the frozen programs in
%LOCALAPPDATA%\\Programs\\Talker and runs `talker-integration install`, which does the rest
with this module; its uninstaller runs `talker-integration uninstall`.

What the integration writes, all under HKEY_CURRENT_USER:
- Software\\Classes\\tel, callto, sip: URL handlers whose command is
  "...\\talker.exe" --callto="%1" (the link is one argument; tray/cli.py takes a number from it
  and nothing else). A scheme another app holds is asked about, or left to it and reported;
- Software\\Classes\\Talker.Link, Software\\Talker\\Capabilities and RegisteredApplications, so
  that Settings → Default apps offers Talker for those links (Windows keeps the user's own
  choice there, UserChoice, out of any program's reach);
- the browsers' NativeMessagingHosts\\org.talker.host keys (common/browser_bridge.py), each
  pointing to a manifest in the app's folder that names talker-native-host.exe by absolute path;
- Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Talker while autostart is on.

Every value written is listed in the install record with what it replaced and which keys it
created, so uninstall removes exactly those and restores the rest.

`python -m installers build windows OUTDIR` writes the Inno Setup script (talker.iss), an
example .reg of the values above and the icon; docs/install.md says how to build on Windows.
"""

from __future__ import annotations

import json
import ntpath
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from common import browser_bridge
from common.i18n import tr
from installers import SCHEMES
from installers.base import Ask, Options, Report, Target
from installers.frozen import APP_NAME, PROGRAMS
from installers.record import Changes, RecordError, item_id

PROG_ID = "Talker.Link"
CLASSES = r"HKCU\Software\Classes"
APP_KEY = r"HKCU\Software\Talker"
CAPABILITIES = APP_KEY + r"\Capabilities"
REGISTERED_APPLICATIONS = r"HKCU\Software\RegisteredApplications"
RUN_KEY = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
USER_CHOICE = r"HKCU\Software\Microsoft\Windows\Shell\Associations\UrlAssociations\{scheme}\UserChoice"
MANIFEST_FOLDER = "native-messaging"
# Inno Setup's AppId: fixed forever, so that a new version's installer upgrades in place.
INNO_APP_ID = "{8A0C1F4E-5B6D-4E2A-9C37-1D7E0B52A6F3}"
# Where a per-user install goes ({autopf} with PrivilegesRequired=lowest), for the example .reg.
EXAMPLE_APP_DIR = r"C:\Users\user\AppData\Local\Programs\Talker"
DESCRIPTION = "Calls through your company's phone system"


@dataclass(frozen=True)
class RegValue:
    key: str     # "HKCU\\Software\\..."
    name: str    # "" is the key's default value
    data: str    # every value Talker writes is a REG_SZ
    group: str   # what it belongs to: "scheme:tel", "app", "host", "autostart"


def exe(app_dir: str, program: str) -> str:
    return ntpath.join(app_dir, f"{program}.exe")


def link_command(app_dir: str) -> str:
    # %1 in quotes: a link with spaces is still one argument, and CommandLineToArgvW keeps
    # `--callto="tel:1 2"` together as --callto=tel:1 2.
    return f'"{exe(app_dir, "talker")}" --callto="%1"'


def manifest_path(app_dir: str, family: str) -> str:
    return ntpath.join(app_dir, MANIFEST_FOLDER, f"{browser_bridge.HOST_NAME}.{family}.json")


def scheme_values(app_dir: str, scheme: str) -> list[RegValue]:
    key = f"{CLASSES}\\{scheme}"
    group = f"scheme:{scheme}"
    return [RegValue(key, "", f"URL:{scheme}", group),
            RegValue(key, "URL Protocol", "", group),
            RegValue(f"{key}\\DefaultIcon", "", f'"{exe(app_dir, "talker")}",0', group),
            RegValue(f"{key}\\shell\\open\\command", "", link_command(app_dir), group)]


def app_values(app_dir: str) -> list[RegValue]:
    """The ProgID and the capabilities that list Talker in Settings → Default apps."""
    prog = f"{CLASSES}\\{PROG_ID}"
    values = [RegValue(prog, "", "Talker link", "app"),
              RegValue(prog, "URL Protocol", "", "app"),
              RegValue(f"{prog}\\DefaultIcon", "", f'"{exe(app_dir, "talker")}",0', "app"),
              RegValue(f"{prog}\\shell\\open\\command", "", link_command(app_dir), "app"),
              RegValue(CAPABILITIES, "ApplicationName", APP_NAME, "app"),
              RegValue(CAPABILITIES, "ApplicationDescription", DESCRIPTION, "app")]
    values += [RegValue(f"{CAPABILITIES}\\URLAssociations", scheme, PROG_ID, "app") for scheme in SCHEMES]
    values.append(RegValue(REGISTERED_APPLICATIONS, APP_NAME, CAPABILITIES.removeprefix("HKCU\\"), "app"))
    return values


def host_values(app_dir: str) -> list[RegValue]:
    """One key per browser (several read Chrome's key too: listed once). Every supported
    browser gets its key: Windows has no per-user sign of an installed browser as plain as
    a folder, a key of an absent browser is inert, and a browser installed later just works."""
    seen: dict[str, RegValue] = {}
    for browser in browser_bridge.BROWSERS.values():
        for key in browser.registry_keys():
            seen.setdefault(key, RegValue(key, "", manifest_path(app_dir, browser.family), "host"))
    return list(seen.values())


def autostart_values(app_dir: str) -> list[RegValue]:
    return [RegValue(RUN_KEY, APP_NAME, f'"{exe(app_dir, "talker")}"', "autostart")]


def registry_values(app_dir: str, *, schemes=SCHEMES, autostart: bool = True) -> list[RegValue]:
    """Everything a full install writes for the app in `app_dir`."""
    values = [v for scheme in schemes for v in scheme_values(app_dir, scheme)]
    values += app_values(app_dir) + host_values(app_dir)
    if autostart:
        values += autostart_values(app_dir)
    return values


def host_manifests(app_dir: str) -> dict[str, str]:
    """File name → text of the host manifests in the app's folder."""
    host = exe(app_dir, "talker-native-host")
    return {ntpath.basename(manifest_path(app_dir, family)):
            json.dumps(browser_bridge.host_manifest(family, host), indent=2) + "\n"
            for family in browser_bridge.FAMILIES}


# --- .reg files ("Windows Registry Editor Version 5.00") ------------------------------------------
REG_HEADER = "Windows Registry Editor Version 5.00"
HIVES = {"HKCU": "HKEY_CURRENT_USER", "HKLM": "HKEY_LOCAL_MACHINE"}


def _reg_key(key: str) -> str:
    hive, _, rest = key.partition("\\")
    return f"{HIVES[hive]}\\{rest}"


def _reg_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_reg(values: list[RegValue]) -> bytes:
    """A .reg file that writes `values`: UTF-16 LE with a BOM and CRLF, as regedit exports."""
    keys: dict[str, list[RegValue]] = {}
    for v in values:
        keys.setdefault(v.key, []).append(v)
    lines = [REG_HEADER, ""]
    for key, vals in keys.items():
        lines.append(f"[{_reg_key(key)}]")
        for v in vals:
            lines.append(f"{'@' if v.name == '' else _reg_string(v.name)}={_reg_string(v.data)}")
        lines.append("")
    return "\ufeff".encode("utf-16-le") + "\r\n".join(lines + [""]).encode("utf-16-le")


# --- the Inno Setup script ---------------------------------------------------------------------
def render_iss(version: str) -> str:
    """Talker's installer script for Inno Setup 6, to compile with ISCC in a folder that has
    PyInstaller's dist\\Talker\\ and talker.ico next to it."""
    talker, integration = (f"{{app}}\\{name}.exe" for name in ("talker", "talker-integration"))
    assert {"talker", "talker-integration", "talker-native-host"} <= set(PROGRAMS)
    return f"""; Talker's installer for Windows (Inno Setup 6). Written by installers/windows/__init__.py
; (`python -m installers build windows OUTDIR`); build steps in docs/install.md.
; Per user, no administrator: the programs go to %LOCALAPPDATA%\\Programs\\Talker, and
; talker-integration.exe registers the links, browsers and autostart in HKEY_CURRENT_USER.

[Setup]
AppId={{{INNO_APP_ID}
AppName={APP_NAME}
AppVersion={version}
AppVerName={APP_NAME} {version}
AppPublisher=Talker contributors
DefaultDirName={{autopf}}\\{APP_NAME}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
OutputDir=output
OutputBaseFilename={APP_NAME}-{version}-setup
SetupIconFile=talker.ico
UninstallDisplayIcon={talker}
UninstallDisplayName={APP_NAME}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "russian"; MessagesFile: "compiler:Languages\\Russian.isl"

[CustomMessages]
english.Autostart=Start Talker when I sign in
russian.Autostart=Запускать Talker при входе в систему
english.Registering=Connecting Talker to your browsers and links...
russian.Registering=Подключение Talker к браузерам и ссылкам...

[Tasks]
Name: "autostart"; Description: "{{cm:Autostart}}"

[Files]
Source: "dist\\{APP_NAME}\\*"; DestDir: "{{app}}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{{autoprograms}}\\{APP_NAME}"; Filename: "{talker}"

[Run]
Filename: "{integration}"; Parameters: "{{code:IntegrationArgs}}"; StatusMsg: "{{cm:Registering}}"; Flags: runhidden waituntilterminated
Filename: "{talker}"; Description: "{{cm:LaunchProgram,{APP_NAME}}}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
Filename: "{talker}"; Parameters: "--quit"; Flags: runhidden waituntilterminated; RunOnceId: "QuitTalker"
Filename: "{integration}"; Parameters: "uninstall"; Flags: runhidden waituntilterminated; RunOnceId: "UnregisterTalker"

[Code]
// The integration asks in a message box when another app holds tel:, callto: or sip:, and
// never asks in a silent install (/SILENT, /VERYSILENT): it leaves those to their app then.
function IntegrationArgs(Param: String): String;
begin
  Result := 'install --app-dir "' + ExpandConstant('{{app}}') + '"';
  if WizardSilent then
    Result := Result + ' --no-input'
  else
    Result := Result + ' --ask-gui';
  if not WizardIsTaskSelected('autostart') then
    Result := Result + ' --no-autostart';
end;
"""


# --- the registry, as the integration sees it ----------------------------------------------------
class Registry(Protocol):
    """The few registry operations the integration needs. Keys are "HKCU\\..." or "HKLM\\..."."""

    def get(self, key: str, name: str) -> str | None: ...
    def key_exists(self, key: str) -> bool: ...
    def set(self, key: str, name: str, data: str) -> None: ...
    def delete_value(self, key: str, name: str) -> None: ...
    def delete_key_if_empty(self, key: str) -> None: ...


class WinRegistry:
    """The real registry (winreg). Only on Windows."""

    def __init__(self):
        import winreg

        self.winreg = winreg
        self.roots = {"HKCU": winreg.HKEY_CURRENT_USER, "HKLM": winreg.HKEY_LOCAL_MACHINE}

    def _split(self, key: str):
        hive, _, sub = key.partition("\\")
        return self.roots[hive], sub

    def get(self, key: str, name: str) -> str | None:
        root, sub = self._split(key)
        try:
            with self.winreg.OpenKey(root, sub) as k:
                value, _kind = self.winreg.QueryValueEx(k, name)
        except OSError:
            return None
        return str(value)

    def key_exists(self, key: str) -> bool:
        root, sub = self._split(key)
        try:
            self.winreg.OpenKey(root, sub).Close()
        except OSError:
            return False
        return True

    def set(self, key: str, name: str, data: str) -> None:
        root, sub = self._split(key)
        with self.winreg.CreateKeyEx(root, sub, 0, self.winreg.KEY_WRITE) as k:
            self.winreg.SetValueEx(k, name, 0, self.winreg.REG_SZ, data)

    def delete_value(self, key: str, name: str) -> None:
        root, sub = self._split(key)
        try:
            with self.winreg.OpenKey(root, sub, 0, self.winreg.KEY_SET_VALUE) as k:
                self.winreg.DeleteValue(k, name)
        except FileNotFoundError:
            pass

    def delete_key_if_empty(self, key: str) -> None:
        root, sub = self._split(key)
        try:
            with self.winreg.OpenKey(root, sub) as k:
                subkeys, values, _ = self.winreg.QueryInfoKey(k)
            if subkeys == 0 and values == 0:
                self.winreg.DeleteKey(root, sub)
        except FileNotFoundError:
            pass


def _parents(key: str) -> list[str]:
    """"HKCU\\A\\B\\C" → ["HKCU\\A", "HKCU\\A\\B", "HKCU\\A\\B\\C"]."""
    parts = key.split("\\")
    return ["\\".join(parts[:i]) for i in range(2, len(parts) + 1)]


def message_box_ask(question: str) -> bool:
    """A yes/no question in a message box: the installer runs the integration without a
    console."""
    import ctypes

    MB_YESNO, MB_ICONQUESTION, IDYES = 0x4, 0x20, 6
    return ctypes.windll.user32.MessageBoxW(None, question, APP_NAME, MB_YESNO | MB_ICONQUESTION) == IDYES


def message_box_tell(text: str) -> None:
    import ctypes

    MB_ICONINFORMATION = 0x40
    ctypes.windll.user32.MessageBoxW(None, text, APP_NAME, MB_ICONINFORMATION)


class WindowsTarget(Target):
    name = "windows"
    title = "Windows"
    platform = "win32"
    host_manifests = "registry"
    url_handlers = "registry"
    autostart = "run-key"
    builds = ("iss", "reg", "icon")
    undo_phases = {"registry": 0, "file": 1, "symlink": 1, "venv": 1, "dir": 9}

    def __init__(self, env=None, registry: Registry | None = None):
        super().__init__(env)
        if "USERPROFILE" in self.env and "HOME" not in self.env:
            self.home = Path(self.env["USERPROFILE"])
        self.local_app_data = Path(self.env.get("LOCALAPPDATA") or self.home / "AppData" / "Local")
        self._registry = registry

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = WinRegistry()
        return self._registry

    def record_path(self) -> Path:
        return self.local_app_data / APP_NAME / "install-record.json"

    def default_app_dir(self) -> Path:
        if getattr(sys, "frozen", False):
            return Path(sys.executable).parent
        raise RecordError(tr("install.windows.no_app_dir"))

    # --- install --------------------------------------------------------------------------------
    def apply(self, changes: Changes, options: Options, ask: Ask, report: Report) -> None:
        app_dir = options.app_dir or self.default_app_dir()
        if not (app_dir / "talker.exe").exists():
            raise RecordError(tr("install.windows.no_exe", app_dir=app_dir))
        app = str(app_dir)
        for name, text in host_manifests(app).items():
            changes.write_text(app_dir / MANIFEST_FOLDER / name, text)
        for value in host_values(app) + app_values(app):
            self._set(changes, value)
        report.done.append(tr("install.bridge", browsers=", ".join(b.name for b in browser_bridge.BROWSERS.values())))
        taken = []
        for scheme in SCHEMES:
            if self._may_take(changes, app, scheme, options, ask, report):
                for value in scheme_values(app, scheme):
                    self._set(changes, value)
                taken.append(f"{scheme}:")
            choice = self.registry.get(USER_CHOICE.format(scheme=scheme), "ProgId")
            if choice and choice not in (PROG_ID, scheme):
                report.todo.append(tr("install.windows.user_choice", scheme=scheme, app=choice,
                                      link_type=scheme.upper()))
        if taken:
            report.done.append(tr("install.windows.links_open", schemes=", ".join(taken)))
        if options.autostart:
            for value in autostart_values(app):
                self._set(changes, value)
            report.done.append(tr("install.windows.autostart_on"))
        if sys.platform == "win32":
            _tell_shell_about_associations()

    def _may_take(self, changes: Changes, app: str, scheme: str, options: Options, ask: Ask,
                  report: Report) -> bool:
        command_key = f"{CLASSES}\\{scheme}\\shell\\open\\command"
        ours = link_command(app)
        # HKCU's own, else the machine-wide one that HKCU would hide once we write ours.
        holder = (self.registry.get(command_key, "")
                  or self.registry.get(command_key.replace("HKCU\\", "HKLM\\", 1), ""))
        if not holder or holder == ours:
            return True
        question = tr("install.windows.scheme_question", scheme=scheme, app=holder)
        if options.take_schemes or ask(question):
            report.done.append(tr("install.windows.scheme_taken", scheme=scheme, app=holder))
            return True
        report.todo.append(tr("install.windows.scheme_kept", scheme=scheme, app=holder))
        return False

    def _set(self, changes: Changes, value: RegValue) -> None:
        ident = item_id("registry", f"{value.key}\\{value.name}")
        mine = changes.previous(ident)
        current = self.registry.get(value.key, value.name)
        if mine is not None and current == mine["data"]:
            previous, created = mine["previous"], mine["created_keys"]
        else:
            previous = current
            created = [k for k in _parents(value.key) if not self.registry.key_exists(k)]
        self.registry.set(value.key, value.name, value.data)
        changes.add({"kind": "registry", "id": ident, "key": value.key, "name": value.name,
                     "data": value.data, "previous": previous, "created_keys": created})

    def undo(self, item: dict, report: Report) -> None:
        if item["kind"] != "registry":
            return super().undo(item, report)
        if self.registry.get(item["key"], item["name"]) == item["data"]:
            if item["previous"] is None:
                self.registry.delete_value(item["key"], item["name"])
            else:
                self.registry.set(item["key"], item["name"], item["previous"])
        for key in reversed(item["created_keys"]):
            self.registry.delete_key_if_empty(key)

    def finish_undo(self, report: Report) -> None:
        if sys.platform == "win32":
            _tell_shell_about_associations()

    # --- packaging ------------------------------------------------------------------------------
    def build(self, kind: str, outdir: Path, version: str) -> list[Path]:
        outdir.mkdir(parents=True, exist_ok=True)
        written = []
        iss = outdir / "talker.iss"
        # Inno Setup 6 reads a script with a BOM as UTF-8 (the Russian messages need it).
        iss.write_text("\ufeff" + render_iss(version).replace("\n", "\r\n"), encoding="utf-8", newline="")
        written.append(iss)
        reg = outdir / "talker-example.reg"
        reg.write_bytes(render_reg(registry_values(EXAMPLE_APP_DIR)))
        written.append(reg)
        try:
            from tray.icon import render

            icon = outdir / "talker.ico"
            render("registered", 256).save(icon, format="ICO", sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])
            written.append(icon)
        except ImportError:
            pass  # no Pillow here: the Windows build makes the icon
        return written

    def describe(self, record) -> dict:
        return {"app_dir": record.options.get("app_dir")}


def _tell_shell_about_associations() -> None:
    """Explorer caches URL associations: SHChangeNotify(SHCNE_ASSOCCHANGED) refreshes them."""
    try:
        import ctypes

        ctypes.windll.shell32.SHChangeNotify(0x08000000, 0, None, None)
    except Exception:
        pass

