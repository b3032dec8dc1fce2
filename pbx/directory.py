"""Employees, their SIP accounts and credentials, the Administrators group, the PBX's numbers.

Every function here enforces who may do it (the PBX, not the UI, holds the Administrators rule),
validates what it is given, and writes in one transaction together with its audit entry.
Functions take the PbxInstance and the acting `Actor`; they return ORM rows loaded with what
the callers read (the API turns them into its response models).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from pbx import audit, logins, passwords, settings, validation
from pbx.audit import Actor
from pbx.db import ADMINISTRATORS, Employee, Group, PbxNumber, ReceiveScheme, SipAccount, utcnow, versioned_write
from pbx.ringplan import default_scheme
from pbx.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, PreconditionFailed
from pbx.instance import PbxInstance


def digest_ha1(username: str, realm: str, password: str) -> str:
    """HA1 of RFC 2617 §3.2.2.2, what Kamailio's auth_db compares against."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def generate_sip_password() -> str:
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class SipCredentials:
    username: str
    domain: str
    password: str


@dataclass(frozen=True)
class NewEmployee:
    employee: Employee
    sip: SipCredentials
    communicator_password: str   # shown once: only its hash is kept


def _require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise Forbidden(f"Only members of Administrators may {what}.")


def _load(session: Session, employee_id: int) -> Employee:
    employee = session.scalar(
        select(Employee).where(Employee.id == employee_id)
        .options(selectinload(Employee.groups), selectinload(Employee.sip_accounts),
                 selectinload(Employee.outgoing_number)))
    if employee is None:
        raise NotFound(f"There is no employee {employee_id}.")
    return employee


def _check_version(employee: Employee, expected_version: int | None) -> None:
    if expected_version is not None and employee.version != expected_version:
        raise PreconditionFailed(f"{employee.name}'s card was changed meanwhile: reload it and try again.")


def _commit_or_conflict(session: Session) -> None:
    """Flush now, so that a unique index or a concurrent writer turns into a clean 409/412."""
    try:
        session.flush()
    except StaleDataError:
        raise PreconditionFailed("The record was changed meanwhile: reload it and try again.") from None
    except IntegrityError as e:
        raise Conflict(f"That would duplicate an existing record ({_constraint(e)}).") from None


def _constraint(e: IntegrityError) -> str:
    text = str(e.orig)
    for key in ("mobile", "email", "extension", "username", "number"):
        if key in text:
            return key
    return "unique value"


def _check_unique(session: Session, *, extension: str | None = None, mobile: str | None = None,
                  email: str | None = None, exclude_id: int | None = None) -> None:
    """409 for a value another employee has; 422 for an extension that is some SIP login."""
    for column, value, label in ((Employee.extension, extension, "extension"),
                                 (Employee.mobile, mobile, "mobile"), (Employee.email, email, "email")):
        if value is None:
            continue
        other = session.scalar(select(Employee).where(column == value, Employee.id != (exclude_id or -1)))
        if other is not None:
            raise Conflict(f"The {label} {value} belongs to {other.name} already.", code=f"{label}_taken",
                           value=value, owner=other.name)
    if extension is not None:
        login = session.scalar(select(SipAccount).where(SipAccount.username == extension)
                               .options(selectinload(SipAccount.employee)))
        if login is not None and login.employee_id != exclude_id:
            message = f"The extension {extension} clashes with a SIP login of {login.employee.name}."
            raise InvalidInput(message, [FieldProblem("extension", "extension_clash", message)])


def _sip_account(pbx: PbxInstance, username: str, password: str) -> SipAccount:
    domain = pbx.domain
    return SipAccount(
        username=username, domain=domain,
        ha1=digest_ha1(username, domain, password),
        ha1b=digest_ha1(f"{username}@{domain}", domain, password),
        password_encrypted=pbx.secret_box.encrypt(password),
    )


def _administrators(session: Session) -> Group:
    group = session.scalar(select(Group).where(Group.name == ADMINISTRATORS))
    if group is None:  # the migration creates it; a hand-edited database may not have it
        group = Group(name=ADMINISTRATORS)
        session.add(group)
    return group


