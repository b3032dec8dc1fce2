"""What Kamailio's routing reads: the PBX database (through sqlops) and a worker's caches.

The KEMI adapter (pbx/kamailio/routing.py) makes one Store per worker and hands it the few
Kamailio calls it needs as plain functions (a query, "is this account registered", a log line),
so this module never touches KSR; pbx/kamailio/decide.py sees it as its `Lookups`. Standard
library, pbx.ringplan and pbx.prodcalendar only: Kamailio's embedded interpreter imports it.

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
import json
import re
import socket
import time
from datetime import datetime, timedelta, UTC

from pbx import prodcalendar, ringplan
from pbx.kamailio.decide import (
    DbError, SIP_USER_RE, _ip_literal, encode_steps, recorded_caller, split_host_port, whole_minute_schedules,
)

# How long a worker trusts what it read of PBX settings and the calendar. Settings are read on
# every initial request (the trunk's address decides whether a request needs a digest), so
# they are kept briefly; the calendar is read again when its version or the date changes.
_SETTINGS_TTL_S = 1.0
_CALENDAR_TTL_S = 60.0
_TRUNK_DNS_TTL_S = 60.0
_SCHEME_CACHE_SIZE = 4096  # parsed schemes a worker keeps (a few kB each)
_PLAN_CACHE_SIZE = 4096


class Store:
    """`query(sql, columns)` -> rows (raises DbError); `registered(username)` -> bool;
    `log(level, line)` with level "info" / "warn"; `call_id()` -> the current request's Call-ID
    (for log lines only)."""

    def __init__(self, query, registered, log, call_id, default_timezone="UTC", verbose=False,
                 max_ring_s=ringplan.MAX_RING_TIMEOUT_S):
        self._query = query
        self.registered = registered
        self._log = log
        self._call_id = call_id
        self.default_timezone = default_timezone
        self.verbose = verbose
        self.max_ring_s = max_ring_s  # what bounds "ring until answered": the call-setup cap
        self._settings = ({}, 0.0)
        self._calendar = (None, None, 0.0)
        self._schemes = {}  # employee id -> (document, Scheme, its plans hold a minute)
        self._plans = {}    # see plan
        self._names = {}    # host name -> (IP address, when), see resolve

    # --- rows --------------------------------------------------------------------------------
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

    def employee_by_extension(self, extension):
        return self._employee_by("e.extension = '%s'" % extension)

    def employee_by_number(self, e164):
        return self._employee_by(
            "e.id = (SELECT d.inbound_employee_id FROM pbx_number d WHERE d.number = '%s')" % e164)

    def caller(self, username):
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

    def record_unreached(self, employee_id, from_user):
        """Keep a call that rang none of the employee's devices (the caller heard 480), for
        their apps to show; a failure costs only the record, never the call's reply."""
        at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        try:
            self._query("INSERT INTO unreached_call (employee_id, at, caller) VALUES (%d, '%s', '%s')"
                        % (int(employee_id), at, recorded_caller(from_user)), 0)
        except DbError as e:
            self._log("warn", "talker: [%s] a call nobody could take was not recorded: %s" % (self._call_id(), e))

    def call_answered(self, call_id, caller, callee):
        """Keep an answered call for presence (pbx/presence.py). Every worker that sees the 200
        (retransmissions, a leg's and its parent's) writes the same row once; a failure costs
        only the presence, never the call."""
        at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        try:
            self._query("INSERT INTO active_call (call_key, caller, callee, started) VALUES ('%s', '%s', '%s', '%s') "
                        "ON CONFLICT (call_key) DO NOTHING"
                        % (call_key(call_id), party_user(caller), party_user(callee), at), 0)
        except DbError as e:
            self._log("warn", "talker: [%s] an answered call was not recorded: %s" % (self._call_id(), e))

    def call_ended(self, call_id):
        try:
            self._query("DELETE FROM active_call WHERE call_key = '%s'" % call_key(call_id), 0)
        except DbError as e:
            self._log("warn", "talker: [%s] an ended call was not recorded: %s" % (self._call_id(), e))

    def is_account(self, username):
        return bool(self._query("SELECT 1 FROM sip_account WHERE username = '%s'" % username, 1))

    def usernames(self, employee_id):
        rows = self._query("SELECT username FROM sip_account WHERE employee_id = %d ORDER BY id"
                           % int(employee_id), 1)
        return [str(r[0]) for r in rows if r[0] and SIP_USER_RE.fullmatch(str(r[0]))]

    def setting(self, name):
        values, at = self._settings
        now = time.monotonic()
        if now - at >= _SETTINGS_TTL_S:
            rows = self._query("SELECT name, value FROM setting WHERE name IN "
                               "('trunk', 'timezone', 'calendar_version', 'shortened_days_end_earlier')", 2)
            values = {str(n): ("" if v is None else str(v)) for n, v in rows}
            self._settings = (values, now)
        return values.get(name, "")

    def calendar(self):
        """(the production calendar's exceptions around today, a key that changes with them):
        a window past midnight asks about yesterday; time zones reach a day either side of UTC."""
        version = self.setting("calendar_version")
        today = datetime.now(UTC).date()
        cached, key, at = self._calendar
        if cached is not None and key == (version, today) and time.monotonic() - at < _CALENDAR_TTL_S:
            return cached, key
        rows = self._query(
            "SELECT CAST(day AS TEXT), kind FROM calendar_day WHERE day >= '%s' AND day <= '%s'"
            % ((today - timedelta(days=2)).isoformat(), (today + timedelta(days=2)).isoformat()), 2)
        calendar = prodcalendar.calendar_from_rows(
            rows, lambda row, e: self._log("warn", "calendar day %s ignored: %s" % (row[0], e)))
        self._calendar = (calendar, (version, today), time.monotonic())
        return calendar, (version, today)

    # --- the trunk ---------------------------------------------------------------------------
    def trunk_address(self):
        """(IP, port) of the trunk setting, or None when there is none or its host does not
        resolve."""
        trunk = self.setting("trunk")
        if not trunk:
            return None
        try:
            host, port = split_host_port(trunk)
        except ValueError:
            self._log("warn", "the trunk %s is not host[:port]" % trunk)
            return None
        ip = self.resolve(host)
        return (ip, port) if ip is not None else None

    def resolve(self, host):
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
            self._log("warn", "%s cannot be resolved: %s" % (host, e))
            ip = None
        if len(self._names) >= _SCHEME_CACHE_SIZE:
            self._names.clear()
        self._names[host] = (ip, time.monotonic())
        return ip

    # --- the receive scheme ------------------------------------------------------------------
    def plan(self, employee):
        """The plan's steps (decide.encode_steps); [] when nobody can ring. A scheme that cannot
        be read or computed (RingPlanError) falls back to every registered SIP account of the
        employee at once, and the fallback is logged."""
        try:
            scheme, minute_plans = self._scheme(employee)
            status = ringplan.device_statuses(scheme, self.registered)
            calendar, calendar_key = self.calendar()
            shorten = self.setting("shortened_days_end_earlier") == "1"
            now = datetime.now(UTC)
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
                                         max_ring_s=self.max_ring_s)
        except (ValueError, DbError) as e:  # RingPlanError, a JSON error and others
            self._log("warn", "the receive scheme of %s cannot be used (%s): ringing every "
                      "registered SIP account at once" % (employee["extension"], e))
            return self._fallback_steps(employee)
        if self.verbose:
            self._log("info", "call %s to %s: rings %s; not %s" % (
                self._call_id(), employee["extension"], json.dumps(plan.to_dict()["steps"]),
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
            return ringplan.default_scheme(self.usernames(employee["id"]),
                                           self.setting("timezone") or self.default_timezone), False
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
            usernames = self.usernames(employee["id"])
        except DbError:
            usernames = [employee["extension"]]
        devices = [("sip", u, ringplan.DEFAULT_RING_TIMEOUT_S) for u in usernames if self.registered(u)]
        return encode_steps([devices])


# sqlops has no bound parameters (docs/decisions.md #2): what reaches SQL is a hex digest or a
# user part that matched this pattern, else nothing.
_PARTY_RE = re.compile(r"[A-Za-z0-9+*#._-]{1,64}")


def call_key(call_id):
    return hashlib.sha256((call_id or "").encode("utf-8", "replace")).hexdigest()


def party_user(user):
    return user if user and _PARTY_RE.fullmatch(user) else ""
