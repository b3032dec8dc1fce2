"""Address books: the company's (administrators write, every employee reads) and each
employee's personal one (only its owner reads or writes; to anyone else it does not exist).
And caller names: who is calling, from the directory, the company book, or the callee's own
contacts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from pbx import audit, settings, validation
from pbx.audit import Actor
from pbx.db import Contact, Employee, versioned_write
from pbx.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from pbx.instance import PbxInstance

COMPANY, PERSONAL = "company", "personal"
NUMBER_MAX = Contact.number.type.length


def _owner(actor: Actor, book: str) -> int | None:
    if book == COMPANY:
        return None
    if actor.employee_id is None:
        raise Forbidden("Personal contacts belong to an employee: log in as one.")
    return actor.employee_id


def _check_write(actor: Actor, book: str) -> None:
    if book == COMPANY and not actor.is_admin:
        raise Forbidden("Only members of Administrators may change the company address book.")


def _clean(fields: dict[str, str], region: str) -> dict[str, str]:
    clean, problems = {}, []
    for field, value in fields.items():
        try:
            if field == "name":
                clean[field] = validation.name(value)
            elif field == "number":
                clean[field] = validation.dial_string(value, region)
                if len(clean[field]) > NUMBER_MAX:  # a long service code (*…#) fits no column
                    raise validation.problem("number", "too_long", f"A number has at most {NUMBER_MAX} characters.")
            elif field == "note":
                if len(value) > 512:
                    raise validation.problem("note", "too_long", "A note has at most 512 characters.")
                clean[field] = value
            else:
                raise validation.problem(field, "unknown_field", f"{field!r} is not a contact field.")
        except InvalidInput as e:
            problems += e.fields
    if problems:
        raise InvalidInput(problems[0].message, problems)
    return clean


def _audience(book: str, owner: int | None) -> int | None:
    return audit.EVERYONE if book == COMPANY else owner


def list_contacts(pbx: PbxInstance, actor: Actor, book: str) -> list[Contact]:
    owner = _owner(actor, book)
    with pbx.sessions() as s:
        return list(s.scalars(select(Contact).where(Contact.owner_id.is_(owner) if owner is None
                                                    else Contact.owner_id == owner).order_by(Contact.name)))


def _get(s, actor: Actor, book: str, contact_id: int) -> Contact:
    owner = _owner(actor, book)
    contact = s.get(Contact, contact_id)
    # Someone else's personal contact is as good as absent: 404, not 403.
    if contact is None or contact.owner_id != owner:
        raise NotFound(f"There is no contact {contact_id} in your {book} address book.")
    return contact


def add_contact(pbx: PbxInstance, actor: Actor, book: str, *, name: str, number: str, note: str = "") -> Contact:
    _check_write(actor, book)
    owner = _owner(actor, book)
    with pbx.sessions.begin() as s:
        clean = _clean({"name": name, "number": number, "note": note}, settings.get(s, "region"))
        contact = Contact(owner_id=owner, **clean)
        s.add(contact)
        s.flush()
        audit.record(s, actor, f"contact.{book}.create", f"contacts.{book}", contact.id,
                     audience_id=_audience(book, owner))
        return contact


STALE = "The contact was changed meanwhile: reload it and try again."


def update_contact(pbx: PbxInstance, actor: Actor, book: str, contact_id: int, expected_version: int | None,
                   changes: dict[str, str]) -> Contact:
    _check_write(actor, book)

    def write() -> Contact:
        with pbx.sessions.begin() as s:
            contact = _get(s, actor, book, contact_id)
            if expected_version is not None and contact.version != expected_version:
                raise PreconditionFailed(STALE)
            for field, value in _clean(changes, settings.get(s, "region")).items():
                setattr(contact, field, value)
            flag_modified(contact, "name")  # every write bumps the version
            s.flush()  # UPDATE ... WHERE version = <read> (Contact's version_id_col)
            audit.record(s, actor, f"contact.{book}.update", f"contacts.{book}", contact.id,
                         audience_id=_audience(book, contact.owner_id))
            return contact
    return versioned_write(expected_version, write, STALE)


def delete_contact(pbx: PbxInstance, actor: Actor, book: str, contact_id: int) -> None:
    _check_write(actor, book)

    def write() -> None:
        with pbx.sessions.begin() as s:
            contact = _get(s, actor, book, contact_id)
            s.delete(contact)
            audit.record(s, actor, f"contact.{book}.delete", f"contacts.{book}", contact_id,
                         audience_id=_audience(book, contact.owner_id))
    versioned_write(None, write, STALE)


@dataclass(frozen=True)
class CallerName:
    name: str
    source: str  # "directory" | "company" | "personal"


def lookup(pbx: PbxInstance, actor: Actor, number: str) -> CallerName | None:
    """Who has this number, for the employee `actor`: a colleague first, then the company book,
    then their own contacts."""
    with pbx.sessions() as s:
        dial = validation.dial_string(number, settings.get(s, "region"))
        colleague = s.scalar(select(Employee).where((Employee.extension == dial) | (Employee.mobile == dial)))
        if colleague is not None:
            return CallerName(colleague.name, "directory")
        company = s.scalar(select(Contact).where(Contact.owner_id.is_(None), Contact.number == dial))
        if company is not None:
            return CallerName(company.name, "company")
        if actor.employee_id is not None:
            mine = s.scalar(select(Contact).where(Contact.owner_id == actor.employee_id, Contact.number == dial))
            if mine is not None:
                return CallerName(mine.name, "personal")
    return None
