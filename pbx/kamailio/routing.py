"""SIP routing of the Talker PBX, run by Kamailio's app_python3 module (KEMI).

This file is imported by Kamailio's embedded interpreter (Debian's system Python), not by the
venv: it must stay standard-library only, and from the rest of the project it imports only
pbx.ringplan and pbx.prodcalendar (both standard-library only). Its parameters come from a JSON
file whose path Kamailio's environment carries in TALKER_ROUTING_CONFIG (written by
pbx/kamailio/config.py). The database is read through Kamailio's sqlops module, so SQLite and
PostgreSQL both work without a Python database driver.

What it routes
--------------
* REGISTER: digest-authenticated against sip_account, saved in usrloc.
* A call to an employee - R-URI user = their extension, or one of the PBX's numbers (DIDs)
  routed to them - from a PBX user or from the trunk gateway: the employee's receive scheme is
  turned into a ring plan (pbx.ringplan.compute_plan) and executed with tm, see "Executing a
  ring plan" below.
* A call from a PBX user to any other number: to the trunk gateway (setting "trunk"), with the
  caller's outgoing number as caller ID (From, restored by uac in the other direction, and
  P-Asserted-Identity).
* A request whose source is the trunk gateway's host:port needs no digest: the gateway cannot
  answer challenges, and it only ever reaches employees (never the trunk again).
* A call to a SIP account's username that is no extension rings that account alone.
* A request inside a dialog (it has a To tag) is relayed only along a Route this PBX
  record-routed and signed for that very dialog (dialog_token: Call-ID, the caller's tag and
  the kinds of party at each end), and only towards the kind of party at the dialog's other
  end; the trunk's side is reached only at the trunk gateway. Anything else gets 403 (an
  employee who authenticates may still end a dialog the PBX did not sign, towards a phone).
  So a made-up To tag, a Route to another host or a Route borrowed from another call reaches
  neither the trunk nor anybody's phone.
* Identity: what a phone asserts about itself (P-Asserted-Identity, P-Preferred-Identity,
  Remote-Party-ID) is removed; the PBX asserts the authenticated account instead.
* Floods and password guessing: see Router._admitted and kamailio.cfg.tmpl.

Executing a ring plan
---------------------
The caller's INVITE is one transaction (the *call*). Each step of the plan is relayed from it
in turn: the first from the request route, the next from the failure route when every branch
of the step has failed - unless the caller gave up (t_is_canceled). The steps still to come
travel with the transaction in an AVP.

tm has one INVITE timer value per transaction: t_set_fr in a branch route applies to every
branch (docs/platform-notes.md). So a step whose devices all have the same timeout (one SIP device in
turn, main only, or everybody at once with one timeout) is relayed *directly*: the call
transaction's own timer is set to the step's timeout. A step whose devices differ - different
timeouts, or an external number that needs its own caller ID - sends every device to a *leg*:
a URI of Kamailio itself that carries the device, its timeout and an HMAC. Kamailio receives
each leg as a request of its own, so each device gets a transaction, and a timer, of its own;
the leg relays to the device's registered contacts or to the trunk, and its final reply (a
408 when its timer fired) goes back to the call transaction as that branch's reply. A leg does
not record-route (except towards the trunk, see below), so in-dialog requests go from the
caller straight to the answering device, as with a direct step.

* Parallel devices: one answers -> tm cancels the other branches, and each leg cancels its
  device. One declines (603/6xx) -> only that branch ends: t_set_disable_6xx turns off the RFC
  3261 16.7 rule that a 6xx cancels every branch (docs/platform-notes.md: a decline on one phone does not
  cancel the others).
* When every branch of the last step has failed, the caller gets tm's best reply, except that
  a 408 (everybody timed out) becomes 480 Temporarily Unavailable. No step at all: 480.
* Ring forever (timeout 0): the timer and t_set_max_lifetime are the PBX-wide call-setup cap
  (max_call_setup_s), on the call transaction and on the leg; tm's stock max_inv_lifetime does
  not apply to plan transactions.
* Retransmissions are absorbed by tm before any routing (t_check_trans), in the call
  transaction and in each leg, and tm is configured not to restart timers on repeated 180s.
* A scheme that cannot be read or computed (RingPlanError) falls back to every registered SIP
  account of the employee at once, and the fallback is logged.

What a call costs
-----------------
A call to an employee reads one row (employee, scheme document, numbers) and, once per
calendar version and day per worker, the calendar days around today. Settings (the trunk, the
calendar version) are read at most once a second per worker, so a new trunk address takes up
to a second to apply. A worker keeps the parsed scheme for the same document, and a computed
plan for the rest of the minute (same scheme, calendar and device states) when every schedule
boundary is a whole minute; the plan is otherwise computed anew for every call, so a changed
scheme applies to the next call. SQL never receives text that has not matched a strict
pattern first (extensions, usernames, E.164 numbers, ISO dates, integers): sqlops has no
bound parameters.
"""

import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import socket
import sys
import time
import traceback
from datetime import date, datetime, timedelta, timezone

try:
    import KSR  # provided by Kamailio
except ImportError:  # imported outside Kamailio: only the pure helpers below are usable
    KSR = None

