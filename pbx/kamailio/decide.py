"""What the Talker PBX does with a SIP request: the decisions of Kamailio's routing, with no I/O.

The KEMI adapter (pbx/kamailio/routing.py) reads a request's facts from Kamailio, asks a function
here what to do, and carries the answer out; the answers come from the facts and from a `Lookups`
object (pbx/kamailio/store.py in Kamailio: the database and its caches; a plain object in tests).
Like pbx.ringplan, this module is imported by Kamailio's embedded interpreter (Debian's system
Python): standard library and pbx.ringplan only, no I/O, no global state.

What it decides
---------------
* A call to an employee - R-URI user = their extension, or one of the PBX's numbers (DIDs)
  routed to them - from a PBX user or from the trunk gateway: the employee's ring plan
  (`RingEmployee`), or 480 when nobody can ring. A request other than INVITE to an employee
  (presence, messages) goes to the devices registered under the extension (`RingAccount`).
* A call from a PBX user to any other number: to the trunk gateway (`CallTrunk`), with the
  caller's outgoing number as caller ID; 503 when no trunk is set, 403 for anything but an
  INVITE or an unknown caller.
* What comes from the trunk reaches only the PBX's numbers and extensions: never the trunk again
  (404), and never a SIP account that is no extension.
* A call to a SIP account's username that is no extension rings that account alone.
* An R-URI that is not the PBX's own: 403 (the PBX is nobody's outbound proxy); a user part that
  is no extension or number: 404.
* A request inside a dialog (it has a To tag) is relayed only along a Route this PBX
  record-routed and signed for that very dialog (dialog_token: Call-ID, the caller's tag and
  the kinds of party at each end), and only towards the kind of party at the dialog's other
  end; the trunk's side is reached only at the trunk gateway. Anything else gets 403 (an
  employee who authenticates may still end a dialog the PBX did not sign, towards a phone).
  So a made-up To tag, a Route to another host or a Route borrowed from another call reaches
  neither the trunk nor anybody's phone.
* A leg (one device of a ring plan in a transaction of its own, see routing.py) is accepted
  only from Kamailio itself, signed for the very call.

SQL is not built here, but what reaches the lookups has matched a strict pattern first
(extensions, usernames, E.164 numbers): Kamailio's sqlops has no bound parameters.
"""

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pbx.ringplan import E164_RE, SIP_USER_RE, Scheme

_EXTENSION_RE = re.compile(r"[0-9]{2,6}")                # pbx/validation.py EXTENSION_RE
_NUMBER_RE = re.compile(r"\+?([1-9][0-9]{6,14})")        # E.164, "+" optional from a dial pad
_LEG_PARAM = ";talker-leg="
_LEG_RE = re.compile(r"([se])\.([0-9]{1,6})\.(\+?[0-9]{1,15}|-)\.([0-9a-f]{32})")


# --- classification, leg tokens, plan encoding ---------------------------------------------
def classify_target(user: str | None) -> tuple[str, str] | None:
    """("extension", "102"), ("number", "+74951234567") - a number as dialled, with or
    without "+" - or None for anything else."""
    if not user:
        return None
    if _EXTENSION_RE.fullmatch(user):
        return ("extension", user)
    if _NUMBER_RE.fullmatch(user):
        return ("number", user)
    return None


def as_e164(number: str) -> str:
    """How the PBX stores a number (pbx_number.number): trunks often drop the "+"."""
    return number if number.startswith("+") else "+" + number


def leg_signature(secret: bytes, call_id: str, address: str, fields: str) -> str:
    msg = "\n".join((call_id, address, fields)).encode("utf-8", "surrogateescape")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:32]


def leg_uri(secret: bytes, call_id: str, host: str, port: int, kind: str, address: str, timeout_s: int,
            caller_id: str | None) -> str:
    """A URI of Kamailio itself that stands for one device of a ring plan."""
    fields = "%s.%d.%s" % ("s" if kind == "sip" else "e", timeout_s, caller_id or "-")
    sig = leg_signature(secret, call_id, address, fields)
    return "sip:%s@%s:%d%s%s.%s" % (address, host, port, _LEG_PARAM, fields, sig)


