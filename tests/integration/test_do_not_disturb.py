"""Do not disturb, executed by the PBX: while it holds, a call to the employee rings nothing
(the caller hears 480 and the call is recorded as reaching nobody), and once its time is up the
next call rings again, with nobody switching anything back. Real Kamailio, real phones."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest

from pbx import directory, schemes, unreached
from pbx.audit import Actor

pytestmark = pytest.mark.slow


@pytest.mark.both_databases  # Kamailio reads the scheme document and records the call on each database
def test_nothing_rings_while_do_not_disturb_holds_and_it_ends_by_itself(kamailio, peers):
    anna = peers(kamailio, "101", "Anna Ivanova")
    boris = peers(kamailio, "102", "Boris Petrov")
    [employee] = [e for e in directory.list_employees(kamailio.instance, Actor.console()) if e.extension == "101"]
    actor = Actor(employee.id, employee.name, False)

    # As the app asks for it: whole minutes, here 5.
    scheme, _ = schemes.set_do_not_disturb(kamailio.instance, actor, 5)
    mark = boris.mark()
    boris.command("call", number="101")
    assert boris.wait_call("ended", after=mark)["code"] == 480
    assert not anna.calls("incoming")
    assert [c.caller for c in unreached.recent(kamailio.instance, employee.id)] == ["102"]

    # A quiet time that ends in a few seconds (not a whole minute: no plan is kept for the
    # rest of the minute, so the end is seen to the second).
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)
    with kamailio.instance.sessions.begin() as s:
        stored, version = schemes._stored(s, directory._load(s, employee.id))
        schemes._save(s, actor, directory._load(s, employee.id),
                      dataclasses.replace(stored, do_not_disturb_until=end), version, "scheme.do_not_disturb")
    mark = boris.mark()
    boris.command("call", number="101")
    assert boris.wait_call("ended", after=mark)["code"] == 480
    time.sleep(max(0.0, (end - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5)

    mark, anna_mark = boris.mark(), anna.mark()
    boris.command("call", number="101")
    assert anna.wait_call("incoming", after=anna_mark)["remote_number"] == "102"
    boris.command("hangup")
    boris.wait_call("ended", after=mark)
