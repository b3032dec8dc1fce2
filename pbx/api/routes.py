"""The API's endpoints: thin. Each reads the request, calls the PBX service that enforces the
rules (pbx/directory.py, pbx/contacts.py, pbx/logins.py, pbx/settings.py) and shapes the reply."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import anyio

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import and_, or_, select

from pbx import calendar_store, contacts, directory, logins, presence, schemes, settings, unreached
from pbx.api.schemas import (
    AuditEntryOut, CalendarDayIn, CalendarDayModel, CalendarOut, ContactIn, ContactOut, ContactPatch, CredentialsOut, DirectoryEntry, EmployeeCard,
    EmployeeCreate, EmployeeCreated, EmployeePatch, ErrorResponse, GeneratedPassword, LoginRequest,
    LoginResponse, LogoutRequest, LookupOut, Me, PresenceEntry, NumberIn, NumberOut, NumbersOut, OutgoingNumberIn,
    RefreshRequest, DoNotDisturbIn, SchemeModel, SchemeOut, SchemePatch, SettingsOut, SettingsPatch, SipAccountIn, SipCredentialsOut,
    SipLoginOut, DevicePatch, UnreachedCallOut, UnreachedCallsOut,
)
from pbx.audit import Actor
from pbx.db import AuditEntry, Employee
from pbx.errors import (
    Forbidden, InvalidInput, NotFound, PbxError, PreconditionFailed, PreconditionRequired, Unauthenticated,
)
from pbx.prodcalendar import CalendarDay, CalendarError, DayKind
from pbx.ringplan import MAX_RING_TIMEOUT_S
from pbx.instance import PbxInstance

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login")
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _errors(*codes: int) -> dict:
    return {code: {"model": ErrorResponse} for code in codes}


def pbx_of(request: Request) -> PbxInstance:
    return request.app.state.pbx


Pbx = Annotated[PbxInstance, Depends(pbx_of)]


def current(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Actor:
    if creds is None:
        raise Unauthenticated("Log in first: send an access token.", code="invalid_token")
    actor, _employee = logins.authenticate(request.app.state.pbx, creds.credentials)
    request.state.access_token = creds.credentials
    return actor


CurrentActor = Annotated[Actor, Depends(current)]


# Gates run as route dependencies, before FastAPI validates the path, query, headers and body:
# someone who may not make a request gets 403 whatever they send, not a 422 or 428 that answers
# questions about a request they may not make. The services check again (the console uses them).
_GATES: set = set()


def _gate(check):
    _GATES.add(check)
    return Depends(check)


def administrators(what: str):
    def gate(request: Request, actor: CurrentActor) -> None:
        if not actor.is_admin:
            raise Forbidden(f"Only members of Administrators may {what}.")
    return _gate(gate)


def self_or_administrators(what: str):
    """For /employees/{employee_id}/...: the employee themselves, or an administrator."""
    def gate(request: Request, actor: CurrentActor) -> None:
        try:
            own = int(request.path_params.get("employee_id", "")) == actor.employee_id
        except ValueError:
            own = False  # not an id: not theirs either
        if not own and not actor.is_admin:
            raise Forbidden(f"Only members of Administrators may {what}.")
    return _gate(gate)


def _calls(dependant):
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


async def gates_refuse(request: Request) -> PbxError | None:
    """FastAPI parses a JSON body before it runs any dependency, so a body that is not JSON at all
    would be answered 422 ahead of the gates. Run the matched route's token check and gates here:
    the refusal (401/403) that the same request with a readable body would get, or None."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    calls = list(_calls(dependant)) if dependant is not None else []
    if current not in calls:
        return None  # a public route
    try:
        creds = await _bearer(request)
        actor = await anyio.to_thread.run_sync(current, request, creds)
        for check in calls:
            if check in _GATES:
                check(request, actor)
    except PbxError as refusal:
        return refusal
    return None


