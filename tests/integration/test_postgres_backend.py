"""PostgreSQL as the PBX database, checked where users would feel it: Kamailio writes each
registration into the shared database, and a phone registered before Kamailio crashed is still
reachable after the restart without registering again.

Call flows run on SQLite, and those marked `both_databases` on PostgreSQL too (tests/conftest.py);
these look at PostgreSQL itself, with a client of their own rather than the PBX's code.
"""

from __future__ import annotations

import psycopg
import pytest

from pbx.db import migrate, open_engine
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(params=["postgresql"])
def db_url(request, postgres_server):
    """Only PostgreSQL here (overrides the two-backend fixture of conftest.py)."""
    with postgres_server.database() as url:
        yield url


def _locations(db_url: str, username: str) -> list[dict]:
    with psycopg.connect(db_url, row_factory=psycopg.rows.dict_row, connect_timeout=5) as conn:
        return conn.execute("SELECT * FROM location WHERE username = %s ORDER BY id",
                            (username,)).fetchall()


def _registrations(peer) -> int:
    return sum(1 for e in peer.events if e.get("event") == "registration" and e.get("state") == "registered")


def test_kamailio_times_are_stored_without_a_time_zone(db_url):
    # Kamailio's db_postgres writes and reads local-time strings: a column "with time zone"
    # would shift them by the server's TimeZone whenever it differs from Kamailio's.
    engine = open_engine(db_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    with psycopg.connect(db_url, connect_timeout=5) as conn:
        types = dict(conn.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_name IN ('location', 'location_attrs') AND data_type LIKE 'timestamp%%'"
        ).fetchall())
    assert types == {"location.expires": "timestamp without time zone",
                     "location.last_modified": "timestamp without time zone",
                     "location_attrs.last_modified": "timestamp without time zone"}


def test_a_registration_is_written_to_postgresql_and_removed_when_the_phone_quits(kamailio, peers, db_url):
    peer = peers(kamailio, "102")
    rows = _locations(db_url, "102")
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["contact"].startswith("<sip:102@127.0.0.1:") or row["contact"].startswith("sip:102@127.0.0.1:")
    assert row["ruid"] and row["callid"] and row["cseq"] > 0
    assert row["expires"] > row["last_modified"]
    assert f"udp:127.0.0.1:{kamailio.port}" == row["socket"]

    peer.stop()  # the phone says goodbye: REGISTER with Expires 0
    wait_until(lambda: not _locations(db_url, "102"), 10, 0.1, "the registration row to be deleted")


def test_a_phone_registered_before_a_crash_is_reachable_after_the_restart(kamailio, peers, db_url):
    callee = peers(kamailio, "102")
    caller = peers(kamailio, "103")
    registered = _registrations(callee)

    kamailio.kill()  # SIGKILL: Kamailio's memory is gone, only the database remembers
    kamailio.start()

    mark = callee.mark()
    caller.command("call", number="102")
    incoming = callee.wait_call("incoming", timeout=10, after=mark)
    callee.command("answer", call_id=incoming["call_id"])
    caller.wait_call("connected")
    callee.wait_call("connected", after=mark)
    caller.command("hangup")
    callee.wait_call("ended", after=mark)

    # Found through the row Kamailio read back at start, not through a fresh REGISTER.
    assert _registrations(callee) == registered
    assert len(_locations(db_url, "102")) == 1