def parse_leg(secret: bytes, call_id: str, ruri: str | None,
              ruser: str | None) -> tuple[str, str, int, str | None] | None:
    """(kind, address, timeout_s, caller_id) of a leg URI made by leg_uri, or None."""
    at = ruri.find(_LEG_PARAM) if ruri else -1
    if at < 0 or not ruri or not ruser:
        return None
    m = _LEG_RE.fullmatch(ruri[at + len(_LEG_PARAM):].split(";", 1)[0])
    if not m:
        return None
    kind, timeout_s, caller_id, sig = m.groups()
    fields = "%s.%s.%s" % (kind, timeout_s, caller_id)
    if not hmac.compare_digest(sig, leg_signature(secret, call_id, ruser, fields)):
        return None
    kind = "sip" if kind == "s" else "external"
    pattern = SIP_USER_RE if kind == "sip" else E164_RE
    if not pattern.fullmatch(ruser):
        return None
    return kind, ruser, int(timeout_s), None if caller_id == "-" else caller_id


# --- dialogs: which in-dialog requests the PBX relays, and where to ---------------------------
# Every dialog the PBX sets up (an INVITE or SUBSCRIBE it relays) is record-routed with a signed
# parameter naming the kind of party at each end. An in-dialog request is relayed only when its
# Route carries that parameter, signed for its own Call-ID and for one of its two tags, and only
# towards a party of the kind at the other end: a request with a forged To tag, or one that
# borrows the Route of another dialog, never reaches the trunk (toll fraud) nor a phone.
PHONE, TRUNK, SELF = "p", "t", "s"   # a phone of the PBX; the trunk gateway; Kamailio's own leg
DIALOG_PARAM = "talker-dlg"
_DIALOG_TOKEN_RE = re.compile(r";\s*talker-dlg=([pts]\.[pts]{1,3}\.[0-9a-f]{32})")


def _dialog_signature(secret: bytes, call_id: str, from_tag: str, up: str, down: str) -> str:
    msg = "\n".join(("dialog", call_id, from_tag, up, down)).encode("utf-8", "surrogateescape")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:32]


def dialog_token(secret: bytes, call_id: str, from_tag: str, up: str, down: Iterable[str]) -> str:
    """The Record-Route parameter of a dialog the PBX sets up: `up` is the kind of party that
    sent the initial request, `down` the kinds it may reach (PHONE, TRUNK, SELF), signed with
    the Call-ID and the caller's From tag (the callee's tag is not known yet)."""
    down = "".join(sorted(set(down)))
    return "%s.%s.%s" % (up, down, _dialog_signature(secret, call_id, from_tag, up, down))


def first_dialog_token(route_headers: str | None) -> str | None:
    """The dialog token of the topmost Route entry that carries one (an outbound-proxy Route
    without one may stand above it), or None."""
    m = _DIALOG_TOKEN_RE.search(route_headers or "")
    return m.group(1) if m else None


def verify_dialog(secret: bytes, call_id: str, from_tag: str | None, to_tag: str | None,
                  token: str | None) -> tuple[frozenset[str], frozenset[str]] | None:
    """(sender kinds, kinds the request may go to) of an in-dialog request whose Route carries
    `token`, or None when the PBX did not sign it for this dialog. A request whose From tag is
    the signed one comes from the dialog's caller and goes towards the callee's end; one whose
    To tag is comes from the callee and goes back towards the caller."""
    if not token:
        return None
    up, down, sig = token.split(".")
    if from_tag and hmac.compare_digest(sig, _dialog_signature(secret, call_id, from_tag, up, down)):
        return frozenset(up), frozenset(down)
    if to_tag and hmac.compare_digest(sig, _dialog_signature(secret, call_id, to_tag, up, down)):
        return frozenset(down), frozenset(up)
    return None


def step_ends(steps: list[dict[str, Any]]) -> set[str]:
    """The kinds of party a call's ring plan can be answered by: a SIP device directly (a leg
    to a SIP device does not record-route, so in-dialog requests go straight to the phone), or
    Kamailio itself for an external number (its leg record-routes towards the trunk)."""
    ends = set()
    for step in steps:
        for kind, _, _ in step["d"]:
            ends.add(PHONE if kind == "sip" else SELF)
    return ends or {PHONE}


def encode_steps(plan_steps: Iterable[Iterable[tuple[str, str, int]]]) -> list[dict[str, Any]]:
    """The plan's steps as relayed: each {"t": timeout for a direct step or None for legs,
    "d": [[kind, address, timeout_s], ...]}. A step is direct when it can be timed by the call
    transaction's own timer: SIP devices only, all with the same timeout."""
    out: list[dict[str, Any]] = []
    for devices in plan_steps:
        devs = [[kind, address, int(timeout_s)] for kind, address, timeout_s in devices]
        if not devs:
            continue
        timeouts = {d[2] for d in devs}
        direct = all(d[0] == "sip" for d in devs) and len(timeouts) == 1
        out.append({"t": devs[0][2] if direct else None, "d": devs})
    return out


