"""The shapes of the API's requests and responses: the OpenAPI document is generated from these."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from pbx.prodcalendar import DayKind
from pbx.ringplan import MAX_RING_TIMEOUT_S, DeviceKind, Mode


# No control characters but tab and newline in any text field: they have no business there, and
# PostgreSQL refuses NUL outright. A pattern, so that the OpenAPI document says so too.
_NO_CONTROLS = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"


def _one_of(choices) -> dict:
    """The OpenAPI document lists the values (from the one enum in pbx/ringplan.py or
    pbx/prodcalendar.py); the PBX's own check refuses any other with its stable code (422)."""
    return {"enum": [c.value for c in choices]}


# The ring timeout the PBX accepts; the request model itself only keeps integers in 32 bits,
# so that a value beyond is refused with the scheme's own code (bad_timeout), like any other.
_RING_TIMEOUT = {"minimum": 0, "maximum": MAX_RING_TIMEOUT_S}


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - reads like a type in the models
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=_NO_CONTROLS)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


# --- errors ------------------------------------------------------------------------------------
class Problem(Model):
    field: str
    code: str
    message: str


class ErrorBody(Model):
    code: str = Field(description="Stable, machine-readable: see docs/pbx-api.md")
    message: str = Field(description="One English sentence")
    fields: list[Problem] = Field(default_factory=list, description="Field-level reasons (422)")
    retry_after_s: int | None = None
    value: str | None = Field(None, description="The value a 409 *_taken is about")
    owner: str | None = Field(None, description="Who has that value already (extension_taken, mobile_taken, "
                                                "email_taken): the employee's name")


class ErrorResponse(Model):
    error: ErrorBody


# --- sessions ----------------------------------------------------------------------------------
class LoginRequest(Model):
    login: Text(254, 1) = Field(description="SIP account (101@pbx.local or 101), mobile number or e-mail")
    password: Text(256, 1) = Field(description="The communicator password")


class RefreshRequest(Model):
    refresh_token: Text(256, 1)


class LogoutRequest(Model):
    refresh_token: Text(256, 1) | None = None


class NumberOut(Model):
    id: int
    number: str
    label: str
    inbound_employee_id: int | None = Field(default=None, description="Whose scheme a call to it rings; null: nobody's")


class SipLoginOut(Model):
    username: str
    domain: str
    password: str
    proxy: str = Field(description="host:port of the PBX's SIP proxy")


class Me(Model):
    id: int
    name: str
    extension: str
    mobile: str | None
    email: str | None
    administrator: bool
    outgoing_number: NumberOut | None
    version: int


class LoginResponse(Model):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    employee: Me
    sip: SipLoginOut | None


# --- the directory -----------------------------------------------------------------------------
class UnreachedCallOut(Model):
    id: int
    at: dt.datetime = Field(description="When the call came (UTC)")
    caller: str = Field(description="The caller's number as it came (an extension or a phone number); "
                                    "empty if unknown")


class UnreachedCallsOut(Model):
    calls: list[UnreachedCallOut] = Field(description="Newest first: calls that rang none of the employee's "
                                                      "devices (the caller heard 480)")


class DirectoryEntry(Model):
    id: int
    name: str
    extension: str
    mobile: str | None


class EmployeeCard(Me):
    sip_logins: list[str]
    communicator_password_set: bool
    communicator_password_set_at: dt.datetime | None


class EmployeeCreate(Model):
    name: Text(128, 1)
    extension: Text(16, 1)
    mobile: Text(32) | None = None
    email: Text(254) | None = None
    administrator: bool = False


class SipCredentialsOut(Model):
    username: str
    domain: str
    password: str


class EmployeeCreated(Model):
    employee: EmployeeCard
    sip: SipCredentialsOut
    communicator_password: str = Field(description="Shown this once: only its hash is kept")


class EmployeePatch(Model):
    name: Text(128, 1) | None = None
    extension: Text(16, 1) | None = None
    mobile: Text(32) | None = None
    email: Text(254) | None = None


class CredentialsOut(Model):
    sip: list[SipCredentialsOut]
    communicator_password_set: bool
    communicator_password_set_at: dt.datetime | None


class GeneratedPassword(Model):
    communicator_password: str = Field(description="Shown this once: only its hash is kept")


class OutgoingNumberIn(Model):
    number_id: int | None = Field(ge=1, le=2**31 - 1, description="One of GET /numbers, or null for the default")


class NumbersOut(Model):
    numbers: list[NumberOut]
    buy_numbers_url: str = Field(description='Where "Add number…" sends the user; empty if unset')


class NumberIn(Model):
    number: Text(32, 1)
    label: Text(64) = ""
    inbound_employee_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


# --- contacts ----------------------------------------------------------------------------------
class ContactIn(Model):
    name: Text(128, 1)
    number: Text(64, 1)
    note: Text(512) = ""