def set_etag(response: Response, version: int) -> None:
    """A versioned resource's ETag is its version, quoted: what If-Match sends back (expected_version)."""
    response.headers["ETag"] = f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version a write is based on, from If-Match ("*" means "whatever it is now")."""
    if if_match is None:
        raise PreconditionRequired("Send If-Match with the ETag you read, so that no change is lost.")
    value = if_match.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed(f"If-Match {if_match!r} is not an ETag of this resource.")
    return int(value)


IfMatch = Annotated[str | None, Header(alias="If-Match", description='The ETag you read, or "*"')]


def me_out(e: Employee) -> Me:
    number = NumberOut.model_validate(e.outgoing_number) if e.outgoing_number else None
    return Me(id=e.id, name=e.name, extension=e.extension, mobile=e.mobile, email=e.email,
              administrator=e.is_admin, outgoing_number=number, version=e.version)


def card_out(e: Employee) -> EmployeeCard:
    return EmployeeCard(**me_out(e).model_dump(), sip_logins=[f"{a.username}@{a.domain}" for a in e.sip_accounts],
                        communicator_password_set=e.communicator_password_hash is not None,
                        communicator_password_set_at=e.communicator_password_set_at)


def session_out(session: logins.LoginSession) -> LoginResponse:
    sip = SipLoginOut(**vars(session.sip)) if session.sip else None
    return LoginResponse(access_token=session.access_token, refresh_token=session.refresh_token,
                         expires_in=session.expires_in_s, employee=me_out(session.employee), sip=sip)


router = APIRouter(prefix="/api/v1")


# --- sessions ----------------------------------------------------------------------------------
@router.post("/auth/login", response_model=LoginResponse, tags=["session"], responses=_errors(401, 422, 429))
def login(body: LoginRequest, request: Request, pbx: Pbx) -> LoginResponse:
    """Log in with a SIP account, a mobile number or an e-mail, and the communicator password.
    The answer carries the SIP credentials the app registers with."""
    client = request.client.host if request.client else "?"
    return session_out(logins.login(pbx, body.login, body.password, client))


@router.post("/auth/refresh", response_model=LoginResponse, tags=["session"], responses=_errors(401, 422))
def refresh(body: RefreshRequest, pbx: Pbx) -> LoginResponse:
    """Trade a refresh token (used up) for a new pair."""
    return session_out(logins.refresh(pbx, body.refresh_token))


@router.post("/auth/logout", status_code=204, tags=["session"], responses=_errors(401, 422))
def logout(body: LogoutRequest, request: Request, actor: CurrentActor, pbx: Pbx) -> Response:
    logins.logout(pbx, request.state.access_token, body.refresh_token)
    return Response(status_code=204)


@router.get("/health", tags=["session"])
def health() -> dict:
    return {"status": "ok"}


# --- me ----------------------------------------------------------------------------------------
@router.get("/me", response_model=Me, tags=["me"], responses=_errors(401))
def get_me(actor: CurrentActor, pbx: Pbx, response: Response) -> Me:
    me = directory.get_employee(pbx, actor, actor.employee_id)
    set_etag(response, me.version)
    return me_out(me)


@router.put("/me/outgoing-number", response_model=Me, tags=["me"], responses=_errors(401, 412, 422, 428))
def set_my_outgoing_number(body: OutgoingNumberIn, actor: CurrentActor, pbx: Pbx, response: Response,
                           if_match: IfMatch = None) -> Me:
    me = directory.set_outgoing_number(pbx, actor, actor.employee_id, body.number_id, expected_version(if_match))
    set_etag(response, me.version)
    return me_out(me)


@router.put("/me/do-not-disturb", response_model=SchemeOut, tags=["me"], responses=_errors(401, 422))
def set_my_do_not_disturb(body: DoNotDisturbIn, actor: CurrentActor, pbx: Pbx, response: Response) -> SchemeOut:
    """Nothing rings for me for `minutes` (callers hear 480 and the call is listed among my
    unreached calls); it ends by itself. 0 ends it now. Any employee, for themselves."""
    return _scheme_out(*schemes.set_do_not_disturb(pbx, actor, body.minutes), response)


@router.get("/me/unreached-calls", response_model=UnreachedCallsOut, tags=["me"], responses=_errors(401))
def get_my_unreached_calls(actor: CurrentActor, pbx: Pbx) -> UnreachedCallsOut:
    """Calls to me that rang none of my devices (every one switched off, out of its schedule or
    not registered): the caller heard 480. The event stream says {"resource": "unreached_calls"}
    when one is added."""
    rows = unreached.recent(pbx, actor.employee_id)
    return UnreachedCallsOut(calls=[UnreachedCallOut(id=r.id, at=r.at.replace(tzinfo=dt.UTC),
                                                     caller=r.caller) for r in rows])


@router.get("/directory", response_model=list[DirectoryEntry], tags=["me"], responses=_errors(401))
def get_directory(actor: CurrentActor, pbx: Pbx) -> list[DirectoryEntry]:
    """Every colleague's name, extension and mobile."""
    return [DirectoryEntry.model_validate(e) for e in directory.public_directory(pbx, actor)]