# --- employees ---------------------------------------------------------------------------------
def add_employee(pbx: PbxInstance, actor: Actor, *, name: str, extension: str, mobile: str | None = None,
                 email: str | None = None, admin: bool = False, sip_password: str | None = None) -> NewEmployee:
    """A new employee with one SIP account whose login is the extension, and a generated
    communicator password."""
    _require_admin(actor, "add employees")
    sip_password = sip_password or generate_sip_password()
    communicator_password = passwords.generate()
    with pbx.sessions.begin() as s:
        region = settings.get(s, "region")
        problems: list[FieldProblem] = []
        clean: dict[str, str | None] = {}
        for field, check in (("name", lambda: validation.name(name)),
                             ("extension", lambda: validation.extension(extension)),
                             ("mobile", lambda: validation.phone_number(mobile, region, "mobile") if mobile else None),
                             ("email", lambda: validation.email(email) if email else None)):
            try:
                clean[field] = check()
            except InvalidInput as e:
                problems += e.fields
        if problems:
            raise InvalidInput(problems[0].message, problems)
        _check_unique(s, extension=clean["extension"], mobile=clean["mobile"], email=clean["email"])
        employee = Employee(name=clean["name"], extension=clean["extension"], mobile=clean["mobile"],
                            email=clean["email"],
                            communicator_password_hash=passwords.hash_password(communicator_password),
                            communicator_password_set_at=utcnow())
        employee.sip_accounts.append(_sip_account(pbx, clean["extension"], sip_password))
        if admin:
            employee.groups.append(_administrators(s))
        s.add(employee)
        _commit_or_conflict(s)
        scheme = default_scheme([clean["extension"]], settings.get(s, "timezone"))
        s.add(ReceiveScheme(employee_id=employee.id, document=json.dumps(scheme.to_dict()), version=1))
        audit.record(s, actor, "employee.create", "employee", employee.id,
                     extension=employee.extension, admin=admin)
        employee = _load(s, employee.id)
    return NewEmployee(employee, SipCredentials(clean["extension"], pbx.domain, sip_password), communicator_password)


def list_employees(pbx: PbxInstance, actor: Actor) -> list[Employee]:
    _require_admin(actor, "list employees' cards")
    with pbx.sessions() as s:
        return list(s.scalars(select(Employee).order_by(Employee.extension)
                              .options(selectinload(Employee.groups), selectinload(Employee.sip_accounts),
                                       selectinload(Employee.outgoing_number))))


def get_employee(pbx: PbxInstance, actor: Actor, employee_id: int) -> Employee:
    """An administrator reads any card; an employee their own."""
    if not actor.is_admin and actor.employee_id != employee_id:
        raise Forbidden("Only members of Administrators may read other employees' cards.")
    with pbx.sessions() as s:
        return _load(s, employee_id)


def update_employee(pbx: PbxInstance, actor: Actor, employee_id: int, expected_version: int | None,
                    changes: dict[str, str | None]) -> Employee:
    """Change name, extension, mobile or e-mail (None clears mobile/e-mail)."""
    _require_admin(actor, "change employees' cards")

    def write() -> Employee:
        with pbx.sessions.begin() as s:
            employee = _load(s, employee_id)
            _check_version(employee, expected_version)
            region = settings.get(s, "region")
            clean: dict[str, str | None] = {}
            problems: list[FieldProblem] = []
            for field, value in changes.items():
                try:
                    if field == "name":
                        clean[field] = validation.name(value or "")
                    elif field == "extension":
                        clean[field] = validation.extension(value or "")
                    elif field == "mobile":
                        clean[field] = validation.phone_number(value, region, "mobile") if value else None
                    elif field == "email":
                        clean[field] = validation.email(value) if value else None
                    else:
                        raise validation.problem(field, "unknown_field", f"{field!r} cannot be changed here.")
                except InvalidInput as e:
                    problems += e.fields
            if problems:
                raise InvalidInput(problems[0].message, problems)
            _check_unique(s, extension=clean.get("extension"), mobile=clean.get("mobile"),
                          email=clean.get("email"), exclude_id=employee.id)
            old_extension = employee.extension
            for field, value in clean.items():
                setattr(employee, field, value)
            if "extension" in clean and clean["extension"] != old_extension:
                # The main SIP login follows the extension; its password stays.
                for account in employee.sip_accounts:
                    if account.username == old_extension:
                        password = pbx.secret_box.decrypt(account.password_encrypted)
                        replacement = _sip_account(pbx, clean["extension"], password)
                        account.username, account.ha1, account.ha1b = (replacement.username, replacement.ha1,
                                                                       replacement.ha1b)
            flag_modified(employee, "name")  # every change bumps the version, even a no-op one
            _commit_or_conflict(s)
            audit.record(s, actor, "employee.update", "employee", employee.id, changed=sorted(clean))
            return _load(s, employee.id)
    return versioned_write(expected_version, write)