class ContactPatch(Model):
    name: Text(128, 1) | None = None
    number: Text(64, 1) | None = None
    note: Text(512) | None = None


class ContactOut(Model):
    id: int
    name: str
    number: str
    note: str
    version: int


class PresenceEntry(Model):
    employee_id: int
    state: Literal["on_call", "registered", "unavailable"] = Field(
        description="on_call: in an answered call now; registered: a phone or app of theirs is registered "
                    "now; unavailable: none is")


class LookupOut(Model):
    name: str
    source: str = Field(description="directory | company | personal")


# --- PBX settings and audit --------------------------------------------------------------------
class SettingsOut(Model):
    region: str
    buy_numbers_url: str
    trunk: str
    sip_proxy: str
    timezone: str = Field(description="Of receive-scheme schedules (IANA name)")
    max_ring_timeout_s: int = Field(description="The longest ring timeout a device may have; 0 rings until answered")
    shortened_days_end_earlier: bool = Field(
        description="On shortened (pre-holiday) days the working_days hours of schedules end an hour earlier")
    version: int


class SettingsPatch(Model):
    region: Text(2, 2) | None = None
    buy_numbers_url: Text(1000) | None = None
    trunk: Text(262) | None = None
    timezone: Text(64, 1) | None = None
    shortened_days_end_earlier: bool | None = None


class AuditEntryOut(Model):
    id: int
    at: dt.datetime
    actor: str
    action: str
    resource: str
    resource_id: int | None
    details: dict


# --- receive schemes, ring plans, the production calendar -------------------------------------
class TimeWindowModel(Model):
    start: Text(5, 4) = Field(description="HH:MM, local time of the scheme's time zone")
    end: Text(5, 4) = Field(description="HH:MM; at or before start: the window runs past midnight")


class RuleModel(Model):
    type: Text(16, 1) = Field(description="period | weekdays | calendar")
    start: dt.date | None = Field(default=None, description="period: first day")
    end: dt.date | None = Field(default=None, description="period: last day (included)")
    days: list[Text(3, 3)] | Text(16, 1) | None = Field(
        default=None, description='weekdays: ["mon", …]; calendar: "working_days" or "days_off"')
    windows: list[TimeWindowModel] = Field(default_factory=list, description="none: the whole day")


class ScheduleModel(Model):
    rules: list[RuleModel] = Field(description="Any rule that covers the moment lets the device ring (OR)")


class DeviceModel(Model):
    id: Text(64, 1)
    kind: Text(16, 1) = Field(description="sip (an employee's SIP account) | external (a number via the trunk)",
                              json_schema_extra=_one_of(DeviceKind))
    address: Text(32, 1) = Field(description="SIP username, or E.164 for an external number")
    active: bool
    position: int = Field(ge=-(2**31), le=2**31 - 1)
    ring_timeout_s: int = Field(ge=-(2**31), le=2**31 - 1, description="0 rings until answered",
                                json_schema_extra=_RING_TIMEOUT)
    schedule: ScheduleModel | None = Field(default=None, description="none: always")


class SchemeModel(Model):
    mode: Text(16, 1) = Field(description="Who rings: only the main number, all at once, or in turn",
                              json_schema_extra=_one_of(Mode))
    timezone: Text(64, 1)
    devices: list[DeviceModel] = Field(max_length=32)
    do_not_disturb_until: dt.datetime | None = Field(default=None, description=(
        "Nothing rings before this moment (the employee's own switch: PUT /me/do-not-disturb); "
        "a PUT of the scheme leaves it as it is"))
    version: int | None = Field(default=None, description=(
        "As read (optional). The write is based on If-Match; a version here that names another one is "
        "refused (422 version_mismatch); with If-Match: * it is the version the write is based on"))


class SchemeOut(SchemeModel):
    version: int = Field(description="also the ETag")


class DoNotDisturbIn(Model):
    minutes: int = Field(ge=-(2**31), le=2**31 - 1, description=(
        "How long nothing rings for you, 1 to 1440; 0 ends it now"))


class SchemePatch(Model):
    mode: Text(16, 1) = Field(json_schema_extra=_one_of(Mode))


class DevicePatch(Model):
    active: bool | None = None
    ring_timeout_s: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1, json_schema_extra=_RING_TIMEOUT)


class SipAccountIn(Model):
    username: Text(16, 1)


class CalendarDayModel(Model):
    date: dt.date
    kind: Text(16, 1) = Field(description="working | shortened | day_off", json_schema_extra=_one_of(DayKind))
    holiday: Text(128) | None = None
    moved_from: dt.date | None = None


class CalendarDayIn(Model):
    kind: Text(16, 1) = Field(description="working | shortened | day_off", json_schema_extra=_one_of(DayKind))
    holiday: Text(128) | None = None
    moved_from: dt.date | None = None


class CalendarOut(Model):
    version: int
    days: list[CalendarDayModel] = Field(description="The exceptions; every other day is Mon–Fri working")
