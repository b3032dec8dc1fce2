"""Windows: the registry entries, the .reg file, the host manifests and the Inno Setup script,
produced on Linux by the same code the Windows build and installer run, and checked against
the documented formats. None of this runs Windows, and every test says so in its name; the
registry itself is a dict here (MemoryRegistry), since the real one cannot exist on Linux.

Formats: .reg files as regedit writes and documents them ("Windows Registry Editor Version
5.00", UTF-16 LE with a BOM, [HIVE\\key] sections, "name"="string" / @="string" with \\\\ and \\"
escapes); URL handlers as "Registering an Application to a URI Scheme" and "Default Programs"
(Capabilities, URLAssociations, RegisteredApplications) describe them; native-messaging hosts
as Chrome's and Firefox's documentation (a key per host whose default value is the manifest's
path); Inno Setup 6's script sections and entry syntax ("Name: value; Name: value").
"""

from __future__ import annotations

import json
import ntpath
import re
import subprocess
import sys
import pytest

from common import browser_bridge
from installers import SCHEMES
from installers.base import Options, Report
from installers.cli import _parser
from installers.frozen import APP_NAME, PROGRAMS
from installers.windows import (APP_KEY, CAPABILITIES, PROG_ID, REGISTERED_APPLICATIONS, RUN_KEY, USER_CHOICE,
                                RegValue, WindowsTarget, host_manifests, link_command, registry_values, render_iss,
                                render_reg)
from tests.installers.conftest import MemoryRegistry, integration

APP = r"C:\Users\Анна Иванова\AppData\Local\Programs\Talker"


def parse_reg(data: bytes) -> list[RegValue]:
    """Read a .reg file by its documented grammar (strings only, which is all Talker writes)."""
    assert data.startswith(b"\xff\xfe"), "a .reg file is UTF-16 LE with a BOM"
    text = data[2:].decode("utf-16-le")
    assert "\n" not in text.replace("\r\n", ""), "line ends are CRLF"
    lines = text.split("\r\n")
    assert lines[0] == "Windows Registry Editor Version 5.00" and lines[1] == ""
    hives = {"HKEY_CURRENT_USER": "HKCU", "HKEY_LOCAL_MACHINE": "HKLM"}
    string = r'"((?:[^"\\]|\\[\\"])*)"'
    values, key = [], None
    for line in lines[2:]:
        if not line:
            continue
        if line.startswith("["):
            m = re.fullmatch(r"\[(HKEY_[A-Z_]+)\\([^\]]+)\]", line)
            assert m, line
            key = f"{hives[m.group(1)]}\\{m.group(2)}"
            continue
        m = re.fullmatch(rf"(@|{string})={string}", line)
        assert m and key, line
        name = "" if m.group(1) == "@" else re.sub(r"\\(.)", r"\1", m.group(2))
        values.append(RegValue(key, name, re.sub(r"\\(.)", r"\1", m.group(3)), ""))
    return values


def test_registry_entries_format_without_windows():
    values = registry_values(APP)
    by = {(v.key, v.name): v.data for v in values}
    assert all(v.key.startswith("HKCU\\Software\\") for v in values), "per user only"
    talker = f"{APP}\\talker.exe"
    for scheme in SCHEMES:
        key = f"HKCU\\Software\\Classes\\{scheme}"
        assert by[(key, "")] == f"URL:{scheme}"
        assert by[(key, "URL Protocol")] == ""
        assert by[(f"{key}\\shell\\open\\command", "")] == f'"{talker}" --callto="%1"'
        assert by[(f"{key}\\DefaultIcon", "")] == f'"{talker}",0'
        assert by[(f"{CAPABILITIES}\\URLAssociations", scheme)] == PROG_ID
    assert by[(f"HKCU\\Software\\Classes\\{PROG_ID}\\shell\\open\\command", "")] == link_command(APP)
    assert by[(REGISTERED_APPLICATIONS, APP_NAME)] == CAPABILITIES.removeprefix("HKCU\\")
    assert CAPABILITIES.startswith(APP_KEY)
    assert by[(RUN_KEY, APP_NAME)] == f'"{talker}"'
    # Every browser's key(s), each naming the manifest of its family by absolute path.
    for browser in browser_bridge.BROWSERS.values():
        for key in browser.registry_keys():
            path = by[(key, "")]
            assert ntpath.isabs(path) and path.startswith(APP + "\\")
            assert ntpath.basename(path) in host_manifests(APP)
    assert ("HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\org.talker.host", "") in by
    assert registry_values(APP, autostart=False) == [v for v in values if v.key != RUN_KEY]


