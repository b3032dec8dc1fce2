"""The Talker app: the SIP engine, the control channel and the tray icon, wired together.

Threads: the main thread runs the tray icon (pystray wants it, macOS insists); the "sip" thread
owns pjsua2 (tray/sip/engine.py); the "control" thread runs the asyncio control server and every
request handler. The engine reports to this object on its thread; the handlers run on the
control loop; shared state (`_registration`, `_calls`) is replaced whole under `_lock`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import logging.handlers
import os
import signal
import sys
import threading
from pathlib import Path

from common import dialstring, locations
from common.i18n import tr
from tray import __version__, settings as settings_mod
from tray.control_server import Connection, ControlServer, RequestFailed
from tray.icon import IconState, TrayIcon, load_pystray
from tray.pbx_client import PbxClient, PbxRequestFailed
from tray.secret_store import open_store, sip_password_key
from tray.settings import Settings
from tray.single_instance import InstanceLock
from tray.sip.engine import (
    Account, AudioConfig, CallEvent, CallState, EngineError, RegistrationEvent, RegistrationState,
    SipEngine,
)
from tray.sip.network import local_address_for

log = logging.getLogger(__name__)

# A call asked for while the app is still registering waits this long (MicroSIP does the same).
CALL_WAIT_FOR_REGISTRATION_S = 10.0


def registration_message(ev: RegistrationEvent) -> dict:
    return {"state": ev.state.value, "account": ev.account, "reason": ev.reason, "retry_in_s": ev.retry_in_s}


def call_message(ev: CallEvent) -> dict:
    return {"call_id": ev.call_id, "direction": ev.direction, "state": ev.state.value,
            "number": ev.remote_number, "name": ev.remote_name, "code": ev.code, "reason": ev.reason}


class TalkerApp:
    def __init__(self, settings: Settings, password: str | None, *, audio: AudioConfig = AudioConfig(),
                 bind_address: str | None = None, store=None):
        self.settings = settings
        self._password = password
        self._store = store
        account = settings.account
        if bind_address is None:
            bind_address = local_address_for(account.server) if account else "127.0.0.1"
        self.engine = SipEngine(self, bind_address=bind_address, audio=audio,
                                user_agent=f"Talker/{__version__}")
        self.control = ControlServer(self.handle_request)
        self.icon: TrayIcon | None = None
        self._lock = threading.Lock()
        self._registration = RegistrationEvent(RegistrationState.OFFLINE, account.aor if account else None)
        self._calls: dict[str, CallEvent] = {}
        self._registered: asyncio.Event | None = None  # lives on the control loop
        self._stop = threading.Event()
        self.pbx: PbxClient | None = None
        if settings.pbx_url and store is not None:
            self.pbx = PbxClient(settings.pbx_url, store, region=settings.region,
                                 on_change=self._pbx_changed, on_sip=self._pbx_sip)
        self._actions = {
            "status": self._status,
            "subscribe": self._subscribe,
            "call": self._call,
            "answer": self._answer,
            "decline": self._decline,
            "hangup": self._hangup,
            "quit": self._quit,
            "pbx_state": self._pbx_state,
            "set_receive_mode": self._set_receive_mode,
            "set_device_active": self._set_device_active,
            "set_outgoing_number": self._set_outgoing_number,
        }

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.control.start()
        self.control.call_soon(self._create_loop_state)
        if self.pbx is not None:
            self.control.call_soon(self.pbx.start)
        self.engine.start()
        account = self.settings.account
        if account is not None and self._password is not None:
            self.engine.set_account(Account(account.username, account.domain, self._password,
                                            account.server, account.display_name))
        elif account is not None:
            log.error("no password is stored for %s", account.aor)

    def _create_loop_state(self) -> None:
        self._registered = asyncio.Event()
        if self._registration.state == RegistrationState.REGISTERED:
            self._registered.set()

    def run(self) -> None:
        """Start, then block on the main thread until quit."""
        pystray = load_pystray()
        if pystray is not None:
            self.icon = TrayIcon(pystray, self.request_stop)
            self._refresh_icon()
            self.icon.run(self.start)
        else:
            self.start()
            self._stop.wait()
        self.shutdown()

    def request_stop(self) -> None:
        self._stop.set()
        if self.icon is not None:
            self.icon.stop()

    def shutdown(self) -> None:
        if self.pbx is not None:
            self.control.run_coroutine(self.pbx.stop())
        self.engine.stop()
        self.control.stop()

    # --- engine events (SIP thread) ------------------------------------------------------
    def registration_changed(self, event: RegistrationEvent) -> None:
        with self._lock:
            previous, self._registration = self._registration, event
        self.control.call_soon(self._on_registration_loop, event)
        self.control.broadcast({"event": "registration", "registration": registration_message(event)})
        self._refresh_icon()
        if self.icon is not None and previous.state != event.state:
            if event.state == RegistrationState.FAILED and previous.state == RegistrationState.REGISTERED:
                self.icon.notify(event.reason or tr("reg.failed"))

    def _on_registration_loop(self, event: RegistrationEvent) -> None:
        if self._registered is None:
            return
        if event.state == RegistrationState.REGISTERED:
            self._registered.set()
        else:
            self._registered.clear()

    def call_changed(self, event: CallEvent) -> None:
        if self.pbx is not None:
            # The PBX's directory and address books know the caller better than the SIP display name.
            name = self.pbx.caller_name(event.remote_number)
            if name:
                event = dataclasses.replace(event, remote_name=name)
        with self._lock:
            if event.state == CallState.ENDED:
                self._calls.pop(event.call_id, None)
            else:
                self._calls[event.call_id] = event
        self.control.broadcast({"event": "call", "call": call_message(event)})
        self._refresh_icon()
        if self.icon is not None and event.state == CallState.INCOMING:
            self.icon.notify(tr("tray.ringing", party=_party(event)))

    def _refresh_icon(self) -> None:
        if self.icon is None:
            return
        with self._lock:
            reg, calls = self._registration, list(self._calls.values())
        self.icon.update(icon_state(reg, calls))

    # --- control requests (control loop) ---------------------------------------------------
    async def handle_request(self, conn: Connection, message: dict) -> dict:
        return await self._actions[message["action"]](conn, message)

    def status(self) -> dict:
        with self._lock:
            return {"registration": registration_message(self._registration),
                    "calls": [call_message(c) for c in self._calls.values()]}

    async def _status(self, conn: Connection, message: dict) -> dict:
        return self.status()

    async def _subscribe(self, conn: Connection, message: dict) -> dict:
        conn.subscribed = True
        return self.status()

    async def _call(self, conn: Connection, message: dict) -> dict:
        try:
            target = dialstring.parse(message["target"])
            number = dialstring.normalise(target, self.settings.region)
        except dialstring.InvalidTarget as e:
            raise RequestFailed("invalid_number", str(e)) from None
        if target.is_name:
            number = self.settings.names.get(number)
            if number is None:
                raise RequestFailed("unknown_name", tr("target.unknown_name", target=target.number))
        if self.settings.account is None or self._password is None:
            raise RequestFailed("no_account", tr("app.no_account"))
        try:
            await asyncio.wait_for(self._registered.wait(), CALL_WAIT_FOR_REGISTRATION_S)
        except asyncio.TimeoutError:
            with self._lock:
                reg = self._registration
            detail = reg.reason or tr(f"reg.{reg.state.value}")
            raise RequestFailed("not_registered", tr("call.not_registered", detail=detail)) from None
        try:
            call_id = await asyncio.wrap_future(self.engine.make_call(number, dtmf=target.extension))
        except EngineError as e:
            raise RequestFailed(e.code, tr("call.failed", detail=str(e))) from None
        with self._lock:
            call = self._calls.get(call_id)
        return {"call": call_message(call) if call else {"call_id": call_id, "direction": "out",
                                                         "state": "calling", "number": number}}

    async def _act(self, future) -> dict:
        try:
            call_id = await asyncio.wrap_future(future)
        except EngineError as e:
            raise RequestFailed(e.code, tr("call.none")) from None
        return {"call_id": call_id}

    async def _answer(self, conn: Connection, message: dict) -> dict:
        return await self._act(self.engine.answer(message.get("call_id")))

    async def _decline(self, conn: Connection, message: dict) -> dict:
        return await self._act(self.engine.decline(message.get("call_id")))

    async def _hangup(self, conn: Connection, message: dict) -> dict:
        return await self._act(self.engine.hangup(message.get("call_id")))

    # --- the PBX side (receive scheme, outgoing number) ---------------------------------------
    def pbx_state(self) -> dict:
        if self.pbx is None:
            return {"available": False, "stale": False, "reason": tr("pbx.not_logged_in")}
        return self.pbx.pbx_state()

    def _pbx_changed(self) -> None:
        self.control.broadcast({"event": "pbx_state", "pbx_state": self.pbx_state()})

    def _pbx_sip(self, sip: dict) -> None:
        """The PBX handed out SIP credentials (at each session refresh): use them if they changed."""
        account = self.settings.account
        if (account is not None and self._password == sip["password"] and account.username == sip["username"]
                and account.domain == sip["domain"] and account.server == sip["proxy"]):
            return
        account = settings_mod.AccountSettings(sip["username"], sip["domain"], sip["proxy"],
                                               account.display_name if account else "")
        self._store.set(sip_password_key(account.aor), sip["password"])
        self.settings = dataclasses.replace(self.settings, account=account)
        settings_mod.save(self.settings)
        self._password = sip["password"]
        log.info("SIP credentials from the PBX changed: registering as %s", account.aor)
        self.engine.set_account(Account(account.username, account.domain, sip["password"], account.server,
                                        account.display_name))

    async def _pbx_state(self, conn: Connection, message: dict) -> dict:
        return self.pbx_state()

    async def _pbx_write(self, operation) -> dict:
        if self.pbx is None:
            raise RequestFailed("pbx_unavailable", tr("pbx.not_logged_in"))
        try:
            await operation(self.pbx)
        except PbxRequestFailed as e:
            raise RequestFailed(e.code, str(e)) from None
        return self.pbx_state()

    async def _set_receive_mode(self, conn: Connection, message: dict) -> dict:
        return await self._pbx_write(lambda pbx: pbx.set_receive_mode(message["mode"]))

    async def _set_device_active(self, conn: Connection, message: dict) -> dict:
        return await self._pbx_write(lambda pbx: pbx.set_device_active(message["device_id"], message["active"]))

    async def _set_outgoing_number(self, conn: Connection, message: dict) -> dict:
        return await self._pbx_write(lambda pbx: pbx.set_outgoing_number(message["number_id"]))

    async def _quit(self, conn: Connection, message: dict) -> dict:
        # Reply first; the main thread then shuts everything down.
        asyncio.get_running_loop().call_later(0.05, self.request_stop)
        return {}


def _party(event: CallEvent) -> str:
    return f"{event.remote_name} ({event.remote_number})" if event.remote_name else event.remote_number


def icon_state(reg: RegistrationEvent, calls: list[CallEvent]) -> IconState:
    ringing = [c for c in calls if c.state == CallState.INCOMING]
    if ringing:
        return IconState("ringing", reg.account, tr("tray.ringing", party=_party(ringing[-1])))
    if calls:
        return IconState("in_call", reg.account, tr("tray.in_call", party=_party(calls[-1])))
    status = tr(f"reg.{reg.state.value}")
    detail = reg.reason
    if detail and reg.retry_in_s:
        detail = f"{detail} ({tr('reg.retry', seconds=round(reg.retry_in_s))})"
    return IconState(reg.state.value, reg.account, status, detail)


def audio_from_environment() -> AudioConfig:
    """Test and diagnostic hooks: TALKER_AUDIO_DEVICE=null, TALKER_AUDIO_PLAY=tone.wav,
    TALKER_AUDIO_RECORD_DIR=dir (each call's received audio as call-<id>.wav)."""
    env = os.environ
    return AudioConfig(
        device=env.get("TALKER_AUDIO_DEVICE", "system"),
        play_file=Path(env["TALKER_AUDIO_PLAY"]) if env.get("TALKER_AUDIO_PLAY") else None,
        record_dir=Path(env["TALKER_AUDIO_RECORD_DIR"]) if env.get("TALKER_AUDIO_RECORD_DIR") else None,
    )


def setup_logging() -> Path:
    log_dir = locations.ensure_private_dir(locations.state_dir())
    path = log_dir / "talker.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if sys.stderr is not None and sys.stderr.isatty():
        root.addHandler(logging.StreamHandler())
    root.setLevel(os.environ.get("TALKER_LOG_LEVEL", "INFO"))
    return path


def main() -> int:
    """Run the app in the foreground (what `talker` with no arguments does)."""
    setup_logging()
    run_dir = locations.ensure_private_dir(locations.runtime_dir())
    lock = InstanceLock(run_dir / locations.INSTANCE_LOCK)
    if not lock.acquire():
        print(tr("app.already_running"), file=sys.stderr)
        return 0
    try:
        try:
            settings = settings_mod.load()
        except settings_mod.SettingsError as e:
            print(tr("app.start_failed", detail=str(e)), file=sys.stderr)
            return 1
        store = open_store()
        password = None
        if settings.account is not None:
            password = store.get(sip_password_key(settings.account.aor))
        log.info("Talker %s starting (pid %d)", __version__, os.getpid())
        app = TalkerApp(settings, password, audio=audio_from_environment(),
                        bind_address=os.environ.get("TALKER_SIP_BIND") or None, store=store)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: app.request_stop())
        app.run()
        log.info("Talker stopped")
        return 0
    finally:
        lock.release()
