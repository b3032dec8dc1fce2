"""Choosing the sound devices, in the real app on its real device path (PortAudio → ALSA → a
real PulseAudio server, tests/support/sound.py): a choice moves a call in progress, an unplugged
device gives the call back to the OS default without dropping it, a device plugged in after
the app started can be chosen, and the choice outlives the app. What plays is checked on the
sinks' monitors. The choice goes over the control channel: the same action the tray menu and
the settings window use (SoundChoice.set_device in tray/sound_choice.py)."""

from __future__ import annotations

import time

import pytest

from tests.support.app import App
from tests.support.audio import heard
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow   # and `realtime` on each test that judges sound

PEER_TONE = 1600.0
RINGTONE = 784.0   # tray/sip/sound.py: RINGTONE


@pytest.fixture
def db_url():
    """The device path does not depend on the database: SQLite is enough."""
    return None


def _env(sound_server) -> dict[str, str]:
    return {**sound_server.env, "TALKER_AUDIO_DEVICE": "system"}


def _request(app, action: str, **fields) -> dict:
    with app.client() as c:
        return c.request(action, **fields)


def _connected(app) -> bool:
    return any(c["state"] == "connected" for c in app.status()["calls"])


def _call(app, peer) -> None:
    _request(app, "call", target="102")
    peer.wait_call("incoming")
    peer.command("answer")
    peer.wait_call("connected")
    wait_until(lambda: _connected(app), 10, 0.05, "the app's call to connect")


def _names(state: dict, role: str) -> list[str]:
    return [d["name"] for d in state[role]["devices"]]


@pytest.mark.realtime
def test_the_speaker_moves_to_the_headset_mid_call_and_the_call_stays_up(
        kamailio, peers, talker_app, tones, sound_server, tmp_path):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", extra_env=_env(sound_server))
    speaker = sound_server.record("spk", tmp_path / "spk.wav")
    headset = sound_server.record("headset", tmp_path / "headset.wav")
    try:
        _call(app, peer)
        time.sleep(2.5)
        t_switch = speaker.seconds()
        state = _request(app, "set_audio_device", role="speaker", device="headset")
        assert state["speaker"]["device"] == "headset"
        time.sleep(3.0)
        assert _connected(app), "the call dropped when the speaker changed"
        _request(app, "hangup")
        peer.wait_call("ended")
    finally:
        spk_wav, headset_wav = speaker.stop(), headset.stop()
    assert heard(spk_wav, PEER_TONE, t_switch - 1.5, t_switch), "the call was not on the speaker first"
    assert not heard(spk_wav, PEER_TONE, t_switch + 1.0, t_switch + 2.5), "the speaker still plays the call"
    assert heard(headset_wav, PEER_TONE, t_switch + 1.0, t_switch + 2.5), "the headset does not play the call"


def _headset_taken_away_mid_call(kamailio, peers, talker_app, tones, sound_server, tmp_path, take_away,
                                 settle_s: float):
    """A call on the chosen headset; 2.5 s in, `take_away(app)` runs. Returns the headset's
    recording up to then, the speaker's whole recording and when (on its clock) it ran."""
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", extra_env=_env(sound_server))
    _request(app, "set_audio_device", role="speaker", device="headset")
    speaker = sound_server.record("spk", tmp_path / "spk.wav")
    headset = sound_server.record("headset", tmp_path / "headset.wav")
    try:
        _call(app, peer)
        time.sleep(2.5)
        headset_wav = headset.stop()
        t_gone = speaker.seconds()
        take_away(app)
        time.sleep(settle_s)
        assert _connected(app), "the call dropped with the headset"
        _request(app, "hangup")
        peer.wait_call("ended")
    finally:
        spk_wav = speaker.stop()
        headset.stop()
    assert heard(headset_wav, PEER_TONE, -2.0, -0.3), "the chosen headset did not play the call"
    assert not heard(spk_wav, PEER_TONE, 0.5, t_gone), "the speaker played while the headset worked"
    return spk_wav, t_gone


@pytest.mark.realtime
def test_an_unplugged_headset_gives_the_call_back_to_the_default_speaker(
        kamailio, peers, talker_app, tones, sound_server, tmp_path):
    def unplug(app):
        sound_server.unplug("headset")
        time.sleep(3.5)
        state = _request(app, "audio_devices")
        # Still the choice (it comes back when the headset does), but not there now.
        assert state["speaker"]["device"] == "headset" and not state["speaker"]["present"]

    spk_wav, t_unplug = _headset_taken_away_mid_call(kamailio, peers, talker_app, tones, sound_server, tmp_path,
                                                     unplug, settle_s=0)
    assert heard(spk_wav, PEER_TONE, t_unplug + 1.0, t_unplug + 3.0), \
        "the call did not come back on the default speaker"


