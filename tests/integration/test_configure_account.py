"""`talker --configure-account` while the app runs: the running app switches to the account at
once (no restart), as `talker --login` does for a PBX; a refused account leaves it as it was."""

from __future__ import annotations

import pytest

from tests.support.app import App, configure_account, talker, wait_call_event
from tests.support.processes import wait_until
from tray import settings as settings_mod

pytestmark = pytest.mark.slow


def test_the_running_app_switches_to_the_configured_account_at_once(kamailio, peers, tmp_path):
    anna = kamailio.add_employee("101", "Anna Ivanova")
    boris = kamailio.add_employee("102", "Boris Petrov")
    caller = peers(kamailio, "103", "Vera")
    configure_account(kamailio, "101", anna.password)
    app = App(tmp_path)
    try:
        assert app.wait_registered()["registration"]["account"] == "101@pbx.local"

        refused = talker("--configure-account", "102@pbx.local", "--server", "no such host!",
                         stdin=boris.password + "\n")
        assert refused.returncode == 2, refused.stdout
        assert refused.stderr.startswith("talker: ") and "Traceback" not in refused.stderr
        assert app.status()["registration"]["account"] == "101@pbx.local"

        done = talker("--configure-account", "102@pbx.local", "--server", kamailio.server,
                      "--name=vera=103", stdin=boris.password + "\n")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "The running Talker now uses the account 102@pbx.local."
        wait_until(lambda: _registered_as(app, "102@pbx.local"), 15, 0.1, "the app to register as 102")
        with app.client() as c:
            c.request("subscribe")
            caller.command("call", number="102")
            assert wait_call_event(c, "incoming")["number"] == "103"  # the app rings as 102 now
        assert settings_mod.load().names == {"vera": "103"}  # the next start knows them too
    finally:
        app.quit()


def _registered_as(app: App, aor: str) -> bool:
    reg = app.status()["registration"]
    return (reg["account"], reg["state"]) == (aor, "registered")
