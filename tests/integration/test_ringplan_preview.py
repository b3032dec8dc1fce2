"""`talker-pbx ringplan`: "who rings now, and why", as an administrator reads it, with the
registrations Kamailio really holds."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.processes import VENV_BIN, wait_until

pytestmark = pytest.mark.slow


def ringplan(pbx, login: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "talker-pbx"), "--data-dir", str(pbx.instance.data_dir), "ringplan",
                           login, *extra], capture_output=True, text=True, timeout=60)


@pytest.mark.both_databases
def test_the_preview_follows_the_phones_registrations(kamailio, peers):
    phone = peers(kamailio, "102", "Boris Petrov")
    done = ringplan(kamailio, "102")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["rings"] is True
    assert plan["steps"] == [{"parallel": True, "devices": [
        {"id": "sip-102", "kind": "sip", "address": "102", "timeout_s": 30}]}]
    phone.stop()  # unregisters
    def excluded():
        plan = json.loads(ringplan(kamailio, "102").stdout)
        return plan if plan["excluded"] else None
    plan = wait_until(excluded, 15, 0.2, "the phone to count as not registered")
    assert plan["rings"] is False
    assert plan["excluded"][0]["reason"] == "not_registered"


def test_bad_input_is_one_sentence_and_exit_2(kamailio):
    kamailio.add_employee("101", "Anna Ivanova")
    done = ringplan(kamailio, "101", "--at", "tomorrow")
    assert done.returncode == 2 and done.stderr.startswith("talker-pbx: ") and "ISO 8601" in done.stderr
    done = ringplan(kamailio, "999")
    assert done.returncode == 2 and "No employee" in done.stderr