# auth module return codes (auth.h: auth_cfg_result_t), as KEMI returns them.
_AUTH_NO_CREDENTIALS = -5
# ... and those that mean a wrong guess (invalid password, unknown user, another user's name):
# a stale nonce or missing credentials are how every phone starts, not a guess.
_AUTH_GUESSED_WRONG = (-2, -3, -8)

_EXTENSION_RE = re.compile(r"[0-9]{2,6}")                # pbx/validation.py EXTENSION_RE
_USERNAME_RE = re.compile(r"[A-Za-z0-9._~+-]{1,64}")     # SIP usernames (pbx.ringplan)
_NUMBER_RE = re.compile(r"\+?([1-9][0-9]{6,14})")        # E.164, "+" optional from a dial pad
_E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")
_LEG_PARAM = ";talker-leg="
_LEG_RE = re.compile(r"([se])\.([0-9]{1,6})\.(\+?[0-9]{1,15}|-)\.([0-9a-f]{32})")

# How long a worker trusts what it read of PBX settings and the calendar. Settings are read on
# every initial request (the trunk's address decides whether a request needs a digest), so
# they are kept briefly; the calendar is read again when its version or the date changes.
_SETTINGS_TTL_S = 1.0
_CALENDAR_TTL_S = 60.0
_TRUNK_DNS_TTL_S = 60.0
_SCHEME_CACHE_SIZE = 4096  # parsed schemes a worker keeps (a few kB each)
_PLAN_CACHE_SIZE = 4096


# --- pure helpers (no Kamailio): classification, leg tokens, plan encoding ----------------
def classify_target(user):
    """("extension", "102"), ("number", "+74951234567") - a number as dialled, with or
    without "+" - or None for anything else."""
    if not user:
        return None
    if _EXTENSION_RE.fullmatch(user):
        return ("extension", user)
    if _NUMBER_RE.fullmatch(user):
        return ("number", user)
    return None


def as_e164(number):
    """How the PBX stores a number (pbx_number.number): trunks often drop the "+"."""
    return number if number.startswith("+") else "+" + number


def leg_signature(secret, call_id, address, fields):
    msg = "\n".join((call_id, address, fields)).encode("utf-8", "surrogateescape")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:32]


def leg_uri(secret, call_id, host, port, kind, address, timeout_s, caller_id):
    """A URI of Kamailio itself that stands for one device of a ring plan."""
    fields = "%s.%d.%s" % ("s" if kind == "sip" else "e", timeout_s, caller_id or "-")
    sig = leg_signature(secret, call_id, address, fields)
    return "sip:%s@%s:%d%s%s.%s" % (address, host, port, _LEG_PARAM, fields, sig)


def parse_leg(secret, call_id, ruri, ruser):
    """(kind, address, timeout_s, caller_id) of a leg URI made by leg_uri, or None."""
    at = ruri.find(_LEG_PARAM) if ruri else -1
    if at < 0 or not ruser:
        return None
    m = _LEG_RE.fullmatch(ruri[at + len(_LEG_PARAM):].split(";", 1)[0])
    if not m:
        return None
    kind, timeout_s, caller_id, sig = m.groups()
    fields = "%s.%s.%s" % (kind, timeout_s, caller_id)
    if not hmac.compare_digest(sig, leg_signature(secret, call_id, ruser, fields)):
        return None
    kind = "sip" if kind == "s" else "external"
    pattern = _USERNAME_RE if kind == "sip" else _E164_RE
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
_DIALOG_PARAM = "talker-dlg"
_DIALOG_TOKEN_RE = re.compile(r";\s*talker-dlg=([pts]\.[pts]{1,3}\.[0-9a-f]{32})")


def _dialog_signature(secret, call_id, from_tag, up, down):
    msg = "\n".join(("dialog", call_id, from_tag, up, down)).encode("utf-8", "surrogateescape")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:32]


def dialog_token(secret, call_id, from_tag, up, down):
    """The Record-Route parameter of a dialog the PBX sets up: `up` is the kind of party that
    sent the initial request, `down` the kinds it may reach (PHONE, TRUNK, SELF), signed with
    the Call-ID and the caller's From tag (the callee's tag is not known yet)."""
    down = "".join(sorted(set(down)))
    return "%s.%s.%s" % (up, down, _dialog_signature(secret, call_id, from_tag, up, down))


def first_dialog_token(route_headers):
    """The dialog token of the topmost Route entry that carries one (an outbound-proxy Route
    without one may stand above it), or None."""
    m = _DIALOG_TOKEN_RE.search(route_headers or "")
    return m.group(1) if m else None


def verify_dialog(secret, call_id, from_tag, to_tag, token):
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


def step_ends(steps):
    """The kinds of party a call's ring plan can be answered by: a SIP device directly (a leg
    to a SIP device does not record-route, so in-dialog requests go straight to the phone), or
    Kamailio itself for an external number (its leg record-routes towards the trunk)."""
    ends = set()
    for step in steps:
        for kind, _, _ in step["d"]:
            ends.add(PHONE if kind == "sip" else SELF)
    return ends or {PHONE}


def encode_steps(plan_steps):
    """The plan's steps as relayed: each {"t": timeout for a direct step or None for legs,
    "d": [[kind, address, timeout_s], ...]}. A step is direct when it can be timed by the call
    transaction's own timer: SIP devices only, all with the same timeout."""
    out = []
    for devices in plan_steps:
        devs = [[kind, address, int(timeout_s)] for kind, address, timeout_s in devices]
        if not devs:
            continue
        timeouts = {d[2] for d in devs}
        direct = all(d[0] == "sip" for d in devs) and len(timeouts) == 1
        out.append({"t": devs[0][2] if direct else None, "d": devs})
    return out


