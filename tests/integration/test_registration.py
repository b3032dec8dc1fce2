"""Registration as a user lives it: it works, a wrong password says so, and a PBX that goes
away and comes back is found again with no user action."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.support.app import App, configure_account
from tests.support.processes import has_ipv6_loopback, wait_until
from tray import settings as settings_mod
from tray.app import TalkerApp
from tray.history import CallHistory
from tray.sip.engine import AudioConfig, EngineError

pytestmark = pytest.mark.slow


def test_wrong_password_fails_with_a_readable_reason(kamailio, tmp_path):
    kamailio.add_employee("101", "Anna Ivanova", password="right-password")
    configure_account(kamailio, "101", "wrong-password")
    app = App(tmp_path)
    try:
        status = wait_until(lambda: _failed(app), 15, 0.1, "the registration to fail")
        reg = status["registration"]
        assert reg["account"] == "101@pbx.local"
        assert "wrong login or password" in reg["reason"]
        assert reg["retry_in_s"] is None  # the same password would fail again: no hammering
    finally:
        app.quit()
    assert "right-password" not in (tmp_path / "home").joinpath(".local/state/talker/talker.log").read_text()
    assert "wrong-password" not in (tmp_path / "home").joinpath(".local/state/talker/talker.log").read_text()


def _failed(app: App):
    status = app.status()
    return status if status["registration"]["state"] == "failed" else None


def test_app_registers_by_itself_once_an_unreachable_pbx_comes_up(kamailio, tmp_path):
    creds = kamailio.add_employee("101", "Anna Ivanova")
    configure_account(kamailio, "101", creds.password)
    kamailio.stop()
    app = App(tmp_path)
    try:
        # Nothing answers: the app tries (and keeps trying) without being registered.
        wait_until(lambda: app.status()["registration"]["state"] in ("registering", "failed"), 15, 0.1,
                   "the app trying to register")
        kamailio.start()
        app.wait_registered(timeout=45)
    finally:
        app.quit()


def test_kamailio_killed_and_restarted_app_can_be_called_and_can_call_within_30_s(kamailio, peers, talker_app):
    peer = peers(kamailio, "102")
    app = talker_app(kamailio)
    kamailio.kill()  # SIGKILL: no goodbye, like a crash or a power cut
    kamailio.start()
    restarted = time.monotonic()

    def call_goes_through():
        mark = peer.mark()
        with app.client() as c:
            try:
                c.request("call", target="102")
            except Exception:
                return False
        try:
            peer.wait_call("incoming", timeout=3, after=mark)
        except AssertionError:
            return False
        peer.command("hangup")
        return True

    wait_until(call_goes_through, 30, 1.0, "an outgoing call after the restart")

    with app.client() as c:
        c.request("subscribe")

        def incoming_call_arrives():
            mark = peer.mark()
            peer.command("call", number="101")
            ev = c.next_event(3)
            while ev is not None and not (ev.get("event") == "call" and ev["call"]["state"] == "incoming"):
                ev = c.next_event(3)
            peer.command("hangup")
            if ev is None:
                peer.wait_call("ended", after=mark)
            return ev is not None

        wait_until(incoming_call_arrives, 30, 1.0, "an incoming call after the restart")
    assert time.monotonic() - restarted < 30


@pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback to start from")
def test_the_app_moves_to_a_new_route_to_the_pbx_by_itself_with_a_simulated_routing_table(kamailio, peers):
    # A laptop's session starts before its network, or moves to another one: the address the
    # app first listened on cannot reach the PBX. The routing table is simulated (a test cannot
    # take this machine's network away); the app, its pjsua2 engine, Kamailio and the peer are real.
    creds = kamailio.add_employee("101", "Anna Ivanova")
    configure_account(kamailio, "101", creds.password)
    peer = peers(kamailio, "102")
    route = {"to_pbx": "::1"}  # an IPv6-only network: Kamailio listens on 127.0.0.1
    app = TalkerApp(settings_mod.load(), creds.password, audio=AudioConfig(device="null"),
                    history=CallHistory(), route=lambda server: route["to_pbx"])
    app.start()
    try:
        wait_until(lambda: app.status()["registration"]["state"] in ("registering", "failed"), 15, 0.1,
                   "the app trying to register from the address that cannot reach the PBX")
        route["to_pbx"] = "127.0.0.1"  # the network that reaches the PBX comes up
        wait_until(lambda: app.status()["registration"]["state"] == "registered", 15, 0.1,
                   "registration from the new address")
        assert app.engine.local_sip_address[0] == "127.0.0.1"
        mark = peer.mark()
        peer.command("call", number="101")  # the PBX reaches the app at its new address
        wait_until(lambda: app.status()["calls"], 10, 0.1, "the incoming call in the app")
        assert app.status()["calls"][0]["state"] == "incoming"
        peer.command("hangup")
        peer.wait_call("ended", after=mark)
        # The caller hears the end before the app has handled the CANCEL; a move is refused
        # while the app still shows a call.
        wait_until(lambda: not app.status()["calls"], 10, 0.1, "the call to end in the app")

        # An address that went away before the engine got there: it stays where it was.
        with pytest.raises(EngineError, match="198.51.100.7 cannot be used"):
            app.engine.rebind("198.51.100.7").result(15)
        assert app.status()["registration"]["state"] == "registered"
        assert app.engine.local_sip_address[0] == "127.0.0.1"
    finally:
        app.shutdown()


def test_the_app_looks_at_the_route_only_when_the_os_says_something_changed(kamailio):
    """No polling: while nothing changes the app never asks where the route leads (an idle
    laptop stays asleep); a real address change on this machine (the kernel's netlink
    notification) makes it look at once, and it moves where the route now leads."""
    creds = kamailio.add_employee("101", "Anna Ivanova")
    configure_account(kamailio, "101", creds.password)
    route, asked = {"to_pbx": "127.0.0.1"}, []

    def lookup(server: str) -> str:
        asked.append(server)
        return route["to_pbx"]

    app = TalkerApp(settings_mod.load(), creds.password, audio=AudioConfig(device="null"),
                    history=CallHistory(), route=lookup)
    app.start()
    added = False
    try:
        wait_until(lambda: app.status()["registration"]["state"] == "registered", 15, 0.1, "registration")
        time.sleep(1.0)
        before = len(asked)
        time.sleep(6.0)
        assert len(asked) == before, "the app looked at the route although nothing changed"
        route["to_pbx"] = "127.0.0.2"
        done = subprocess.run(["ip", "addr", "add", "127.0.0.2/32", "dev", "lo"], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"this machine does not let the test add an address: {done.stderr.strip()}")
        added = True
        wait_until(lambda: app.engine.local_sip_address[0] == "127.0.0.2", 15, 0.1, "the move to the new address")
        wait_until(lambda: app.status()["registration"]["state"] == "registered", 15, 0.1,
                   "registration from the new address")
    finally:
        app.shutdown()
        if added:
            subprocess.run(["ip", "addr", "del", "127.0.0.2/32", "dev", "lo"], capture_output=True)