@router.get("/presence", response_model=list[PresenceEntry], tags=["me"], responses=_errors(401))
def get_presence(actor: CurrentActor, pbx: Pbx) -> list[PresenceEntry]:
    """Each colleague's presence: on a call (answered, not yet hung up), registered (a phone or
    app of theirs is registered now) or unavailable, from what Kamailio sees."""
    return [PresenceEntry(employee_id=i, state=state) for i, state in sorted(presence.presence(pbx, actor).items())]


# --- employees (Administrators) ----------------------------------------------------------------
@router.get("/employees", response_model=list[EmployeeCard], tags=["employees"], responses=_errors(401, 403),
            dependencies=[administrators("list employees' cards")])
def list_employees(actor: CurrentActor, pbx: Pbx) -> list[EmployeeCard]:
    return [card_out(e) for e in directory.list_employees(pbx, actor)]


@router.post("/employees", response_model=EmployeeCreated, status_code=201, tags=["employees"],
             responses=_errors(401, 403, 409, 422),
             dependencies=[administrators("add employees")])
def create_employee(body: EmployeeCreate, actor: CurrentActor, pbx: Pbx, response: Response) -> EmployeeCreated:
    """Add an employee: a SIP account (login = extension) and a communicator password are
    created, and shown this once."""
    new = directory.add_employee(pbx, actor, name=body.name, extension=body.extension, mobile=body.mobile,
                                 email=body.email, admin=body.administrator)
    set_etag(response, new.employee.version)
    response.headers["Location"] = f"/api/v1/employees/{new.employee.id}"
    return EmployeeCreated(employee=card_out(new.employee), sip=SipCredentialsOut(**vars(new.sip)),
                           communicator_password=new.communicator_password)


@router.get("/employees/{employee_id}", response_model=EmployeeCard, tags=["employees"],
            responses=_errors(401, 403, 404),
            dependencies=[self_or_administrators("read other employees' cards")])
def get_employee(employee_id: Id, actor: CurrentActor, pbx: Pbx, response: Response) -> EmployeeCard:
    employee = directory.get_employee(pbx, actor, employee_id)
    set_etag(response, employee.version)
    return card_out(employee)


@router.patch("/employees/{employee_id}", response_model=EmployeeCard, tags=["employees"],
              responses=_errors(401, 403, 404, 409, 412, 422, 428),
              dependencies=[administrators("change employees' cards")])
def patch_employee(employee_id: Id, body: EmployeePatch, actor: CurrentActor, pbx: Pbx, response: Response,
                   if_match: IfMatch = None) -> EmployeeCard:
    changes = body.model_dump(exclude_unset=True)
    employee = directory.update_employee(pbx, actor, employee_id, expected_version(if_match), changes)
    set_etag(response, employee.version)
    return card_out(employee)


@router.delete("/employees/{employee_id}", status_code=204, tags=["employees"],
               responses=_errors(401, 403, 404, 409, 412, 428),
               dependencies=[administrators("remove employees")])
def delete_employee(employee_id: Id, actor: CurrentActor, pbx: Pbx, if_match: IfMatch = None) -> Response:
    """Remove an employee with their SIP accounts, scheme, sessions and personal contacts; the
    numbers that led to them lead nowhere (the audit entry lists them). 409 `own_account` for
    oneself, `last_administrator` for the last one."""
    directory.remove_employee(pbx, actor, employee_id, expected_version(if_match))
    return Response(status_code=204)


@router.get("/employees/{employee_id}/credentials", response_model=CredentialsOut, tags=["employees"],
            responses=_errors(401, 403, 404),
            dependencies=[administrators("read employees' credentials")])
def read_credentials(employee_id: Id, actor: CurrentActor, pbx: Pbx) -> CredentialsOut:
    """SIP logins with their passwords (reading them is audited). The communicator password
    cannot be read back: generate a new one."""
    creds = directory.read_credentials(pbx, actor, employee_id)
    return CredentialsOut(sip=[SipCredentialsOut(**vars(c)) for c in creds.sip],
                          communicator_password_set=creds.communicator_password_set,
                          communicator_password_set_at=creds.communicator_password_set_at)


