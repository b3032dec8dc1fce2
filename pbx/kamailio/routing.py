"""SIP routing of the Talker PBX, run by Kamailio's app_python3 module (KEMI): the adapter.

This is the only file that touches Kamailio (KSR). It reads a request's facts, asks
pbx/kamailio/decide.py what to do (the decisions, pure: 403/404/480/503, the trunk's rules, the
signed Record-Route of every dialog and which in-dialog requests are relayed where) and carries
the answer out with Kamailio's modules; pbx/kamailio/store.py reads the database through sqlops
and keeps a worker's caches. docs/architecture.md shows where Kamailio sits in the PBX.

This file is imported by Kamailio's embedded interpreter (Debian's system Python), not by the
venv: it must stay standard-library only, and from the rest of the project it imports only
pbx.kamailio.decide and .store, pbx.ringplan and pbx.prodcalendar (all standard-library only).
Its parameters come from a JSON file whose path Kamailio's environment carries in
TALKER_ROUTING_CONFIG (written by pbx/kamailio/config.py). The database is read through
Kamailio's sqlops module, so SQLite and PostgreSQL both work without a Python database driver.

Besides the decisions: REGISTER is digest-authenticated against sip_account and saved in
usrloc; every call from a PBX user proves who it is (From user = digest user); what a phone
asserts about itself (P-Asserted-Identity, P-Preferred-Identity, Remote-Party-ID) is removed
and the PBX asserts the authenticated account instead; floods and password guessing: see
Router._admitted and kamailio.cfg.tmpl.

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
"""

import json
import os
import secrets
import sys
import time
import traceback

try:
    import KSR  # provided by Kamailio
except ImportError:  # imported outside Kamailio (a test of the module's import)
    KSR = None

# registrar.save()'s flag: prepare the reply, do not send it (reg_send_reply sends it).
_SAVE_NO_REPLY = 0x02
# A write that changes nothing but needs SQLite's write lock (Router._wait_for_write_lock).
_SQLITE_LOCK_PROBE = "UPDATE location SET id = id WHERE 0"
# auth module return codes (auth.h: auth_cfg_result_t), as KEMI returns them.
_AUTH_NO_CREDENTIALS = -5
# ... and those that mean a wrong guess (invalid password, unknown user, another user's name):
# a stale nonce or missing credentials are how every phone starts, not a guess.
_AUTH_GUESSED_WRONG = (-2, -3, -8)

# Set by mod_init: the project's package root is on sys.path only from then on.
decide = store = None


def _printable(name):
    """A pseudo-variable for a log line, whatever bytes the request carried."""
    try:
        return KSR.pv.get(name)
    except UnicodeDecodeError:
        return "<not UTF-8>"


def _log(level, line):
    getattr(KSR, {"info": "info", "warn": "warn"}.get(level, "err"))("talker: %s\n" % line)


# --- Kamailio entry points -----------------------------------------------------------------
def _load_config():
    path = os.environ.get("TALKER_ROUTING_CONFIG")
    if not path:
        raise RuntimeError("TALKER_ROUTING_CONFIG is not set: start Kamailio through talker-pbx")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _import_project(package_root):
    if package_root and package_root not in sys.path:
        sys.path.insert(0, package_root)
    global decide, store
    from pbx.kamailio import decide, store  # noqa: F401  (standard library only)


def mod_init():
    # Runs once before the workers fork: nothing that holds a connection may be opened here
    # (sqlops connects in each worker by itself).
    config = _load_config()
    _import_project(config.get("package_root"))
    return Router(config)


def _retried(attempt):
    """attempt() until it succeeds, pausing decide.WRITE_RETRY_PAUSES_S between tries."""
    if attempt():
        return True
    for pause in decide.WRITE_RETRY_PAUSES_S:
        time.sleep(pause)
        if attempt():
            KSR.info("talker: a database write went through after the database was busy\n")
            return True
    return False


