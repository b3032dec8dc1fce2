"""The app and the PBX API together: log in with any login kind, get SIP credentials, register,
call; the PBX-side settings in the app follow the PBX live; an unreachable PBX leaves the last
known settings read-only, and calls still work."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.api import ApiServer
from tests.support.app import App, talker
from tests.support.processes import wait_until
from tray import settings as settings_mod

pytestmark = pytest.mark.slow




def _log_in(api: ApiServer, login: str, password: str):
    return talker("--login", login, "--pbx", api.url, stdin=password + "\n")


@pytest.mark.parametrize("login", ["101@pbx.local", "+7 916 123-45-67", "8 916 1234567", "Anna@Example.com"])
def test_log_in_with_any_login_kind_then_register_and_call(kamailio, pbx_api, peers, tmp_path, login):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True, mobile="+79161234567", email="anna@example.com")
    peer = peers(kamailio, "102", "Boris Petrov")
    done = _log_in(pbx_api, login, anna.communicator_password)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Logged in as Anna Ivanova (101) at {pbx_api.url}."
    app = App(tmp_path)
    try:
        app.wait_registered()
        assert talker("--callto=102").returncode == 0
        assert peer.wait_call("incoming")["remote_number"] == "101"
    finally:
        app.quit()


def test_talker_login_logs_the_running_app_in_at_once(kamailio, pbx_api, peers, tmp_path):
    """No restart: the app that is running when `talker --login` runs logs in and registers;
    a refused login leaves it as it was, and the names given are dialed."""
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    peer = peers(kamailio, "100", "Echo test")
    app = App(tmp_path)
    try:
        assert app.status()["registration"]["account"] is None
        done = _log_in(pbx_api, "101", "not-the-password")
        assert (done.returncode, done.stderr.strip()) == (2, "talker: Wrong login or password.")
        assert app.status()["registration"]["account"] is None

        done = talker("--login", "101", "--pbx", pbx_api.url, "--name=echo=100",
                      stdin=anna.communicator_password + "\n")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"Logged in as Anna Ivanova (101) at {pbx_api.url}."
        assert app.wait_registered(timeout=15)["registration"]["account"] == "101@pbx.local"
        wait_until(lambda: (_pbx_state(app).get("employee") or {}).get("name") == "Anna Ivanova", 15, 0.1,
                   "the PBX state in the app")
        assert talker("--callto=echo").returncode == 0
        assert peer.wait_call("incoming")["remote_number"] == "101"
        assert settings_mod.load().names == {"echo": "100"}  # and the next start knows them too
    finally:
        app.quit()


def test_wrong_password_is_refused_and_repeated_failures_lock_the_login(pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    done = _log_in(pbx_api, "101", "not-the-password")
    assert done.returncode == 2
    assert done.stderr.strip() == "talker: Wrong login or password."
    for _ in range(5):
        _log_in(pbx_api, "101", "not-the-password")
    done = _log_in(pbx_api, "101", anna.communicator_password)
    assert done.returncode == 2
    assert "Too many failed logins" in done.stderr


def test_an_address_without_http_logs_in_and_the_sound_choices_stay(pbx_api):
    """`--pbx 127.0.0.1:8400` is what people type; and logging in changes the account, not the
    headset or the ringtone the user chose before."""
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    settings_mod.save(settings_mod.Settings(speaker="headset", ringer="ring", ring_silently=True,
                                            echo_cancellation=False))
    bare = pbx_api.url.removeprefix("http://")
    done = talker("--login", "101", "--pbx", bare, stdin=anna.communicator_password + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Logged in as Anna Ivanova (101) at {pbx_api.url}."
    after = settings_mod.load()
    assert after.pbx_url == pbx_api.url and after.account.username == "101"
    assert (after.speaker, after.ringer, after.ring_silently, after.echo_cancellation) == \
        ("headset", "ring", True, False)


def _pbx_state(app: App) -> dict:
    with app.client() as c:
        return c.request("pbx_state")


def test_pbx_settings_in_the_app_follow_the_pbx_and_changes_go_back_to_it(kamailio, pbx_api, peers, tmp_path):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    boris = pbx_api.add_employee("102", "Boris Petrov")
    assert _log_in(pbx_api, "101", anna.communicator_password).returncode == 0
    app = App(tmp_path)
    admin_api = pbx_api.as_(anna)
    try:
        app.wait_registered()
        state = wait_until(lambda: (s := _pbx_state(app)) and not s["stale"] and s, 10, 0.1, "the PBX state")
        assert state["employee"] == {"name": "Anna Ivanova", "extension": "101", "administrator": True}
        assert state["receive"]["mode"] == "all_at_once" and state["receive"]["editable"]
        assert [d["id"] for d in state["receive"]["devices"]] == ["sip-101"]

        # From the app (as the tray menu or the browser popup will) to the PBX:
        with app.client() as c:
            c.request("set_receive_mode", mode="in_turn")
        assert admin_api.get(f"/employees/{anna.employee.id}/scheme").json()["mode"] == "in_turn"

        # From the PBX (another admin, the API) to the app, pushed within a second:
        with app.client() as c:
            c.request("subscribe")
            r = admin_api.get(f"/employees/{anna.employee.id}/scheme")
            admin_api.patch(f"/employees/{anna.employee.id}/scheme", json={"mode": "main_only"},
                            headers={"If-Match": r.headers["ETag"]}).raise_for_status()
            changed = time.monotonic()
            while True:
                ev = c.next_event(max(0.01, changed + 2 - time.monotonic()))
                assert ev is not None, "no pbx_state event within 2 s"
                if ev.get("event") == "pbx_state" and ev["pbx_state"]["receive"]["mode"] == "main_only":
                    break
            assert time.monotonic() - changed < 1.5

        # Outgoing number: the PBX's numbers, chosen from the app.
        number = admin_api.post("/numbers", json={"number": "+7 495 111-22-33", "label": "Office"}).json()
        wait_until(lambda: _pbx_state(app)["outgoing"]["numbers"], 5, 0.1, "the numbers")
        with app.client() as c:
            c.request("set_outgoing_number", number_id=number["id"])
        assert admin_api.get("/me").json()["outgoing_number"]["number"] == "+74951112233"

        # A colleague's call shows their name from the PBX directory (their phone sends none).
        caller = peers(kamailio, "103", "")
        time.sleep(1.0)  # the new colleague reaches the app's directory through the event stream
        with app.client() as c:
            c.request("subscribe")
            caller.command("call", number="101")
            deadline = time.monotonic() + 10
            while True:
                ev = c.next_event(deadline - time.monotonic())
                assert ev is not None, "no incoming call"
                if ev.get("event") == "call" and ev["call"]["state"] == "incoming":
                    break
        assert ev["call"]["name"] == "Peer 103"
    finally:
        admin_api.close()
        app.quit()
    assert boris  # the directory has more than one person


def test_an_unreachable_pbx_leaves_the_last_known_settings_read_only_and_calls_work(kamailio, pbx_api, peers,
                                                                                   tmp_path):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    peer = peers(kamailio, "102")
    assert _log_in(pbx_api, "101", anna.communicator_password).returncode == 0
    app = App(tmp_path)
    try:
        app.wait_registered()
        wait_until(lambda: not _pbx_state(app)["stale"], 10, 0.1, "the PBX state")
        pbx_api.stop()
        state = wait_until(lambda: (s := _pbx_state(app))["stale"] and s, 30, 0.2, "the app to notice")
        assert "cannot be reached" in state["reason"]
        assert state["receive"]["mode"] == "all_at_once"  # the last known state
        assert state["receive"]["editable"] is False
        with app.client() as c:
            from common.control_client import ControlError
            with pytest.raises(ControlError) as err:
                c.request("set_receive_mode", mode="in_turn")
        assert err.value.code == "pbx_unavailable"
        assert talker("--callto=102").returncode == 0
        peer.wait_call("incoming")
    finally:
        app.quit()
    with pytest.raises(httpx.HTTPError):
        httpx.get(pbx_api.url + "/api/v1/health", timeout=1)