def test_the_link_command_passes_the_link_as_one_argument_format_without_windows():
    """What CommandLineToArgvW (Windows' own argument splitting) makes of the command line
    Explorer builds from the handler for a link with spaces, quotes or an option in it: always
    the program and exactly one --callto= argument."""

    def argv(cmdline: str) -> list[str]:
        # CommandLineToArgvW's documented rules: spaces split outside quotes; 2n backslashes
        # before a quote are n backslashes and the quote toggles; 2n+1 give a literal quote.
        args, cur, quoted, i, has = [], "", False, 0, False
        while i < len(cmdline):
            c = cmdline[i]
            if c == "\\":
                j = i
                while j < len(cmdline) and cmdline[j] == "\\":
                    j += 1
                n = j - i
                if j < len(cmdline) and cmdline[j] == '"':
                    cur += "\\" * (n // 2)
                    if n % 2:
                        cur += '"'
                        j += 1
                    i, has = j, True
                    continue
                cur += "\\" * n
                i, has = j, True
                continue
            if c == '"':
                quoted, has = not quoted, True
            elif c in " \t" and not quoted:
                if has:
                    args.append(cur)
                cur, has = "", False
            else:
                cur, has = cur + c, True
            i += 1
        if has:
            args.append(cur)
        return args

    for link in ("tel:+74951234567", "tel:8 (495) 123-45-67", "callto:102 --quit", "sip:102@pbx.local"):
        args = argv(link_command(APP).replace("%1", link))
        assert args == [f"{APP}\\talker.exe", f"--callto={link}"], link
    # A link with a quote in it (Windows passes it percent-encoded by browsers, but a document
    # can say anything) still cannot add an argument that tray/cli.py would act on alone: the
    # CLI takes a single --callto= or refuses the mix with exit code 2.
    args = argv(link_command(APP).replace("%1", 'tel:1" --quit "'))
    assert args[0] == f"{APP}\\talker.exe" and args[1].startswith("--callto=")


def test_reg_file_format_without_windows():
    values = registry_values(APP)
    data = render_reg(values)
    assert {(v.key, v.name, v.data) for v in parse_reg(data)} == {(v.key, v.name, v.data) for v in values}
    tricky = [RegValue("HKCU\\Software\\Talker", 'a "name"', 'C:\\dir\\"quoted" \\\\share', "")]
    assert [(v.key, v.name, v.data) for v in parse_reg(render_reg(tricky))] == [
        ("HKCU\\Software\\Talker", 'a "name"', 'C:\\dir\\"quoted" \\\\share')]


def test_host_manifests_format_without_windows():
    manifests = {name: json.loads(text) for name, text in host_manifests(APP).items()}
    assert set(manifests) == {f"{browser_bridge.HOST_NAME}.{family}.json" for family in browser_bridge.FAMILIES}
    for manifest in manifests.values():
        assert manifest["name"] == browser_bridge.HOST_NAME and manifest["type"] == "stdio"
        assert manifest["path"] == f"{APP}\\talker-native-host.exe" and ntpath.isabs(manifest["path"])
    chromium = manifests[f"{browser_bridge.HOST_NAME}.chromium.json"]
    assert chromium["allowed_origins"] == [f"chrome-extension://{browser_bridge.CHROMIUM_EXTENSION_ID}/"]
    firefox = manifests[f"{browser_bridge.HOST_NAME}.firefox.json"]
    assert firefox["allowed_extensions"] == [browser_bridge.FIREFOX_ADDON_ID]
    assert "allowed_origins" not in firefox and "allowed_extensions" not in chromium


# --- Inno Setup -------------------------------------------------------------------------------------
# Parameters each section's entries may have (Inno Setup 6 help, one page per section).
INNO_PARAMETERS = {
    "Languages": {"Name", "MessagesFile", "LicenseFile", "InfoBeforeFile", "InfoAfterFile"},
    "Tasks": {"Name", "Description", "GroupDescription", "Components", "Flags", "Check", "Languages"},
    "Files": {"Source", "DestDir", "DestName", "Excludes", "Flags", "Permissions", "Tasks", "Check", "Languages",
              "Components", "Attribs", "FontInstall", "StrongAssemblyName", "ExternalSize", "BeforeInstall",
              "AfterInstall", "MinVersion", "OnlyBelowVersion"},
    "Icons": {"Name", "Filename", "Parameters", "WorkingDir", "HotKey", "Comment", "IconFilename", "IconIndex",
              "AppUserModelID", "Flags", "Tasks", "Check", "Languages", "Components"},
    "Run": {"Filename", "Parameters", "WorkingDir", "StatusMsg", "Description", "Flags", "RunOnceId", "Verb",
            "Tasks", "Check", "Languages", "Components", "BeforeInstall", "AfterInstall"},
    "UninstallRun": {"Filename", "Parameters", "WorkingDir", "StatusMsg", "Flags", "RunOnceId", "Verb", "Tasks",
                     "Check", "Languages", "Components"},
}
INNO_REQUIRED_SETUP = {"AppName", "AppVersion", "DefaultDirName"}


def inno_sections(script: str) -> dict[str, list[str]]:
    sections, current = {}, None
    for line in script.splitlines():
        if re.fullmatch(r"\[[A-Za-z]+\]", line.strip()):
            current = line.strip()[1:-1]
            assert current not in sections, f"[{current}] twice"
            sections[current] = []
        elif current and line.strip() and not line.lstrip().startswith(";"):
            sections[current].append(line)
    return sections


def inno_entry(line: str) -> dict[str, str]:
    """`Name: "value"; Name: value` → dict; quoted values have "" for a quote."""
    entry = {}
    for m in re.finditer(r'\s*([A-Za-z]+):\s*("(?:[^"]|"")*"|[^;]*?)\s*(?:;|$)', line):
        value = m.group(2)
        if value.startswith('"'):
            value = value[1:-1].replace('""', '"')
        entry[m.group(1)] = value
    return entry


def test_inno_setup_script_format_without_windows():
    script = render_iss("1.2.3")
    sections = inno_sections(script)
    assert {"Setup", "Languages", "CustomMessages", "Tasks", "Files", "Icons", "Run", "UninstallRun",
            "Code"} <= set(sections)

    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert INNO_REQUIRED_SETUP <= set(setup)
    assert setup["AppVersion"] == "1.2.3" and setup["AppName"] == APP_NAME
    assert re.fullmatch(r"\{\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}", setup["AppId"])
    assert setup["PrivilegesRequired"] == "lowest", "a per-user install: no administrator"
    assert setup["DefaultDirName"] == "{autopf}\\Talker"

    for section, allowed in INNO_PARAMETERS.items():
        for line in sections[section]:
            entry = inno_entry(line)
            assert entry and set(entry) <= allowed, (section, line)
    programs = {f"{{app}}\\{name}.exe" for name in PROGRAMS}
    for section in ("Run", "UninstallRun", "Icons"):
        for line in sections[section]:
            assert inno_entry(line)["Filename"] in programs, line
    for line in sections["UninstallRun"]:
        assert "RunOnceId" in inno_entry(line), "Inno Setup 6 wants a RunOnceId on every [UninstallRun] entry"
    [files] = sections["Files"]
    assert inno_entry(files)["Source"] == f"dist\\{APP_NAME}\\*", "PyInstaller's COLLECT folder"

    # Every {cm:...} has a message in each language ([Languages] names them).
    languages = {inno_entry(line)["Name"] for line in sections["Languages"]}
    messages = {line.split("=", 1)[0] for line in sections["CustomMessages"]}
    for name in set(re.findall(r"\{cm:([A-Za-z]+)", script)) - {"LaunchProgram"}:  # Inno's own
        assert {f"{lang}.{name}" for lang in languages} <= messages, name
    tasks = {inno_entry(line)["Name"] for line in sections["Tasks"]}
    assert set(re.findall(r"WizardIsTaskSelected\('(\w+)'\)", script)) <= tasks

    # The [Code] function [Run] calls exists, its blocks are balanced, and every command line
    # it can build is one the integration accepts.
    code = "\n".join(sections["Code"])
    assert "{code:IntegrationArgs}" in script and "function IntegrationArgs(Param: String): String;" in code
    words = re.findall(r"\b(begin|end)\b", code.lower())
    assert words.count("begin") == words.count("end")
    for extra in (["--no-input"], ["--ask-gui"], ["--no-input", "--no-autostart"], ["--ask-gui", "--no-autostart"]):
        for option in extra:
            assert f"' {option}'" in code
        _parser().parse_args(["install", "--app-dir", APP, *extra])
    assert "Russian.isl" in script


def test_build_writes_the_windows_files_format_without_windows(tmp_path):
    done = integration("build", "windows", str(tmp_path), "--version", "9.8.7")
    assert done.returncode == 0, done.stderr
    iss = (tmp_path / "talker.iss").read_bytes()
    assert iss.startswith(b"\xef\xbb\xbf"), "Inno Setup reads UTF-8 only with a BOM"
    assert b"AppVersion=9.8.7\r\n" in iss and b"\n" not in iss.replace(b"\r\n", b"")
    parse_reg((tmp_path / "talker-example.reg").read_bytes())
    assert (tmp_path / "talker.ico").read_bytes()[:4] == b"\x00\x00\x01\x00", "an ICO header"


# --- the integration's logic, with the registry in a dict ----------------------------------------
@pytest.fixture
def windows(isolated_environment, tmp_path):
    app_dir = isolated_environment / "AppData" / "Local" / "Programs" / "Talker"
    app_dir.mkdir(parents=True)
    (app_dir / "talker.exe").write_bytes(b"MZ")
    registry = MemoryRegistry()
    registry.set("HKCU\\Software\\Google\\Chrome\\PreferenceMACs", "x", "1")  # Chrome has run
    registry.set("HKCU\\Software\\Classes\\callto\\shell\\open\\command", "", '"C:\\Skype\\Skype.exe" /callto:"%1"')
    registry.set("HKLM\\Software\\Classes\\sip\\shell\\open\\command", "", '"C:\\Zoiper\\Zoiper.exe" "%1"')
    registry.set(USER_CHOICE.format(scheme="tel"), "ProgId", "PhoneLink.tel")
    env = {"HOME": str(isolated_environment), "LOCALAPPDATA": str(isolated_environment / "AppData" / "Local")}
    return WindowsTarget(env, registry), app_dir


def test_install_and_uninstall_registry_logic_without_windows(windows, isolated_environment):
    from tests.installers.conftest import snapshot

    target, app_dir = windows
    registry = target.registry
    initial, files = registry.copy(), snapshot(isolated_environment)
    report = target.install(Options(app_dir=app_dir), lambda q: False, Report())

    command = link_command(str(app_dir))
    assert registry.get("HKCU\\Software\\Classes\\tel\\shell\\open\\command", "") == command
    # Held by other apps: asked (no), kept, reported by name.
    assert registry.get("HKCU\\Software\\Classes\\callto\\shell\\open\\command", "").startswith('"C:\\Skype')
    assert not registry.key_exists("HKCU\\Software\\Classes\\sip")
    todo = "\n".join(report.todo)
    assert 'callto: links still open with "C:\\Skype\\Skype.exe"' in todo and "Zoiper" in todo
    assert "PhoneLink.tel" in todo and "Default apps" in todo
    # Talker is offered for all three in Settings all the same.
    for scheme in SCHEMES:
        assert registry.get(f"{CAPABILITIES}\\URLAssociations", scheme) == PROG_ID
    # Registry data are Windows paths (ntpath), also when app_dir is a Linux folder as here.
    chrome = registry.get("HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\org.talker.host", "")
    assert chrome == ntpath.join(str(app_dir), "native-messaging", f"{browser_bridge.HOST_NAME}.chromium.json")
    manifest = json.loads((app_dir / "native-messaging" / ntpath.basename(chrome)).read_text())
    assert manifest["path"] == ntpath.join(str(app_dir), "talker-native-host.exe")
    assert registry.get(RUN_KEY, APP_NAME) == f'"{ntpath.join(str(app_dir), "talker.exe")}"'

    target.set_autostart(False)
    assert registry.get(RUN_KEY, APP_NAME) is None
    assert registry.get("HKCU\\Software\\Classes\\tel\\shell\\open\\command", "") == command

    target.uninstall()
    assert registry.copy() == initial, "uninstall leaves the registry as it was"
    assert snapshot(isolated_environment) == files


def test_yes_takes_a_scheme_and_uninstall_gives_it_back_without_windows(windows):
    target, app_dir = windows
    registry = target.registry
    initial = registry.copy()
    target.install(Options(app_dir=app_dir, take_schemes=True))
    assert registry.get("HKCU\\Software\\Classes\\callto\\shell\\open\\command", "") == link_command(str(app_dir))
    assert registry.get("HKCU\\Software\\Classes\\sip\\shell\\open\\command", "") == link_command(str(app_dir))
    target.install(Options(app_dir=app_dir))  # a repair keeps what the first run replaced
    target.uninstall()
    assert registry.copy() == initial


def test_the_windows_backend_is_chosen_by_the_environment_override(monkeypatch):
    from installers.cli import target_class

    monkeypatch.setenv("TALKER_INSTALLER_TARGET", "windows")
    assert target_class() is WindowsTarget
    assert not WindowsTarget.runs_here() or sys.platform == "win32"
    assert WindowsTarget.url_handlers == "registry" and WindowsTarget.autostart == "run-key"


def test_the_integration_command_refuses_an_unknown_target(monkeypatch):
    monkeypatch.setenv("TALKER_INSTALLER_TARGET", "beos")
    done = subprocess.run([sys.executable, "-m", "installers", "status"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no installer for 'beos'" in done.stderr
