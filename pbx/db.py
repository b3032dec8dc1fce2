"""The PBX database: one schema for the directory and for Kamailio's own tables.

Kamailio reads `sip_account` (digest HA1s, through auth_db) and reads and writes `location`
(registrations, through usrloc) in the same database the PBX service writes, so there is no
second copy of the credentials to keep in sync. SQLite by default, PostgreSQL for larger
installations; the schema is created and upgraded by the Alembic migrations in
pbx/migrations/.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import (
    Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from pbx.errors import PreconditionFailed

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """PBX-wide settings, one row each (the SIP domain, ...)."""

    __tablename__ = "setting"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))


class Employee(Base):
    """A person of the company. `version` grows with every change of the card (the ETag)."""

    __tablename__ = "employee"
    __table_args__ = (UniqueConstraint("mobile", name="employee_mobile_key"),
                      UniqueConstraint("email", name="employee_email_key"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    extension: Mapped[str] = mapped_column(String(16), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(16))          # E.164
    email: Mapped[str | None] = mapped_column(String(254))          # lower case
    # A slow hash (pbx/passwords.py), never the password: it is shown once, when generated.
    communicator_password_hash: Mapped[str | None] = mapped_column(String(255))
    communicator_password_set_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    outgoing_number_id: Mapped[int | None] = mapped_column(
        ForeignKey("pbx_number.id", ondelete="SET NULL", use_alter=True, name="employee_outgoing_number_fk"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sip_accounts: Mapped[list[SipAccount]] = relationship(
        back_populates="employee", cascade="all, delete-orphan", order_by="SipAccount.id")
    groups: Mapped[list[Group]] = relationship(secondary="group_member", back_populates="members",
                                               order_by="Group.name")
    outgoing_number: Mapped[PbxNumber | None] = relationship(foreign_keys=[outgoing_number_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_admin(self) -> bool:
        return any(g.name == ADMINISTRATORS for g in self.groups)


ADMINISTRATORS = "Administrators"


class Group(Base):
    """A PBX group. "Administrators" is created by the first migration and gates every setting."""

    __tablename__ = "pbx_group"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    members: Mapped[list[Employee]] = relationship(secondary="group_member", back_populates="groups")


class GroupMember(Base):
    __tablename__ = "group_member"
    group_id: Mapped[int] = mapped_column(ForeignKey("pbx_group.id", ondelete="CASCADE"), primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"), primary_key=True)


class PbxNumber(Base):
    """A phone number (DID) of the PBX: usable as an outgoing caller ID, and routed inbound to
    an employee."""

    __tablename__ = "pbx_number"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # E.164
    label: Mapped[str] = mapped_column(String(64), default="")
    inbound_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Contact(Base):
    """An address-book entry: the company book (owner_id NULL, administrators write, everyone
    reads) or a personal contact (only its owner reads or writes it)."""

    __tablename__ = "contact"
    __table_args__ = (Index("contact_number_idx", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    number: Mapped[str] = mapped_column(String(32))  # a dial string: E.164 or an extension
    note: Mapped[str] = mapped_column(String(512), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ReceiveScheme(Base):
    """An employee's receive scheme, as the JSON document of pbx/ringplan.py (`Scheme.to_dict`):
    Kamailio reads it whole for every incoming call, so it is one row, not a join."""

    __tablename__ = "receive_scheme"
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class UnreachedCall(Base):
    """A call to an employee that rang no device at all (every device switched off, out of its
    schedule or not registered): the caller heard 480. Kamailio writes it (pbx/kamailio/store.py);
    the employee's apps read it (GET /me/unreached-calls) when the event stream says so."""

    __tablename__ = "unreached_call"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    caller: Mapped[str] = mapped_column(String(40), default="")   # the caller's number; "" if unknown


