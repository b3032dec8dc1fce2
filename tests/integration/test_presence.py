"""GET /presence: whether a colleague can be reached now, from what Kamailio really sees (its
registrations, and the calls it saw answered and hung up), on each database backend."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


@pytest.mark.both_databases
def test_presence_follows_the_phones_registrations(kamailio, pbx_api, peers):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    boris = peers(kamailio, "102", "Boris Petrov")
    kamailio.add_employee("103", "Vera Orlova")
    with pbx_api.as_(anna) as api:
        def states():
            r = api.get("/presence")
            assert r.status_code == 200, r.text
            names = {e["id"]: e["name"] for e in api.get("/directory").json()}
            return {names[p["employee_id"]]: p["state"] for p in r.json()}

        assert states() == {"Anna Ivanova": "unavailable", "Boris Petrov": "registered",
                            "Vera Orlova": "unavailable"}
        dmitry = peers(kamailio, "104", "Dmitry Orlov")
        boris.command("call", number="104")
        dmitry.wait_call("incoming")
        assert states()["Boris Petrov"] == "registered"   # ringing is not talking yet
        dmitry.command("answer")
        boris.wait_call("connected")
        wait_until(lambda: states()["Dmitry Orlov"] == states()["Boris Petrov"] == "on_call", 10, 0.1,
                   "both to be on a call")
        boris.command("hangup")
        dmitry.wait_call("ended")
        wait_until(lambda: states()["Dmitry Orlov"] == states()["Boris Petrov"] == "registered", 10, 0.1,
                   "both to be off the call")
        boris.stop()  # unregisters
        wait_until(lambda: states()["Boris Petrov"] == "unavailable", 15, 0.2, "Boris to count as unavailable")
    with pbx_api.client() as anonymous:
        assert anonymous.get("/presence").status_code == 401