class Router:
    def __init__(self, config):
        self.realm = config["domain"]
        self.account_table = config["account_table"]
        self.sqlcon = config.get("sql_connection", "talker")
        self.sqlite = bool(config.get("sqlite"))
        self.host = config.get("listen_address", "127.0.0.1")
        self.port = int(config.get("sip_port", 5060))
        self.cap_ms = int(config.get("max_call_setup_s", 600)) * 1000
        self.no_reply_ms = int(config.get("no_reply_timeout_s", 5)) * 1000
        # Building log lines costs as much as computing the plan: only when they are printed.
        self.verbose = int(config.get("log_level", 1)) >= 2
        self.auth_failures = int(config.get("auth_failures", 10))
        # Signs leg URIs. Made before the fork, so every worker knows it; a restart makes new
        # legs of old calls invalid, which is fine: tm state is gone then too.
        self.secret = secrets.token_bytes(32)
        # Signs the Record-Route of every dialog (decide.dialog_token). Kept across restarts, so
        # that calls set up before one can still be hung up.
        self.dialog_secret = bytes.fromhex(config["dialog_secret"])
        self.store = store.Store(self._query, self._registered, _log, lambda: KSR.pv.get("$ci"),
                                 config.get("default_timezone") or "UTC", self.verbose, self.cap_ms // 1000)

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

        if decide.is_leg(KSR.pv.get("$ru")):
            return self._route_leg()

        if KSR.is_OPTIONS() and KSR.is_myself_ruri() and not KSR.pv.get("$rU"):
            KSR.sl.sl_send_reply(200, "OK")
            return 1

        if KSR.is_REGISTER():
            return self._route_register()

        from_trunk = self._from_trunk()
        if not from_trunk and not self._authenticate_caller():
            return 1

        action = decide.route_initial(decide.Initial(
            method=KSR.pv.get("$rm"), ruser=KSR.pv.get("$rU"), ruri_is_myself=bool(KSR.is_myself_ruri()),
            from_trunk=from_trunk, from_user=KSR.pv.get("$fU")), self.store)
        if isinstance(action, decide.Reply):
            # Recorded before the reply: once the caller hears 480, the employee's apps can
            # already list the call.
            if isinstance(action, decide.Unreached):
                self.store.record_unreached(action.employee_id, KSR.pv.get("$fU"))
            KSR.sl.sl_send_reply(action.code, action.reason)
        elif isinstance(action, decide.RingAccount):
            if action.log:
                KSR.err("talker: %s\n" % action.log)
            if action.extension is not None:
                KSR.pv.sets("$rU", action.extension)
            self._ring_account(action.up)
        elif isinstance(action, decide.RingEmployee):
            self._ring_employee(action)
        else:
            self._call_trunk(action)
        return 1

    def _route_in_dialog(self):
        """A request inside a dialog: relayed only along a Route this PBX signed for the dialog,
        towards the kind of party at the dialog's other end (decide.dialog_ends)."""
        if KSR.is_ACK() and KSR.tm.t_check_trans() == 0:
            return 1  # the ACK of a negative reply: tm has absorbed it
        from_trunk = self._from_trunk()
        ends = decide.dialog_ends(self.dialog_secret, decide.InDialog(
            is_ack=KSR.is_ACK(), call_id=KSR.pv.get("$ci") or "", from_tag=KSR.pv.get("$ft"),
            to_tag=KSR.pv.get("$tt"), route=KSR.pv.get("$(hdr(Route)[*])"), from_trunk=from_trunk,
            from_myself=self._from_myself()))
        if isinstance(ends, decide.Drop):
            return 1
        if isinstance(ends, decide.Refuse):
            return self._refuse_in_dialog(ends.why)
        if isinstance(ends, decide.Authenticate):
            if not self._authenticate_caller():
                return 1
            ends = decide.BETWEEN_PHONES
        _, targets = ends
        if KSR.is_BYE():
            self.store.call_ended(KSR.pv.get("$ci"))
        if KSR.rr.loose_route() <= 0:
            if KSR.is_ACK():
                return 1
            KSR.sl.sl_send_reply(404, "Not Here")
            return 1
        trunk = self.store.trunk_address()
        action = decide.relay_in_dialog(targets, self._next_hop(trunk), trunk, from_trunk)
        if isinstance(action, decide.Refuse):
            return self._refuse_in_dialog(action.why)
        if action.destination is not None:
            KSR.pv.sets("$du", action.destination)
        if action.strip_identity:
            for name in decide.IDENTITY_HEADERS:
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

    def _from_trunk(self):
        return decide.is_source(self.store.trunk_address(), KSR.pv.get("$si"), KSR.pv.get("$sp"))

    def _next_hop(self, trunk):
        """The kind of party a relayed request would reach: the next Route, else the R-URI."""
        if KSR.pv.get("$du"):
            myself = KSR.is_myself_duri() > 0
            host, port = (None, None) if myself else (KSR.pv.get("$dd"), KSR.pv.get("$dp"))
        else:
            if KSR.is_myself_ruri() > 0:
                return None  # nothing to relay to
            myself, host, port = False, KSR.pv.get("$rd"), KSR.pv.get("$rp")
        return decide.next_hop(myself, host, port, trunk, self.store.resolve)

    def _record_route(self, up, down):
        """Record-route the dialog being set up, signed: see decide.dialog_token."""
        token = decide.dialog_token(self.dialog_secret, KSR.pv.get("$ci") or "",
                                    KSR.pv.get("$ft") or "", up, down)
        KSR.rr.add_rr_param(";%s=%s" % (decide.DIALOG_PARAM, token))
        KSR.rr.record_route()

    def _route_register(self):
        rc = KSR.auth_db.auth_check(self.realm, self.account_table, 1)
        if rc < 0:
            self._count_auth_failure(rc)
            KSR.auth.auth_challenge(self.realm, 0)
            return 1
        KSR.auth.consume_credentials()
        if self.sqlite:
            self._wait_for_write_lock()
        saved = KSR.registrar.save("location", _SAVE_NO_REPLY) >= 0
        KSR.registrar.reg_send_reply()
        if saved:
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

    # --- carrying out an initial request's decision -----------------------------------------
    def _ring_account(self, up):
        if up == decide.PHONE:
            self._assert_identity()
        if KSR.is_INVITE() or KSR.is_SUBSCRIBE():
            self._record_route(up, decide.PHONE)
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

    def _call_trunk(self, call):
        self._set_caller_id(call.caller_id)
        self._record_route(decide.PHONE, decide.TRUNK)
        KSR.pv.sets("$ru", "sip:%s@%s" % (call.number, call.trunk))
        if self.verbose:
            KSR.info("talker: %s calls %s through the trunk %s\n" % (call.username, call.number, call.trunk))
        self._relay()

    def _set_caller_id(self, number):
        """From (restored by uac in replies and in-dialog requests) and P-Asserted-Identity
        (RFC 3325: the trunk trusts us to assert it; nothing a phone put there survives)."""
        uri = "sip:%s@%s" % (number, self.realm)
        KSR.uac.uac_replace_from_uri(uri)
        for name in decide.IDENTITY_HEADERS:
            KSR.textops.remove_hf(name)
        KSR.hdr.append("P-Asserted-Identity: <%s>\r\n" % uri)

    def _assert_identity(self):
        """Between colleagues the caller is who they authenticated as (From user = digest
        user): P-Asserted-Identity says so, and nothing a phone asserted itself survives."""
        for name in decide.IDENTITY_HEADERS:
            KSR.textops.remove_hf(name)
        user = KSR.pv.get("$fU")
        if user and decide.SIP_USER_RE.fullmatch(user):
            KSR.hdr.append("P-Asserted-Identity: <sip:%s@%s>\r\n" % (user, self.realm))

    # --- executing a ring plan ----------------------------------------------------------------
    def _ring_employee(self, ring):
        if ring.up == decide.PHONE:
            self._assert_identity()
        self._record_route(ring.up, ring.ends)
        # The call transaction: a decline on one device must not cancel the others, and only
        # the PBX-wide call-setup cap bounds it (ring forever survives tm's max_inv_lifetime).
        KSR.tm.t_set_disable_6xx(1)
        KSR.tm.t_set_max_lifetime(self.cap_ms, 0)
        if not self._relay_next_step(ring.steps, ring.caller_id):
            # None of the plan's devices is registered: nothing rang (recorded first, as above).
            if ring.employee_id is not None:
                self.store.record_unreached(ring.employee_id, KSR.pv.get("$fU"))
            KSR.sl.sl_send_reply(480, "Temporarily Unavailable")

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
                KSR.tm.t_set_fr(decide.timeout_ms(step["t"], self.cap_ms), 0)
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
        uris = [decide.leg_uri(self.secret, call_id, self.host, self.port, kind, address, timeout_s,
                               caller_id if kind == "external" else None)
                for kind, address, timeout_s in devices]
        KSR.pv.sets("$ru", uris[0])
        for uri in uris[1:]:
            KSR.corex.append_branch_uri(uri)

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
    def _route_leg(self):
        leg = decide.route_leg(self.secret, self._from_myself(), KSR.is_INVITE(),
                               KSR.pv.get("$ci") or "", KSR.pv.get("$ru"), KSR.pv.get("$rU"),
                               self.store.setting("trunk"))
        if leg == decide.FORBIDDEN:
            KSR.warn("talker: a forged leg from %s:%s refused\n" % (KSR.pv.get("$si"), KSR.pv.get("$sp")))
        if isinstance(leg, decide.Reply):
            KSR.sl.sl_send_reply(leg.code, leg.reason)
            return 1
        timeout_ms = decide.timeout_ms(leg.timeout_s, self.cap_ms)
        KSR.tm.t_set_fr(timeout_ms, 0)
        # fr_inv starts at the first provisional reply; the lifetime bounds the rest (a phone
        # slow to ring, a 183 after a 180 restarting fr_inv).
        KSR.tm.t_set_max_lifetime(min(timeout_ms + self.no_reply_ms, self.cap_ms), 0)
        KSR.tm.t_set_disable_6xx(1)  # one phone of an account declining leaves its others
        if leg.kind == "sip":
            if KSR.registrar.lookup("location") < 0:
                KSR.sl.sl_send_reply(480, "Temporarily Unavailable")
                return 1
        else:
            self._set_caller_id(leg.caller_id)
            # uac's restore of the From travels in this Record-Route.
            self._record_route(decide.SELF, decide.TRUNK)
            KSR.pv.sets("$ru", "sip:%s@%s" % (leg.address, leg.trunk))
        self._relay()
        return 1

    def _wait_for_write_lock(self):
        """Until SQLite's write lock is free, for at most decide.WRITE_RETRY_PAUSES_S: a write
        that changes no row takes the lock for a moment. usrloc writes a REGISTER's contact
        through at once, and a save() that failed on a busy database is no save to repeat: the
        contact stays in usrloc's memory without its row, and saving again only updates a row
        that is not there (db_sqlite counts no affected rows, so usrloc's db_check_update cannot
        help). Another writer may still take the lock between this and the save: the phone then
        gets 500, as it did every time before."""
        try:
            self._query(_SQLITE_LOCK_PROBE, 0)
        except decide.DbError:
            pass

    # --- Kamailio calls -----------------------------------------------------------------------
    def _query(self, sql, columns):
        res = "talker"
        if columns == 0:   # a write: see decide.WRITE_RETRY_PAUSES_S
            if not _retried(lambda: KSR.sqlops.sql_query(self.sqlcon, sql, res) >= 0):
                raise decide.DbError("the query failed: " + sql)
        elif KSR.sqlops.sql_query(self.sqlcon, sql, res) < 0:
            raise decide.DbError("the query failed: " + sql)
        try:
            rows = []
            # sql_result_get gives None for NULL. A DATE column comes back as a garbled number
            # from db_sqlite (it parses it as a datetime): queries CAST dates to TEXT.
            for i in range(KSR.sqlops.sql_num_rows(res)):
                rows.append(tuple(KSR.sqlops.sql_result_get(res, i, j) for j in range(columns)))
            return rows
        finally:
            KSR.sqlops.sql_result_free(res)

    def _registered(self, username):
        return KSR.registrar.registered_uri("location", "sip:%s@%s" % (username, self.realm)) > 0

    def _relay(self):
        if KSR.tm.t_relay() < 0:
            KSR.sl.sl_reply_error()

    # --- other routes Kamailio calls on the object (they must exist, see docs/platform-notes.md) ------
    def ksr_reply_route(self, msg):
        # An answered call, for presence. Whatever fails here must not touch the reply.
        try:
            if str(KSR.pv.get("$rs")) == "200" and KSR.pv.get("$rm") == "INVITE":
                self.store.call_answered(KSR.pv.get("$ci"), KSR.pv.get("$fU"), KSR.pv.get("$tU"))
        except Exception:
            KSR.err("talker: presence of a reply failed: %s\n" % traceback.format_exc().replace("\n", " | "))
        return 1

    def ksr_onsend_route(self, msg):
        return 1
