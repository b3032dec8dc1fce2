"""`talker-pbx`: the PBX side of Talker.

    talker-pbx init [--domain pbx.local] [--database URL]
    talker-pbx employee add --extension 101 --name "Anna Ivanova" [--admin] [--password-stdin]
    talker-pbx employee list
    talker-pbx run [--listen 127.0.0.1] [--sip-port 5060]
    talker-pbx demo                 the embedded PBX with a demo company and the app logged in

Every command works on one data directory (--data-dir, or $TALKER_PBX_DATA, or
~/.local/share/talker-pbx). Exit codes: 0 done, 1 failed, 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from pbx import directory
from pbx.instance import DEFAULT_DOMAIN, InvalidInput, PbxError, PbxInstance, default_data_dir
from pbx.kamailio.config import KamailioSettings
from pbx.kamailio.supervisor import KamailioProcess

log = logging.getLogger("talker-pbx")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _data_dir(ns) -> Path:
    if ns.data_dir:
        return Path(ns.data_dir)
    env = os.environ.get("TALKER_PBX_DATA")
    return Path(env) if env else default_data_dir()


def cmd_init(ns) -> int:
    pbx = PbxInstance.init(_data_dir(ns), database_url=ns.database, domain=ns.domain)
    print(f"PBX {pbx.domain} ready in {pbx.data_dir}")
    return EXIT_OK


def cmd_employee_add(ns) -> int:
    pbx = PbxInstance.open(_data_dir(ns))
    password = None
    if ns.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise PbxError("No password was given on stdin.")
    creds = directory.add_employee(pbx, name=ns.name, extension=ns.extension, is_admin=ns.admin,
                                   sip_password=password)
    print(f"SIP login: {creds.username}@{creds.domain}")
    if not ns.password_stdin:
        print(f"SIP password: {creds.password}")
    return EXIT_OK


def cmd_employee_list(ns) -> int:
    pbx = PbxInstance.open(_data_dir(ns))
    with pbx.sessions() as s:
        for e in directory.list_employees(s):
            admin = "  [Administrators]" if e.is_admin else ""
            print(f"{e.extension:>6}  {e.name}{admin}")
    return EXIT_OK


def kamailio_settings(pbx: PbxInstance, ns) -> KamailioSettings:
    return KamailioSettings(run_dir=pbx.run_dir, database_url=pbx.database_url, domain=pbx.domain,
                            listen_address=ns.listen, sip_port=ns.sip_port, children=ns.children,
                            log_level=2 if ns.verbose else 1)


def supervise(kamailio: KamailioProcess, stop: threading.Event) -> None:
    """Keep Kamailio up until `stop`: restart it, with backoff, if it dies."""
    delay = 1.0
    while not stop.is_set():
        if not kamailio.running():
            log.error("Kamailio exited (code %s): %s", kamailio.proc.returncode, kamailio.log_tail(3))
            if stop.wait(delay):
                break
            delay = min(delay * 2, 30.0)
            try:
                kamailio.start()
                log.info("Kamailio restarted")
            except PbxError as e:
                log.error("%s", e)
                continue
        else:
            delay = 1.0
        stop.wait(0.5)


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


def cmd_run(ns) -> int:
    pbx = PbxInstance.open(_data_dir(ns))
    pbx.upgrade()
    kamailio = KamailioProcess(kamailio_settings(pbx, ns))
    kamailio.start()
    print(f"PBX {pbx.domain}: SIP on {ns.listen}:{ns.sip_port} (Ctrl-C stops it)", flush=True)
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        supervise(kamailio, stop)
    finally:
        kamailio.stop()
    return EXIT_OK


def cmd_demo(ns) -> int:
    from pbx.demo import run_demo

    if ns.data_dir is None and not os.environ.get("TALKER_PBX_DATA"):
        ns.data_dir = str(default_data_dir() / "demo")
    return run_demo(_data_dir(ns), ns)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="talker-pbx", description="The Talker PBX: directory and Kamailio.")
    p.add_argument("--data-dir", help="the PBX's data directory")
    p.add_argument("-v", "--verbose", action="store_true", help="log more (Kamailio at info level)")
    sub = p.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create the PBX database and key")
    init.add_argument("--domain", default=DEFAULT_DOMAIN, help="the SIP domain (default %(default)s)")
    init.add_argument("--database", help="SQLAlchemy URL (default: SQLite in the data directory)")
    init.set_defaults(func=cmd_init)

    emp = sub.add_parser("employee", help="employees and their SIP accounts")
    emp_sub = emp.add_subparsers(dest="employee_command", required=True)
    add = emp_sub.add_parser("add", help="add an employee with a SIP account")
    add.add_argument("--extension", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--admin", action="store_true", help="member of Administrators")
    add.add_argument("--password-stdin", action="store_true", help="read the SIP password from stdin")
    add.set_defaults(func=cmd_employee_add)
    lst = emp_sub.add_parser("list", help="list the employees")
    lst.set_defaults(func=cmd_employee_list)

    for name, func, help_text in (("run", cmd_run, "run Kamailio on this PBX, in the foreground"),
                                  ("demo", cmd_demo, "run the embedded demo PBX and the app")):
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("--listen", default="127.0.0.1", help="SIP address (default %(default)s)")
        sp.add_argument("--sip-port", type=int, default=5060, help="SIP UDP port (default %(default)s)")
        sp.add_argument("--children", type=int, default=4, help="Kamailio worker processes")
        sp.set_defaults(func=func)
        if name == "demo":
            sp.add_argument("--no-app", action="store_true", help="do not start the Talker app")
    return p


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if ns.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return ns.func(ns)
    except PbxError as e:
        print(f"talker-pbx: {e}", file=sys.stderr)
        return EXIT_USAGE if isinstance(e, InvalidInput) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
