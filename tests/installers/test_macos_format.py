"""macOS: Talker.app's Info.plist, the LaunchAgent and the host manifests, produced on Linux by
the same code the macOS build and the app's first start run, and checked against the
documented formats (Apple's property list format through plistlib, the Information Property
List keys, launchd.plist(5)). None of this runs macOS, and every test says so in its name;
Launch Services is a dict here (FakeLaunchServices), since it cannot exist on Linux."""

from __future__ import annotations

import json
import plistlib
from pathlib import Path

import pytest

from common import browser_bridge
from installers import SCHEMES
from installers.base import Options, Report
from installers.frozen import PROGRAMS, version
from installers.macos import BUNDLE_ID, LAUNCH_AGENT_LABEL, MacTarget, info_plist, launch_agent
from tests.installers.conftest import FakeLaunchServices, integration, snapshot

APP = Path("/Applications/Talker.app")
PLIST_TYPES = (str, bool, int, float, bytes, list, dict)


def plist_values(value):
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        for v in value.values():
            yield from plist_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from plist_values(v)
    else:
        yield value


@pytest.mark.parametrize("fmt", [plistlib.FMT_XML, plistlib.FMT_BINARY])
def test_info_plist_format_without_macos(fmt):
    plist = info_plist("1.2.3")
    assert plistlib.loads(plistlib.dumps(plist, fmt=fmt)) == plist
    assert all(isinstance(v, PLIST_TYPES) for v in plist_values(plist))
    assert plist["CFBundleIdentifier"] == BUNDLE_ID
    assert plist["CFBundleExecutable"] in PROGRAMS, "the bundle's main program is one the build makes"
    assert plist["CFBundlePackageType"] == "APPL" and plist["CFBundleInfoDictionaryVersion"] == "6.0"
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == "1.2.3"
    assert plist["LSUIElement"] is True, "a menu-bar app: no Dock icon"
    assert plist["NSMicrophoneUsageDescription"], "macOS refuses the microphone without a reason"
    [url_type] = plist["CFBundleURLTypes"]
    assert url_type["CFBundleURLName"].startswith(BUNDLE_ID)
    assert url_type["CFBundleURLSchemes"] == list(SCHEMES)
    assert url_type["CFBundleTypeRole"] in ("Viewer", "Editor", "Shell", "None")


def test_info_plist_xml_is_apples_dtd_format_without_macos(tmp_path):
    done = integration("build", "macos", str(tmp_path), "--version", "4.5.6")
    assert done.returncode == 0, done.stderr
    xml = (tmp_path / "Info.plist").read_bytes()
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"')
    assert plistlib.loads(xml) == info_plist("4.5.6")
    assert plistlib.loads((tmp_path / f"{LAUNCH_AGENT_LABEL}.plist").read_bytes()) == launch_agent(APP)
    assert (tmp_path / "talker.icns").read_bytes()[:4] == b"icns"


def test_launch_agent_format_without_macos():
    agent = plistlib.loads(plistlib.dumps(launch_agent(APP)))
    assert agent["Label"] == LAUNCH_AGENT_LABEL
    program = Path(agent["ProgramArguments"][0])
    assert program.is_absolute() and program == APP / "Contents" / "MacOS" / "talker"
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] is False
    assert agent["LimitLoadToSessionType"] == "Aqua", "only in a graphical login"
    assert agent["AssociatedBundleIdentifiers"] == [BUNDLE_ID]


@pytest.fixture
def mac(isolated_environment):
    support = isolated_environment / "Library" / "Application Support"
    (support / "Google" / "Chrome").mkdir(parents=True)      # Chrome has run for this user
    (support / "Mozilla").mkdir(parents=True)                # and Firefox
    services = FakeLaunchServices({"tel": "com.apple.FaceTime"})
    return MacTarget({"HOME": str(isolated_environment)}, services), services


def test_first_start_integration_without_macos(mac, isolated_environment):
    target, services = mac
    before = snapshot(isolated_environment)
    report = target.install(Options(app_dir=APP), lambda q: False, Report())

    support = isolated_environment / "Library" / "Application Support"
    host = str(APP / "Contents" / "MacOS" / "talker-native-host")
    chrome = json.loads((support / "Google" / "Chrome" / "NativeMessagingHosts" / f"{browser_bridge.HOST_NAME}.json").read_text())
    assert chrome == browser_bridge.host_manifest("chromium", host)
    firefox = json.loads((support / "Mozilla" / "NativeMessagingHosts" / f"{browser_bridge.HOST_NAME}.json").read_text())
    assert firefox["allowed_extensions"] == [browser_bridge.FIREFOX_ADDON_ID] and firefox["path"] == host
    assert not (support / "Chromium").exists(), "no manifest for a browser that is not there"
    agent = isolated_environment / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    assert plistlib.loads(agent.read_bytes()) == launch_agent(APP)
    # FaceTime keeps tel: and the report says so; the free schemes are Talker's.
    assert services.handlers == {"tel": "com.apple.FaceTime", "callto": BUNDLE_ID, "sip": BUNDLE_ID}
    assert any("tel: links still open in com.apple.FaceTime" in line for line in report.todo)

    target.set_autostart(False)
    assert not agent.exists()
    target.uninstall()
    assert snapshot(isolated_environment) == before


def test_yes_takes_tel_from_facetime_and_uninstall_gives_it_back_without_macos(mac):
    target, services = mac
    target.install(Options(app_dir=APP, take_schemes=True))
    assert services.handlers["tel"] == BUNDLE_ID
    target.uninstall()
    assert services.handlers["tel"] == "com.apple.FaceTime"


def test_the_spec_builds_the_bundle_from_this_plist_without_macos():
    """The PyInstaller spec takes the Info.plist from installers.macos (one definition); see
    test_frozen.py for the spec itself."""
    spec = (Path(__file__).resolve().parents[2] / "installers" / "talker.spec").read_text()
    assert "info_plist=info_plist(version())" in spec and "bundle_identifier=BUNDLE_ID" in spec
    assert version()
