"""The authorization matrix: every endpoint of the API × four callers, with the status each must
get (tests/api/test_authorization.py runs it).

The callers, per row:
- anonymous: no access token at all;
- employee: an employee T acting on their own things (their card, their contact, their
  session);
- other employee: a colleague acting on T's things (T's card, T's personal contact, T's outgoing
  number); where a row has nothing of T's to act on (the directory, one's own /me) it is the
  colleague doing the same for themselves;
- administrator: a member of Administrators acting on T's things.

Every cell builds what it acts on right before its request (a fresh contact, number, session),
so no cell passes because an earlier one already deleted or changed its object. A row that
leaves T with other rights or without a session (promoted, password rotated) is marked, and the
next row gets a new T. Within a row the refusals run first, so that a wrongly allowed write is
not hidden by a later success.

The table must cover every operation of the live OpenAPI document: a new endpoint without a row
fails there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from pbx import contacts, directory, schemes
from pbx.audit import Actor
from tests.support.api import ApiServer

ANON, EMPLOYEE, OTHER, ADMIN = "anonymous", "employee", "other employee", "administrator"
COLUMNS = (ANON, EMPLOYEE, OTHER, ADMIN)
RUN_ORDER = (ANON, OTHER, EMPLOYEE, ADMIN)
CONSOLE = Actor.console()
OWN_TOKEN = object()


@dataclass
class Call:
    """One request of a cell: the path's parameters, and what else to send."""

    params: dict = field(default_factory=dict)          # fills the OpenAPI path template
    json: object = None
    content: bytes | None = None                        # a body that is not JSON
    query: dict | None = None
    headers: dict = field(default_factory=dict)
    token: object = OWN_TOKEN                          # another access token, or None for none

    def request(self, row: Row, token: str | None) -> dict:
        """The arguments of httpx.Client.request for this call, sent with `token` unless the
        call names its own."""
        token = token if self.token is OWN_TOKEN else self.token
        headers = dict(self.headers)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return {"method": row.method, "url": row.path.format(**self.params), "json": self.json,
                "content": self.content, "params": self.query, "headers": headers}


def sip_login(person) -> str:
    return f"{person.sip.username}@{person.sip.domain}"


class World:
    """The company the matrix acts in: an administrator, a colleague, and T."""

    def __init__(self, api: ApiServer, company: dict):
        self.api = api
        self.people = {ADMIN: company["admin"], OTHER: company["vera"]}
        self.tokens = {p: api.login(sip_login(self.people[p]), self.people[p].communicator_password)
                       ["access_token"] for p in (ADMIN, OTHER)}
        self._serial = itertools.count(1)
        self.number_id = self.new_number()

    def new_target(self) -> None:
        n = next(self._serial)
        self.target = self.api.add_employee(f"5{n:03d}", f"Target {n}")
        self.people[EMPLOYEE] = self.target
        self.tokens[EMPLOYEE] = self.fresh_session(EMPLOYEE)["access_token"]

    @property
    def target_id(self) -> dict:
        return {"employee_id": self.target.employee.id}

    def token(self, persona: str) -> str | None:
        return None if persona == ANON else self.tokens[persona]

    def password(self, persona: str) -> str:
        return self.people[persona].communicator_password

    def fresh_session(self, persona: str) -> dict:
        person = self.people[persona]
        return self.api.login(sip_login(person), person.communicator_password)

    def unique(self) -> int:
        return next(self._serial)

    def new_number(self) -> int:
        return directory.add_number(self.api.pbx, CONSOLE, f"+7495{self.unique():07d}", "matrix").id

    def new_company_contact(self) -> int:
        return contacts.add_contact(self.api.pbx, CONSOLE, contacts.COMPANY, name="Supplier",
                                    number=f"+7812{self.unique():07d}").id

    def new_personal_contact_of_target(self) -> int:
        owner = Actor(self.target.employee.id, self.target.employee.name, False)
        return contacts.add_contact(self.api.pbx, owner, contacts.PERSONAL, name="Mum",
                                    number=f"+7903{self.unique():07d}").id


def login_as_target(w: World, persona: str) -> Call:
    """T's own login: with T's password it opens T's session; with anyone else's it must not."""
    if persona == ANON:
        return Call(json={"login": "nobody@example.com", "password": "not-a-password"}, token=None)
    return Call(json={"login": sip_login(w.target), "password": w.password(persona)}, token=None)


def refresh_own(w: World, persona: str) -> Call:
    if persona == ANON:
        return Call(json={"refresh_token": "made-up-refresh-token"}, token=None)
    return Call(json={"refresh_token": w.fresh_session(persona)["refresh_token"]}, token=None)


def logout_own(w: World, persona: str) -> Call:
    # A session of its own per cell: logging out must not end the session the next rows use.
    if persona == ANON:
        return Call(json={})
    session = w.fresh_session(persona)
    return Call(json={"refresh_token": session["refresh_token"]}, token=session["access_token"])


def nothing(w: World, persona: str) -> Call:
    return Call()


