"""A call through the app's real device path: PortAudio → ALSA → a real PulseAudio server
(tests/support/sound.py), not pjsua2's null device. A tone played into the microphone source
must reach the phone, and the phone's tone must come out of the speaker sink - checked on the
sink's monitor, never through the app's own recorder."""

from __future__ import annotations

import time

import pytest

from tests.support.audio import heard

pytestmark = pytest.mark.slow

MIC_TONE, PEER_TONE = 1000.0, 1600.0


@pytest.fixture
def db_url():
    """The device path does not depend on the database: SQLite is enough."""
    return None


def _device_app(talker_app, kamailio, sound_server):
    return talker_app(kamailio, "101", "Anna Ivanova",
                      extra_env={**sound_server.env, "TALKER_AUDIO_DEVICE": "system"})


def _request(app, action: str, **fields) -> dict:
    with app.client() as c:
        return c.request(action, **fields)


@pytest.mark.parametrize("direction", ["app calls", "phone calls"])
def test_the_microphone_reaches_the_phone_and_the_phone_comes_out_of_the_speaker(
        kamailio, peers, talker_app, tones, sound_server, tmp_path, direction):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = _device_app(talker_app, kamailio, sound_server)
    mic = sound_server.start_tone(MIC_TONE)
    speaker = sound_server.record("spk", tmp_path / "speaker.wav")
    try:
        if direction == "app calls":
            _request(app, "call", target="102")
            peer.wait_call("incoming")
            peer.command("answer")
        else:
            peer.command("call", number="101")
            deadline = time.monotonic() + 10
            while not any(c["state"] == "incoming" for c in app.status()["calls"]):
                assert time.monotonic() < deadline, "the app never rang"
                time.sleep(0.05)
            _request(app, "answer")
        peer.wait_call("connected")
        time.sleep(3.0)
        _request(app, "hangup")
        peer.wait_call("ended")
        time.sleep(1.2)
    finally:
        mic.stop()
        speaker_wav = speaker.stop()
    [peer_heard] = peer.recordings()
    assert heard(peer_heard, MIC_TONE, 0.8, -0.3), "the phone did not hear the microphone"
    # The speaker sink's monitor: the phone's tone while the call was up, nothing after.
    assert heard(speaker_wav, PEER_TONE, -3.5, -1.5), "the speaker did not play the phone"
    assert not heard(speaker_wav, PEER_TONE, -0.9, 0), "the speaker still plays after the call"


def test_muted_the_phone_hears_silence_from_the_microphone(kamailio, peers, talker_app, tones,
                                                            sound_server, tmp_path):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = _device_app(talker_app, kamailio, sound_server)
    mic = sound_server.start_tone(MIC_TONE)
    try:
        _request(app, "call", target="102")
        peer.wait_call("incoming")
        peer.command("answer")
        peer.wait_call("connected")
        time.sleep(2.0)
        _request(app, "mute", on=True)
        time.sleep(2.5)
        _request(app, "hangup")
        peer.wait_call("ended")
    finally:
        mic.stop()
    [peer_heard] = peer.recordings()
    assert heard(peer_heard, MIC_TONE, 0.5, 1.8), "the phone heard nothing before the mute"
    assert not heard(peer_heard, MIC_TONE, -2.0, -0.3), "the phone still hears the muted microphone"