@pytest.mark.realtime
def test_a_speaker_that_stops_working_mid_call_hands_the_call_to_the_default_speaker(
        kamailio, peers, talker_app, tones, sound_server, tmp_path):
    """The headset stays listed but stops taking sound (suspended: its stream no longer calls
    back, as a Core Audio device does when it is pulled out). Nothing tells the app; it must
    notice by itself, move the call to the OS default and keep it up."""
    spk_wav, t_stall = _headset_taken_away_mid_call(
        kamailio, peers, talker_app, tones, sound_server, tmp_path,
        lambda app: sound_server.pactl("suspend-sink", "headset", "1"), settle_s=4.0)
    assert heard(spk_wav, PEER_TONE, t_stall + 2.0, t_stall + 4.0), \
        "the call did not move to the default speaker when the headset stopped"


@pytest.mark.realtime
def test_a_device_plugged_in_after_the_start_is_listed_and_carries_a_call(
        kamailio, peers, talker_app, tones, sound_server, tmp_path):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", extra_env=_env(sound_server))
    before = _request(app, "audio_devices")
    assert {"spk", "ring", "headset"} <= set(_names(before, "speaker"))
    assert "usb" not in _names(before, "speaker")
    # The microphones are the sources a person speaks into, not the sinks' monitors.
    assert _names(before, "microphone") == ["micin"]
    speaker = sound_server.record("spk", tmp_path / "spk.wav")
    try:
        # Plugged in mid-call: PortAudio, running since the call began, has never seen it.
        _call(app, peer)
        time.sleep(1.5)
        sound_server.plug("usb")
        wait_until(lambda: "usb" in _names(_request(app, "audio_devices"), "speaker"), 10, 0.2,
                   "the new sink in the app's list")
        usb = sound_server.record("usb", tmp_path / "usb.wav")
        t_switch = speaker.seconds()
        _request(app, "set_audio_device", role="speaker", device="usb")
        time.sleep(3.0)
        assert _connected(app), "the call dropped when the speaker changed"
        _request(app, "hangup")
        peer.wait_call("ended")
        usb_wav = usb.stop()
    finally:
        spk_wav = speaker.stop()
    assert heard(spk_wav, PEER_TONE, t_switch - 1.0, t_switch), "the call was not on the speaker first"
    assert heard(usb_wav, PEER_TONE, 1.2, 2.8), "the new device does not play the call"


@pytest.mark.realtime
def test_the_choice_survives_a_restart(kamailio, peers, talker_app, tones, sound_server, tmp_path):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", extra_env=_env(sound_server))
    _request(app, "set_audio_device", role="speaker", device="headset")
    _request(app, "set_audio_device", role="microphone", device="micin")
    assert app.quit() == 0
    again = App(tmp_path, extra_env=_env(sound_server))
    try:
        again.wait_registered()
        state = _request(again, "audio_devices")
        assert (state["speaker"]["device"], state["microphone"]["device"], state["ringer"]["device"]) == \
            ("headset", "micin", None)
        headset = sound_server.record("headset", tmp_path / "headset.wav")
        try:
            _call(again, peer)
            time.sleep(2.5)
            _request(again, "hangup")
            peer.wait_call("ended")
        finally:
            headset_wav = headset.stop()
        assert heard(headset_wav, PEER_TONE, -2.5, -0.8), "after a restart the call is not on the headset"
    finally:
        again.quit()


@pytest.mark.realtime
def test_the_portaudio_backend_lists_portaudio_devices_and_plays_on_the_chosen_one(
        kamailio, peers, talker_app, tones, sound_server, tmp_path):
    """The backend Windows and macOS use (PortAudio's own list), run here on Linux, where
    PortAudio lists ALSA's devices: `pulse` and `default` lead to the sound server."""
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova",
                     extra_env={**_env(sound_server), "TALKER_AUDIO_BACKEND": "portaudio"})
    state = _request(app, "audio_devices")
    assert {"pulse", "default"} <= set(_names(state, "speaker"))
    assert {"pulse", "default"} <= set(_names(state, "microphone"))
    assert not any(name.startswith("talker_") for name in _names(state, "speaker"))
    _request(app, "set_audio_device", role="speaker", device="pulse")
    speaker = sound_server.record("spk", tmp_path / "spk.wav")
    try:
        _call(app, peer)
        time.sleep(2.5)
        _request(app, "hangup")
        peer.wait_call("ended")
    finally:
        spk_wav = speaker.stop()
    assert heard(spk_wav, PEER_TONE, -2.5, -0.8), "the chosen PortAudio device does not play the call"


