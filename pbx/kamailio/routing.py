"""SIP routing of the Talker PBX, run by Kamailio's app_python3 module (KEMI).

This file is imported by Kamailio's embedded interpreter (Debian's system Python), not by the
venv: it must stay standard-library only. Its parameters come from a JSON file whose path
Kamailio's environment carries in TALKER_ROUTING_CONFIG (written by pbx/kamailio/config.py).

It is the seed of the receive-scheme routing: today a request to an employee's extension goes to
the devices registered for that extension; the ring plan of the scheme will slot in at
`_route_to_employee`.
"""

import json
import os

import KSR  # provided by Kamailio

# auth module return codes (auth.h: auth_cfg_result_t), as KEMI returns them.
_AUTH_NO_CREDENTIALS = -5


def _load_config():
    path = os.environ.get("TALKER_ROUTING_CONFIG")
    if not path:
        raise RuntimeError("TALKER_ROUTING_CONFIG is not set: start Kamailio through talker-pbx")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def mod_init():
    # Runs once before the workers fork: nothing that holds a connection may be opened here.
    return Router(_load_config())


class Router:
    def __init__(self, config):
        self.realm = config["domain"]
        self.account_table = config["account_table"]

    def child_init(self, rank):
        return 0

    # --- request route -------------------------------------------------------------------
    def ksr_request_route(self, msg):
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

        # Absorb retransmissions of requests that already have a transaction.
        if KSR.tm.t_check_trans() == 0:
            return 1

        if KSR.is_OPTIONS() and KSR.is_myself_ruri() and not KSR.pv.get("$rU"):
            KSR.sl.sl_send_reply(200, "OK")
            return 1

        if KSR.is_REGISTER():
            return self._route_register()

        if not self._authenticate_caller():
            return 1

        if KSR.is_INVITE() or KSR.is_SUBSCRIBE():
            KSR.rr.record_route()

        if not KSR.is_myself_ruri():
            # We are nobody's outbound proxy: the PBX routes only to its own users.
            KSR.sl.sl_send_reply(403, "Relaying Forbidden")
            return 1
        return self._route_to_employee()

    def _route_in_dialog(self):
        if KSR.rr.loose_route() > 0:
            self._relay()
            return 1
        if KSR.is_ACK():
            # An ACK for a negative reply is absorbed by tm; a stray one is dropped.
            if KSR.tm.t_check_trans() > 0:
                KSR.tm.t_relay()
            return 1
        KSR.sl.sl_send_reply(404, "Not Here")
        return 1

    def _route_register(self):
        rc = KSR.auth_db.auth_check(self.realm, self.account_table, 1)
        if rc < 0:
            KSR.auth.auth_challenge(self.realm, 0)
            return 1
        KSR.auth.consume_credentials()
        if KSR.registrar.save("location", 0) < 0:
            KSR.sl.sl_reply_error()
        return 1

    def _authenticate_caller(self):
        """Every call from a PBX user proves it is that user (From user = digest user)."""
        if not KSR.is_myself_furi():
            KSR.sl.sl_send_reply(403, "Forbidden")
            return False
        rc = KSR.auth_db.auth_check(self.realm, self.account_table, 1)
        if rc < 0:
            if rc != _AUTH_NO_CREDENTIALS:
                KSR.info("talker: auth failed (%d) for %s from %s\n"
                         % (rc, KSR.pv.get("$fu"), KSR.pv.get("$si")))
            KSR.auth.auth_challenge(self.realm, 0)
            return False
        KSR.auth.consume_credentials()
        return True

    def _route_to_employee(self):
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

    def _relay(self):
        if KSR.tm.t_relay() < 0:
            KSR.sl.sl_reply_error()

    # --- other routes Kamailio calls on the object (they must exist, see FINDINGS.md) ------
    def ksr_reply_route(self, msg):
        return 1

    def ksr_onsend_route(self, msg):
        return 1