class ActiveCall(Base):
    """A call answered and not yet hung up, as Kamailio saw it (pbx/kamailio/store.py): the 200
    to its INVITE adds it, its BYE removes it. `caller` and `callee` are the From and To user
    parts (a SIP account, an extension or a number); presence (pbx/presence.py) reads them. A
    row whose BYE never came (a phone that vanished) stops counting after ACTIVE_CALL_MAX_AGE."""

    __tablename__ = "active_call"
    call_key: Mapped[str] = mapped_column(String(64), primary_key=True)   # SHA-256 of the Call-ID
    caller: Mapped[str] = mapped_column(String(64), default="")
    callee: Mapped[str] = mapped_column(String(64), default="")
    started: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CalendarDayRow(Base):
    """An exception of the production calendar (the default is Monday to Friday working)."""

    __tablename__ = "calendar_day"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))          # working | shortened | day_off
    holiday: Mapped[str | None] = mapped_column(String(128))
    moved_from: Mapped[dt.date | None] = mapped_column(Date)


class ApiToken(Base):
    """An access or refresh token of the API, kept only as its SHA-256."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "access" | "refresh"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LoginFailure(Base):
    """Failed logins per (login, client address): the lockout's memory."""

    __tablename__ = "login_failure"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of login + address
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """Who changed what, when: every write of the PBX adds one, in the same transaction. The
    API's event stream follows this table, so changes made by any process reach the apps."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(160))     # a name or "talker-pbx (CLI)", kept as written
    action: Mapped[str] = mapped_column(String(64))     # "employee.create", "contact.update", ...
    resource: Mapped[str] = mapped_column(String(32))   # what the apps refetch: "employee", ...
    resource_id: Mapped[int | None] = mapped_column(Integer)
    # Who must hear of it: an employee id, or NULL for everyone.
    audience_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(String(2048), default="{}")  # JSON, never a secret


class SipAccount(Base):
    """A SIP login of an employee. Kamailio authenticates against `ha1`; the password itself is
    kept only encrypted with the PBX key, for administrators who must read it out."""

    __tablename__ = "sip_account"
    __table_args__ = (UniqueConstraint("username", "domain", name="sip_account_login"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64), index=True)
    domain: Mapped[str] = mapped_column(String(64))
    ha1: Mapped[str] = mapped_column(String(128))
    ha1b: Mapped[str] = mapped_column(String(128))
    password_encrypted: Mapped[str] = mapped_column(String(512))
    employee: Mapped[Employee] = relationship(back_populates="sip_accounts")


class KamailioVersion(Base):
    __tablename__ = "version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(32), unique=True)
    table_version: Mapped[int] = mapped_column(Integer, server_default="0")


class Location(Base):
    """Kamailio usrloc's table (schema version 9), written by Kamailio only."""

    __tablename__ = "location"
    __table_args__ = (
        Index("location_account_contact_idx", "username", "domain", "contact"),
        Index("location_expires_idx", "expires"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruid: Mapped[str] = mapped_column(String(64), server_default="", unique=True)
    username: Mapped[str] = mapped_column(String(64), server_default="")
    domain: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contact: Mapped[str] = mapped_column(String(512), server_default="")
    received: Mapped[str | None] = mapped_column(String(128), nullable=True)
    path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    expires: Mapped[dt.datetime] = mapped_column(DateTime, server_default="2030-05-28 21:32:15")
    q: Mapped[float] = mapped_column(Float, server_default="1.0")
    callid: Mapped[str] = mapped_column(String(255), server_default="Default-Call-ID")
    cseq: Mapped[int] = mapped_column(Integer, server_default="1")
    last_modified: Mapped[dt.datetime] = mapped_column(DateTime, server_default="2000-01-01 00:00:01")
    flags: Mapped[int] = mapped_column(Integer, server_default="0")
    cflags: Mapped[int] = mapped_column(Integer, server_default="0")
    user_agent: Mapped[str] = mapped_column(String(255), server_default="")
    socket: Mapped[str | None] = mapped_column(String(64), nullable=True)
    methods: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instance: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reg_id: Mapped[int] = mapped_column(Integer, server_default="0")
    server_id: Mapped[int] = mapped_column(Integer, server_default="0")
    connection_id: Mapped[int] = mapped_column(Integer, server_default="0")
    keepalive: Mapped[int] = mapped_column(Integer, server_default="0")
    partition: Mapped[int] = mapped_column(Integer, server_default="0")


class LocationAttrs(Base):
    __tablename__ = "location_attrs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruid: Mapped[str] = mapped_column(String(64), server_default="")
    username: Mapped[str] = mapped_column(String(64), server_default="")
    domain: Mapped[str | None] = mapped_column(String(64), nullable=True)
    aname: Mapped[str] = mapped_column(String(64), server_default="")
    atype: Mapped[int] = mapped_column(Integer, server_default="0")
    avalue: Mapped[str] = mapped_column(String(512), server_default="")
    last_modified: Mapped[dt.datetime] = mapped_column(DateTime, server_default="2000-01-01 00:00:01")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def kamailio_db_url(url: str) -> str:
    """The same database as Kamailio's db_* modules spell it."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        # db_sqlite: "sqlite://" followed by the absolute path.
        return f"sqlite://{Path(u.database).resolve()}"
    if u.get_backend_name() == "postgresql":
        # Kamailio 5.6's URL parser ends the credentials at a '/', and the URL is written into a
        # quoted modparam string: either character keeps Kamailio from starting (':', '@', '%',
        # spaces and non-ASCII pass through, tried with db_postgres).
        if any(c in (u.username or "") + (u.password or "") for c in '/"'):
            raise ValueError("Kamailio cannot use a database user name or password that contains "
                             "'/' or '\"': choose other credentials for the PBX database.")
        auth = ""
        if u.username:
            auth = u.username + (f":{u.password}" if u.password else "") + "@"
        host = u.host or "localhost"
        port = f":{u.port}" if u.port else ""
        return f"postgres://{auth}{host}{port}/{u.database}"
    raise ValueError(f"unsupported database: {u.get_backend_name()}")


def kamailio_db_module(url: str) -> str:
    return {"sqlite": "db_sqlite.so", "postgresql": "db_postgres.so"}[make_url(url).get_backend_name()]


def sqlite_files(url: str) -> list[Path]:
    """The files of a SQLite database: the database and the journals SQLite keeps beside it
    (none for PostgreSQL or an in-memory database)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        return []
    path = Path(u.database).resolve()
    return [path] + [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def open_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        files = sqlite_files(url)
        if files:
            _create_private(files[0])
        engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            # WAL lets Kamailio's workers read while the PBX writes; the busy timeout covers the
            # short moments when both write.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if u.get_backend_name() == "postgresql":
        return create_engine(u.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    raise ValueError(f"unsupported database: {u.get_backend_name()}")


def _create_private(path: Path) -> None:
    """Create an empty SQLite database readable only by its owner, before SQLite creates it
    with the umask's mode. SQLite gives its -wal, -shm and -journal files the database's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # there already; or no such folder, which SQLite will say when it opens it


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest version (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # SQLite rebuilds a table to alter it, and DROP TABLE with foreign keys on deletes
            # the rows that reference it (ON DELETE CASCADE): off for the migration. The pragma
            # only takes effect outside a transaction, hence before begin().
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()  # ends SQLAlchemy's autobegun (empty) transaction
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


T = TypeVar("T")
# Each lost race means another writer committed in between, so this many attempts let that many
# simultaneous writers each have their turn.
RACE_ATTEMPTS = 10


def versioned_write(expected_version: int | None, write: Callable[[], T],
                    stale: str = "The record was changed meanwhile: reload it and try again.") -> T:
    """Run `write`: one transaction that checks the version it read and writes the next one in a
    single conditional UPDATE (`... SET version = <read> + 1 WHERE version = <read>`: the ORM's
    version_id_col of Employee and Contact, pbx.schemes._save, pbx.settings.claim_version), so
    that of writers who read the same version exactly one succeeds; the others raise
    PreconditionFailed, or StaleDataError from the ORM.

    The same conditional UPDATE on SQLite and PostgreSQL, with no locking mode of either:
    SQLite runs one writer at a time, and PostgreSQL re-checks the WHERE of an UPDATE that waited
    for another's row lock against the row that one committed.

    Under If-Match with an ETag, a lost race is the client's 412, as if it had read the version
    a moment later. A write without one (If-Match: *, the console, writes that take no If-Match)
    is meant for whatever is there now: it runs again on top of the winner's change."""
    retries = RACE_ATTEMPTS - 1 if expected_version is None else 0
    for _ in range(retries):
        try:
            return write()
        except (StaleDataError, PreconditionFailed):
            pass  # another writer came first: again, on top of what it wrote
    try:
        return write()
    except StaleDataError:
        raise PreconditionFailed(stale) from None
