"""The PBX database: one schema for the directory and for Kamailio's own tables.

Kamailio reads `sip_account` (digest HA1s, through auth_db) and reads and writes `location`
(registrations, through usrloc) in the same database the PBX service writes, so there is no
second copy of the credentials to keep in sync. SQLite by default, PostgreSQL for larger
installations; the schema is created and upgraded by the Alembic migrations in
pbx/migrations/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import (
    Boolean, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint, create_engine, event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """PBX-wide settings, one row each (the SIP domain, ...)."""

    __tablename__ = "setting"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))


class Employee(Base):
    __tablename__ = "employee"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    extension: Mapped[str] = mapped_column(String(16), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sip_accounts: Mapped[list[SipAccount]] = relationship(
        back_populates="employee", cascade="all, delete-orphan", order_by="SipAccount.id")


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
        auth = ""
        if u.username:
            auth = u.username + (f":{u.password}" if u.password else "") + "@"
        host = u.host or "localhost"
        port = f":{u.port}" if u.port else ""
        return f"postgres://{auth}{host}{port}/{u.database}"
    raise ValueError(f"unsupported database: {u.get_backend_name()}")


def kamailio_db_module(url: str) -> str:
    return {"sqlite": "db_sqlite.so", "postgresql": "db_postgres.so"}[make_url(url).get_backend_name()]


def open_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
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


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest version (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
