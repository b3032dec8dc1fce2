"""`talker --callto` and links, end to end: the real CLI, the real app, a real Kamailio and a
real phone (a pjsua2 process) that rings, answers and hears the caller."""

from __future__ import annotations

import time

import pytest

from tests.support.app import app_env, configure_account, talker
from tests.support.audio import dominant

pytestmark = pytest.mark.slow


def test_callto_rings_the_peer_with_our_caller_id_and_audio_flows_both_ways(kamailio, peers, talker_app, tones):
    peer = peers(kamailio, "102", "Boris Petrov", play=tones["peer"])
    app = talker_app(kamailio, "101", "Anna Ivanova", play=tones["app"])

    done = talker("--callto=102")
    assert done.returncode == 0, done.stderr

    ringing = peer.wait_call("incoming")
    assert ringing["remote_number"] == "101"
    assert ringing["remote_name"] == "Anna Ivanova"
    peer.command("answer")
    peer.wait_call("connected")
    with app.client() as c:
        c.request("subscribe")
        deadline = time.monotonic() + 5
        while not any(call["state"] == "connected" for call in c.request("status")["calls"]):
            assert time.monotonic() < deadline, "the app never saw the call connected"
            time.sleep(0.05)
        time.sleep(3)  # let both tones flow
        c.request("hangup")
    ended = peer.wait_call("ended")
    assert ended["code"] == 200
    assert app.status()["calls"] == []

    peer_heard = peer.recording()
    [app_heard] = app.record_dir.glob("call-*.wav")
    assert dominant(peer_heard, 1000.0, [1600.0, 400.0]), "the peer did not hear the caller's tone"
    assert dominant(app_heard, 1600.0, [1000.0, 400.0]), "the caller did not hear the peer's tone"


@pytest.mark.parametrize("args", [
    ["--callto=102"],
    ["--callto", "102"],
    ["callto:102"],
    ["callto://102"],
    ["tel:102"],
    ["sip:102@pbx.local"],
    ["sips:102@pbx.local"],
    ["TEL:1-0-2"],
])
def test_every_link_form_dials_the_extension(kamailio, peers, talker_app, args):
    peer = peers(kamailio, "102")
    talker_app(kamailio)
    done = talker(*args)
    assert done.returncode == 0, done.stderr
    assert peer.wait_call("incoming")["remote_number"] == "101"


def test_external_numbers_are_normalised_to_e164(kamailio, talker_app):
    app = talker_app(kamailio)
    for form in ("8 (495) 123-45-67", "+7 495 123 45 67", "84951234567", "tel:+7-495-123-45-67"):
        with app.client() as c:
            result = c.request("call", target=form)
        assert result["call"]["number"] == "+74951234567", form


@pytest.mark.parametrize("args", [
    ["--callto="],
    ["--callto=   "],
    ["--callto=abcdef"],
    ["--callto=" + "1" * 500],
    ["--callto=" + "1" * 33],
    ["--callto=-rf"],
    ["--callto", "-rf"],
    ["sip:102@pbx.local;method=BYE"],
    ["sip:102@pbx.local;transport=tcp"],
    ["callto:102?Subject=x"],
    ["sip:102@pbx.local?X-Header=1"],
    ["tel:10\x072"],
    ["tel:%07102"],
    ["tel:102\u202e"],
    ["tel:102;foo=bar"],
    ["--callto=1O2"],
])
def test_what_is_not_a_number_exits_2_with_one_sentence_and_dials_nothing(kamailio, peers, talker_app, args):
    peer = peers(kamailio, "102")
    talker_app(kamailio)
    done = talker(*args)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("talker: ") and lines[0].endswith("."), done.stderr
    assert done.stdout == ""
    time.sleep(0.5)
    assert peer.calls() == [], "something was dialed"


def test_a_name_the_pbx_publishes_dials_its_extension(kamailio, peers, talker_app):
    echo = peers(kamailio, "100", "Echo test")
    talker_app(kamailio, names={"echo": "100"})
    done = talker("--callto=echo")
    assert done.returncode == 0, done.stderr
    echo.wait_call("incoming")


def test_callto_with_no_app_running_starts_it_and_dials_once_registered(kamailio, peers, tmp_path):
    peer = peers(kamailio, "102")
    creds = kamailio.add_employee("101", "Anna Ivanova")
    configure_account(kamailio, "101", creds.password)
    try:
        started = time.monotonic()
        done = talker("--callto=102", env=app_env(tmp_path))
        assert done.returncode == 0, done.stderr
        assert time.monotonic() - started < 15
        assert peer.wait_call("incoming")["remote_number"] == "101"
    finally:
        talker("--quit")


def test_no_app_and_no_pbx_gives_a_clear_error_within_a_bounded_wait(kamailio, tmp_path):
    creds = kamailio.add_employee("101", "Anna Ivanova")
    configure_account(kamailio, "101", creds.password)
    kamailio.stop()  # nothing answers SIP on that port any more
    try:
        started = time.monotonic()
        done = talker("--callto=102", timeout=60, env=app_env(tmp_path))
        elapsed = time.monotonic() - started
        assert done.returncode == 1, done.stderr
        assert "not registered" in done.stderr.lower() or "does not answer" in done.stderr.lower(), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert elapsed < 40, elapsed
    finally:
        talker("--quit")