def caller_id_for(did, outgoing, first_number, extension):
    """The number a call towards the trunk shows: the DID the call came in on, else the
    employee's chosen outgoing number, else the PBX's first number, else the extension."""
    for candidate in (did, outgoing, first_number):
        if candidate and _E164_RE.fullmatch(candidate):
            return candidate
    return extension


def split_host_port(value):
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


def whole_minute_schedules(scheme):
    """True when no schedule window of the scheme starts or ends inside a minute. Zone offsets
    and DST changes fall on whole minutes too, so such a scheme's plan only changes at one."""
    for device in scheme.devices:
        for rule in (device.schedule.rules if device.schedule is not None else ()):
            for w in rule.windows:
                if w.start.second or w.start.microsecond or w.end.second or w.end.microsecond:
                    return False
    return True


def _ip_literal(host):
    """The canonical text of an IP address literal, or None for a name."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _same_endpoint(ip, port, addr):
    """Whether a URI's (resolved) host and port are the address `addr` = (IP, port)."""
    try:
        port = int(port) if port else 5060
    except ValueError:
        return False
    return (_ip_literal(ip) or ip) == (_ip_literal(addr[0]) or addr[0]) and port == addr[1]


def _uri_host(ip):
    return "[%s]" % ip if ":" in ip else ip


# Identity a sender asserts about itself (RFC 3325 P-Asserted/P-Preferred-Identity, and the
# older Remote-Party-ID): the PBX sets it from the authenticated account, never passes a phone's.
_IDENTITY_HEADERS = ("P-Asserted-Identity", "P-Preferred-Identity", "Remote-Party-ID")


def _printable(name):
    """A pseudo-variable for a log line, whatever bytes the request carried."""
    try:
        return KSR.pv.get(name)
    except UnicodeDecodeError:
        return "<not UTF-8>"


class DbError(RuntimeError):
    pass


# --- Kamailio entry points -----------------------------------------------------------------
def _load_config():
    path = os.environ.get("TALKER_ROUTING_CONFIG")
    if not path:
        raise RuntimeError("TALKER_ROUTING_CONFIG is not set: start Kamailio through talker-pbx")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _import_ringplan(package_root):
    if package_root and package_root not in sys.path:
        sys.path.insert(0, package_root)
    global ringplan, prodcalendar
    from pbx import prodcalendar, ringplan  # noqa: F401  (standard library only)


ringplan = prodcalendar = None


def mod_init():
    # Runs once before the workers fork: nothing that holds a connection may be opened here
    # (sqlops connects in each worker by itself).
    config = _load_config()
    _import_ringplan(config.get("package_root"))
    return Router(config)


