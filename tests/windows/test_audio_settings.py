"""The settings window's sound devices against the real app and a real PulseAudio server
(tests/support/sound.py), on a private X display: the three choices list the server's devices,
start at the OS default, and a choice reaches the app at once and is kept — with or without a
PBX."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def sound_env(sound_server, monkeypatch):
    """The app (a child of this process) reaches the test's sound server."""
    for key, value in sound_server.env.items():
        monkeypatch.setenv(key, value)
    return sound_server


def test_the_settings_window_chooses_the_speaker_microphone_and_ringer(windowed_app, sound_env):
    app = windowed_app(None)
    w = app.open("settings")
    state = w.settled(lambda s: s["speaker"])
    assert (state["microphone"], state["speaker"], state["ringer"]) == \
        ("System default", "System default", "System default")

    w.set("speaker", "Headset")
    wait_until(lambda: app.request("audio_devices")["speaker"]["device"] == "headset", 5, 0.1,
               "the app to take the speaker")
    w.set("ringer", "Ring")
    w.set("microphone", "Microphone")
    wait_until(lambda: app.request("audio_devices")["ringer"]["device"] == "ring", 5, 0.1, "the ringer")
    wait_until(lambda: app.request("audio_devices")["microphone"]["device"] == "micin", 5, 0.1, "the microphone")
    assert app.request("audio_devices")["speaker"]["device"] == "headset"
    w.close()

    # A window opened later shows what was chosen.
    again = app.open("settings")
    state = again.settled(lambda s: s["speaker"] == "Headset")
    assert (state["microphone"], state["ringer"]) == ("Microphone", "Ring")
    again.set("speaker", "System default")
    wait_until(lambda: app.request("audio_devices")["speaker"]["device"] is None, 5, 0.1, "back to the default")
