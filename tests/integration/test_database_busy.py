"""Kamailio's writes when SQLite is busy: Kamailio 5.6's db_sqlite waits for no lock, so a write
that meets another connection's transaction (the PBX saving a change, another worker) failed at
once. A phone's REGISTER then got 500, and a call that reached nobody went unrecorded: its
employee never saw it. Now the routing tries again for half a second (pbx/kamailio/decide.py:
WRITE_RETRY_PAUSES_S).

A test connection holds SQLite's write lock, as the PBX does while it saves; as soon as
Kamailio's log shows that its write met the lock, the lock is released. What the user sees is
then checked: the phone registered on its first REGISTER, and the call is in the list."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pbx.db import Location, UnreachedCall
from tests.support.peer import Peer
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

LOCKED = "database is locked"


class WriteLock:
    """SQLite's write lock on the PBX's database, held until Kamailio has met it (its log says
    so) and released then, from a thread of its own."""

    def __init__(self, pbx):
        self.pbx = pbx
        self.met = threading.Event()
        path = Path(str(pbx.instance.engine.url.database))
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        self._seen = pbx.log().count(LOCKED)
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("UPDATE setting SET value = value WHERE name = 'timezone'")
        self._thread = threading.Thread(target=self._release_when_met, daemon=True)
        self._thread.start()

    def _release_when_met(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.pbx.log().count(LOCKED) > self._seen:
                self.met.set()
                break
            time.sleep(0.005)
        self._db.execute("COMMIT")

    def wait(self) -> bool:
        self._thread.join(25)
        self._db.close()
        return self.met.is_set()


@pytest.fixture
def sqlite_pbx(kamailio):
    if kamailio.backend != "sqlite":
        pytest.skip("PostgreSQL waits for locks itself")
    return kamailio


def test_a_register_that_meets_a_busy_database_is_saved_at_once(sqlite_pbx, tmp_path):
    creds = sqlite_pbx.add_employee("101", "Anna Ivanova")
    lock = WriteLock(sqlite_pbx)
    phone = Peer(sqlite_pbx, "101", creds.password, workdir=tmp_path)
    try:
        first = phone.wait_for(lambda e: e.get("event") == "registration" and e.get("state") != "registering",
                               15, "the answer to the first REGISTER")
        assert lock.wait(), "Kamailio never met the locked database: the test proved nothing"
        assert (first["state"], first["code"]) == ("registered", 200), first
        with sqlite_pbx.instance.engine.connect() as db:
            assert db.scalar(select(func.count()).select_from(Location).where(Location.username == "101")) == 1
    finally:
        phone.stop()


def test_a_call_nobody_could_take_is_recorded_though_the_database_was_busy(sqlite_pbx, peers):
    caller = peers(sqlite_pbx, "102", "Boris Petrov")
    sqlite_pbx.add_employee("103", "Vera Sidorova")   # no device registered: the call reaches nobody
    lock = WriteLock(sqlite_pbx)
    caller.command("call", number="103")
    ended = caller.wait_call("ended", timeout=15)
    assert lock.wait(), "Kamailio never met the locked database: the test proved nothing"
    assert ended["code"] == 480, ended

    def recorded() -> int:
        with sqlite_pbx.instance.engine.connect() as db:
            return db.scalar(select(func.count()).select_from(UnreachedCall))
    wait_until(lambda: recorded() == 1, 5, 0.05, "the unreached call's record")
