"""Employees and their SIP accounts."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pbx.db import Employee, SipAccount
from pbx.instance import InvalidInput, PbxInstance

EXTENSION_RE = re.compile(r"[0-9]{2,6}")


def digest_ha1(username: str, realm: str, password: str) -> str:
    """HA1 of RFC 2617 §3.2.2.2, what Kamailio's auth_db compares against."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode("utf-8")).hexdigest()


def generate_sip_password() -> str:
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class SipCredentials:
    username: str
    domain: str
    password: str


def add_employee(pbx: PbxInstance, *, name: str, extension: str, is_admin: bool = False,
                 sip_password: str | None = None) -> SipCredentials:
    """Create an employee with one SIP account whose login is the extension."""
    name = name.strip()
    if not name:
        raise InvalidInput("An employee needs a name.")
    if not EXTENSION_RE.fullmatch(extension):
        raise InvalidInput(f"The extension {extension!r} is not 2 to 6 digits.")
    password = sip_password or generate_sip_password()
    domain = pbx.domain
    with pbx.sessions.begin() as s:
        if s.scalar(select(Employee.id).where(Employee.extension == extension)) is not None:
            raise InvalidInput(f"The extension {extension} is taken already.")
        employee = Employee(name=name, extension=extension, is_admin=is_admin)
        employee.sip_accounts.append(_sip_account(pbx, extension, domain, password))
        s.add(employee)
    return SipCredentials(extension, domain, password)


def _sip_account(pbx: PbxInstance, username: str, domain: str, password: str) -> SipAccount:
    return SipAccount(
        username=username, domain=domain,
        ha1=digest_ha1(username, domain, password),
        ha1b=digest_ha1(f"{username}@{domain}", domain, password),
        password_encrypted=pbx.secret_box.encrypt(password),
    )


def sip_password(pbx: PbxInstance, username: str) -> str:
    """The SIP password of an account, decrypted (what an administrator may read out)."""
    with pbx.sessions() as s:
        token = s.scalar(select(SipAccount.password_encrypted).where(
            SipAccount.username == username, SipAccount.domain == pbx.domain))
    if token is None:
        raise InvalidInput(f"There is no SIP account {username}@{pbx.domain}.")
    return pbx.secret_box.decrypt(token)


def list_employees(session: Session) -> list[Employee]:
    return list(session.scalars(select(Employee).order_by(Employee.extension)))
