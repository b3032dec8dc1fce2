"""One PBX installation: its data directory, database and key."""

from __future__ import annotations

import json
import logging
import os
import stat
from functools import cached_property
from pathlib import Path

from sqlalchemy import select

from pbx.db import Setting, migrate, open_engine, session_factory, sqlite_files, sqlite_url
from pbx.errors import PbxError
from pbx.secretbox import SecretBox

log = logging.getLogger(__name__)

DEFAULT_DOMAIN = "pbx.local"
CONFIG_FILE = "pbx.json"
KEY_FILE = "pbx.key"
# The database holds the HA1 hashes (enough to register as anyone), the key decrypts the SIP
# passwords, pbx.json and Kamailio's config may carry the database password: nothing the PBX
# keeps is for other users of the host.
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


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
        data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        config_path = data_dir / CONFIG_FILE
        if config_path.exists():
            pbx = cls.open(data_dir)
            if pbx.domain != domain:
                raise PbxError(f"The PBX in {data_dir} already has the domain {pbx.domain}.")
            pbx.upgrade()
            return pbx
        pbx = cls(data_dir, database_url or sqlite_url(data_dir / "pbx.sqlite"))
        pbx.make_private()
        pbx.upgrade()
        with pbx.sessions.begin() as s:
            if s.get(Setting, "domain") is None:
                s.add(Setting(name="domain", value=domain))
        write_private(config_path, json.dumps({"database_url": pbx.database_url}, indent=2) + "\n")
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
        pbx = cls(data_dir, config["database_url"])
        pbx.make_private()
        return pbx

    def make_private(self) -> None:
        """Take the group's and others' access off the data directory and what the PBX keeps in
        it, where an older version or a umask left it (logged: the administrator should know
        that other users could read it until now). New files are created private."""
        restrict(self.data_dir)
        for path in (self.data_dir / CONFIG_FILE, self.key_path, *sqlite_files(self.database_url), self.run_dir):
            restrict(path)
        if self.run_dir.is_dir():
            for path in self.run_dir.iterdir():  # Kamailio's config, secrets, log, pid file, socket
                restrict(path)

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
        return SecretBox.load_or_create(self.key_path)

    @property
    def key_path(self) -> Path:
        return self.data_dir / KEY_FILE

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


def restrict(path: Path) -> None:
    """Take the group's and others' access off `path`, and log it if they had any. Nothing if it
    does not exist."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        try:
            os.chmod(path, current & ~0o077)
        except OSError as e:
            log.error("%s is open to other users (mode %03o) and cannot be made private: %s", path, current, e)
            return
        log.warning("%s was open to other users (mode %03o): made it %03o", path, current, current & ~0o077)


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically, readable only by the PBX's user from the start."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), PRIVATE_FILE)  # a stale .tmp keeps the mode it was created with
        f.write(text)
    os.replace(tmp, path)