def caller_id_for(did: str | None, outgoing: str | None, first_number: str | None, extension: str) -> str:
    """The number a call towards the trunk shows: the DID the call came in on, else the
    employee's chosen outgoing number, else the PBX's first number, else the extension."""
    for candidate in (did, outgoing, first_number):
        if candidate and E164_RE.fullmatch(candidate):
            return candidate
    return extension


def split_host_port(value: str) -> tuple[str, int]:
    """("host", port) of a setting like "gw.example:5070", "[2001:db8::1]" or "10.0.0.1"."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    return host, int(port) if port else 5060


def whole_minute_schedules(scheme: Scheme) -> bool:
    """True when no schedule window of the scheme starts or ends inside a minute. Zone offsets
    and DST changes fall on whole minutes too, so such a scheme's plan only changes at one.
    The end of a do-not-disturb counts too (the PBX sets whole minutes; a hand-made document may
    not)."""
    quiet = scheme.do_not_disturb_until
    if quiet is not None and (quiet.second or quiet.microsecond):
        return False
    for device in scheme.devices:
        for rule in (device.schedule.rules if device.schedule is not None else ()):
            for w in rule.windows:
                if w.start.second or w.start.microsecond or w.end.second or w.end.microsecond:
                    return False
    return True


def _ip_literal(host: str) -> str | None:
    """The canonical text of an IP address literal, or None for a name."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _same_endpoint(ip: str, port: int | str | None, addr: tuple[str, int]) -> bool:
    """Whether a URI's (resolved) host and port are the address `addr` = (IP, port)."""
    try:
        port = int(port) if port else 5060
    except ValueError:
        return False
    return (_ip_literal(ip) or ip) == (_ip_literal(addr[0]) or addr[0]) and port == addr[1]


def _uri_host(ip: str) -> str:
    return "[%s]" % ip if ":" in ip else ip


# Identity a sender asserts about itself (RFC 3325 P-Asserted/P-Preferred-Identity, and the
# older Remote-Party-ID): the PBX sets it from the authenticated account, never passes a phone's.
IDENTITY_HEADERS = ("P-Asserted-Identity", "P-Preferred-Identity", "Remote-Party-ID")


# --- what the adapter is told to do ------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """Answer the request statelessly. `log`: a line for Kamailio's log (why), or None."""
    code: int
    reason: str
    log: str | None = None


@dataclass(frozen=True)
class Refuse:
    """403 Forbidden for a request inside a dialog (nothing for an ACK), logged with `why`."""
    why: str


@dataclass(frozen=True)
class Drop:
    """No reply at all (an ACK that belongs to nothing)."""


@dataclass(frozen=True)
class Authenticate:
    """The request may go on only when its sender passes digest authentication."""


@dataclass(frozen=True)
class RingAccount:
    """Relay to the contacts registered under the R-URI user (`extension`: set it first)."""
    up: str
    extension: str | None = None
    log: str | None = None


@dataclass(frozen=True)
class RingEmployee:
    """Execute a ring plan: `steps` as encode_steps makes them; `ends` for the Record-Route;
    `employee_id`: whose plan it is (a call none of its devices takes is recorded for them)."""
    steps: list[dict[str, Any]]
    caller_id: str
    up: str
    ends: frozenset[str]
    employee_id: int | None = None


@dataclass(frozen=True)
class Unreached(Reply):
    """480 to the caller, and the call recorded for employee `employee_id`: their plan rings no
    device now, so the app can show them whom they missed while they could not be reached."""
    employee_id: int = 0


@dataclass(frozen=True)
class CallTrunk:
    number: str
    trunk: str
    caller_id: str
    username: str


@dataclass(frozen=True)
class Relay:
    """Relay along the Route; `destination`: the next hop to force first (the trunk gateway)."""
    destination: str | None
    strip_identity: bool


@dataclass(frozen=True)
class Leg:
    kind: str
    address: str
    timeout_s: int
    caller_id: str | None
    trunk: str | None  # where an external device is reached


