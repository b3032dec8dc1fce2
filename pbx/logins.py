"""Logging in to the PBX: by SIP account, mobile number or e-mail, with the communicator password.

A login opens a session: a short-lived access token and a refresh token that rotates on use;
both are kept only as SHA-256 hashes. Both carry the session's id, so that the session ends as
one: a refresh replaces the pair (the old access token stops working), a logout ends both
whichever the client sends, and an open event stream lives as long as the session (see
`live_sessions`).

Repeated failures for one employee (however the login is spelt) from one address lock it for a
while (keyed by both, so nobody can lock a colleague out from elsewhere). A wrong login and a
wrong password get the same answer in the same time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from pbx import audit, passwords, settings
from pbx.audit import Actor
from pbx.db import ApiToken, Employee, LoginFailure, SipAccount, utcnow
from pbx.errors import InvalidInput, LoginLocked, Unauthenticated
from pbx.instance import PbxInstance

ACCESS_TTL = dt.timedelta(minutes=15)
REFRESH_TTL = dt.timedelta(days=30)
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class SipLogin:
    username: str
    domain: str
    password: str
    proxy: str  # host:port the app registers to


@dataclass(frozen=True)
class LoginSession:
    """What a successful login or refresh hands the app."""

    employee: Employee
    access_token: str
    refresh_token: str
    expires_in_s: int
    sip: SipLogin | None


SESSION_ID_HEX = 16  # 64 random bits: unique among the sessions a PBX ever has open at once
_SESSION_ID = re.compile(f"[0-9a-f]{{{SESSION_ID_HEX}}}")


def _new_token(session_id: str) -> str:
    return f"{session_id}.{secrets.token_urlsafe(32)}"


def _token_hash(token: str) -> str:
    """What is stored for a token: its SHA-256, behind the session id when the token has one.
    The id in the clear lets every token of a session be found from any one of them without a
    column of its own; the 188 bits of hash left still make the stored value useless to a reader.
    Tokens from before sessions had ids (no "." in them) keep their whole hash."""
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    session_id, dot, _ = token.partition(".")
    if dot and _SESSION_ID.fullmatch(session_id):
        return f"{session_id}.{digest[:len(digest) - SESSION_ID_HEX - 1]}"
    return digest


def session_key(token: str) -> str:
    """The stored-hash prefix shared by every token of this token's session (for an old token
    without a session id, its whole hash: it is a session of its own)."""
    stored = _token_hash(token)
    return stored[:SESSION_ID_HEX + 1] if "." in stored else stored


def _in_session(key: str):
    return ApiToken.token_hash.startswith(key, autoescape=True)


def _failure_key(login: str, client: str) -> str:
    return hashlib.sha256(f"{login.strip().lower()}|{client}".encode()).hexdigest()


def _with_groups(query):
    return query.options(selectinload(Employee.groups), selectinload(Employee.sip_accounts),
                         selectinload(Employee.outgoing_number))


def find_employee(s: Session, login: str, domain: str, region: str) -> Employee | None:
    """The employee a login names: `101@domain` or `101` (SIP account), an e-mail address,
    or a mobile number in any common format."""
    from pbx import validation

    login = login.strip()
    user, at, host = login.rpartition("@")
    if at and host.lower() == domain.lower():
        account = s.scalar(select(SipAccount).where(SipAccount.username == user, SipAccount.domain == domain))
        if account is not None:
            return s.scalar(_with_groups(select(Employee).where(Employee.id == account.employee_id)))
    if at:
        return s.scalar(_with_groups(select(Employee).where(Employee.email == login.lower())))
    account = s.scalar(select(SipAccount).where(SipAccount.username == login, SipAccount.domain == domain))
    if account is not None:
        return s.scalar(_with_groups(select(Employee).where(Employee.id == account.employee_id)))
    try:
        mobile = validation.phone_number(login, region, "login")
    except InvalidInput:
        return None
    return s.scalar(_with_groups(select(Employee).where(Employee.mobile == mobile)))


def _normal_login(login: str, domain: str, region: str) -> str:
    from pbx import validation

    login = login.strip()
    user, at, host = login.rpartition("@")
    if at:
        return f"sip:{user}" if host.lower() == domain.lower() else login.lower()
    try:
        return validation.phone_number(login, region, "login")
    except InvalidInput:
        return login


def login(pbx: PbxInstance, login_name: str, password: str, client: str) -> LoginSession:
    with pbx.sessions.begin() as s:
        region = settings.get(s, "region")
        employee = find_employee(s, login_name, pbx.domain, region)
        # Count failures per employee, not per spelling of the login: a mobile number has
        # endless spellings, each of which would otherwise get its own five guesses. A login
        # that names nobody is counted by its normal form, so that it locks the same way.
        subject = (f"employee:{employee.id}" if employee is not None
                   else _normal_login(login_name, pbx.domain, region))
        employee_id = employee.id if employee is not None else None
        stored = employee.communicator_password_hash if employee is not None else None
    key = _failure_key(subject, client)
    # Every attempt counts as a failure before its password is checked: guesses sent all at
    # once get no more tries than guesses sent one by one.
    _count_attempt(pbx, key)
    if not passwords.verify_password(password, stored):
        with pbx.sessions.begin() as s:
            # Who was tried, not what was typed: a password put in the login field by mistake
            # must not end up in the audit log.
            audit.record(s, Actor(None, "login", False), "login.failed", "login", employee_id,
                         audience_id=audit.NOBODY, client=client)
        raise Unauthenticated("Wrong login or password.", code="invalid_credentials")
    with pbx.sessions.begin() as s:
        s.execute(delete(LoginFailure).where(LoginFailure.key == key))
        employee = s.scalar(_with_groups(select(Employee).where(Employee.id == employee_id)))
        if employee is None:  # removed meanwhile
            raise Unauthenticated("Wrong login or password.", code="invalid_credentials")
        audit.record(s, Actor(employee.id, employee.name, employee.is_admin), "login", "login",
                     employee.id, audience_id=audit.NOBODY, client=client)
        return _open_session(pbx, s, employee)


def _count_attempt(pbx: PbxInstance, key: str) -> None:
    """Count one more attempt for `key` in a statement of its own (atomic on SQLite and
    PostgreSQL); LoginLocked when it is one too many, or the key is locked."""
    for _ in range(10):
        now = utcnow()
        try:
            with pbx.sessions.begin() as s:
                row = s.execute(update(LoginFailure).where(LoginFailure.key == key)
                                .values(failures=LoginFailure.failures + 1)
                                .returning(LoginFailure.failures, LoginFailure.first_failure_at,
                                           LoginFailure.locked_until)).first()
                if row is None:
                    s.add(LoginFailure(key=key, failures=1, first_failure_at=now))
                    return
                failures, first_at, locked_until = row
                if locked_until is None or locked_until <= now:
                    if locked_until is not None or now - first_at > FAILURE_WINDOW:
                        # A lock or a window that has run out: this attempt starts a new one.
                        s.execute(update(LoginFailure).where(LoginFailure.key == key)
                                  .values(failures=1, first_failure_at=now, locked_until=None))
                        return
                    if failures <= MAX_FAILURES:
                        return
                    locked_until = now + LOCKOUT
                    s.execute(update(LoginFailure).where(LoginFailure.key == key)
                              .values(locked_until=locked_until))
        except IntegrityError:
            continue  # another attempt made the row first: count on it
        retry = max(1, math.ceil((locked_until - now).total_seconds()))
        raise LoginLocked(f"Too many failed logins: try again in {retry} s.", retry)
    raise RuntimeError("the login failure counter kept changing")


def _open_session(pbx: PbxInstance, s: Session, employee: Employee, session_id: str | None = None) -> LoginSession:
    now = utcnow()
    s.execute(delete(ApiToken).where(ApiToken.employee_id == employee.id, ApiToken.expires_at < now))
    session_id = session_id or secrets.token_hex(SESSION_ID_HEX // 2)
    access, refresh = _new_token(session_id), _new_token(session_id)
    s.add_all([
        ApiToken(employee_id=employee.id, kind="access", token_hash=_token_hash(access), expires_at=now + ACCESS_TTL),
        ApiToken(employee_id=employee.id, kind="refresh", token_hash=_token_hash(refresh),
                 expires_at=now + REFRESH_TTL),
    ])
    sip = None
    if employee.sip_accounts:
        account = employee.sip_accounts[0]
        sip = SipLogin(account.username, account.domain, pbx.secret_box.decrypt(account.password_encrypted),
                       settings.get(s, "sip_proxy"))
    return LoginSession(employee, access, refresh, int(ACCESS_TTL.total_seconds()), sip)


def refresh(pbx: PbxInstance, refresh_token: str) -> LoginSession:
    """A new pair of tokens for a valid refresh token, in the same session. The refresh token
    is used up and the session's previous access token stops working: whoever copied either
    of them holds nothing once the app has refreshed."""
    hashed = _token_hash(refresh_token)
    with pbx.sessions.begin() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == hashed, ApiToken.kind == "refresh"))
        now = utcnow()
        # Deleting is the check: of two refreshes racing with one token, only one deletes the row.
        used = row is not None and row.expires_at > now and s.execute(
            delete(ApiToken).where(ApiToken.id == row.id)).rowcount == 1
        if not used:
            raise Unauthenticated("The session has ended: log in again.", code="session_expired")
        key = session_key(refresh_token)
        s.execute(delete(ApiToken).where(_in_session(key), ApiToken.employee_id == row.employee_id))
        employee = s.scalar(_with_groups(select(Employee).where(Employee.id == row.employee_id)))
        session_id = key[:SESSION_ID_HEX] if key.endswith(".") else None
        return _open_session(pbx, s, employee, session_id)


def authenticate(pbx: PbxInstance, access_token: str) -> tuple[Actor, Employee]:
    with pbx.sessions() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(access_token),
                                              ApiToken.kind == "access"))
        if row is None or row.expires_at <= utcnow():
            raise Unauthenticated("Log in first: the access token is missing, wrong or expired.",
                                  code="invalid_token")
        employee = s.scalar(_with_groups(select(Employee).where(Employee.id == row.employee_id)))
        return Actor(employee.id, employee.name, employee.is_admin), employee


def logout(pbx: PbxInstance, access_token: str, refresh_token: str | None) -> None:
    """End this session, access and refresh token alike, whether or not the client sends its
    refresh token (one that names another session of the same employee ends that one too;
    someone else's token, even if known, is not ours to end)."""
    keys = [session_key(access_token)] + ([session_key(refresh_token)] if refresh_token else [])
    with pbx.sessions.begin() as s:
        owner = s.scalar(select(ApiToken.employee_id).where(ApiToken.token_hash == _token_hash(access_token)))
        if owner is not None:
            s.execute(delete(ApiToken).where(or_(*[_in_session(k) for k in keys]), ApiToken.employee_id == owner))


def live_sessions(pbx: PbxInstance, keys: set[str]) -> set[str]:
    """Which of these sessions (`session_key`s) can still be used: a token of theirs is unexpired.
    A session ends at logout, when its refresh token expires, when the employee's password is
    rotated and when the employee is removed."""
    alive: set[str] = set()
    ordered = sorted(keys)
    with pbx.sessions() as s:
        for start in range(0, len(ordered), 200):  # SQLite nests each OR one level deeper
            batch = ordered[start:start + 200]
            stored = s.scalars(select(ApiToken.token_hash).where(
                or_(*[_in_session(k) for k in batch]), ApiToken.expires_at > utcnow()))
            for token_hash in stored:
                alive.update(k for k in batch if token_hash.startswith(k))
    return alive


def revoke_all(s: Session, employee_id: int) -> None:
    s.execute(delete(ApiToken).where(ApiToken.employee_id == employee_id))
