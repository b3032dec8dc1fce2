"""Kamailio's configuration, generated from kamailio.cfg.tmpl for one PBX run."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from pbx import settings as pbx_settings
from pbx.db import kamailio_db_module, kamailio_db_url
from pbx.instance import PRIVATE_DIR, restrict, write_private as _write_private

HERE = Path(__file__).parent
TEMPLATE = HERE / "kamailio.cfg.tmpl"
ROUTING_SCRIPT = HERE / "routing.py"
ROUTING_CONFIG_ENV = "TALKER_ROUTING_CONFIG"
PACKAGE_ROOT = HERE.parent.parent  # the folder that holds the pbx package
SQL_CONNECTION = "talker"  # sqlops' name for the PBX database

_PLACEHOLDER = re.compile(r"\{\{ *([a-z_]+) *\}\}")


@dataclass(frozen=True)
class KamailioSettings:
    run_dir: Path
    database_url: str
    domain: str
    listen_address: str = "127.0.0.1"
    sip_port: int = 5060
    tcp: bool = False
    children: int = 4
    log_level: int = 1  # 1 = errors and warnings; 2 = info; 3 = debug
    # docs/platform-notes.md: ring timeout 0 = forever is bounded by the PBX-wide maximum call-setup time. The
    # ring plan sets it on each of its transactions itself (tm's t_set_max_lifetime).
    max_call_setup_s: int = 600
    # tm's own limit for INVITE transactions that no ring plan times (outgoing calls to the
    # trunk, calls to one SIP account); None = max_call_setup_s. It never cuts a ring plan short.
    max_inv_lifetime_s: int | None = None
    # A callee that sends no provisional reply within this is unreachable (tm's fr_timer).
    no_reply_timeout_s: int = 5
    # Flood and password-guessing limits for sources that are neither registered phones nor the
    # trunk (kamailio.cfg.tmpl says how they apply). 100 requests in 2 s lets an office of
    # dozens of phones behind one address register all at once after a power cut.
    flood_requests: int = 100
    auth_failures: int = 10
    ban_s: int = 300

    @property
    def stock_inv_lifetime_s(self) -> int:
        return self.max_call_setup_s if self.max_inv_lifetime_s is None else self.max_inv_lifetime_s

    @property
    def config_path(self) -> Path:
        return self.run_dir / "kamailio.cfg"

    @property
    def routing_config_path(self) -> Path:
        return self.run_dir / "routing.json"

    @property
    def pid_path(self) -> Path:
        return self.run_dir / "kamailio.pid"

    @property
    def ctl_socket(self) -> Path:
        return self.run_dir / "kamailio.ctl"


def render_template(template: str, values: dict[str, object]) -> str:
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - values.keys())
    if missing:
        raise KeyError(f"no value for template placeholders: {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def write_config(settings: KamailioSettings) -> None:
    """Write kamailio.cfg and the routing script's parameters into the run directory."""
    settings.run_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    restrict(settings.run_dir)  # mkdir leaves the mode of one that exists as it is
    tcp_listen = (f"listen=tcp:{settings.listen_address}:{settings.sip_port}"
                  if settings.tcp else "")
    values = {
        "log_level": settings.log_level,
        "log_prefix": "{$mt $hdr(CSeq) $ci} ",
        "children": settings.children,
        "disable_tcp": "no" if settings.tcp else "yes",
        "listen_address": settings.listen_address,
        "sip_port": settings.sip_port,
        "tcp_listen": tcp_listen,
        "domain": settings.domain,
        "rundir": settings.run_dir,
        "db_module": kamailio_db_module(settings.database_url),
        "db_url": kamailio_db_url(settings.database_url),
        # Nonces are signed with a per-run secret: after a restart, clients simply re-authenticate.
        "auth_secret": secrets.token_hex(16),
        # tm's timers are in milliseconds.
        "fr_timer_ms": settings.no_reply_timeout_s * 1000,
        "fr_inv_timer_ms": settings.stock_inv_lifetime_s * 1000,
        "max_inv_lifetime_ms": settings.stock_inv_lifetime_s * 1000,
        # Encrypts the original From that uac keeps in Record-Route when it puts a caller ID in.
        # Kept across restarts: calls set up before one still end with the right From.
        "uac_secret": _lasting_secret(settings.run_dir / "uac.secret"),
        "sql_connection": SQL_CONNECTION,
        "routing_script": ROUTING_SCRIPT,
        "flood_requests": settings.flood_requests,
        "ban_s": settings.ban_s,
        "auth_failures": settings.auth_failures,
    }
    text = render_template(TEMPLATE.read_text(), values)
    _write_private(settings.config_path, text)
    routing = {
        "domain": settings.domain,
        "account_table": "sip_account",
        "sql_connection": SQL_CONNECTION,
        # On SQLite a REGISTER waits for the write lock before usrloc writes (routing.py).
        "sqlite": kamailio_db_module(settings.database_url) == "db_sqlite.so",
        # Where each device's leg of a ring plan is sent: Kamailio itself.
        "listen_address": settings.listen_address,
        "sip_port": settings.sip_port,
        "max_call_setup_s": settings.max_call_setup_s,
        "no_reply_timeout_s": settings.no_reply_timeout_s,
        "log_level": settings.log_level,
        "auth_failures": settings.auth_failures,
        # Signs the Record-Route of every dialog; kept across restarts like uac's secret.
        "dialog_secret": _lasting_secret(settings.run_dir / "dialog.secret"),
        # The zone of a scheme never stored (the default scheme), as pbx/settings.py has it.
        "default_timezone": pbx_settings.DEFAULTS["timezone"],
        # routing.py imports pbx.ringplan and pbx.prodcalendar (standard library only) from here:
        # Kamailio's interpreter is the system Python, which does not see the venv.
        "package_root": str(PACKAGE_ROOT),
    }
    _write_private(settings.routing_config_path, json.dumps(routing, indent=2) + "\n")


def _lasting_secret(path: Path) -> str:
    try:
        value = path.read_text().strip()
        if re.fullmatch(r"[0-9a-f]{32}", value):
            return value
    except FileNotFoundError:
        pass
    value = secrets.token_hex(16)
    _write_private(path, value + "\n")
    return value
