"""A call through the app's real device path: PortAudio → ALSA → a real PulseAudio server
(tests/support/sound.py), not pjsua2's null device. A tone played into the microphone source
must reach the phone, and the phone's tone must come out of the speaker sink - checked on the
sink's monitor, never through the app's own recorder."""

from __future__ import annotations

import time

import pytest

from tests.support.audio import heard

pytestmark = [pytest.mark.slow, pytest.mark.realtime]

MIC_TONE, PEER_TONE = 1000.0, 1600.0  # 1000 Hz: the tone pjsua's VAD used to cut


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
    peer_heard = peer.recording()
    # Heard all along, not in bursts: nothing (voice-activity detection, a buffer) cuts it.
    assert heard(peer_heard, MIC_TONE, 0.8, -0.3, min_share=0.8), "the phone did not hear the microphone"
    # The speaker sink's monitor: the phone's tone while the call was up, nothing after.
    assert heard(speaker_wav, PEER_TONE, -3.5, -1.5, min_share=0.8), "the speaker did not play the phone"
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
    peer_heard = peer.recording()
    assert heard(peer_heard, MIC_TONE, 0.5, 1.8), "the phone heard nothing before the mute"
    assert not heard(peer_heard, MIC_TONE, -2.0, -0.3), "the phone still hears the muted microphone"


RINGTONE, CALL_PROGRESS = 784.0, 425.0   # tray/sip/sound.py: RINGTONE, RINGBACK and BUSY


def _ringer_on_its_own_sink(sound_server, tmp_path) -> dict[str, str]:
    """The app's environment with its ringer on the `ring` sink: an ALSA device of type pulse
    (the way a PortAudio stream reaches one particular PulseAudio sink)."""
    conf = tmp_path / "ringer.conf"
    conf.write_text('pcm.talker_ring { type pulse; device "ring" }\n')
    return {**sound_server.env, "TALKER_AUDIO_DEVICE": "system", "TALKER_AUDIO_RINGER": "talker_ring",
            "ALSA_CONFIG_PATH": f"{sound_server.alsa_config_path}:{conf}"}


def _wait_app_call(app, state: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(c["state"] == state for c in app.status()["calls"]):
        assert time.monotonic() < deadline, f"the app never had a call '{state}'"
        time.sleep(0.05)


@pytest.mark.parametrize("end", ["answered", "declined", "cancelled"])
def test_an_incoming_call_rings_on_the_ringer_until_it_is_answered_declined_or_cancelled(
        kamailio, peers, talker_app, tones, sound_server, tmp_path, end):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", extra_env=_ringer_on_its_own_sink(sound_server, tmp_path))
    ringer = sound_server.record("ring", tmp_path / "ringer.wav")
    speaker = sound_server.record("spk", tmp_path / "speaker.wav")
    try:
        ringer.wait_started()
        peer.command("call", number="101")
        _wait_app_call(app, "incoming")
        time.sleep(3.0)
        t_end = ringer.seconds()             # on the recording's clock: load cannot shift it
        if end == "answered":
            _request(app, "answer")
            peer.wait_call("connected")
        elif end == "declined":
            _request(app, "decline")
            peer.wait_call("ended")
        else:
            peer.command("hangup")
            peer.wait_call("ended")
        time.sleep(2.0)
        if end == "answered":
            _request(app, "hangup")
    finally:
        ringer_wav, speaker_wav = ringer.stop(), speaker.stop()
    assert heard(ringer_wav, RINGTONE, t_end - 2.8, t_end, others=(425.0, 1600.0), min_share=0.12), \
        "the ringer did not ring"
    assert not heard(ringer_wav, RINGTONE, t_end + 0.6, -0.1, others=(425.0, 1600.0)), f"still ringing after {end}"
    # The ringtone never goes to the speaker, where the call is.
    assert not heard(speaker_wav, RINGTONE, 0.5, -0.1, others=(425.0, 1600.0))


def test_ringback_while_the_callee_rings_then_the_callee_and_a_busy_tone_when_refused(
        kamailio, peers, talker_app, tones, sound_server, tmp_path):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    peers(kamailio, "103", "Vera Sidorova", options=("--reject-code", "486"))
    app = _device_app(talker_app, kamailio, sound_server)
    speaker = sound_server.record("spk", tmp_path / "speaker.wav")
    try:
        speaker.wait_started()
        _request(app, "call", target="102")
        peer.wait_call("incoming")
        time.sleep(4.5)                      # one ringback cadence is 4 s
        t_answer = speaker.seconds()
        peer.command("answer")
        peer.wait_call("connected")
        time.sleep(2.0)
        _request(app, "hangup")
        peer.wait_call("ended")
        time.sleep(1.0)
        t_busy = speaker.seconds()
        _request(app, "call", target="103")
        time.sleep(2.5)
    finally:
        speaker_wav = speaker.stop()
    others = (RINGTONE, 1000.0)
    # Ringback is 0.8 s of every 4 s.
    assert heard(speaker_wav, CALL_PROGRESS, t_answer - 4.2, t_answer - 0.2, others=others,
                 min_share=0.15), "no ringback"
    assert heard(speaker_wav, PEER_TONE, t_answer + 0.8, t_answer + 2.0, others=(CALL_PROGRESS,)), \
        "the callee is not heard after the answer"
    assert not heard(speaker_wav, CALL_PROGRESS, t_answer + 0.8, t_answer + 2.0, others=others), \
        "ringback goes on after the answer"
    assert heard(speaker_wav, CALL_PROGRESS, t_busy + 0.3, -0.1, others=others), "no busy tone"
