"""One PBX installation: its data directory, database and key."""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

from sqlalchemy import select

from pbx.db import Setting, migrate, open_engine, session_factory, sqlite_url
from pbx.errors import PbxError
from pbx.secretbox import SecretBox

DEFAULT_DOMAIN = "pbx.local"
CONFIG_FILE = "pbx.json"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "talker-pbx"


class PbxInstance:
    def __init__(self, data_dir: Path, database_url: str):
        self.data_dir = Path(data_dir)
        self.database_url = database_url

    # --- creating and opening -------------------------------------------------------------
    @classmethod
    def init(cls, data_dir: Path, *, database_url: str | None = None,
             domain: str = DEFAULT_DOMAIN) -> PbxInstance:
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        config_path = data_dir / CONFIG_FILE
        if config_path.exists():
            pbx = cls.open(data_dir)
            if pbx.domain != domain:
                raise PbxError(f"The PBX in {data_dir} already has the domain {pbx.domain}.")
            pbx.upgrade()
            return pbx
        pbx = cls(data_dir, database_url or sqlite_url(data_dir / "pbx.sqlite"))
        pbx.upgrade()
        with pbx.sessions.begin() as s:
            if s.get(Setting, "domain") is None:
                s.add(Setting(name="domain", value=domain))
        tmp = config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"database_url": pbx.database_url}, indent=2) + "\n")
        os.chmod(tmp, 0o600)  # the URL may carry a database password
        tmp.replace(config_path)
        return pbx

    @classmethod
    def open(cls, data_dir: Path) -> PbxInstance:
        data_dir = Path(data_dir)
        try:
            config = json.loads((data_dir / CONFIG_FILE).read_text())
        except FileNotFoundError:
            raise PbxError(f"There is no PBX in {data_dir}: create one with 'talker-pbx init'.") from None
        except (OSError, ValueError) as e:
            raise PbxError(f"The PBX configuration {data_dir / CONFIG_FILE} cannot be read: {e}.") from None
        return cls(data_dir, config["database_url"])

    def upgrade(self) -> None:
        migrate(self.engine)

    # --- what the rest of the PBX uses ----------------------------------------------------
    @cached_property
    def engine(self):
        return open_engine(self.database_url)

    @cached_property
    def sessions(self):
        return session_factory(self.engine)

    @cached_property
    def secret_box(self) -> SecretBox:
        return SecretBox.load_or_create(self.data_dir / "pbx.key")

    @cached_property
    def domain(self) -> str:
        with self.sessions() as s:
            value = s.scalar(select(Setting.value).where(Setting.name == "domain"))
        if value is None:
            raise PbxError(f"The PBX database at {self.database_url} has no domain: run 'talker-pbx init'.")
        return value

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"
