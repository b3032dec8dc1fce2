"""The Linux installer in a temporary HOME, with the real xdg-mime and update-desktop-database:
every file it writes, scheme conflicts, Flatpak and Snap browsers, autostart, repair, and an
uninstall that leaves the HOME as it was."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from common import browser_bridge, i18n
from installers.base import Options, Report
from installers.browsers import FACTS
from installers.linux import DESKTOP_ID, LinuxTarget, exec_arg, read_default, write_default
from tests.installers.conftest import ROOT, VENV, install, integration, snapshot

pytestmark = pytest.mark.skipif(shutil.which("xdg-mime") is None or shutil.which("update-desktop-database") is None,
                                reason="needs xdg-utils and desktop-file-utils (scripts/setup test installs them)")
SCHEMES = ("tel", "callto", "sip")


def xdg_default(scheme: str) -> str:
    done = subprocess.run(["xdg-mime", "query", "default", f"x-scheme-handler/{scheme}"],
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


def other_app(home: Path, desktop_id: str, name: str, schemes: tuple[str, ...]) -> Path:
    """Another app that handles some of our schemes, installed for this user."""
    path = home / ".local" / "share" / "applications" / desktop_id
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[Desktop Entry]\nType=Application\nName={name}\nExec=/usr/bin/true %u\n"
                    f"MimeType={''.join(f'x-scheme-handler/{s};' for s in schemes)}\n")
    return path


def test_install_writes_every_file_and_uninstall_leaves_the_home_as_it_was(isolated_environment):
    home = isolated_environment
    before = snapshot(home)
    done = install("--no-input")
    assert "Links tel:, callto:, sip: open in Talker" in done.stdout

    data, config = home / ".local" / "share", home / ".config"
    # Commands: links into the venv (or a launcher for a command the venv lacks).
    for name in ("talker", "talker-native-host", "talker-integration"):
        link = home / ".local" / "bin" / name
        assert link.is_symlink() and os.access(link, os.X_OK), name
    assert os.readlink(home / ".local" / "bin" / "talker") == str(VENV / "bin" / "talker")

    # The host manifest of every present browser: Chromium is installed here (/usr/bin/chromium).
    manifest = json.loads((config / "chromium" / "NativeMessagingHosts" / f"{browser_bridge.HOST_NAME}.json").read_text())
    assert manifest == browser_bridge.host_manifest("chromium", manifest["path"])
    assert manifest["allowed_origins"] == [f"chrome-extension://{browser_bridge.CHROMIUM_EXTENSION_ID}/"]
    assert os.path.isabs(manifest["path"]) and os.access(manifest["path"], os.X_OK)

    # The URL handler, valid by the spec's own validator, and the default for each scheme.
    desktop = data / "applications" / DESKTOP_ID
    text = desktop.read_text()
    assert f"Exec={VENV}/bin/talker %u\n" in text
    assert "MimeType=x-scheme-handler/tel;x-scheme-handler/callto;x-scheme-handler/sip;\n" in text
    if shutil.which("desktop-file-validate"):
        for path in (desktop, config / "autostart" / DESKTOP_ID):
            check = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
            assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    for scheme in SCHEMES:
        assert xdg_default(scheme) == DESKTOP_ID
        assert read_default(config / "mimeapps.list", f"x-scheme-handler/{scheme}") == DESKTOP_ID
    cache = (data / "applications" / "mimeinfo.cache").read_text()
    assert f"x-scheme-handler/tel={DESKTOP_ID};" in cache

    autostart = (config / "autostart" / DESKTOP_ID).read_text()
    assert f"Exec={VENV}/bin/talker\n" in autostart and "X-GNOME-Autostart-enabled=true" in autostart
    record = json.loads((data / "talker" / "install-record.json").read_text())
    assert record["options"]["autostart"] is True

    # Nothing outside the HOME, and nothing in it that is not listed.
    listed = {item["path"] for item in record["items"] if "path" in item}
    listed |= {edit["file"] for item in record["items"] for edit in item.get("edits", ())}
    added = set(snapshot(home)) - set(before)
    assert {str(home / p) for p in added} - listed == {str(data / "talker" / "install-record.json")}

    done = integration("uninstall")
    assert done.returncode == 0, done.stderr
    assert snapshot(home) == before
    for scheme in SCHEMES:
        assert xdg_default(scheme) == ""


def test_installing_twice_repairs_and_changes_nothing_else(isolated_environment):
    home = isolated_environment
    install("--no-input")
    first = snapshot(home, skip=(".local/share/talker/install-record.json",))
    manifest = home / ".config" / "chromium" / "NativeMessagingHosts" / f"{browser_bridge.HOST_NAME}.json"
    manifest.unlink()
    (home / ".local" / "share" / "applications" / DESKTOP_ID).write_text("broken")
    (home / ".local" / "bin" / "talker").unlink()
    install("--no-input")
    assert snapshot(home, skip=(".local/share/talker/install-record.json",)) == first
    integration("uninstall")
    assert sorted(os.listdir(home)) == []


def test_present_browsers_get_a_manifest_and_absent_ones_do_not(isolated_environment):
    home = isolated_environment
    for folder in (".config/google-chrome", ".config/BraveSoftware/Brave-Browser", ".mozilla"):
        (home / folder).mkdir(parents=True)
    target = LinuxTarget()
    install("--no-input")
    found = {b.id for b in browser_bridge.BROWSERS.values()
             if (target.manifest_folder(b) / f"{browser_bridge.HOST_NAME}.json").exists()}
    # ...and any browser this machine has on PATH (Chromium here, for the end-to-end tests).
    expected = {"chrome", "brave", "firefox"} | {browser_id for browser_id, facts in FACTS.items()
                                                  if any(shutil.which(c) for c in facts.commands)}
    assert found == expected
    firefox = json.loads((home / ".mozilla" / "native-messaging-hosts" / f"{browser_bridge.HOST_NAME}.json").read_text())
    assert firefox["allowed_extensions"] == [browser_bridge.FIREFOX_ADDON_ID]
    assert "allowed_origins" not in firefox
    integration("uninstall")
    # The browsers' own folders stay; only what Talker put in them goes.
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == [
        ".config", ".config/BraveSoftware", ".config/BraveSoftware/Brave-Browser", ".config/google-chrome", ".mozilla"]


def test_a_scheme_another_app_holds_stays_with_it_and_the_report_names_it(isolated_environment):
    home = isolated_environment
    other_app(home, "linphone.desktop", "Linphone", ("sip", "tel"))
    mimeapps = home / ".config" / "mimeapps.list"
    mimeapps.parent.mkdir(parents=True, exist_ok=True)
    mimeapps.write_text("[Default Applications]\ntext/html=firefox.desktop\nx-scheme-handler/sip=linphone.desktop\n\n"
                        "[Added Associations]\nimage/png=gimp.desktop;\n")
    original = mimeapps.read_bytes()
    before = snapshot(home)

    done = install()  # no terminal, no --yes: nothing is taken and nothing waits for an answer
    assert xdg_default("sip") == "linphone.desktop"
    assert "sip: links still open in Linphone (linphone.desktop)" in done.stdout
    assert "talker-integration install --yes" in done.stdout
    # Linphone also declares tel: and nobody chose another app, so xdg-mime (and so xdg-open)
    # opens tel: with it too: that counts as holding it.
    assert xdg_default("tel") == "linphone.desktop"
    assert "tel: links still open in Linphone (linphone.desktop)" in done.stdout
    assert xdg_default("callto") == DESKTOP_ID

    integration("uninstall")
    assert mimeapps.read_bytes() == original
    assert snapshot(home) == before


def test_yes_takes_the_scheme_and_uninstall_gives_it_back(isolated_environment):
    home = isolated_environment
    other_app(home, "linphone.desktop", "Linphone", ("sip",))
    subprocess.run(["xdg-mime", "default", "linphone.desktop", "x-scheme-handler/sip"], check=True)
    original = (home / ".config" / "mimeapps.list").read_bytes()

    done = install("--yes")
    assert xdg_default("sip") == DESKTOP_ID
    assert "sip: links opened in Linphone (linphone.desktop); they open in Talker now" in done.stdout

    integration("uninstall")
    assert xdg_default("sip") == "linphone.desktop"
    assert (home / ".config" / "mimeapps.list").read_bytes() == original


def test_a_choice_the_user_made_after_install_survives_uninstall(isolated_environment):
    home = isolated_environment
    other_app(home, "linphone.desktop", "Linphone", ("tel",))
    install("--no-input")
    subprocess.run(["xdg-mime", "default", "linphone.desktop", "x-scheme-handler/tel"], check=True)
    integration("uninstall")
    assert xdg_default("tel") == "linphone.desktop"


@pytest.mark.parametrize("lang, question, kept", [
    ("en", "callto: links open in Linphone (linphone.desktop) now. Open them in Talker instead?",
     "callto: links still open in Linphone"),
    ("ru", "Ссылки callto: сейчас открываются в Linphone (linphone.desktop). Открывать их в Talker?",
     "Ссылки callto: по-прежнему открываются в Linphone"),
])
def test_asking_names_the_app_and_a_no_keeps_it(isolated_environment, monkeypatch, lang, question, kept):
    monkeypatch.setattr(i18n, "_language", lang)
    home = isolated_environment
    other_app(home, "linphone.desktop", "Linphone", ("callto",))
    subprocess.run(["xdg-mime", "default", "linphone.desktop", "x-scheme-handler/callto"], check=True)
    questions = []

    def ask(question: str) -> bool:
        questions.append(question)
        return False

    report = LinuxTarget().install(Options(venv=VENV), ask, Report())
    assert questions == [question]
    assert xdg_default("callto") == "linphone.desktop"
    assert any(kept in line for line in report.todo)
    LinuxTarget().uninstall()


def test_a_russian_run_reports_in_russian(isolated_environment):
    """Russian, as TALKER_LANG=ru or a Russian locale chooses it: the report, the status and
    the uninstall speak Russian; what is written (desktop entries) and `status --json` do not change."""
    home = isolated_environment
    other_app(home, "linphone.desktop", "Linphone", ("sip",))
    subprocess.run(["xdg-mime", "default", "linphone.desktop", "x-scheme-handler/sip"], check=True)
    ru = dict(os.environ, TALKER_LANG="ru")

    done = install("--no-input", env=ru)
    assert "Ссылки tel:, callto: открываются в Talker" in done.stdout
    assert "Осталось сделать:\n" in done.stdout
    assert "Ссылки sip: по-прежнему открываются в Linphone (linphone.desktop)." in done.stdout
    assert "Talker запускается вместе с сеансом" in done.stdout
    assert "Comment=Calls through your company's phone system\n" in \
        (home / ".local" / "share" / "applications" / DESKTOP_ID).read_text()

    status = integration("status", env=ru)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("Установлено (linux); запись об установке: ")
    assert "\nавтозапуск: включён\n" in status.stdout
    as_json = {lang: json.loads(integration("status", "--json", env=dict(os.environ, TALKER_LANG=lang)).stdout)
               for lang in ("ru", "en")}
    assert as_json["ru"] == as_json["en"]

    done = integration("uninstall", env=ru)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "  Удалено всё, что добавила установка.\n"


def test_autostart_is_on_by_default_switchable_and_remembered(isolated_environment):
    entry = isolated_environment / ".config" / "autostart" / DESKTOP_ID
    install("--no-input")
    assert entry.exists()
    assert integration("autostart", "off").returncode == 0
    assert not entry.exists()
    install("--no-input")  # a repair keeps the user's choice
    assert not entry.exists()
    status = json.loads(integration("status", "--json").stdout)
    assert status["installed"] and status["autostart"] is False
    assert integration("autostart", "on").returncode == 0
    assert entry.exists()
    integration("uninstall")
    install("--no-autostart")
    assert not entry.exists()


def test_a_command_of_someone_elses_in_local_bin_comes_back_on_uninstall(isolated_environment):
    theirs = isolated_environment / ".local" / "bin" / "talker"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("#!/bin/sh\necho an older talker\n")
    theirs.chmod(0o755)
    install("--no-input")
    assert theirs.is_symlink()
    integration("uninstall")
    assert not theirs.is_symlink() and theirs.read_text() == "#!/bin/sh\necho an older talker\n"
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o755


def test_flatpak_browser_gets_an_inert_bridge_and_instructions_without_flatpak(isolated_environment):
    """The Flatpak itself cannot exist here: its per-user folder, which is what the installer
    looks at, stands in for it."""
    home = isolated_environment
    sandbox = home / ".var" / "app" / "com.google.Chrome"
    (sandbox / "config" / "google-chrome").mkdir(parents=True)
    before = snapshot(home)
    done = install("--no-input")
    assert "flatpak override --user --talk-name=org.freedesktop.Flatpak com.google.Chrome" in done.stdout
    assert "Talker does not do it for you" in done.stdout
    manifest = json.loads((sandbox / "config" / "google-chrome" / "NativeMessagingHosts" /
                           f"{browser_bridge.HOST_NAME}.json").read_text())
    wrapper = Path(manifest["path"])
    assert wrapper.is_relative_to(sandbox) and os.access(wrapper, os.X_OK)
    assert "exec flatpak-spawn --host " in wrapper.read_text()
    assert manifest["allowed_origins"] == browser_bridge.allowed_origins()
    # No override was made for the user: nothing in Flatpak's own configuration.
    assert not (home / ".local" / "share" / "flatpak").exists()
    integration("uninstall")
    assert snapshot(home) == before


@pytest.mark.parametrize("snap,expect", [
    ("firefox", "through the desktop portal"),
    ("chromium", "cannot start programs outside its sandbox"),
])
def test_snap_browsers_are_explained_without_snap(isolated_environment, snap, expect):
    """Snap cannot exist here: the per-user ~/snap/<name> folder stands in for it."""
    home = isolated_environment
    (home / "snap" / snap).mkdir(parents=True)
    done = install("--no-input")
    assert expect in done.stdout
    firefox_manifest = home / ".mozilla" / "native-messaging-hosts" / f"{browser_bridge.HOST_NAME}.json"
    # A Firefox installed as a .deb (scripts/setup test installs firefox-esr) gets its manifest anyway.
    native_firefox = any(shutil.which(c) for c in ("firefox", "firefox-esr"))
    assert firefox_manifest.exists() == (snap == "firefox" or native_firefox)
    integration("uninstall")
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == ["snap", f"snap/{snap}"]


def test_the_installed_host_command_answers_like_the_host(isolated_environment):
    install("--no-input")
    manifest = json.loads((isolated_environment / ".config" / "chromium" / "NativeMessagingHosts" /
                           f"{browser_bridge.HOST_NAME}.json").read_text())
    payload = json.dumps({"id": "1", "action": "status"}).encode()
    done = subprocess.run([manifest["path"], browser_bridge.allowed_origins()[0]],
                          input=len(payload).to_bytes(4, sys.byteorder) + payload, capture_output=True, timeout=30)
    assert json.loads(done.stdout[4:])["error"]["code"] == "app_not_running"
    status = subprocess.run([str(isolated_environment / ".local" / "bin" / "talker-integration"), "status"],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0 and status.stdout.startswith("Installed (linux)")


def test_without_a_venv_the_installer_says_so(isolated_environment, tmp_path):
    done = integration("install", "--venv", str(tmp_path / "nowhere"), "--no-input")
    assert done.returncode == 1
    assert done.stderr.startswith("talker-integration: ") and len(done.stderr.strip().splitlines()) == 1
    assert list(isolated_environment.iterdir()) == [], "a failed first install leaves nothing behind"


def test_uninstall_when_nothing_is_installed_is_harmless(isolated_environment):
    done = integration("uninstall")
    assert done.returncode == 0 and "not installed" in done.stdout
    assert list(isolated_environment.iterdir()) == []


def test_install_sh_with_an_existing_venv(isolated_environment):
    before = snapshot(isolated_environment)
    done = subprocess.run([str(ROOT / "installers" / "linux" / "install.sh"), "--venv", str(VENV), "--no-input"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert xdg_default("tel") == DESKTOP_ID
    done = subprocess.run([str(ROOT / "installers" / "linux" / "install.sh"), "--uninstall", "--venv", str(VENV)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert snapshot(isolated_environment) == before


@pytest.mark.slow
def test_install_sh_makes_its_own_venv_and_uninstall_removes_it(isolated_environment, tmp_path):
    """The script's normal path: a new venv from a Python 3.11/3.12, Talker built from this
    checkout and installed into it (not editable), then the installer from that venv. Only
    the dependencies' download is left out (TALKER_PIP_ARGS=--no-deps), which is pip's
    business; the build does reach the package index for setuptools."""
    home = isolated_environment
    before = snapshot(home)
    # pip runs `rustc --version` for its user agent; on a machine with rustup, the shim would
    # make ~/.rustup in this fresh HOME (a real user with rustup has one already).
    env = dict(os.environ, TALKER_PIP_ARGS="--no-deps", RUSTUP_HOME=str(tmp_path / "rustup"))
    script = str(ROOT / "installers" / "linux" / "install.sh")
    done = subprocess.run([script, "--python", str(Path(sys.base_prefix) / "bin" / "python3"), "--no-input"],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=env)
    assert done.returncode == 0, done.stderr
    venv = home / ".local" / "share" / "talker" / "venv"
    located = subprocess.run([str(venv / "bin" / "python"), "-I", "-c", "import installers; print(installers.__file__)"],
                             capture_output=True, text=True, timeout=30)
    assert Path(located.stdout.strip()).is_relative_to(venv), "Talker is not installed into its own venv"
    assert os.readlink(home / ".local" / "bin" / "talker") == str(venv / "bin" / "talker")
    manifest = json.loads((home / ".config" / "chromium" / "NativeMessagingHosts" /
                           f"{browser_bridge.HOST_NAME}.json").read_text())
    assert manifest["path"] == str(venv / "bin" / "talker-native-host")
    assert f"Exec={venv}/bin/talker %u" in (home / ".local" / "share" / "applications" / DESKTOP_ID).read_text()

    done = subprocess.run([script, "--uninstall"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert snapshot(home) == before


# --- the pieces, without processes -----------------------------------------------------------------
@pytest.mark.parametrize("arg,expected", [
    ("/home/u/.local/share/talker/venv/bin/talker", "/home/u/.local/share/talker/venv/bin/talker"),
    ("/home/my user/bin/talker", '"/home/my user/bin/talker"'),
    ("/opt/100%/talker", "/opt/100%%/talker"),
    ('/opt/a"b$c`d\\e/talker', '"/opt/a\\\\"b\\\\$c\\\\`d\\\\\\\\e/talker"'),
])
def test_exec_arguments_are_quoted_as_the_desktop_entry_spec_says(arg, expected):
    assert exec_arg(arg) == expected


def test_mimeapps_edits_change_one_key_and_nothing_else(tmp_path):
    path = tmp_path / "mimeapps.list"
    text = "# mine\n[Added Associations]\nx-scheme-handler/tel=a.desktop;\n\n[Default Applications]\ntext/html=b.desktop\n"
    path.write_text(text)
    write_default(path, "x-scheme-handler/tel", "talker.desktop")
    assert read_default(path, "x-scheme-handler/tel") == "talker.desktop"
    assert path.read_text() == text.replace("text/html=b.desktop\n", "text/html=b.desktop\nx-scheme-handler/tel=talker.desktop\n")
    write_default(path, "x-scheme-handler/tel", None)
    assert path.read_text() == text
