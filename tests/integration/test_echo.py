"""Echo through a real room, made of a real PulseAudio server (tests/support/sound.py): what the
app plays on the speaker sink comes back into the microphone 60 ms later and 6 dB quieter, as
from a laptop's speakers, and the app runs on its real device path (PortAudio → ALSA → pulse).
The phone at the other end plays a tone and records what it hears: with cancellation on it must
hear its own tone at least 20 dB lower than with it off, and the voice of the person at the
microphone just as before."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.support.app import App
from tests.support.audio import heard, read_wav, tone_level_db
from tests.support.processes import wait_until
from tests.support.sound import MIC_SINK, SPEAKER

pytestmark = [pytest.mark.slow, pytest.mark.realtime]

MIC_TONE, PEER_TONE = 1000.0, 1600.0   # tests/conftest.py `tones`: the peer plays 1600 Hz
ECHO_DELAY_MS, ECHO_GAIN_DB = 60, -6
TALK_S = 8.0        # the canceller needs a few seconds to learn the room
SETTLED_S = 4.0     # the echo is measured from here to the end of the call


@pytest.fixture
def db_url():
    """The device path does not depend on the database: SQLite is enough."""
    return None


def feed_speaker_back_into_microphone(sound_server) -> str:
    """The room: a loopback from the speaker sink's monitor into the microphone's sink, late
    and quieter. Returns the module index."""
    module = sound_server.pactl(
        "load-module", "module-loopback", f"source={SPEAKER}.monitor", f"sink={MIC_SINK}",
        f"latency_msec={ECHO_DELAY_MS}", "source_dont_move=true", "sink_dont_move=true",
        "sink_input_properties=media.name=room-echo")
    deadline = time.monotonic() + 10
    while True:
        # `list short sink-inputs` does not name the owner module; the long listing does.
        for block in sound_server.pactl("list", "sink-inputs").split("Sink Input #")[1:]:
            if f"Owner Module: {module}\n" in block:
                index = block.split("\n", 1)[0].strip()
                sound_server.pactl("set-sink-input-volume", index, f"{ECHO_GAIN_DB}dB")
                return module
        assert time.monotonic() < deadline, "the loopback never connected"
        time.sleep(0.05)


def echo_heard_db(wav) -> float:
    """The peer's own tone in what it heard once the call had settled: the median of 0.1 s
    windows, so that a click or a moment of adaptation does not decide."""
    samples, rate = read_wav(wav)
    start, end = int(SETTLED_S * rate), len(samples) - rate // 2
    size = rate // 10
    return statistics.median(tone_level_db(samples[i:i + size], rate, PEER_TONE)
                             for i in range(start, end - size + 1, size))


def call_with_echo(app: App, peer, sound_server) -> float:
    """A call from the app to the peer while someone talks into the microphone; the level
    at which the peer hears its own tone."""
    before, since = set(peer.recordings()), peer.mark()   # the peer took a call before
    mic = sound_server.start_tone(MIC_TONE, amplitude=0.2)
    try:
        with app.client() as c:
            c.request("call", target="102")
        peer.wait_call("incoming", after=since)
        peer.command("answer")
        peer.wait_call("connected", after=since)
        time.sleep(TALK_S)
        with app.client() as c:
            c.request("hangup")
        peer.wait_call("ended", after=since)
    finally:
        mic.stop()
    [wav] = wait_until(lambda: list(set(peer.recordings()) - before), 10,
                       message="the peer's recording of the call")
    assert heard(wav, MIC_TONE, SETTLED_S, -0.5, others=(400.0, 700.0, 2200.0)), \
        "the peer did not hear the person at the microphone"
    return echo_heard_db(wav)


def test_the_far_end_hears_its_own_voice_20_db_lower_with_echo_cancellation(
        kamailio, peers, talker_app, tones, sound_server, tmp_path):
    """Cancellation is switched as a user switches it (the Echo cancellation item of the menu
    and Settings: the app's set_audio_option), between two calls of one running app."""
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova",
                     extra_env={**sound_server.env, "TALKER_AUDIO_DEVICE": "system"})
    feed_speaker_back_into_microphone(sound_server)
    levels = {}
    for cancel in (False, True):
        with app.client() as c:
            state = c.request("set_audio_option", option="echo_cancellation", on=cancel)
        assert state["options"]["echo_cancellation"] is cancel
        levels[cancel] = call_with_echo(app, peer, sound_server)
    print(f"\nthe peer hears its own {PEER_TONE:g} Hz tone at {levels[False]:.1f} dBFS without "
          f"echo cancellation, {levels[True]:.1f} dBFS with it "
          f"(echo {ECHO_DELAY_MS} ms late, {ECHO_GAIN_DB} dB)")
    # Without cancellation the room really echoes: else the comparison proves nothing.
    assert levels[False] > -35, f"no echo to cancel ({levels[False]:.1f} dBFS)"
    assert levels[True] < levels[False] - 20, \
        f"the echo is only {levels[False] - levels[True]:.1f} dB lower with cancellation"
