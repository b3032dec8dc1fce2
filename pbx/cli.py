"""`talker-pbx`: the PBX side of Talker.

    talker-pbx init [--domain pbx.local] [--database URL]
    talker-pbx employee add --extension 101 --name "Anna Ivanova" [--mobile …] [--email …] [--admin]
    talker-pbx employee list
    talker-pbx number add +74951234567 [--label Office] [--inbound 101]
    talker-pbx settings show
    talker-pbx settings set trunk=127.0.0.1:5080 buy_numbers_url=https://…
    talker-pbx ringplan 101 --at 2026-01-09T10:00+03:00      who rings now, and why (JSON)
    talker-pbx calendar import calendar-2026.xml
    talker-pbx run [--listen 127.0.0.1] [--sip-port 5060] [--api-port 8080]    Kamailio and the API
    talker-pbx serve [--api-port 8080]                                          the API alone
    talker-pbx demo                 the embedded PBX with a demo company and the app logged in

Every command works on one data directory (--data-dir, or $TALKER_PBX_DATA, or
~/.local/share/talker-pbx). Console commands act as the PBX operator (an administrator) and are
audited as such. Exit codes: 0 done, 1 failed, 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from pbx import directory, settings
from pbx.api import server
from pbx.audit import Actor
from pbx.errors import InvalidInput, PbxError
from pbx.foreground import StopSignal, StopSignals, kamailio_settings
from pbx.instance import DEFAULT_DOMAIN, PbxInstance, default_data_dir
from pbx.kamailio.supervisor import KamailioProcess, Supervised

log = logging.getLogger("talker-pbx")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CONSOLE = Actor.console()


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
            raise InvalidInput("No password was given on stdin.")
    new = directory.add_employee(pbx, CONSOLE, name=ns.name, extension=ns.extension, mobile=ns.mobile,
                                 email=ns.email, admin=ns.admin, sip_password=password)
    print(f"SIP login: {new.sip.username}@{new.sip.domain}")
    if not ns.password_stdin:
        print(f"SIP password: {new.sip.password}")
    print(f"Communicator password (shown once): {new.communicator_password}")
    return EXIT_OK


def cmd_employee_list(ns) -> int:
    pbx = PbxInstance.open(_data_dir(ns))
    for e in directory.list_employees(pbx, CONSOLE):
        admin = "  [Administrators]" if e.is_admin else ""
        contact = "  ".join(x for x in (e.mobile, e.email) if x)
        print(f"{e.extension:>6}  {e.name}{admin}  {contact}".rstrip())
    return EXIT_OK


def cmd_number_add(ns) -> int:
    pbx = PbxInstance.open(_data_dir(ns))
    inbound = None
    if ns.inbound:
        matches = [e for e in directory.list_employees(pbx, CONSOLE) if e.extension == ns.inbound]
        if not matches:
            raise InvalidInput(f"There is no employee with the extension {ns.inbound}.")
        inbound = matches[0].id
    row = directory.add_number(pbx, CONSOLE, ns.number, ns.label, inbound)
    print(f"Number {row.number} added")
    return EXIT_OK


def cmd_settings_set(ns) -> int:
    pbx = PbxInstance.open(_data_dir(ns))
    changes = {}
    for item in ns.assignments:
        name, eq, value = item.partition("=")
        if not eq or name not in settings.EDITABLE:
            raise InvalidInput(f"{item!r}: give NAME=VALUE with NAME one of {', '.join(settings.EDITABLE)}.")
        changes[name] = value
    settings.change(pbx, CONSOLE, changes, None)
    return EXIT_OK


def cmd_settings_show(ns) -> int:
    """Every setting as NAME=VALUE, the form `settings set` takes; what the running PBX sets
    itself is marked so."""
    pbx = PbxInstance.open(_data_dir(ns))
    with pbx.sessions() as s:
        values = settings.read_all(s)
    for name in settings.DEFAULTS:
        if name in settings.EDITABLE:
            print(f"{name}={values[name]}")
        elif name in settings.RUNTIME:
            print(f"{name}={values[name]}  (set by talker-pbx run)")
    return EXIT_OK


def cmd_ringplan(ns) -> int:
    """Print who rings for LOGIN at --at (default now), and why the others do not, as JSON."""
    import datetime as dt
    import json

    from pbx import logins, schemes
    from pbx import settings as pbx_settings

    pbx = PbxInstance.open(_data_dir(ns))
    try:
        at = dt.datetime.fromisoformat(ns.at) if ns.at else dt.datetime.now(dt.UTC)
    except ValueError:
        raise InvalidInput(f"{ns.at!r} is not an ISO 8601 time such as 2026-01-09T10:00+03:00.") from None
    with pbx.sessions() as s:
        employee = logins.find_employee(s, ns.login, pbx.domain, pbx_settings.get(s, "region"))
    if employee is None:
        raise InvalidInput(f"No employee has the login {ns.login!r}.")
    plan = schemes.ring_plan(pbx, CONSOLE, employee.id, at)
    print(json.dumps(plan.to_dict(), ensure_ascii=False, indent=2))
    # What the JSON carries in `notices` (nobody rings, a moved time, a missing calendar year),
    # also as sentences for the operator reading the terminal; stdout stays plain JSON.
    for notice in plan.notices:
        print(f"talker-pbx: note: {notice.message}", file=sys.stderr)
    return EXIT_OK


def cmd_calendar_import(ns) -> int:
    from pbx import calendar_store

    pbx = PbxInstance.open(_data_dir(ns))
    calendar, version = calendar_store.import_xml(pbx, CONSOLE, None, Path(ns.file).read_bytes())
    print(f"Production calendar imported: {len(calendar.days)} exceptions (version {version})")
    return EXIT_OK


def cmd_serve(ns) -> int:
    pbx = PbxInstance.open(_data_dir(ns))
    pbx.upgrade()
    server.serve(pbx, ns.api_listen, ns.api_port,
                 on_ready=lambda: print(f"PBX API on http://{ns.api_listen}:{ns.api_port}/api/v1", flush=True))
    return EXIT_OK


def cmd_run(ns) -> int:
    pbx = PbxInstance.open(_data_dir(ns))
    pbx.upgrade()
    with pbx.sessions.begin() as s:
        settings.set_runtime(s, sip_proxy=f"{ns.listen}:{ns.sip_port}")
    stops = StopSignals()
    # Besides the cleanup below, Kamailio gets SIGTERM from the kernel if this process dies
    # without any (SIGKILL, a crash): see supervisor._die_with_parent.
    kamailio = Supervised(KamailioProcess(kamailio_settings(pbx, ns)))
    try:
        kamailio.start()
        server.serve(pbx, ns.api_listen, ns.api_port, on_ready=lambda: print(
            f"PBX {pbx.domain}: SIP on {ns.listen}:{ns.sip_port}, API on http://{ns.api_listen}:{ns.api_port}"
            f"/api/v1 (Ctrl-C stops it)", flush=True))
    except StopSignal:
        pass
    finally:
        stops.disarm()
        kamailio.stop()  # should this fail, its error and exit code 1 say more than the signal
        stops.restore()
    return EXIT_OK


def cmd_demo(ns) -> int:
    from pbx.demo import run_demo

    if ns.data_dir is None and not os.environ.get("TALKER_PBX_DATA"):
        ns.data_dir = str(default_data_dir() / "demo")
    return run_demo(_data_dir(ns), ns)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="talker-pbx", description="The Talker PBX: directory, API and Kamailio.")
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
    add.add_argument("--mobile")
    add.add_argument("--email")
    add.add_argument("--admin", action="store_true", help="member of Administrators")
    add.add_argument("--password-stdin", action="store_true", help="read the SIP password from stdin")
    add.set_defaults(func=cmd_employee_add)
    emp_sub.add_parser("list", help="list the employees").set_defaults(func=cmd_employee_list)

    num = sub.add_parser("number", help="the PBX's phone numbers")
    num_sub = num.add_subparsers(dest="number_command", required=True)
    nadd = num_sub.add_parser("add", help="add a number (DID)")
    nadd.add_argument("number")
    nadd.add_argument("--label", default="")
    nadd.add_argument("--inbound", metavar="EXTENSION", help="the employee whose phones it rings")
    nadd.set_defaults(func=cmd_number_add)

    st = sub.add_parser("settings", help="PBX-wide settings")
    st_sub = st.add_subparsers(dest="settings_command", required=True)
    sset = st_sub.add_parser("set", help="set NAME=VALUE (" + ", ".join(settings.EDITABLE) + ")")
    sset.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    sset.set_defaults(func=cmd_settings_set)
    st_sub.add_parser("show", help="print every setting as NAME=VALUE").set_defaults(func=cmd_settings_show)

    rp = sub.add_parser("ringplan", help="who rings for an employee at a moment, and why (JSON)")
    rp.add_argument("login", help="SIP account, extension, mobile or e-mail of the employee")
    rp.add_argument("--at", help="ISO 8601 time; with an offset an instant, without one a local time in the "
                                 "scheme's zone (default: now)")
    rp.set_defaults(func=cmd_ringplan)

    cal = sub.add_parser("calendar", help="the production calendar")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    cimp = cal_sub.add_parser("import", help='import a year from an XML calendar (<day d="MM.DD" t="1|2|3"/>)')
    cimp.add_argument("file")
    cimp.set_defaults(func=cmd_calendar_import)

    for name, func, help_text in (("run", cmd_run, "run Kamailio and the API in the foreground"),
                                  ("serve", cmd_serve, "run the API alone in the foreground"),
                                  ("demo", cmd_demo, "run the embedded demo PBX and the app")):
        sp = sub.add_parser(name, help=help_text)
        if name != "serve":
            sp.add_argument("--listen", default="127.0.0.1", help="SIP address (default %(default)s)")
            sp.add_argument("--sip-port", type=int, default=5060, help="SIP UDP port (default %(default)s)")
            sp.add_argument("--children", type=int, default=4, help="Kamailio worker processes")
        sp.add_argument("--api-listen", default="127.0.0.1", help="API address (default %(default)s)")
        sp.add_argument("--api-port", type=int, default=8080, help="API port (default %(default)s)")
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