NOT_FOUND = Reply(404, "Not Found")
UNAVAILABLE = Reply(480, "Temporarily Unavailable")
NO_TRUNK = Reply(503, "No Trunk Configured")
RELAYING_FORBIDDEN = Reply(403, "Relaying Forbidden")
ONLY_CALLS_TO_TRUNK = Reply(403, "Only Calls Go To The Trunk")
UNKNOWN_CALLER = Reply(403, "Unknown Caller")
FORBIDDEN = Reply(403, "Forbidden")


# What is kept of a caller who reached nobody: their number as the From header gives it (an
# extension, a national or E.164 number); anything else is kept as "" (unknown).
CALLER_NUMBER_RE = re.compile(r"\+?[0-9]{1,32}")


def recorded_caller(from_user: str | None) -> str:
    return from_user if from_user and CALLER_NUMBER_RE.fullmatch(from_user) else ""


class DbError(RuntimeError):
    """The lookups could not read the database."""


# Kamailio 5.6's db_sqlite sets no busy timeout: a write while another connection holds SQLite's
# write lock (the PBX saving a change, another Kamailio worker) fails at once with "database is
# locked". A REGISTER then got 500 and a missed call went unrecorded. Writes are tried again
# after these pauses (half a second in all; the PBX's own transactions hold the lock for
# milliseconds), which hold up only the one worker; a REGISTER waits for the lock before usrloc
# writes (routing.py: Router._wait_for_write_lock). On PostgreSQL a write waits for locks
# itself, and a failure is a real one, tried as often.
WRITE_RETRY_PAUSES_S = (0.005, 0.01, 0.02, 0.04, 0.08, 0.1, 0.1, 0.15)


class Lookups(Protocol):
    """What the decisions need to know beyond the request (pbx/kamailio/store.py)."""

    def employee_by_extension(self, extension: str) -> dict[str, Any] | None: ...
    def employee_by_number(self, e164: str) -> dict[str, Any] | None: ...
    def is_account(self, username: str) -> bool: ...
    def caller(self, username: str) -> dict[str, Any] | None: ...
    def setting(self, name: str) -> str: ...
    def plan(self, employee: dict[str, Any]) -> list[dict[str, Any]]: ...


# --- an initial request (no To tag), once its sender is known ------------------------------------
@dataclass(frozen=True)
class Initial:
    method: str
    ruser: str | None
    ruri_is_myself: bool
    from_trunk: bool
    from_user: str | None  # = the digest user for a PBX user (auth_check flag 1)


def route_initial(req: Initial, lookups: Lookups) -> Reply | RingAccount | RingEmployee | CallTrunk:
    """Where a call or other initial request from a PBX user or the trunk goes."""
    if not req.ruri_is_myself:
        # We are nobody's outbound proxy: the PBX routes only to its own users and numbers.
        return RELAYING_FORBIDDEN
    target = classify_target(req.ruser)
    if target is None:
        return NOT_FOUND
    kind, value = target
    up = TRUNK if req.from_trunk else PHONE

    if kind == "extension":
        try:
            employee = lookups.employee_by_extension(value)
        except DbError as e:
            # Without the database the best left is the account named like the extension.
            return RingAccount(up, log="%s: ringing %s's own account" % (e, value))
        if employee is None:
            if not req.from_trunk and lookups.is_account(value):
                return RingAccount(up)
            return NOT_FOUND
        did = None
    else:
        did = as_e164(value)
        employee = lookups.employee_by_number(did)
        if employee is None:
            if req.from_trunk:
                # Only the PBX's own numbers are reachable from the trunk: never back out.
                return NOT_FOUND
            return _outgoing(req, value, lookups)

    if req.method != "INVITE":
        # Presence, messages: to the devices registered under the extension.
        return RingAccount(up, extension=employee["extension"])
    steps = lookups.plan(employee)
    if not steps:
        return Unreached(UNAVAILABLE.code, UNAVAILABLE.reason, employee_id=employee["id"])
    return RingEmployee(steps, caller_id_for(did, employee["outgoing"], employee["first_number"],
                                             employee["extension"]),
                        up, frozenset(step_ends(steps)), employee["id"])


def _outgoing(req: Initial, number: str, lookups: Lookups) -> Reply | CallTrunk:
    if req.method != "INVITE":
        return ONLY_CALLS_TO_TRUNK
    trunk = lookups.setting("trunk")
    if not trunk:
        return NO_TRUNK
    caller = None
    if req.from_user and SIP_USER_RE.fullmatch(req.from_user):
        caller = lookups.caller(req.from_user)
    if caller is None or not req.from_user:
        return UNKNOWN_CALLER
    return CallTrunk(number, trunk, caller_id_for(None, caller["outgoing"], caller["first_number"],
                                                  caller["extension"]), req.from_user)