def own_outgoing_number(w: World, persona: str) -> Call:
    return Call(json={"number_id": w.number_id}, headers={"If-Match": "*"})


def quiet_for_a_while(w: World, persona: str) -> Call:
    return Call(json={"minutes": 15})


def new_employee(w: World, persona: str) -> Call:
    return Call(json={"name": "New Hire", "extension": f"6{w.unique():03d}"})


def target(w: World, persona: str) -> Call:
    return Call(params=w.target_id)


def rename_target(w: World, persona: str) -> Call:
    return Call(params=w.target_id, json={"name": f"Renamed {persona}"}, headers={"If-Match": "*"})


def target_outgoing_number(w: World, persona: str) -> Call:
    return Call(params=w.target_id, json={"number_id": w.number_id}, headers={"If-Match": "*"})


def demote_target(w: World, persona: str) -> Call:
    if persona == ADMIN:
        # Only the administrator's cell makes T a member, so that it has someone to remove;
        # T's own cell (T not an administrator) must be refused.
        directory.set_administrator(w.api.pbx, CONSOLE, w.target.employee.id, True)
    return Call(params=w.target_id)


def new_number(w: World, persona: str) -> Call:
    return Call(json={"number": f"+7496{w.unique():07d}", "label": "Sales"})


def existing_number(w: World, persona: str) -> Call:
    return Call(params={"number_id": w.new_number()})


def change_settings(w: World, persona: str) -> Call:
    return Call(json={"buy_numbers_url": f"https://shop.example.com/{persona.replace(' ', '-')}"},
                headers={"If-Match": "*"})


def new_contact(w: World, persona: str) -> Call:
    return Call(json={"name": "Plumber", "number": f"+7921{w.unique():07d}"})


def company_contact(w: World, persona: str) -> Call:
    return Call(params={"contact_id": w.new_company_contact()})


def change_company_contact(w: World, persona: str) -> Call:
    return Call(params={"contact_id": w.new_company_contact()}, json={"note": "changed"},
                headers={"If-Match": "*"})


def targets_personal_contact(w: World, persona: str) -> Call:
    return Call(params={"contact_id": w.new_personal_contact_of_target()})


def change_targets_personal_contact(w: World, persona: str) -> Call:
    return Call(params={"contact_id": w.new_personal_contact_of_target()}, json={"note": "changed"},
                headers={"If-Match": "*"})


def lookup_target(w: World, persona: str) -> Call:
    return Call(query={"number": w.target.employee.extension})


def targets_scheme_as_is(w: World, persona: str) -> Call:
    scheme, version = schemes.get_scheme(w.api.pbx, CONSOLE, w.target.employee.id)
    return Call(params=w.target_id, json=scheme.to_dict(), headers={"If-Match": f'"{version}"'})


def targets_scheme_mode(w: World, persona: str) -> Call:
    return Call(params=w.target_id, json={"mode": "in_turn"}, headers={"If-Match": "*"})


def targets_device(w: World, persona: str) -> Call:
    scheme, _ = schemes.get_scheme(w.api.pbx, CONSOLE, w.target.employee.id)
    return Call(params={**w.target_id, "device_id": scheme.devices[0].id}, json={"ring_timeout_s": 25},
                headers={"If-Match": "*"})


def new_sip_account(w: World, persona: str) -> Call:
    return Call(params=w.target_id, json={"username": f"7{w.unique():03d}"})


def target_to_remove(w: World, persona: str) -> Call:
    return Call(params=w.target_id, headers={"If-Match": "*"})


def targets_desk_phone(w: World, persona: str) -> Call:
    username = f"8{w.unique():03d}"
    schemes.add_sip_account(w.api.pbx, CONSOLE, w.target.employee.id, username)
    return Call(params={**w.target_id, "username": username})


def calendar_day(w: World, persona: str) -> Call:
    return Call(params={"day": "2031-05-04"}, json={"kind": "working"}, headers={"If-Match": "*"})


def calendar_day_to_clear(w: World, persona: str) -> Call:
    return Call(params={"day": "2031-05-04"}, headers={"If-Match": "*"})


def calendar_file(w: World, persona: str) -> Call:
    xml = b'<?xml version="1.0" encoding="UTF-8"?><calendar year="2031"><days><day d="01.02" t="1"/></days></calendar>'
    return Call(content=xml, headers={"If-Match": "*", "Content-Type": "application/xml"})


@dataclass(frozen=True)
class Row:
    method: str
    path: str                   # exactly as in the OpenAPI document
    expect: tuple[int, int, int, int]  # in COLUMNS order: anonymous, employee, other, administrator
    call: Callable[[World, str], Call]
    spoils_target: bool = False  # T is not an ordinary employee with a session any more


