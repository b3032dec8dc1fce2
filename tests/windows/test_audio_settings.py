"""The settings window's sound devices against the real app and a real PulseAudio server
(tests/support/sound.py), on a private X display: the three choices list the server's devices,
start at the OS default, and a choice reaches the app at once and is kept — with or without a
PBX."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_until

pytestmark = pytest.mark.slow   # and `realtime` on each test that judges sound


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


def test_the_sound_switches_take_effect_and_are_kept(windowed_app, sound_env):
    app = windowed_app(None)
    w = app.open("settings")
    state = w.settled(lambda s: s["speaker"])
    assert (state["ring_silently"], state["echo_cancellation"]) == (False, True)
    w.invoke("ring_silently_switch")
    wait_until(lambda: app.request("audio_devices")["options"]["ring_silently"], 5, 0.1, "ring silently")
    w.invoke("echo_cancellation_switch")
    wait_until(lambda: not app.request("audio_devices")["options"]["echo_cancellation"], 5, 0.1,
               "echo cancellation off")
    w.close()
    again = app.open("settings")
    state = again.settled(lambda s: s["speaker"] and s["ring_silently"])
    assert state["echo_cancellation"] is False


@pytest.mark.realtime
def test_the_call_window_shows_how_loud_the_microphone_is_heard(windowed_app, pbx_api, kamailio, peers,
                                                                sound_env):
    """The level meter stands high while the microphone hears a tone, falls to nothing when the
    call is muted (the other side hears silence then) and rises again when it is not."""
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    boris = peers(kamailio, "102", "Boris Petrov")
    app = windowed_app(anna, env={"TALKER_AUDIO_DEVICE": "system"})
    sound_env.start_tone(1000.0)
    w = app.open("dial")
    w.settled()
    w.set("number", "102")
    w.invoke("call")
    boris.wait_call("incoming")
    assert not w.read()["mic_level"]["mapped"]  # nothing to show before the call carries audio
    boris.command("answer")
    w.settled(lambda s: s["call_state"]["text"].startswith("In a call"))

    def level(s) -> float:
        return float(s["mic_level"]["value"] or 0)

    assert level(w.settled(lambda s: s["mic_level"]["mapped"] and level(s) > 20, timeout=15)) > 20
    w.invoke("mute_button")
    w.settled(lambda s: level(s) == 0, timeout=10)
    w.invoke("mute_button")
    w.settled(lambda s: level(s) > 20, timeout=10)
    w.invoke("hangup")
    boris.wait_call("ended")
