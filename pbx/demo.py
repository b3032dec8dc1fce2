"""`talker-pbx demo`: a whole small company on this machine, on loopback, in one command.

Kamailio with a generated config and a SQLite database; the demo employees; a phone for each
colleague (headless SIP agents: 100 echoes, 102 answers after a few rings and echoes, 103 rings
until you give up); and the Talker app, configured through its own CLI and logged in as the
administrator 101. Ctrl-C (or quitting the app) stops everything.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from common.control_client import AppNotRunning, ControlClient, ControlError
from pbx import contacts, directory, settings
from pbx.api.server import ApiThread
from pbx.audit import Actor
from pbx.db import Employee
from pbx.errors import PbxError
from pbx.foreground import StopSignal, StopSignals, kamailio_settings
from pbx.instance import PbxInstance
from pbx.kamailio.supervisor import KamailioProcess, Supervised
from tray.sip.agent_client import AgentProcess


@dataclass(frozen=True)
class DemoEmployee:
    extension: str
    name: str
    admin: bool = False
    mobile: str | None = None
    email: str | None = None
    phone: tuple[str, ...] | None = None   # agent options; None: no phone (the app is the phone)
    dial_name: str | None = None           # a name the app may dial instead of the extension


DEMO_COMPANY = (
    DemoEmployee("101", "Anna Ivanova", admin=True, mobile="+79161234567", email="anna@example.com"),
    DemoEmployee("102", "Boris Petrov", mobile="+79261234567", email="boris@example.com",
                 phone=("--auto-answer", "4", "--echo")),
    DemoEmployee("103", "Vera Sidorova", phone=()),
    DemoEmployee("100", "Echo test", phone=("--auto-answer", "0", "--echo"), dial_name="echo"),
)
APP_USER = DEMO_COMPANY[0]
DEMO_NUMBER = "+74950000001"
# "Add number…" leads to the demo cabinet's Numbers page (there is no shop on loopback).
DEMO_SHOP_PAGE = "/#/numbers"
DEMO_CONTACTS = (("ООО «Ромашка»", "+74951234567"), ("Pizza delivery", "+74957654321"))


def _port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def ensure_company(pbx: PbxInstance) -> None:
    console = Actor.console()
    with pbx.sessions() as s:
        existing = set(s.scalars(select(Employee.extension)))
    for e in DEMO_COMPANY:
        if e.extension not in existing:
            directory.add_employee(pbx, console, name=e.name, extension=e.extension, admin=e.admin,
                                   mobile=e.mobile, email=e.email)
    if not directory.list_numbers(pbx, console):
        admin = next(x for x in directory.list_employees(pbx, console) if x.extension == APP_USER.extension)
        directory.add_number(pbx, console, DEMO_NUMBER, "Main office", admin.id)
        for name, number in DEMO_CONTACTS:
            contacts.add_contact(pbx, console, contacts.COMPANY, name=name, number=number)


class DemoPhone:
    """One colleague's phone: a SIP agent whose events are printed for the person at the demo."""

    def __init__(self, employee: DemoEmployee, password: str, domain: str, server: str):
        self.employee = employee
        self.registered = threading.Event()
        self.agent = AgentProcess(employee.extension, domain, server, password, self._event,
                                  display_name=employee.name, options=employee.phone or ())

    def _event(self, ev: dict) -> None:
        who = f"{self.employee.extension} {self.employee.name}"
        if ev.get("event") == "registration" and ev.get("state") == "registered":
            self.registered.set()
        elif ev.get("event") == "call":
            caller = ev.get("remote_name") or ev.get("remote_number")
            state = ev.get("state")
            if state == "incoming":
                print(f"  [{who}] rings: call from {caller}", flush=True)
            elif state == "connected":
                print(f"  [{who}] answered", flush=True)
            elif state == "ended":
                print(f"  [{who}] call ended ({ev.get('code')} {ev.get('reason')})", flush=True)

    def stop(self) -> None:
        self.agent.stop()


def _talker(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tray.cli", *args], input=stdin, text=True,
                          capture_output=True, timeout=30)


def _quit_running_app() -> None:
    try:
        with ControlClient.connect(client="cli") as c:
            c.request("quit")
    except ControlError:
        return
    for _ in range(100):
        try:
            ControlClient.connect(client="cli").close()
        except AppNotRunning:
            return
        time.sleep(0.05)