def remove_employee(pbx: PbxInstance, actor: Actor, employee_id: int, expected_version: int | None) -> None:
    """Remove an employee with everything that is theirs alone: their SIP accounts (so no phone
    of theirs registers or rings again), receive scheme, sessions, personal contacts and
    Administrators membership. What others share stays: a number that led to them leads
    nowhere until an administrator points it elsewhere (the audit entry lists those), and the
    audit log keeps their name on what they did. Nobody removes themselves (another
    administrator must), and the last administrator stays."""
    _require_admin(actor, "remove employees")
    if actor.employee_id == employee_id:
        raise Conflict("You cannot remove yourself: ask another administrator.", code="own_account")

    def write() -> None:
        with pbx.sessions.begin() as s:
            employee = _load(s, employee_id)
            _check_version(employee, expected_version)
            group = _administrators(s)
            if group in employee.groups:
                others = s.scalar(select(func.count()).select_from(Employee).join(Employee.groups)
                                  .where(Group.id == group.id, Employee.id != employee.id))
                if not others:
                    raise Conflict("The PBX must keep at least one administrator.", code="last_administrator")
            numbers = list(s.scalars(select(PbxNumber).where(PbxNumber.inbound_employee_id == employee.id)))
            for number in numbers:
                number.inbound_employee_id = None
            details = {"name": employee.name, "extension": employee.extension,
                       "sip_accounts": [a.username for a in employee.sip_accounts],
                       "numbers_left_without_destination": [n.number for n in numbers]}
            scheme = s.get(ReceiveScheme, employee.id)
            if scheme is not None:
                s.delete(scheme)
            # The rows keyed by the employee with ON DELETE CASCADE (sessions, personal
            # contacts, memberships) go with this delete; the ORM removes the SIP accounts.
            s.delete(employee)
            _commit_or_conflict(s)
            audit.record(s, actor, "employee.delete", "employee", employee_id, audience_id=audit.EVERYONE,
                         **details)
    versioned_write(expected_version, write)


def set_administrator(pbx: PbxInstance, actor: Actor, employee_id: int, member: bool) -> Employee:
    _require_admin(actor, "change who is in Administrators")

    def write() -> Employee:
        with pbx.sessions.begin() as s:
            employee = _load(s, employee_id)
            group = _administrators(s)
            if member and group not in employee.groups:
                employee.groups.append(group)
            elif not member and group in employee.groups:
                others = s.scalar(select(func.count()).select_from(Employee).join(Employee.groups)
                                  .where(Group.id == group.id, Employee.id != employee.id))
                if not others:
                    raise Conflict("The PBX must keep at least one administrator.", code="last_administrator")
                employee.groups.remove(group)
            else:
                return employee
            flag_modified(employee, "name")
            _commit_or_conflict(s)
            audit.record(s, actor, "employee.administrators", "employee", employee.id, member=member)
            return _load(s, employee.id)
    return versioned_write(None, write)


@dataclass(frozen=True)
class Credentials:
    sip: list[SipCredentials]
    communicator_password_set: bool
    communicator_password_set_at: object


def read_credentials(pbx: PbxInstance, actor: Actor, employee_id: int) -> Credentials:
    """The SIP logins and passwords (decrypted) of an employee; reading them is audited. The
    communicator password cannot be read back: only whether it is set (it is shown once, when
    generated)."""
    _require_admin(actor, "read employees' credentials")
    with pbx.sessions.begin() as s:
        employee = _load(s, employee_id)
        sip = [SipCredentials(a.username, a.domain, pbx.secret_box.decrypt(a.password_encrypted))
               for a in employee.sip_accounts]
        audit.record(s, actor, "employee.credentials.read", "credentials", employee.id, audience_id=audit.NOBODY)
        return Credentials(sip, employee.communicator_password_hash is not None,
                           employee.communicator_password_set_at)


