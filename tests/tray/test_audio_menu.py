"""The tray menu's Audio devices ▸ Microphone / Speaker / Ringer, clicked item by item
(pystray's dummy backend) in an app whose sound server is a real PulseAudio
(tests/support/sound.py): it lists the server's devices by the names people know them by,
checks the choice, remembers a click in the settings file, shows a device plugged in since
the app started, and keeps an unplugged choice visible."""

from __future__ import annotations

import json

import pytest

from tests.support.processes import wait_until
from tests.support.tray import find, menu, start_app, texts
from tray import settings as settings_mod

pytestmark = pytest.mark.slow


@pytest.fixture
def app(sound_server, monkeypatch):
    for key, value in sound_server.env.items():
        monkeypatch.setenv(key, value)
    app = start_app()
    try:
        yield app
    finally:
        app.shutdown()


def _choices(app, role: str) -> list[tuple[str, bool, bool, bool]]:
    return [(i.text, i.checked, i.radio, i.enabled) for i in find(menu(app), "Audio devices", role)._action]


def test_the_audio_devices_menu_lists_checks_and_remembers_the_choice(app, sound_server):
    top = texts(menu(app))
    assert top.index("Audio devices") == top.index("Settings…") - 1
    assert texts(find(menu(app), "Audio devices")._action) == ["Microphone", "Speaker", "Ringer",
                                                                "Ring silently", "Echo cancellation"]
    assert _choices(app, "Microphone") == [("System default", True, True, True), ("Microphone", False, True, True)]
    speakers = _choices(app, "Speaker")
    assert speakers[0] == ("System default", True, True, True)
    assert {"Spk", "Ring", "Headset"} <= {text for text, *_ in speakers}

    find(menu(app), "Audio devices", "Speaker", "Headset")(app.icon.icon)
    wait_until(lambda: settings_mod.load().speaker == "headset", 5, 0.05, "the choice in the settings file")
    saved = json.loads(settings_mod.settings_path().read_text())
    assert (saved["speaker"], saved["microphone"], saved["ringer"]) == ("headset", None, None)
    wait_until(lambda: find(menu(app), "Audio devices", "Speaker", "Headset").checked, 5, 0.05, "the check mark")
    assert not find(menu(app), "Audio devices", "Speaker", "System default").checked
    # Each role is its own choice.
    assert find(menu(app), "Audio devices", "Ringer", "System default").checked

    find(menu(app), "Audio devices", "Ringer", "Ring")(app.icon.icon)
    wait_until(lambda: settings_mod.load().ringer == "ring", 5, 0.05, "the ringer in the settings file")
    find(menu(app), "Audio devices", "Speaker", "System default")(app.icon.icon)
    wait_until(lambda: settings_mod.load().speaker is None, 5, 0.05, "back to the default")
    assert settings_mod.load().ringer == "ring"


def test_a_device_plugged_in_shows_up_and_an_unplugged_choice_stays_visible(app, sound_server):
    assert "Usb" not in [t for t, *_ in _choices(app, "Speaker")]
    sound_server.plug("usb")
    wait_until(lambda: "Usb" in [t for t, *_ in _choices(app, "Speaker")], 10, 0.2, "the new sink in the menu")

    find(menu(app), "Audio devices", "Speaker", "Usb")(app.icon.icon)
    wait_until(lambda: settings_mod.load().speaker == "usb", 5, 0.05, "the choice in the settings file")
    sound_server.unplug("usb")
    absent = "usb (not connected: the system default plays)"
    wait_until(lambda: absent in [t for t, *_ in _choices(app, "Speaker")], 10, 0.2, "the unplugged choice")
    assert (absent, True, True, False) in _choices(app, "Speaker")
    assert "Usb" not in [t for t, *_ in _choices(app, "Speaker")]


def test_ring_silently_and_echo_cancellation_are_switched_from_the_menu_and_kept(app):
    assert not find(menu(app), "Audio devices", "Ring silently").checked
    assert find(menu(app), "Audio devices", "Echo cancellation").checked
    find(menu(app), "Audio devices", "Ring silently")(app.icon.icon)
    wait_until(lambda: settings_mod.load().ring_silently, 5, 0.05, "ring silently in the settings file")
    wait_until(lambda: find(menu(app), "Audio devices", "Ring silently").checked, 5, 0.05, "the check mark")
    find(menu(app), "Audio devices", "Echo cancellation")(app.icon.icon)
    wait_until(lambda: not settings_mod.load().echo_cancellation, 5, 0.05, "echo cancellation off in the file")
    assert not find(menu(app), "Audio devices", "Echo cancellation").checked
    find(menu(app), "Audio devices", "Ring silently")(app.icon.icon)
    wait_until(lambda: not settings_mod.load().ring_silently, 5, 0.05, "ring silently off again")
