"""A real PBX for a test: its own data directory, SQLite database and Kamailio on a free port."""

from __future__ import annotations

from pathlib import Path

from pbx import directory
from pbx.instance import PbxInstance
from pbx.kamailio.config import KamailioSettings
from pbx.kamailio.supervisor import KamailioProcess
from tests.support.processes import free_udp_port


class TestPbx:
    def __init__(self, data_dir: Path, *, domain: str = "pbx.local", max_call_setup_s: int = 600):
        self.instance = PbxInstance.init(data_dir, domain=domain)
        self.port = free_udp_port()
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

    def add_employee(self, extension: str, name: str, *, admin: bool = False,
                     password: str | None = None) -> directory.SipCredentials:
        return directory.add_employee(self.instance, name=name, extension=extension, is_admin=admin,
                                      sip_password=password)

    def start(self) -> TestPbx:
        self.kamailio.start()
        return self

    def stop(self) -> None:
        self.kamailio.stop()

    def kill(self) -> None:
        self.kamailio.kill()

    def log(self) -> str:
        return self.kamailio.log_path.read_text(errors="replace")