def generate_communicator_password(pbx: PbxInstance, actor: Actor, employee_id: int) -> str:
    """A new strong communicator password (set when empty, rotated otherwise): returned once."""
    _require_admin(actor, "set communicator passwords")
    password = passwords.generate()
    hashed = passwords.hash_password(password)  # slow on purpose: once, not on every retry

    def write() -> None:
        with pbx.sessions.begin() as s:
            employee = _load(s, employee_id)
            employee.communicator_password_hash = hashed
            employee.communicator_password_set_at = utcnow()
            _commit_or_conflict(s)
            # A rotated password ends the sessions that the old one opened.
            logins.revoke_all(s, employee.id)
            audit.record(s, actor, "employee.communicator_password", "employee", employee.id,
                         audience_id=employee.id)
    versioned_write(None, write)
    return password


def sip_password(pbx: PbxInstance, username: str) -> str:
    """The SIP password of an account, decrypted (for the console and the demo)."""
    with pbx.sessions() as s:
        token = s.scalar(select(SipAccount.password_encrypted).where(
            SipAccount.username == username, SipAccount.domain == pbx.domain))
    if token is None:
        raise NotFound(f"There is no SIP account {username}@{pbx.domain}.")
    return pbx.secret_box.decrypt(token)


def public_directory(pbx: PbxInstance, actor: Actor) -> list[Employee]:
    """Everyone's name, extension and mobile: what a colleague may see."""
    with pbx.sessions() as s:
        return list(s.scalars(select(Employee).order_by(Employee.extension)))


# --- numbers and the outgoing number -----------------------------------------------------------
def list_numbers(pbx: PbxInstance, actor: Actor) -> list[PbxNumber]:
    with pbx.sessions() as s:
        return list(s.scalars(select(PbxNumber).order_by(PbxNumber.number)))


def add_number(pbx: PbxInstance, actor: Actor, number: str, label: str = "",
               inbound_employee_id: int | None = None) -> PbxNumber:
    _require_admin(actor, "add the PBX's numbers")
    with pbx.sessions.begin() as s:
        clean = validation.phone_number(number, settings.get(s, "region"), "number")
        label = validation.name(label, "label", 64) if label.strip() else ""
        if s.scalar(select(PbxNumber).where(PbxNumber.number == clean)) is not None:
            raise Conflict(f"The PBX has the number {clean} already.", code="number_taken", value=clean)
        if inbound_employee_id is not None:
            _load(s, inbound_employee_id)
        row = PbxNumber(number=clean, label=label, inbound_employee_id=inbound_employee_id)
        s.add(row)
        _commit_or_conflict(s)
        audit.record(s, actor, "number.create", "numbers", row.id, number=clean)
        return row


def delete_number(pbx: PbxInstance, actor: Actor, number_id: int) -> None:
    _require_admin(actor, "remove the PBX's numbers")

    def write() -> None:
        with pbx.sessions.begin() as s:
            row = s.get(PbxNumber, number_id)
            if row is None:
                raise NotFound(f"The PBX has no number {number_id}.")
            users = list(s.scalars(select(Employee).where(Employee.outgoing_number_id == number_id)))
            for employee in users:  # their outgoing number falls back to the PBX default
                employee.outgoing_number_id = None
            s.delete(row)
            _commit_or_conflict(s)
            audit.record(s, actor, "number.delete", "numbers", number_id, number=row.number)
            for employee in users:
                audit.record(s, actor, "employee.outgoing_number", "employee", employee.id, audience_id=employee.id)
    versioned_write(None, write)


def set_outgoing_number(pbx: PbxInstance, actor: Actor, employee_id: int, number_id: int | None,
                        expected_version: int | None) -> Employee:
    """Employees choose their own outgoing number; administrators anyone's."""
    if not actor.is_admin and actor.employee_id != employee_id:
        raise Forbidden("Only members of Administrators may choose other employees' outgoing numbers.")

    def write() -> Employee:
        with pbx.sessions.begin() as s:
            employee = _load(s, employee_id)
            _check_version(employee, expected_version)
            number = s.get(PbxNumber, number_id) if number_id is not None else None
            if number_id is not None and number is None:
                raise InvalidInput.field("number_id", "unknown_number", f"The PBX has no number {number_id}.")
            # The relationship, not only the column: the card returned below is read from this
            # session, where `outgoing_number` would otherwise still be the old one.
            employee.outgoing_number = number
            flag_modified(employee, "name")
            _commit_or_conflict(s)
            audit.record(s, actor, "employee.outgoing_number", "employee", employee.id, audience_id=employee.id,
                         number_id=number_id)
            return _load(s, employee.id)
    return versioned_write(expected_version, write)
