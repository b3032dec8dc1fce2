"""Audio that follows the call: what each side hears, second by second, across hold and resume
from either side and mute. The app sends one tone, the phone (a pjsua2 peer) another; both
record what they receive, and the recordings are cut into windows of time."""

from __future__ import annotations

import time

import pytest

from tests.support.audio import heard

pytestmark = pytest.mark.slow

APP_TONE, PEER_TONE = 1000.0, 1600.0


def _connected_call(kamailio, peers, talker_app, tones):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", play=tones["app"])
    with app.client() as c:
        c.request("call", target="102")
    peer.wait_call("incoming")
    peer.command("answer")
    peer.wait_call("connected")
    return app, peer


def _request(app, action: str, **fields) -> dict:
    with app.client() as c:
        return c.request(action, **fields)


def _marks(app, peer, steps) -> None:
    """Run (action, seconds to wait after it) steps."""
    for action, wait in steps:
        action()
        time.sleep(wait)


@pytest.mark.parametrize("side", ["peer", "app"])
def test_audio_comes_back_both_ways_after_hold_and_resume(kamailio, peers, talker_app, tones, side):
    app, peer = _connected_call(kamailio, peers, talker_app, tones)

    def hold(on: bool):
        if side == "peer":
            return lambda: peer.command("hold" if on else "resume")
        return lambda: _request(app, "hold", on=on)

    _marks(app, peer, [(lambda: None, 2.0), (hold(True), 2.0), (hold(False), 3.0)])
    with app.client() as c:
        c.request("hangup")
    peer.wait_call("ended")
    peer_heard = peer.recording()
    [app_heard] = app.record_dir.glob("call-*.wav")
    # Before the hold and again after the resume, each side hears the other.
    assert heard(app_heard, PEER_TONE, 0.3, 1.8), "the app heard nothing before the hold"
    assert heard(peer_heard, APP_TONE, 0.3, 1.8), "the phone heard nothing before the hold"
    assert heard(app_heard, PEER_TONE, -2.0, -0.3), "the app hears nothing after the resume"
    assert heard(peer_heard, APP_TONE, -2.0, -0.3), "the phone hears nothing after the resume"


def test_a_muted_app_sends_silence_and_still_hears(kamailio, peers, talker_app, tones):
    app, peer = _connected_call(kamailio, peers, talker_app, tones)
    with app.client() as c:
        time.sleep(2.0)
        c.request("mute", on=True)
        time.sleep(3.0)
        c.request("hangup")
    peer.wait_call("ended")
    peer_heard = peer.recording()
    [app_heard] = app.record_dir.glob("call-*.wav")
    assert heard(peer_heard, APP_TONE, 0.3, 1.8), "the phone heard nothing before the mute"
    assert not heard(peer_heard, APP_TONE, -2.5, -0.3), "the phone still hears the muted app"
    assert heard(app_heard, PEER_TONE, -2.5, -0.3), "the muted app no longer hears the phone"