@router.post("/employees/{employee_id}/communicator-password", response_model=GeneratedPassword,
             tags=["employees"], responses=_errors(401, 403, 404),
             dependencies=[administrators("set communicator passwords")])
def generate_password(employee_id: Id, actor: CurrentActor, pbx: Pbx) -> GeneratedPassword:
    """Generate a strong communicator password (when empty) or rotate it; the employee's open
    sessions end."""
    return GeneratedPassword(communicator_password=directory.generate_communicator_password(pbx, actor, employee_id))


@router.put("/employees/{employee_id}/outgoing-number", response_model=EmployeeCard, tags=["employees"],
            responses=_errors(401, 403, 404, 412, 422, 428),
            dependencies=[self_or_administrators("choose other employees' outgoing numbers")])
def set_outgoing_number(employee_id: Id, body: OutgoingNumberIn, actor: CurrentActor, pbx: Pbx,
                        response: Response, if_match: IfMatch = None) -> EmployeeCard:
    employee = directory.set_outgoing_number(pbx, actor, employee_id, body.number_id, expected_version(if_match))
    set_etag(response, employee.version)
    return card_out(employee)


@router.put("/groups/administrators/members/{employee_id}", response_model=EmployeeCard, tags=["employees"],
            responses=_errors(401, 403, 404),
            dependencies=[administrators("change who is in Administrators")])
def add_administrator(employee_id: Id, actor: CurrentActor, pbx: Pbx) -> EmployeeCard:
    return card_out(directory.set_administrator(pbx, actor, employee_id, True))


@router.delete("/groups/administrators/members/{employee_id}", response_model=EmployeeCard, tags=["employees"],
               responses=_errors(401, 403, 404, 409),
               dependencies=[administrators("change who is in Administrators")])
def remove_administrator(employee_id: Id, actor: CurrentActor, pbx: Pbx) -> EmployeeCard:
    return card_out(directory.set_administrator(pbx, actor, employee_id, False))


# --- numbers and PBX settings ------------------------------------------------------------------
@router.get("/numbers", response_model=NumbersOut, tags=["numbers"], responses=_errors(401))
def list_numbers(actor: CurrentActor, pbx: Pbx) -> NumbersOut:
    with pbx.sessions() as s:
        buy_url = settings.get(s, "buy_numbers_url")
    return NumbersOut(numbers=[NumberOut.model_validate(n) for n in directory.list_numbers(pbx, actor)],
                      buy_numbers_url=buy_url)


@router.post("/numbers", response_model=NumberOut, status_code=201, tags=["numbers"],
             responses=_errors(401, 403, 404, 409, 422),
             dependencies=[administrators("add the PBX's numbers")])
def add_number(body: NumberIn, actor: CurrentActor, pbx: Pbx) -> NumberOut:
    return NumberOut.model_validate(directory.add_number(pbx, actor, body.number, body.label,
                                                         body.inbound_employee_id))


@router.delete("/numbers/{number_id}", status_code=204, tags=["numbers"], responses=_errors(401, 403, 404),
               dependencies=[administrators("remove the PBX's numbers")])
def delete_number(number_id: Id, actor: CurrentActor, pbx: Pbx) -> Response:
    directory.delete_number(pbx, actor, number_id)
    return Response(status_code=204)


def _settings_out(values: dict[str, str]) -> SettingsOut:
    return SettingsOut(region=values["region"], buy_numbers_url=values["buy_numbers_url"], trunk=values["trunk"],
                       sip_proxy=values["sip_proxy"], timezone=values["timezone"],
                       max_ring_timeout_s=MAX_RING_TIMEOUT_S,
                       shortened_days_end_earlier=values["shortened_days_end_earlier"] == "1",
                       version=int(values["version"]))


@router.get("/settings", response_model=SettingsOut, tags=["numbers"], responses=_errors(401, 403),
            dependencies=[administrators("read the PBX settings")])
def get_settings(actor: CurrentActor, pbx: Pbx, response: Response) -> SettingsOut:
    with pbx.sessions() as s:
        out = _settings_out(settings.read_all(s))
    set_etag(response, out.version)
    return out