@pytest.mark.realtime
def test_an_incoming_call_rings_on_the_chosen_ringer(kamailio, peers, talker_app, tones, sound_server, tmp_path):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", extra_env=_env(sound_server))
    _request(app, "set_audio_device", role="ringer", device="ring")
    ringer = sound_server.record("ring", tmp_path / "ring.wav")
    speaker = sound_server.record("spk", tmp_path / "spk.wav")
    try:
        peer.command("call", number="101")
        wait_until(lambda: any(c["state"] == "incoming" for c in app.status()["calls"]), 10, 0.05,
                   "the app to ring")
        time.sleep(3.2)                      # a ring cadence is 3 s
        t_decline = ringer.seconds()
        _request(app, "decline")
        peer.wait_call("ended")
    finally:
        ring_wav, spk_wav = ringer.stop(), speaker.stop()
    assert heard(ring_wav, RINGTONE, t_decline - 3.0, t_decline, others=(425.0, PEER_TONE), min_share=0.12), \
        "the chosen ringer did not ring"
    assert not heard(spk_wav, RINGTONE, 0.5, 0, others=(425.0, PEER_TONE)), "the speaker rang instead"


@pytest.mark.realtime
def test_ring_silently_keeps_the_ringer_quiet_and_turning_it_off_rings_a_ringing_call(
        kamailio, peers, talker_app, tones, sound_server, tmp_path):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", extra_env=_env(sound_server))
    state = _request(app, "set_audio_option", option="ring_silently", on=True)
    assert state["options"]["ring_silently"] is True
    speaker = sound_server.record("spk", tmp_path / "spk.wav")
    try:
        peer.command("call", number="101")
        wait_until(lambda: any(c["state"] == "incoming" for c in app.status()["calls"]), 10, 0.05,
                   "the app to ring")
        time.sleep(3.2)                      # a whole ring cadence, in silence
        t_loud = speaker.seconds()
        _request(app, "set_audio_option", option="ring_silently", on=False)
        time.sleep(3.2)                      # the same call rings now
        _request(app, "decline")
        peer.wait_call("ended")
    finally:
        spk_wav = speaker.stop()
    assert not heard(spk_wav, RINGTONE, 0.3, t_loud, others=(425.0, PEER_TONE), min_share=0.05), \
        "the call rang although the app rings silently"
    assert heard(spk_wav, RINGTONE, t_loud, t_loud + 3.2, others=(425.0, PEER_TONE), min_share=0.12), \
        "the ringing call did not ring once ring silently was turned off"


def test_real_world_sink_names_and_descriptions_become_portaudio_devices(sound_server, tmp_path, monkeypatch):
    """Sink names carry dots and descriptions carry quotes (alsa_output.usb-…analog-stereo,
    Jabra "Evolve" 20): each still becomes one PortAudio device, named apart from every other."""
    import json
    import subprocess
    import sys

    from tray.audio_devices import AudioDevices, PulseBackend

    name = "alsa_output.usb-GN_Netcom_Jabra_EVOLVE_20-00.analog-stereo"
    sound_server.pactl("load-module", "module-null-sink", f"sink_name={name}",
                       "sink_properties=\"device.description='Jabra \\\"Evolve\\\" 20'\"")
    env = sound_server.child_env()
    for key, value in sound_server.env.items():
        monkeypatch.setenv(key, value)
    backend = PulseBackend(tmp_path)
    devices = AudioDevices(tmp_path, backend)
    listed = {d.name: d for d in devices.refresh()}
    assert listed[name].description == 'Jabra "Evolve" 20'
    pcm = backend.portaudio_name(listed[name])
    assert pcm == devices.resolve("speaker", name)
    assert devices.resolve("speaker", "no-such-sink") is None and devices.resolve("microphone", name) is None
    names = subprocess.run(
        [sys.executable, "-c", "import json, sounddevice; print(json.dumps([d['name'] for d in sounddevice.query_devices()]))"],
        env={**env, "ALSA_CONFIG_PATH": f"{env['ALSA_CONFIG_PATH']}:{backend.config_file}"},
        capture_output=True, text=True, timeout=60)
    assert names.returncode == 0, names.stderr
    portaudio = json.loads(names.stdout)
    assert {backend.portaudio_name(d) for d in listed.values()} <= set(portaudio)
    # sounddevice picks a device by a part of its name: no PCM name may contain another.
    ours = [n for n in portaudio if n.startswith("talker_")]
    assert not [(a, b) for a in ours for b in ours if a != b and a in b]
