"""PBX-wide settings (one row each in `setting`), with one version for the whole set."""

from __future__ import annotations

import ipaddress

from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pbx import audit, validation
from pbx.audit import Actor
from pbx.db import Setting, versioned_write
from pbx.errors import Forbidden, InvalidInput, PreconditionFailed

if TYPE_CHECKING:
    from pbx.instance import PbxInstance

DEFAULTS = {
    "region": "RU",           # for numbers typed without a country code
    "buy_numbers_url": "",    # where "Add number…" sends an administrator
    "sip_proxy": "",          # host:port the apps register to (set by `talker-pbx run`)
    "trunk": "",              # host:port of the trunk gateway for external numbers
    "timezone": "Europe/Moscow",  # of receive-scheme schedules, unless an employee has their own
    "calendar_version": "0",
    # On shortened (pre-holiday) days working hours end an hour earlier (pbx/ringplan.py); off
    # by default, since many offices keep their usual hours and only payroll counts the hour.
    "shortened_days_end_earlier": "0",
    # Reverse proxies whose X-Forwarded-For the API believes (addresses or networks, comma-
    # separated), read when the API starts. None by default: anyone could otherwise claim any
    # address, and the login lockout and the audit log go by the client's address.
    "trusted_proxies": "",
}


def _proxy_addresses(value: str, field: str) -> str:
    items = [item.strip() for item in value.split(",") if item.strip()]
    try:
        return ",".join(str(ipaddress.ip_network(item, strict=False)) if "/" in item
                        else str(ipaddress.ip_address(item)) for item in items)
    except ValueError:
        raise InvalidInput.field(field, "invalid_address", f"{field}: give IP addresses or networks "
                                 "(such as 10.0.0.5 or 10.0.0.0/24), separated by commas.") from None


# Settings the operator may change (`talker-pbx settings set`), and how each is checked; the
# API's SettingsPatch names those an administrator may also change through the API.
EDITABLE = {
    "region": validation.region,
    "buy_numbers_url": lambda v, field: validation.http_url(v, field) if v.strip() else "",
    "trunk": lambda v, field: validation.host_port(v, field) if v.strip() else "",
    "timezone": validation.timezone,
    "shortened_days_end_earlier": validation.flag,
    "trusted_proxies": _proxy_addresses,
}


# What the running PBX writes itself (set_runtime); the rest of DEFAULTS not in EDITABLE is
# bookkeeping (versions).
RUNTIME = ("sip_proxy",)


def read_all(session: Session) -> dict[str, str]:
    values = dict(DEFAULTS)
    values["version"] = "1"
    values.update({s.name: s.value for s in session.scalars(select(Setting))})
    return values


def get(session: Session, name: str) -> str:
    return read_all(session)[name]


STALE = "The PBX settings were changed meanwhile: reload them and try again."


def update(session: Session, actor: Actor, changes: dict[str, str], expected_version: int | None) -> dict[str, str]:
    """Apply `changes` (validated) if the settings are still at `expected_version`."""
    if not actor.is_admin:
        raise Forbidden("Only members of Administrators may change the PBX settings.")
    current = read_all(session)
    if expected_version is not None and int(current["version"]) != expected_version:
        raise PreconditionFailed(STALE)
    clean = {name: EDITABLE[name](value, name) for name, value in changes.items()}
    if not claim_version(session, "version", current["version"]):
        raise PreconditionFailed(STALE)
    _write(session, clean)
    audit.record(session, actor, "settings.update", "settings", None, changed=sorted(clean))
    return read_all(session)


def change(pbx: PbxInstance, actor: Actor, changes: dict[str, str], expected_version: int | None) -> dict[str, str]:
    """`update` in a transaction of its own, run again when a concurrent writer came first and
    no version was asked for (pbx.db.versioned_write)."""
    def write() -> dict[str, str]:
        with pbx.sessions.begin() as s:
            return update(s, actor, changes, expected_version)
    return versioned_write(expected_version, write, STALE)


def claim_version(session: Session, name: str, read: str) -> bool:
    """Move the version kept in setting `name` from `read` (as read in this write) to the next
    one in a single conditional write. False when another writer moved it first: of writers
    that read the same version exactly one gets True, so check nothing else after this.
    Call it before the write's other changes, so that on SQLite it takes the write lock first."""
    new = str(int(read) + 1)
    moved = session.execute(sql_update(Setting).where(Setting.name == name, Setting.value == read)
                            .values(value=new)).rowcount
    if moved:
        return True
    # Nothing matched: the version was never written (`read` was the default), or it moved on.
    # Either way an INSERT settles it: the primary key lets only the first writer in.
    try:
        session.execute(insert(Setting).values(name=name, value=new))
    except IntegrityError:
        return False
    return True


def set_runtime(session: Session, **values: str) -> None:
    """What the running PBX itself knows (its SIP address): not audited, not versioned."""
    _write(session, values)


def _write(session: Session, values: dict[str, str]) -> None:
    for name, value in values.items():
        row = session.get(Setting, name)
        if row is None:
            session.add(Setting(name=name, value=value))
        else:
            row.value = value