class Router:
    def __init__(self, config):
        self.realm = config["domain"]
        self.account_table = config["account_table"]
        self.sqlcon = config.get("sql_connection", "talker")
        self.host = config.get("listen_address", "127.0.0.1")
        self.port = int(config.get("sip_port", 5060))
        self.cap_ms = int(config.get("max_call_setup_s", 600)) * 1000
        self.no_reply_ms = int(config.get("no_reply_timeout_s", 5)) * 1000
        self.default_timezone = config.get("default_timezone") or "UTC"
        # Building log lines costs as much as computing the plan: only when they are printed.
        self.verbose = int(config.get("log_level", 1)) >= 2
        self.auth_failures = int(config.get("auth_failures", 10))
        # Signs leg URIs. Made before the fork, so every worker knows it; a restart makes new
        # legs of old calls invalid, which is fine: tm state is gone then too.
        self.secret = secrets.token_bytes(32)
        # Signs the Record-Route of every dialog (dialog_token). Kept across restarts, so that
        # calls set up before one can still be hung up.
        self.dialog_secret = bytes.fromhex(config["dialog_secret"])
        self._settings = ({}, 0.0)
        self._calendar = (None, None, 0.0)
        self._schemes = {}  # employee id -> (document, Scheme, its plans hold a minute)
        self._plans = {}    # see _plan
        self._names = {}    # host name -> (IP address, when), see _resolve

    def child_init(self, rank):
        return 0

    # --- request route -------------------------------------------------------------------
    def ksr_request_route(self, msg):
        try:
            return self._request_route()
        except UnicodeDecodeError:
            # A header or URI that is not UTF-8 (KSR.pv.get cannot return it as text): the
            # request is malformed, and the sender is told so.
            if not KSR.is_ACK() and not KSR.is_CANCEL():
                KSR.sl.send_reply(400, "Bad Request")
            return 1
        except Exception:
            # Never leave the caller hanging: a request we failed on gets a final reply. The log
            # line must not fail in its turn (a field of the request may not be text).
            KSR.err("talker: routing failed for %s %s: %s\n" % (
                _printable("$rm"), _printable("$ru"), traceback.format_exc().replace("\n", " | ")))
            if not KSR.is_ACK() and not KSR.is_CANCEL():
                KSR.sl.send_reply(500, "Server Internal Error")
            return 1

    def _request_route(self):
        if not self._admitted():
            return 1  # dropped without a reply: a flooder or a guesser learns nothing
        if KSR.maxfwd.process_maxfwd(10) < 0:
            KSR.sl.sl_send_reply(483, "Too Many Hops")
            return 1
        if KSR.sanity.sanity_check(17895, 7) < 0:
            return 1

        if KSR.is_CANCEL():
            if KSR.tm.t_check_trans() > 0:
                KSR.tm.t_relay()
            return 1

        if KSR.siputils.has_totag() > 0:
            return self._route_in_dialog()

        # Absorb retransmissions of requests that already have a transaction (a leg's too).
        if KSR.tm.t_check_trans() == 0:
            return 1
        # A phone's outbound-proxy Route names us: it must not travel on to the callee.
        KSR.textops.remove_hf("Route")

        if self._is_leg():
            return self._route_leg()

        if KSR.is_OPTIONS() and KSR.is_myself_ruri() and not KSR.pv.get("$rU"):
            KSR.sl.sl_send_reply(200, "OK")
            return 1

        if KSR.is_REGISTER():
            return self._route_register()

        from_trunk = self._from_trunk()
        if not from_trunk and not self._authenticate_caller():
            return 1

        if not KSR.is_myself_ruri():
            # We are nobody's outbound proxy: the PBX routes only to its own users and numbers.
            KSR.sl.sl_send_reply(403, "Relaying Forbidden")
            return 1
        return self._route_to_target(from_trunk)

    def _route_in_dialog(self):
        """A request inside a dialog: relayed only along a Route this PBX signed for the dialog
        (see dialog_token), towards the kind of party at the dialog's other end."""
        if KSR.is_ACK() and KSR.tm.t_check_trans() == 0:
            return 1  # the ACK of a negative reply: tm has absorbed it
        from_trunk = self._from_trunk()
        ends = verify_dialog(self.dialog_secret, KSR.pv.get("$ci") or "", KSR.pv.get("$ft"),
                             KSR.pv.get("$tt"), first_dialog_token(KSR.pv.get("$(hdr(Route)[*])")))
        if ends is None:
            if KSR.is_ACK():
                return 1  # no reply to an ACK: dropped
            if from_trunk:
                return self._refuse_in_dialog("no dialog of the PBX from the trunk")
            # An authenticated employee may still end a dialog whose Route the PBX did not sign
            # (one set up before a change of the signing key): between phones only.
            if not self._authenticate_caller():
                return 1
            ends = (frozenset(PHONE), frozenset(PHONE))
        senders, targets = ends
        if senders == {SELF} and not self._from_myself():
            return self._refuse_in_dialog("a leg's Route from outside")
        if KSR.rr.loose_route() <= 0:
            if KSR.is_ACK():
                return 1
            KSR.sl.sl_send_reply(404, "Not Here")
            return 1
        hop = self._next_hop()
        if hop != TRUNK and targets == {TRUNK}:
            # The trunk's side of a dialog is reached only at the trunk gateway, whatever host
            # its Contact names.
            trunk = self._setting("trunk")
            trunk = self._trunk_address(trunk) if trunk else None
            if trunk is None:
                return self._refuse_in_dialog("the trunk is gone")
            KSR.pv.sets("$du", "sip:%s:%d" % (_uri_host(trunk[0]), trunk[1]))
            hop = TRUNK
        if hop not in targets:
            return self._refuse_in_dialog("towards %s, the dialog ends at %s" % (hop, "".join(sorted(targets))))
        if not from_trunk:
            # Who a phone is was settled when the dialog was set up; it asserts nothing later.
            for name in _IDENTITY_HEADERS:
                KSR.textops.remove_hf(name)
        self._relay()
        return 1

    def _refuse_in_dialog(self, why):
        KSR.warn("talker: in-dialog %s from %s:%s refused: %s\n" % (
            _printable("$rm"), _printable("$si"), _printable("$sp"), why))
        if not KSR.is_ACK():
            KSR.sl.sl_send_reply(403, "Forbidden")
        return 1

    def _from_myself(self):
        return KSR.pv.get("$si") == self.host and KSR.pv.get("$sp") == self.port

    def _next_hop(self):
        """The kind of party a relayed request would reach: the next Route, else the R-URI."""
        if KSR.pv.get("$du"):
            if KSR.is_myself_duri() > 0:
                return SELF
            host, port = KSR.pv.get("$dd"), KSR.pv.get("$dp")
        else:
            if KSR.is_myself_ruri() > 0:
                return None  # nothing to relay to
            host, port = KSR.pv.get("$rd"), KSR.pv.get("$rp")
        trunk = self._setting("trunk")
        if trunk:
            addr = self._trunk_address(trunk)
            if addr is not None and _same_endpoint(self._resolve(host) or host, port, addr):
                return TRUNK
        return PHONE

    def _resolve(self, host):
        """The IP address a URI's host stands for, or None: a literal as it is, a name through
        DNS, kept for a minute (phones' Contacts are literals; the trunk's may be a name, and a
        name that reaches the trunk must count as the trunk)."""
        host = (host or "").strip("[]")
        literal = _ip_literal(host)
        if literal is not None:
            return literal
        cached = self._names.get(host)
        if cached is not None and time.monotonic() - cached[1] < _TRUNK_DNS_TTL_S:
            return cached[0]
        try:
            ip = socket.getaddrinfo(host, 5060, type=socket.SOCK_DGRAM)[0][4][0]
        except (OSError, IndexError, UnicodeError) as e:
            KSR.warn("talker: %s cannot be resolved: %s\n" % (host, e))
            ip = None
        if len(self._names) >= _SCHEME_CACHE_SIZE:
            self._names.clear()
        self._names[host] = (ip, time.monotonic())
        return ip

    def _record_route(self, up, down):
        """Record-route the dialog being set up, signed: see dialog_token."""
        token = dialog_token(self.dialog_secret, KSR.pv.get("$ci") or "", KSR.pv.get("$ft") or "",
                             up, down)
        KSR.rr.add_rr_param(";%s=%s" % (_DIALOG_PARAM, token))
        KSR.rr.record_route()

    def _route_register(self):
        rc = KSR.auth_db.auth_check(self.realm, self.account_table, 1)
        if rc < 0:
            self._count_auth_failure(rc)
            KSR.auth.auth_challenge(self.realm, 0)
            return 1
        KSR.auth.consume_credentials()
        if KSR.registrar.save("location", 0) < 0:
            KSR.sl.sl_reply_error()
            return 1
        # A phone that proved who it is is never rate-limited from this address and port.
        KSR.htable.sht_seti("talker_phone", self._source(), 1)
        return 1

    # --- floods and password guessing -------------------------------------------------------
    def _source(self):
        return "%s:%s" % (KSR.pv.get("$si"), KSR.pv.get("$sp"))

    def _admitted(self):
        """Whether a request is routed at all: see the pike and htable settings in
        kamailio.cfg.tmpl. Registered phones, the trunk and Kamailio's own legs always are."""
        # The common case first, in two calls: a calm source that is not banned. pike counts
        # every source, exempt ones too; only a source it finds hot pays for the rest.
        calm = KSR.pike.pike_check_req() >= 0
        if calm and KSR.htable.sht_get("talker_ban", KSR.pv.get("$si")) is None:
            return True
        return (self._from_myself() or self._from_trunk()
                or KSR.htable.sht_get("talker_phone", self._source()) is not None)

    def _count_auth_failure(self, rc):
        if rc not in _AUTH_GUESSED_WRONG:
            if self.verbose and rc != _AUTH_NO_CREDENTIALS:
                KSR.info("talker: digest authentication of %s from %s: %d\n"
                         % (_printable("$fu"), _printable("$si"), rc))
            return
        address = KSR.pv.get("$si")
        failures = KSR.htable.sht_inc("talker_authfail", address)
        if failures >= self.auth_failures:
            KSR.htable.sht_seti("talker_ban", address, 1)
            KSR.htable.sht_rm("talker_authfail", address)
            KSR.warn("talker: %s failed digest authentication %d times (last as %s): ignored "
                     "for a while\n" % (address, failures, _printable("$fu")))

    def _authenticate_caller(self):
        """Every call from a PBX user proves it is that user (From user = digest user)."""
        if not KSR.is_myself_furi():
            KSR.sl.sl_send_reply(403, "Forbidden")
            return False
        rc = KSR.auth_db.auth_check(self.realm, self.account_table, 1)
        if rc < 0:
            self._count_auth_failure(rc)
            if rc != _AUTH_NO_CREDENTIALS:
                KSR.info("talker: auth failed (%d) for %s from %s\n"
                         % (rc, KSR.pv.get("$fu"), KSR.pv.get("$si")))
            KSR.auth.auth_challenge(self.realm, 0)
            return False
        KSR.auth.consume_credentials()
        return True

    # --- where a request goes ---------------------------------------------------------------
    def _route_to_target(self, from_trunk):
        target = classify_target(KSR.pv.get("$rU"))
        if target is None:
            KSR.sl.sl_send_reply(404, "Not Found")
            return 1
        kind, value = target
        invite = KSR.is_INVITE()
        up = TRUNK if from_trunk else PHONE

        if kind == "extension":
            try:
                employee = self._employee_by("e.extension = '%s'" % value)
            except DbError as e:
                # Without the database the best left is the account named like the extension.
                KSR.err("talker: %s: ringing %s's own account\n" % (e, value))
                return self._ring_account(up)
            if employee is None:
                if not from_trunk and self._is_account(value):
                    return self._ring_account(up)
                KSR.sl.sl_send_reply(404, "Not Found")
                return 1
            did = None
        else:
            did = as_e164(value)
            employee = self._employee_by(
                "e.id = (SELECT d.inbound_employee_id FROM pbx_number d WHERE d.number = '%s')" % did)
            if employee is None:
                if from_trunk:
                    # Only the PBX's own numbers are reachable from the trunk: never back out.
                    KSR.sl.sl_send_reply(404, "Not Found")
                    return 1
                return self._route_outgoing(value)

        if not invite:
            # Presence, messages: to the devices registered under the extension.
            KSR.pv.sets("$rU", employee["extension"])
            return self._ring_account(up)
        return self._ring_employee(employee, did, up)

    def _ring_account(self, up):
        if up == PHONE:
            self._assert_identity()
        if KSR.is_INVITE() or KSR.is_SUBSCRIBE():
            self._record_route(up, PHONE)
        rc = KSR.registrar.lookup("location")
        if rc < 0:
            # -1: nobody registered; -2: registered, but not for this method; -3: error.
            if rc == -2:
                KSR.sl.sl_send_reply(405, "Method Not Allowed")
            else:
                KSR.sl.sl_send_reply(480, "Temporarily Unavailable")
            return 1
        self._relay()
        return 1

    def _route_outgoing(self, number):
        if not KSR.is_INVITE():
            KSR.sl.sl_send_reply(403, "Only Calls Go To The Trunk")
            return 1
        trunk = self._setting("trunk")
        if not trunk:
            KSR.sl.sl_send_reply(503, "No Trunk Configured")
            return 1
        username = KSR.pv.get("$fU")  # = the digest user (auth_check flag 1)
        caller = None
        if username and _USERNAME_RE.fullmatch(username):
            caller = self._caller(username)
        if caller is None:
            KSR.sl.sl_send_reply(403, "Unknown Caller")
            return 1
        self._set_caller_id(caller_id_for(None, caller["outgoing"], caller["first_number"],
                                          caller["extension"]))
        self._record_route(PHONE, TRUNK)
        KSR.pv.sets("$ru", "sip:%s@%s" % (number, trunk))
        if self.verbose:
            KSR.info("talker: %s calls %s through the trunk %s\n" % (username, number, trunk))
        self._relay()
        return 1

    def _set_caller_id(self, number):
        """From (restored by uac in replies and in-dialog requests) and P-Asserted-Identity
        (RFC 3325: the trunk trusts us to assert it; nothing a phone put there survives)."""
        uri = "sip:%s@%s" % (number, self.realm)
        KSR.uac.uac_replace_from_uri(uri)
        for name in _IDENTITY_HEADERS:
            KSR.textops.remove_hf(name)
        KSR.hdr.append("P-Asserted-Identity: <%s>\r\n" % uri)

    def _assert_identity(self):
        """Between colleagues the caller is who they authenticated as (From user = digest
        user): P-Asserted-Identity says so, and nothing a phone asserted itself survives."""
        for name in _IDENTITY_HEADERS:
            KSR.textops.remove_hf(name)
        user = KSR.pv.get("$fU")
        if user and _USERNAME_RE.fullmatch(user):
            KSR.hdr.append("P-Asserted-Identity: <sip:%s@%s>\r\n" % (user, self.realm))

    # --- the receive scheme --------------------------------------------------------------
    def _ring_employee(self, employee, did, up):
        steps = self._plan(employee)
        if not steps:
            KSR.sl.sl_send_reply(480, "Temporarily Unavailable")
            return 1
        if up == PHONE:
            self._assert_identity()
        self._record_route(up, step_ends(steps))
        caller_id = caller_id_for(did, employee["outgoing"], employee["first_number"],
                                  employee["extension"])
        # The call transaction: a decline on one device must not cancel the others, and only
        # the PBX-wide call-setup cap bounds it (ring forever survives tm's max_inv_lifetime).
        KSR.tm.t_set_disable_6xx(1)
        KSR.tm.t_set_max_lifetime(self.cap_ms, 0)
        if not self._relay_next_step(steps, caller_id):
            KSR.sl.sl_send_reply(480, "Temporarily Unavailable")
        return 1

    def _plan(self, employee):
        """The plan's steps (encode_steps); [] when nobody can ring."""
        try:
            scheme, minute_plans = self._scheme(employee)
            status = {}
            for d in scheme.devices:
                if d.active and d.kind == "sip":
                    status[d.id] = "available" if self._registered(d.address) else "not_registered"
            calendar, calendar_key = self._read_calendar()
            shorten = self._setting("shortened_days_end_earlier") == "1"
            now = datetime.now(timezone.utc)
            # A plan depends on the scheme, the calendar, the devices' states and the time. When
            # every schedule boundary is a whole minute, it is the same all through a minute:
            # computing it once per minute per worker takes it off the busy path.
            key = None
            if minute_plans:
                key = (employee["id"], employee["document"], calendar_key, shorten,
                       tuple(sorted(status.items())), int(now.timestamp()) // 60)
                steps = self._plans.get(key)
                if steps is not None:
                    return steps
            plan = ringplan.compute_plan(scheme, calendar, now, status, shortened_days_end_earlier=shorten,
                                         max_ring_s=self.cap_ms // 1000)
        except (ValueError, DbError) as e:  # RingPlanError, a JSON error and others
            KSR.warn("talker: the receive scheme of %s cannot be used (%s): ringing every "
                     "registered SIP account at once\n" % (employee["extension"], e))
            return self._fallback_steps(employee)
        if self.verbose:
            KSR.info("talker: call %s to %s: rings %s; not %s\n" % (
                KSR.pv.get("$ci"), employee["extension"], json.dumps(plan.to_dict()["steps"]),
                ", ".join("%s (%s)" % (e.device_id, e.reason.value) for e in plan.excluded) or "-"))
        steps = encode_steps([[(r.kind, r.address, r.timeout_s) for r in s.devices] for s in plan.steps])
        if key is not None:
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            self._plans[key] = steps
        return steps

    def _scheme(self, employee):
        """(the Scheme, whether its plans hold for a whole minute)."""
        if employee["document"] is None:
            # Never stored (an employee from before schemes): the default of pbx.ringplan.
            return ringplan.default_scheme(self._usernames(employee["id"]),
                                           self._setting("timezone") or self.default_timezone), False
        # Keyed by the document itself, not its version: a hand-edited row counts too.
        document = employee["document"]
        cached = self._schemes.get(employee["id"])
        if cached is not None and cached[0] == document:
            return cached[1], cached[2]
        scheme = ringplan.Scheme.from_dict(json.loads(document))
        if len(self._schemes) >= _SCHEME_CACHE_SIZE:
            self._schemes.clear()
        minute_plans = whole_minute_schedules(scheme)
        self._schemes[employee["id"]] = (document, scheme, minute_plans)
        return scheme, minute_plans

    def _fallback_steps(self, employee):
        try:
            usernames = self._usernames(employee["id"])
        except DbError:
            usernames = [employee["extension"]]
        devices = [("sip", u, ringplan.DEFAULT_RING_TIMEOUT_S) for u in usernames if self._registered(u)]
        return encode_steps([devices])

    def _relay_next_step(self, steps, caller_id, saved=False):
        """Relay the first step that reaches a device; the rest go with the transaction (an
        AVP, which tm keeps with it and gives back in the failure route). `saved`: an AVP
        from an earlier step exists and must be overwritten even when nothing is left."""
        while steps:
            step, steps = steps[0], steps[1:]
            if steps or saved:
                KSR.pv.sets("$avp(talker_plan)", json.dumps({"steps": steps, "cid": caller_id}))
                saved = True
            KSR.resetdsturi()
            if step["t"] is not None:
                if not self._branches_direct(step["d"]):
                    continue  # nobody of the step is registered any more
                KSR.tm.t_set_fr(self._timeout_ms(step["t"]), 0)
            else:
                self._branches_legs(step["d"], caller_id)
                # Each leg ends itself; the call transaction only waits for them.
                KSR.tm.t_set_fr(self.cap_ms, 0)
            KSR.tm.t_on_failure("ksr_failure_next_step")
            if KSR.tm.t_relay() > 0:
                return True
            KSR.err("talker: relaying a step of the plan failed: %s\n" % json.dumps(step))
        return False

    def _branches_direct(self, devices):
        first = True
        for _, address, _ in devices:
            uri = "sip:%s@%s" % (address, self.realm)
            if first:
                found = KSR.registrar.lookup_uri("location", uri) > 0
                first = not found
            else:
                KSR.registrar.lookup_to_dset("location", uri)
        return not first

    def _branches_legs(self, devices, caller_id):
        call_id = KSR.pv.get("$ci") or ""
        uris = [leg_uri(self.secret, call_id, self.host, self.port, kind, address, timeout_s,
                        caller_id if kind == "external" else None)
                for kind, address, timeout_s in devices]
        KSR.pv.sets("$ru", uris[0])
        for uri in uris[1:]:
            KSR.corex.append_branch_uri(uri)

    def _timeout_ms(self, timeout_s):
        return min(timeout_s * 1000, self.cap_ms) if timeout_s else self.cap_ms

    def ksr_failure_next_step(self, msg):
        try:
            if KSR.tm.t_is_canceled() > 0:
                return 1  # the caller gave up
            raw = KSR.pv.get("$avp(talker_plan)")
            rest = json.loads(raw) if raw else {"steps": [], "cid": None}
            if rest["steps"] and self._relay_next_step(rest["steps"], rest["cid"], saved=True):
                return 1
            if KSR.tm.t_check_status("408") > 0:
                # Everybody rang out (or was unreachable): the caller hears "not available".
                KSR.tm.t_reply(480, "Temporarily Unavailable")
            # Otherwise tm sends the best reply it has (486, 603, ...).
        except Exception:
            KSR.err("talker: failure route failed: %s\n" % traceback.format_exc().replace("\n", " | "))
            KSR.tm.t_reply(500, "Server Internal Error")
        return 1

    # --- a leg: one device of a ring plan in a transaction of its own ------------------------
    def _is_leg(self):
        ruri = KSR.pv.get("$ru")
        return bool(ruri) and _LEG_PARAM in ruri

    def _route_leg(self):
        # Only Kamailio itself makes legs: from its own socket, signed for this very call.
        leg = None
        if KSR.pv.get("$si") == self.host and KSR.pv.get("$sp") == self.port and KSR.is_INVITE():
            leg = parse_leg(self.secret, KSR.pv.get("$ci") or "", KSR.pv.get("$ru"), KSR.pv.get("$rU"))
        if leg is None:
            KSR.warn("talker: a forged leg from %s:%s refused\n" % (KSR.pv.get("$si"), KSR.pv.get("$sp")))
            KSR.sl.sl_send_reply(403, "Forbidden")
            return 1
        kind, address, timeout_s, caller_id = leg
        timeout_ms = self._timeout_ms(timeout_s)
        KSR.tm.t_set_fr(timeout_ms, 0)
        # fr_inv starts at the first provisional reply; the lifetime bounds the rest (a phone
        # slow to ring, a 183 after a 180 restarting fr_inv).
        KSR.tm.t_set_max_lifetime(min(timeout_ms + self.no_reply_ms, self.cap_ms), 0)
        KSR.tm.t_set_disable_6xx(1)  # one phone of an account declining leaves its others
        if kind == "sip":
            if KSR.registrar.lookup("location") < 0:
                KSR.sl.sl_send_reply(480, "Temporarily Unavailable")
                return 1
        else:
            trunk = self._setting("trunk")
            if not trunk:
                KSR.sl.sl_send_reply(503, "No Trunk Configured")
                return 1
            self._set_caller_id(caller_id)
            # uac's restore of the From travels in this Record-Route.
            self._record_route(SELF, TRUNK)
            KSR.pv.sets("$ru", "sip:%s@%s" % (address, trunk))
        self._relay()
        return 1

    # --- the trunk gateway -----------------------------------------------------------------
    def _from_trunk(self):
        trunk = self._setting("trunk")
        if not trunk:
            return False
        addr = self._trunk_address(trunk)
        return addr is not None and KSR.pv.get("$si") == addr[0] and KSR.pv.get("$sp") == addr[1]

    def _trunk_address(self, trunk):
        """(IP, port) of the trunk setting, or None when its host does not resolve."""
        try:
            host, port = split_host_port(trunk)
        except ValueError:
            KSR.warn("talker: the trunk %s is not host[:port]\n" % trunk)
            return None
        ip = self._resolve(host)
        return (ip, port) if ip is not None else None

    # --- reading the database (sqlops; values are validated before they reach SQL) ----------
    def _query(self, sql, columns):
        res = "talker"
        rc = KSR.sqlops.sql_query(self.sqlcon, sql, res)
        if rc < 0:
            raise DbError("the query failed: " + sql)
        try:
            rows = []
            # sql_result_get gives None for NULL. A DATE column comes back as a garbled number
            # from db_sqlite (it parses it as a datetime): queries CAST dates to TEXT.
            for i in range(KSR.sqlops.sql_num_rows(res)):
                rows.append(tuple(KSR.sqlops.sql_result_get(res, i, j) for j in range(columns)))
            return rows
        finally:
            KSR.sqlops.sql_result_free(res)

    def _employee_by(self, condition):
        rows = self._query(
            "SELECT e.id, e.extension, r.document, n.number, "
            "(SELECT p.number FROM pbx_number p ORDER BY p.id LIMIT 1) "
            "FROM employee e LEFT JOIN receive_scheme r ON r.employee_id = e.id "
            "LEFT JOIN pbx_number n ON n.id = e.outgoing_number_id WHERE " + condition, 5)
        if not rows:
            return None
        id_, extension, document, outgoing, first_number = rows[0]
        return {"id": int(id_), "extension": str(extension), "document": document,
                "outgoing": outgoing, "first_number": first_number}

    def _caller(self, username):
        rows = self._query(
            "SELECT e.extension, n.number, "
            "(SELECT p.number FROM pbx_number p ORDER BY p.id LIMIT 1) "
            "FROM sip_account a JOIN employee e ON e.id = a.employee_id "
            "LEFT JOIN pbx_number n ON n.id = e.outgoing_number_id "
            "WHERE a.username = '%s'" % username, 3)
        if not rows:
            return None
        extension, outgoing, first_number = rows[0]
        return {"extension": str(extension), "outgoing": outgoing, "first_number": first_number}

    def _is_account(self, username):
        return bool(self._query("SELECT 1 FROM sip_account WHERE username = '%s'" % username, 1))

    def _usernames(self, employee_id):
        rows = self._query("SELECT username FROM sip_account WHERE employee_id = %d ORDER BY id"
                           % int(employee_id), 1)
        return [str(r[0]) for r in rows if r[0] and _USERNAME_RE.fullmatch(str(r[0]))]

    def _setting(self, name):
        values, at = self._settings
        now = time.monotonic()
        if now - at >= _SETTINGS_TTL_S:
            rows = self._query("SELECT name, value FROM setting WHERE name IN "
                               "('trunk', 'timezone', 'calendar_version', 'shortened_days_end_earlier')", 2)
            values = {str(n): ("" if v is None else str(v)) for n, v in rows}
            self._settings = (values, now)
        return values.get(name, "")

    def _read_calendar(self):
        """The production calendar's exceptions around today (a window past midnight asks
        about yesterday; time zones reach a day either side of UTC)."""
        version = self._setting("calendar_version")
        today = datetime.now(timezone.utc).date()
        cached, key, at = self._calendar
        if cached is not None and key == (version, today) and time.monotonic() - at < _CALENDAR_TTL_S:
            return cached, key
        rows = self._query(
            "SELECT CAST(day AS TEXT), kind FROM calendar_day WHERE day >= '%s' AND day <= '%s'"
            % ((today - timedelta(days=2)).isoformat(), (today + timedelta(days=2)).isoformat()), 2)
        days = []
        for day, kind in rows:
            try:
                days.append(prodcalendar.CalendarDay(date.fromisoformat(str(day)[:10]),
                                                     prodcalendar.DayKind(kind)))
            except ValueError as e:
                KSR.warn("talker: calendar day %s ignored: %s\n" % (day, e))
        calendar = prodcalendar.ProductionCalendar(tuple(days))
        self._calendar = (calendar, (version, today), time.monotonic())
        return calendar, (version, today)

    def _registered(self, username):
        return KSR.registrar.registered_uri("location", "sip:%s@%s" % (username, self.realm)) > 0

    def _relay(self):
        if KSR.tm.t_relay() < 0:
            KSR.sl.sl_reply_error()

    # --- other routes Kamailio calls on the object (they must exist, see docs/platform-notes.md) ------
    def ksr_reply_route(self, msg):
        return 1

    def ksr_onsend_route(self, msg):
        return 1