# --- a request inside a dialog ------------------------------------------------------------------
@dataclass(frozen=True)
class InDialog:
    is_ack: bool
    call_id: str
    from_tag: str | None
    to_tag: str | None
    route: str | None  # every Route header's value
    from_trunk: bool
    from_myself: bool


def dialog_ends(secret: bytes,
                req: InDialog) -> tuple[frozenset[str], frozenset[str]] | Drop | Refuse | Authenticate:
    """(sender kinds, kinds it may reach) of an in-dialog request, or what to do instead:
    Drop, Refuse, or Authenticate (then it is a request between phones)."""
    ends = verify_dialog(secret, req.call_id, req.from_tag, req.to_tag, first_dialog_token(req.route))
    if ends is None:
        if req.is_ack:
            return Drop()  # no reply to an ACK
        if req.from_trunk:
            return Refuse("no dialog of the PBX from the trunk")
        # An authenticated employee may still end a dialog whose Route the PBX did not sign
        # (one set up before a change of the signing key): between phones only.
        return Authenticate()
    if ends[0] == {SELF} and not req.from_myself:
        return Refuse("a leg's Route from outside")
    return ends


BETWEEN_PHONES = (frozenset(PHONE), frozenset(PHONE))


def next_hop(dest_is_myself: bool, host: str | None, port: int | str | None, trunk_address: tuple[str, int] | None,
             resolve: Callable[[str], str | None]) -> str:
    """The kind of party a relayed request would reach (PHONE, TRUNK, SELF), or None when it
    would reach nobody. `dest_is_myself`: whether the next Route (else the R-URI) is Kamailio;
    `host`, `port`: that hop; `trunk_address`: (IP, port) or None; `resolve`: host -> IP or None."""
    if dest_is_myself:
        return SELF
    if trunk_address is not None and host is not None and _same_endpoint(resolve(host) or host, port, trunk_address):
        return TRUNK
    return PHONE


def relay_in_dialog(targets: frozenset[str], hop: str | None, trunk_address: tuple[str, int] | None,
                    from_trunk: bool) -> Refuse | Relay:
    """Relay or Refuse an in-dialog request that loose routing sends towards `hop`."""
    destination = None
    if hop != TRUNK and targets == {TRUNK}:
        # The trunk's side of a dialog is reached only at the trunk gateway, whatever host its
        # Contact names.
        if trunk_address is None:
            return Refuse("the trunk is gone")
        destination = "sip:%s:%d" % (_uri_host(trunk_address[0]), trunk_address[1])
        hop = TRUNK
    if hop not in targets:
        return Refuse("towards %s, the dialog ends at %s" % (hop, "".join(sorted(targets))))
    # Who a phone is was settled when the dialog was set up; it asserts nothing later.
    return Relay(destination, strip_identity=not from_trunk)


# --- a leg ----------------------------------------------------------------------------------------
def route_leg(secret: bytes, from_myself: bool, is_invite: bool, call_id: str, ruri: str | None, ruser: str | None,
              trunk: str | None) -> Reply | Leg:
    """A Leg to relay, or the reply. Only Kamailio itself makes legs: from its own socket,
    signed for this very call."""
    leg = parse_leg(secret, call_id, ruri, ruser) if from_myself and is_invite else None
    if leg is None:
        return FORBIDDEN
    kind, address, timeout_s, caller_id = leg
    if kind == "external" and not trunk:
        return NO_TRUNK
    return Leg(kind, address, timeout_s, caller_id, trunk if kind == "external" else None)


def is_leg(ruri: str | None) -> bool:
    return ruri is not None and _LEG_PARAM in ruri


def timeout_ms(timeout_s: int, cap_ms: int) -> int:
    """A device's ring timeout as tm's timer: 0 (ring forever) and anything longer is the cap."""
    return min(timeout_s * 1000, cap_ms) if timeout_s else cap_ms


def is_source(address: tuple[str, int] | None, ip: str | None, port: int | None) -> bool:
    """Whether a request's source ($si, $sp) is `address` = (IP, port) as the store gives it."""
    return address is not None and ip == address[0] and port == address[1]