P = "/api/v1"
MATRIX = [
    # sessions: what an anonymous caller may do
    Row("POST", f"{P}/auth/login", (401, 200, 401, 401), login_as_target),
    Row("POST", f"{P}/auth/refresh", (401, 200, 200, 200), refresh_own),
    Row("POST", f"{P}/auth/logout", (401, 204, 204, 204), logout_own),
    Row("GET", f"{P}/health", (200, 200, 200, 200), nothing),
    # oneself
    Row("GET", f"{P}/me", (401, 200, 200, 200), nothing),
    Row("PUT", f"{P}/me/outgoing-number", (401, 200, 200, 200), own_outgoing_number),
    Row("PUT", f"{P}/me/do-not-disturb", (401, 200, 200, 200), quiet_for_a_while),
    Row("GET", f"{P}/me/unreached-calls", (401, 200, 200, 200), nothing),
    Row("GET", f"{P}/directory", (401, 200, 200, 200), nothing),
    Row("GET", f"{P}/presence", (401, 200, 200, 200), nothing),
    # employees: administrators, except reading one's own card and choosing one's own number
    Row("GET", f"{P}/employees", (401, 403, 403, 200), nothing),
    Row("POST", f"{P}/employees", (401, 403, 403, 201), new_employee),
    Row("GET", f"{P}/employees/{{employee_id}}", (401, 200, 403, 200), target),
    Row("PATCH", f"{P}/employees/{{employee_id}}", (401, 403, 403, 200), rename_target),
    Row("DELETE", f"{P}/employees/{{employee_id}}", (401, 403, 403, 204), target_to_remove, spoils_target=True),
    Row("GET", f"{P}/employees/{{employee_id}}/credentials", (401, 403, 403, 200), target),
    Row("POST", f"{P}/employees/{{employee_id}}/communicator-password", (401, 403, 403, 200), target,
        spoils_target=True),
    Row("PUT", f"{P}/employees/{{employee_id}}/outgoing-number", (401, 200, 403, 200), target_outgoing_number),
    Row("PUT", f"{P}/groups/administrators/members/{{employee_id}}", (401, 403, 403, 200), target,
        spoils_target=True),
    Row("DELETE", f"{P}/groups/administrators/members/{{employee_id}}", (401, 403, 403, 200), demote_target),
    # numbers and settings
    Row("GET", f"{P}/numbers", (401, 200, 200, 200), nothing),
    Row("POST", f"{P}/numbers", (401, 403, 403, 201), new_number),
    Row("DELETE", f"{P}/numbers/{{number_id}}", (401, 403, 403, 204), existing_number),
    Row("GET", f"{P}/settings", (401, 403, 403, 200), nothing),
    Row("PATCH", f"{P}/settings", (401, 403, 403, 200), change_settings),
    # the company book: everyone reads, administrators write
    Row("GET", f"{P}/contacts/company", (401, 200, 200, 200), nothing),
    Row("POST", f"{P}/contacts/company", (401, 403, 403, 201), new_contact),
    Row("PATCH", f"{P}/contacts/company/{{contact_id}}", (401, 403, 403, 200), change_company_contact),
    Row("DELETE", f"{P}/contacts/company/{{contact_id}}", (401, 403, 403, 204), company_contact),
    # personal contacts: only the owner; to anyone else, an administrator too, they do not exist
    Row("GET", f"{P}/contacts/personal", (401, 200, 200, 200), nothing),
    Row("POST", f"{P}/contacts/personal", (401, 201, 201, 201), new_contact),
    Row("PATCH", f"{P}/contacts/personal/{{contact_id}}", (401, 200, 404, 404), change_targets_personal_contact),
    Row("DELETE", f"{P}/contacts/personal/{{contact_id}}", (401, 204, 404, 404), targets_personal_contact),
    Row("GET", f"{P}/lookup", (401, 200, 200, 200), lookup_target),
    Row("GET", f"{P}/audit", (401, 403, 403, 200), nothing),
    # receive schemes: an employee reads their own, administrators read and change anyone's
    Row("GET", f"{P}/employees/{{employee_id}}/scheme", (401, 200, 403, 200), target),
    Row("PUT", f"{P}/employees/{{employee_id}}/scheme", (401, 403, 403, 200), targets_scheme_as_is),
    Row("PATCH", f"{P}/employees/{{employee_id}}/scheme", (401, 403, 403, 200), targets_scheme_mode),
    Row("PATCH", f"{P}/employees/{{employee_id}}/scheme/devices/{{device_id}}", (401, 403, 403, 200),
        targets_device),
    Row("POST", f"{P}/employees/{{employee_id}}/sip-accounts", (401, 403, 403, 201), new_sip_account),
    Row("DELETE", f"{P}/employees/{{employee_id}}/sip-accounts/{{username}}", (401, 403, 403, 204),
        targets_desk_phone),
    Row("GET", f"{P}/employees/{{employee_id}}/ringplan", (401, 200, 403, 200), target),
    # the production calendar: everyone reads, administrators write
    Row("GET", f"{P}/calendar", (401, 200, 200, 200), nothing),
    Row("PUT", f"{P}/calendar/days/{{day}}", (401, 403, 403, 200), calendar_day),
    Row("DELETE", f"{P}/calendar/days/{{day}}", (401, 403, 403, 200), calendar_day_to_clear),
    Row("POST", f"{P}/calendar/import", (401, 403, 403, 200), calendar_file),
]