def _wait_registered(proc: subprocess.Popen, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with ControlClient.connect(client="cli") as c:
                status = c.request("status")
            if status["registration"]["state"] == "registered":
                return status
        except ControlError:
            pass
        time.sleep(0.1)
    return None


def _free_tcp_port(address: str, wanted: int) -> int:
    with socket.socket() as s:
        try:
            s.bind((address, wanted))
            return wanted
        except OSError:
            s.bind((address, 0))
            return s.getsockname()[1]


def run_demo(data_dir: Path, ns) -> int:
    pbx = PbxInstance.init(data_dir)
    ensure_company(pbx)
    if not _port_free(ns.listen, ns.sip_port):
        port = _free_port(ns.listen)
        print(f"Port {ns.sip_port} is taken: the demo PBX uses {port} instead.")
        ns.sip_port = port
    server = f"{ns.listen}:{ns.sip_port}"
    with pbx.sessions.begin() as s:
        settings.set_runtime(s, sip_proxy=server)
    stops = StopSignals()
    kamailio = Supervised(KamailioProcess(kamailio_settings(pbx, ns)))
    api: ApiThread | None = None
    phones: list[DemoPhone] = []
    app: subprocess.Popen | None = None
    try:
        kamailio.start()
        api = ApiThread(pbx, ns.api_listen, _free_tcp_port(ns.api_listen, ns.api_port))
        api.start()
        print(f"Demo PBX {pbx.domain} is up: SIP on {server}, API on {api.url}/api/v1, data in {pbx.data_dir}")
        phones = [DemoPhone(e, directory.sip_password(pbx, e.extension), pbx.domain, server)
                  for e in DEMO_COMPANY if e.phone is not None]
        for phone in phones:
            if not phone.registered.wait(10):
                raise PbxError(f"The demo phone {phone.employee.extension} did not register.")
        _point_add_number_at_the_cabinet(pbx, api.url)
        password = _fresh_communicator_password(pbx)
        if not ns.no_app:
            app = _start_app(pbx, api.url, password)
        _print_welcome(pbx, server, api.url, password, app_started=app is not None)
        while True:
            time.sleep(0.5)
            if app is not None and app.poll() is not None:
                print("Talker quit: stopping the demo PBX.")
                break
    except StopSignal:
        pass
    finally:
        stops.disarm()
        if app is not None and app.poll() is None:
            _quit_running_app()
            try:
                app.wait(10)
            except subprocess.TimeoutExpired:
                app.kill()
        for phone in phones:
            phone.stop()
        if api is not None:
            api.stop()
        kamailio.stop()
        stops.restore()
    return 0


def _fresh_communicator_password(pbx: PbxInstance) -> str:
    """The administrator's communicator password for this run: the PBX keeps only its hash, so
    the demo makes a new one each time and prints it."""
    console = Actor.console()
    admin = next(x for x in directory.list_employees(pbx, console) if x.extension == APP_USER.extension)
    return directory.generate_communicator_password(pbx, console, admin.id)


def _point_add_number_at_the_cabinet(pbx: PbxInstance, api_url: str) -> None:
    """"Add number…" needs somewhere to lead: in the demo, the cabinet's own Numbers page (its
    port may differ from one run to the next). An address someone set by hand stays."""
    with pbx.sessions() as s:
        current = settings.get(s, "buy_numbers_url")
    if not current or current.endswith(DEMO_SHOP_PAGE):
        settings.change(pbx, Actor.console(), {"buy_numbers_url": api_url + DEMO_SHOP_PAGE}, None)


def _start_app(pbx: PbxInstance, api_url: str, password: str) -> subprocess.Popen:
    """Log the app in as the administrator, the way a person would: with a login and the
    communicator password."""
    names = [f"--name={e.dial_name}={e.extension}" for e in DEMO_COMPANY if e.dial_name]
    _quit_running_app()  # it may be running with another account
    done = _talker("--login", f"{APP_USER.extension}@{pbx.domain}", "--pbx", api_url, *names, stdin=password + "\n")
    if done.returncode != 0:
        raise PbxError(f"The app could not log in to the demo PBX: {done.stderr.strip()}")
    app = subprocess.Popen([sys.executable, "-m", "tray"], stdin=subprocess.DEVNULL)
    if _wait_registered(app, 15) is None:
        raise PbxError("The Talker app did not register with the demo PBX: see its log.")
    return app


def _print_welcome(pbx: PbxInstance, server: str, api_url: str, password: str, *, app_started: bool) -> None:
    login = f"{APP_USER.extension}@{pbx.domain}"
    lines = [""]
    if app_started:
        lines.append(f"Talker demo: the app is logged in as {login} ({APP_USER.name}, Administrators).")
    else:
        lines.append(f"Talker demo PBX: SIP on {server}, API on {api_url} (no app started).")
        lines.append(f"Log in from your own Talker app as {APP_USER.name} (Administrators):")
        lines.append(f"  PBX address: {api_url}")
        lines.append(f"  Login: {login} (or {APP_USER.email}, or {APP_USER.mobile})")
    lines.append(f"  Communicator password of {login} for this run: {password}")
    if not app_started:
        lines.append(f"  or in a terminal: talker --login {login} --pbx {api_url}   (the password on stdin)")
    lines.append(f"  Web cabinet: {api_url}/ (log in as {login} with that password)")
    lines += [
        "Try, in another terminal:",
        "  talker --callto=102        Boris answers after a few rings and echoes you",
        "  talker --callto=echo       the echo test (extension 100) answers at once",
        "  talker callto:103          Vera's phone rings until you hang up",
        "  talker --status            the registration and the calls",
        f"  talker-pbx --data-dir {pbx.data_dir} ringplan 101     who rings for Anna now, and why",
        "Ctrl-C stops the demo.",
        "",
    ]
    print("\n".join(lines), flush=True)