@router.patch("/settings", response_model=SettingsOut, tags=["numbers"], responses=_errors(401, 403, 412, 422, 428),
              dependencies=[administrators("change the PBX settings")])
def patch_settings(body: SettingsPatch, actor: CurrentActor, pbx: Pbx, response: Response,
                   if_match: IfMatch = None) -> SettingsOut:
    version = expected_version(if_match)
    out = _settings_out(settings.change(pbx, actor, body.model_dump(exclude_none=True), version))
    set_etag(response, out.version)
    return out


# --- contacts ----------------------------------------------------------------------------------
def _contact_routes(book: str) -> None:
    base = f"/contacts/{book}"
    tag = ["contacts"]
    write_errors = (401, 403, 422) if book == contacts.COMPANY else (401, 422)
    writers = [administrators("change the company address book")] if book == contacts.COMPANY else []

    @router.get(base, response_model=list[ContactOut], tags=tag, responses=_errors(401), name=f"list_{book}")
    def list_(actor: CurrentActor, pbx: Pbx) -> list[ContactOut]:
        return [ContactOut.model_validate(c) for c in contacts.list_contacts(pbx, actor, book)]

    @router.post(base, response_model=ContactOut, status_code=201, tags=tag, responses=_errors(*write_errors),
                 name=f"add_{book}", dependencies=writers)
    def add(body: ContactIn, actor: CurrentActor, pbx: Pbx, response: Response) -> ContactOut:
        contact = contacts.add_contact(pbx, actor, book, name=body.name, number=body.number, note=body.note)
        set_etag(response, contact.version)
        return ContactOut.model_validate(contact)

    @router.patch(base + "/{contact_id}", response_model=ContactOut, tags=tag,
                  responses=_errors(*write_errors, 404, 412, 428), name=f"patch_{book}",
                  dependencies=writers)
    def patch(contact_id: Id, body: ContactPatch, actor: CurrentActor, pbx: Pbx, response: Response,
              if_match: IfMatch = None) -> ContactOut:
        contact = contacts.update_contact(pbx, actor, book, contact_id, expected_version(if_match),
                                          body.model_dump(exclude_none=True))
        set_etag(response, contact.version)
        return ContactOut.model_validate(contact)

    @router.delete(base + "/{contact_id}", status_code=204, tags=tag, responses=_errors(*write_errors, 404),
                   name=f"delete_{book}", dependencies=writers)
    def delete(contact_id: Id, actor: CurrentActor, pbx: Pbx) -> Response:
        contacts.delete_contact(pbx, actor, book, contact_id)
        return Response(status_code=204)


_contact_routes(contacts.COMPANY)
_contact_routes(contacts.PERSONAL)


@router.get("/lookup", response_model=LookupOut, tags=["contacts"], responses=_errors(401, 404, 422))
def lookup(actor: CurrentActor, pbx: Pbx,
           number: Annotated[str, Query(min_length=1, max_length=64)]) -> LookupOut:
    """Who has this number, as the caller's name for this employee: a colleague, the company
    book, then the employee's own contacts."""
    found = contacts.lookup(pbx, actor, number)
    if found is None:
        raise NotFound("Nobody known has this number.", code="unknown_number")
    return LookupOut(name=found.name, source=found.source)


# --- audit -------------------------------------------------------------------------------------
@router.get("/audit", response_model=list[AuditEntryOut], tags=["audit"], responses=_errors(401, 403, 422),
            dependencies=[administrators("read the audit log")])
def read_audit(actor: CurrentActor, pbx: Pbx,
               after_id: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               employee_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description=(
                   "Entries made by this employee or about them (their card, scheme, SIP accounts)"))] = None,
               resource: Annotated[str | None, Query(min_length=1, max_length=32, description=(
                   "employee, scheme, credentials, settings, calendar, numbers, contacts.company, …"))] = None,
               before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description=(
                   "Newest first, older than this id (the cabinet's pages); after_id is then ignored"))] = None
               ) -> list[AuditEntryOut]:
    """Oldest first from `after_id` (how the apps follow the log), or newest first before
    `before_id`; filtered by employee and resource."""
    query = select(AuditEntry)
    if employee_id is not None:
        # About an employee: entries on resources keyed by their id, or addressed to their apps.
        query = query.where(or_(AuditEntry.actor_id == employee_id, AuditEntry.audience_id == employee_id,
                                and_(AuditEntry.resource.in_(("employee", "scheme", "credentials")),
                                     AuditEntry.resource_id == employee_id)))
    if resource is not None:
        query = query.where(AuditEntry.resource == resource)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id).order_by(AuditEntry.id.desc())
    else:
        query = query.where(AuditEntry.id > after_id).order_by(AuditEntry.id)
    with pbx.sessions() as s:
        rows = s.scalars(query.limit(limit))
        return [AuditEntryOut(id=r.id, at=r.at, actor=r.actor, action=r.action, resource=r.resource,
                              resource_id=r.resource_id, details=json.loads(r.details)) for r in rows]



