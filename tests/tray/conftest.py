"""Fixtures of the tray tests: the PBX's API beside its Kamailio, and the in-process app logged
in to it."""

from __future__ import annotations

import pytest

from tests.support.app import talker
from tests.support.processes import wait_until
from tests.support.tray import start_app




@pytest.fixture
def logged_in(pbx_api):
    """`logged_in(person)`: the in-process app, logged in through `talker --login`."""
    apps = []

    def start(person):
        done = talker("--login", f"{person.sip.username}@{person.sip.domain}", "--pbx", pbx_api.url,
                      stdin=person.communicator_password + "\n")
        assert done.returncode == 0, done.stderr
        app = start_app()
        apps.append(app)
        wait_until(lambda: app.status()["registration"]["state"] == "registered", 15, 0.05, "registration")
        wait_until(lambda: not app.pbx_state()["stale"], 15, 0.05, "the PBX state")
        return app

    try:
        yield start
    finally:
        for app in apps:
            app.shutdown()
