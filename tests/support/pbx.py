"""A real PBX for a test: its own data directory, database (SQLite, or a PostgreSQL database the
test fixture made) and Kamailio on a free port."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from pbx import directory
from pbx.audit import Actor
from pbx.db import Location
from pbx.instance import PbxInstance
from pbx.kamailio.config import KamailioSettings
from pbx.kamailio.supervisor import KamailioProcess
from tests.support.processes import free_port


class TestPbx:
    __test__ = False  # a helper, not a test class, whatever its name
    def __init__(self, data_dir: Path, *, domain: str = "pbx.local", max_call_setup_s: int = 600,
                 database_url: str | None = None):
        """`database_url` None: the default SQLite file in `data_dir`."""
        self.instance = PbxInstance.init(data_dir, domain=domain, database_url=database_url)
        self.port = free_port()
        self.settings = KamailioSettings(run_dir=self.instance.run_dir,
                                         database_url=self.instance.database_url, domain=domain,
                                         sip_port=self.port, children=2, log_level=2,
                                         max_call_setup_s=max_call_setup_s)
        self.kamailio = KamailioProcess(self.settings)

    @property
    def domain(self) -> str:
        return self.instance.domain

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def backend(self) -> str:
        return self.instance.engine.dialect.name

    def registered_contacts(self, username: str) -> int:
        """Registrations Kamailio has written through to the database (usrloc db_mode 1)."""
        with self.instance.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Location)
                               .where(Location.username == username))

    def add_employee(self, extension: str, name: str, *, admin: bool = False,
                     password: str | None = None) -> directory.SipCredentials:
        return directory.add_employee(self.instance, Actor.console(), name=name, extension=extension,
                                      admin=admin, sip_password=password).sip

    def set_trunk(self, address: str) -> None:
        """Point the PBX's trunk at a gateway (host:port) - Kamailio reads it within a second."""
        from pbx import settings

        with self.instance.sessions.begin() as s:
            settings.update(s, Actor.console(), {"trunk": address}, None)

    def start(self) -> TestPbx:
        self.kamailio.start()
        return self

    def stop(self) -> None:
        self.kamailio.stop()

    def close(self) -> None:
        """Stop Kamailio and give back the test's own pooled connections, so that the database
        can be dropped."""
        self.stop()
        self.instance.engine.dispose()

    def kill(self) -> None:
        self.kamailio.kill()

    def log(self) -> str:
        return self.kamailio.log_path.read_text(errors="replace")