# --- receive schemes and ring plans ------------------------------------------------------------
def _scheme_out(scheme, version: int, response: Response) -> SchemeOut:
    set_etag(response, version)
    return SchemeOut(**scheme.to_dict(), version=version)


@router.get("/employees/{employee_id}/scheme", response_model=SchemeOut, tags=["schemes"],
            responses=_errors(401, 403, 404),
            dependencies=[self_or_administrators("read other employees' receive schemes")])
def get_scheme(employee_id: Id, actor: CurrentActor, pbx: Pbx, response: Response) -> SchemeOut:
    """The receive scheme (an employee reads their own, administrators anyone's)."""
    return _scheme_out(*schemes.get_scheme(pbx, actor, employee_id), response)


@router.put("/employees/{employee_id}/scheme", response_model=SchemeOut, tags=["schemes"],
            responses=_errors(401, 403, 404, 412, 422, 428),
            dependencies=[administrators("change receive schemes")])
def put_scheme(employee_id: Id, body: SchemeModel, actor: CurrentActor, pbx: Pbx, response: Response,
               if_match: IfMatch = None) -> SchemeOut:
    """Replace the whole scheme (Administrators). 422 lists every problem with its path. What
    GET returned may be sent back as it is, `version` included."""
    version = expected_version(if_match)
    if body.version is not None:
        if version is None:
            version = body.version
        elif version != body.version:
            raise InvalidInput.field("version", "version_mismatch",
                                     f"The body says version {body.version} but If-Match says {version}: "
                                     "send the ETag of the scheme you read.")
    document = body.model_dump(mode="json", exclude={"version", "do_not_disturb_until"})
    return _scheme_out(*schemes.replace_scheme(pbx, actor, employee_id, version, document), response)


@router.patch("/employees/{employee_id}/scheme", response_model=SchemeOut, tags=["schemes"],
              responses=_errors(401, 403, 404, 412, 422, 428),
              dependencies=[administrators("change receive schemes")])
def patch_scheme(employee_id: Id, body: SchemePatch, actor: CurrentActor, pbx: Pbx, response: Response,
                 if_match: IfMatch = None) -> SchemeOut:
    """Switch the mode: main_only, all_at_once or in_turn (Administrators)."""
    return _scheme_out(*schemes.set_mode(pbx, actor, employee_id, expected_version(if_match), body.mode), response)


@router.patch("/employees/{employee_id}/scheme/devices/{device_id}", response_model=SchemeOut, tags=["schemes"],
              responses=_errors(401, 403, 404, 412, 422, 428),
              dependencies=[administrators("change receive schemes")])
def patch_device(employee_id: Id, device_id: Annotated[str, Path(min_length=1, max_length=64)], body: DevicePatch,
                 actor: CurrentActor, pbx: Pbx, response: Response, if_match: IfMatch = None) -> SchemeOut:
    """Switch a device on or off, or change its ring timeout (Administrators)."""
    return _scheme_out(*schemes.set_device(pbx, actor, employee_id, expected_version(if_match), device_id,
                                           active=body.active, ring_timeout_s=body.ring_timeout_s), response)


@router.post("/employees/{employee_id}/sip-accounts", response_model=SipCredentialsOut, status_code=201,
             tags=["schemes"], responses=_errors(401, 403, 404, 422),
             dependencies=[administrators("add SIP accounts")])
def add_sip_account(employee_id: Id, body: SipAccountIn, actor: CurrentActor, pbx: Pbx) -> SipCredentialsOut:
    """Another SIP login for the employee (a desk phone); it joins their scheme as a device."""
    return SipCredentialsOut(**vars(schemes.add_sip_account(pbx, actor, employee_id, body.username)))


