"""The Windows and macOS builds (installers/talker.spec) get their sound from three wheels; this
checks, on the very files pip gives those systems at the versions constraints.txt pins, that
each carries what the app relies on there — nothing else here can run a Windows or macOS sound
stack. The pjsua2 wheels have no sound-device backend of their own on any OS, so the app's audio
path is PortAudio (sounddevice's wheels carry it) with WebRTC's echo canceller (pywebrtc-audio).
The registry is the one network these tests may use (CI reaches it too)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sounddevice", "pywebrtc-audio", "pjsua2-python")
# What each OS's PortAudio must offer: the host APIs a user's devices are reached through.
PLATFORMS = {
    "win_amd64": ("libportaudio64bit.dll", (b"Windows WASAPI", b"Windows DirectSound")),
    "macosx_14_0_arm64": ("libportaudio.dylib", (b"Core Audio",)),
}


def pinned(name: str) -> str:
    text = (ROOT / "constraints.txt").read_text()
    match = re.search(rf"^{re.escape(name)}==(\S+)$", text, re.M | re.I)
    assert match, f"{name} is not pinned in constraints.txt"
    return f"{name}=={match.group(1)}"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, dict[str, Path]]:
    found: dict[str, dict[str, Path]] = {}
    for platform in PLATFORMS:
        target = tmp_path_factory.mktemp(platform)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--platform", platform, "--python-version", "3.11", "-d", str(target),
             *(pinned(name) for name in PACKAGES)],
            capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"no {platform} wheels: {done.stderr[-2000:]}"
        found[platform] = {name: next(target.glob(name.replace("-", "_") + "-*.whl")) for name in PACKAGES}
    return found


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_sounddevice_wheel_carries_a_portaudio_with_the_systems_sound_apis(wheels, platform):
    library, host_apis = PLATFORMS[platform]
    with zipfile.ZipFile(wheels[platform]["sounddevice"]) as whl:
        binary = whl.read(f"_sounddevice_data/portaudio-binaries/{library}")
    for api in host_apis:
        assert api in binary, f"{library} has no {api.decode()} host API"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_echo_canceller_and_the_sip_engine_have_native_code_for_the_system(wheels, platform):
    suffix = ".pyd" if platform.startswith("win") else ".so"
    for name, module in (("pywebrtc-audio", "pywebrtc_audio/_webrtc_audio"), ("pjsua2-python", "pjsua2/_pjsua2")):
        with zipfile.ZipFile(wheels[platform][name]) as whl:
            assert any(n.startswith(module) and n.endswith(suffix) for n in whl.namelist()), \
                f"{name} has no native module for {platform}"