@router.delete("/employees/{employee_id}/sip-accounts/{username}", status_code=204, tags=["schemes"],
               responses=_errors(401, 403, 404, 409),
               dependencies=[administrators("remove SIP accounts")])
def delete_sip_account(employee_id: Id, username: Annotated[str, Path(min_length=1, max_length=64)],
                       actor: CurrentActor, pbx: Pbx) -> Response:
    """Take a desk phone's SIP login away (and its device out of the scheme). 409
    `main_sip_account` for the login named after the extension."""
    schemes.remove_sip_account(pbx, actor, employee_id, username)
    return Response(status_code=204)


@router.get("/employees/{employee_id}/ringplan", tags=["schemes"], responses=_errors(401, 403, 404, 422),
            dependencies=[self_or_administrators("preview other employees' ring plans")])
def get_ring_plan(employee_id: Id, actor: CurrentActor, pbx: Pbx,
                  at: Annotated[dt.datetime | None, Query(description=(
                      "ISO 8601; with an offset an instant, without one a wall-clock time in the scheme's "
                      "zone; default now"))] = None
                  ) -> dict:
    """Who rings at `at`, and why the others do not: the steps (parallel or one by one, with
    each device's timeout; 0 = until answered, bounded by `limit_s`), every device left out
    with its reason, what the caller hears when nobody rings, and `notices`: a local time that
    does not exist (moved), a ring until answered, a calendar year never imported."""
    moment = at or dt.datetime.now(dt.UTC)
    return schemes.ring_plan(pbx, actor, employee_id, moment).to_dict()


# --- the production calendar -------------------------------------------------------------------
def _calendar_out(calendar, version: int, response: Response) -> CalendarOut:
    set_etag(response, version)
    return CalendarOut(version=version, days=[CalendarDayModel(date=d.day, kind=str(d.kind), holiday=d.holiday,
                                                               moved_from=d.moved_from) for d in calendar.days])


def _day(day: dt.date, body: CalendarDayIn) -> CalendarDay:
    try:
        return CalendarDay(day, DayKind(body.kind), body.holiday, body.moved_from)
    except (ValueError, CalendarError) as e:
        raise InvalidInput.field("kind", "invalid_day", f"Not a calendar day: {e}") from None


@router.get("/calendar", response_model=CalendarOut, tags=["calendar"], responses=_errors(401, 422))
def get_calendar(actor: CurrentActor, pbx: Pbx, response: Response,
                 year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> CalendarOut:
    return _calendar_out(*calendar_store.read(pbx, year), response)


@router.put("/calendar/days/{day}", response_model=CalendarOut, tags=["calendar"],
            responses=_errors(401, 403, 412, 422, 428),
            dependencies=[administrators("change the production calendar")])
def put_calendar_day(day: dt.date, body: CalendarDayIn, actor: CurrentActor, pbx: Pbx, response: Response,
                     if_match: IfMatch = None) -> CalendarOut:
    """Make one day a day off, a working day or a shortened day (Administrators)."""
    return _calendar_out(*calendar_store.set_day(pbx, actor, expected_version(if_match), _day(day, body)), response)


@router.delete("/calendar/days/{day}", response_model=CalendarOut, tags=["calendar"],
               responses=_errors(401, 403, 412, 422, 428),
               dependencies=[administrators("change the production calendar")])
def delete_calendar_day(day: dt.date, actor: CurrentActor, pbx: Pbx, response: Response,
                        if_match: IfMatch = None) -> CalendarOut:
    """Give a day back to the default (Mon–Fri working)."""
    return _calendar_out(*calendar_store.clear_day(pbx, actor, expected_version(if_match), day), response)


@router.post("/calendar/import", response_model=CalendarOut, tags=["calendar"],
             responses=_errors(401, 403, 412, 422, 428),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/xml": {"schema": {"type": "string"}}}}},
             dependencies=[administrators("change the production calendar")])
async def import_calendar(request: Request, actor: CurrentActor, pbx: Pbx, response: Response,
                          if_match: IfMatch = None) -> CalendarOut:
    """Replace a year from the common XML calendar (<calendar year=…><days><day d="MM.DD" t="1|2|3"/>)."""
    body = await request.body()
    version = expected_version(if_match)
    return _calendar_out(*await anyio.to_thread.run_sync(calendar_store.import_xml, pbx, actor, version, body),
                         response)
