"""The Talker app: the SIP engine, the control channel, the PBX client and the tray icon, wired.

Threads: the main thread runs the tray icon (pystray wants it, macOS insists); the "sip" thread
owns pjsua2 (tray/sip/engine.py); the "control" thread runs the asyncio loop of the control
server, the PBX client and every request handler. The engine reports to this object on its
thread; menu clicks arrive on pystray's thread and are posted to the loop. Shared state
(`_registration`, `_calls`) is replaced whole under `_lock`.

Every operation exists once, in the action table (`_action_table`, dispatched by tray/actions.py):
the control channel and the menu both run it by name; the menu's failures become notifications.
The menu reads the app through the small protocol `tray.menu.MenuModel`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from common import dialstring, locations, protocol
from common.i18n import tr
from tray import __version__, settings as settings_mod
from tray.actions import Actions
from tray.audio_devices import AudioDevices
from tray.control_server import Connection, ControlServer, RequestFailed
from tray.history import CallHistory
from tray.icon import IconState, TrayIcon, load_pystray
from tray.pbx_client import PbxClient, PbxRequestFailed, refresh_token_key
from tray.secret_store import open_store, sip_password_key
from tray.settings import Settings
from tray.single_instance import InstanceLock
from tray.sip import echo
from tray.sip.engine import (
    Account, AudioConfig, CallEvent, CallOutcome, CallState, EngineError, RegistrationEvent,
    RegistrationState, SipEngine,
)
from tray.sip.network import RouteChanges, local_address_for

log = logging.getLogger(__name__)

# A call asked for while the app is still registering waits this long (MicroSIP does the same).
CALL_WAIT_FOR_REGISTRATION_S = 10.0
# How often the app asks the routing table which local address reaches the PBX (also at once
# when registration fails).
ROUTE_POLL_S = 5.0     # where the OS does not tell of route changes (tray/sip/network.py)
WINDOWS = protocol.window_names()


def registration_message(ev: RegistrationEvent) -> dict:
    return {"state": ev.state.value, "account": ev.account, "reason": ev.reason, "retry_in_s": ev.retry_in_s}


def call_message(ev: CallEvent) -> dict:
    return {"call_id": ev.call_id, "direction": ev.direction, "state": ev.state.value,
            "number": ev.remote_number, "name": ev.remote_name, "code": ev.code, "reason": ev.reason,
            "muted": ev.muted, "held": ev.held, "answered": ev.answered, "outcome": ev.outcome}


def party(number: str, name: str) -> str:
    return f"{name} ({number})" if name and name != number else number


class TalkerApp:
    def __init__(self, settings: Settings, password: str | None, *, audio: AudioConfig = AudioConfig(),
                 bind_address: str | None = None, store=None, history: CallHistory | None = None,
                 route: Callable[[str], str | None] = local_address_for):
        self.settings = settings
        self._password = password
        self._store = store if store is not None else open_store()
        account = settings.account
        # The local address follows the route to the PBX (a network that comes up after the app,
        # another Wi-Fi, a VPN, a PBX on another host), unless it was given.
        self._route = route if bind_address is None else None
        self._route_changes = RouteChanges(ROUTE_POLL_S)
        if self._route is None:
            self._route_changes.close()  # nothing to follow: no watcher thread, no open files
        if bind_address is None:
            bind_address = (route(account.server) if account else None) or "127.0.0.1"
        audio = self._init_audio_devices(audio)
        self.engine = SipEngine(self, bind_address=bind_address, audio=audio,
                                user_agent=f"Talker/{__version__}")
        self.control = ControlServer(self.handle_request)
        self.history = history or CallHistory()
        self.icon: TrayIcon | None = None
        self._lock = threading.Lock()
        self._registration = RegistrationEvent(RegistrationState.OFFLINE, account.aor if account else None)
        self._calls: dict[str, CallEvent] = {}
        self._call_started: dict[str, dt.datetime] = {}
        self._registered: asyncio.Event | None = None  # lives on the control loop
        self._stop = threading.Event()
        self.pbx: PbxClient | None = self._make_pbx_client()
        self.actions = Actions(self._action_table(), submit=self.control.run_coroutine, notify=self.notify)

    def _action_table(self) -> dict:
        """Every action, once: the control channel and the menu both dispatch here (tray/actions.py)."""
        engine = self.engine
        return {
            "status": lambda m, conn: self.status(),
            "subscribe": self._subscribe,
            "call": lambda m, conn: self.call(m["target"]),
            "answer": lambda m, conn: self.act(engine.answer(m.get("call_id"))),
            "decline": lambda m, conn: self.decline(m.get("call_id")),
            "hangup": lambda m, conn: self.act(engine.hangup(m.get("call_id"))),
            "mute": lambda m, conn: self.act(engine.set_mute(m.get("call_id"), m["on"])),
            "hold": lambda m, conn: self.act(engine.set_hold(m.get("call_id"), m["on"])),
            "recent_calls": lambda m, conn: {"calls": self.history.recent()},
            "quit": self._quit,
            "pbx_state": lambda m, conn: self.pbx_state(),
            "set_receive_mode": lambda m, conn: self.pbx_write(lambda pbx: pbx.set_receive_mode(m["mode"])),
            "set_device_active": lambda m, conn: self.pbx_write(
                lambda pbx: pbx.set_device_active(m["device_id"], m["active"])),
            "set_outgoing_number": lambda m, conn: self.pbx_write(
                lambda pbx: pbx.set_outgoing_number(m["number_id"])),
            "login": lambda m, conn: self.login(m["pbx_url"], m["login"], m["password"]),
            "logout": lambda m, conn: self.logout(),
            "pbx_api": lambda m, conn: self.pbx_api(m["method"], m["path"], m.get("body"), m.get("if_match")),
            "audio_devices": lambda m, conn: self.audio_devices_state(),
            "set_audio_device": lambda m, conn: self.set_audio_device(m["role"], m.get("device")),
            "set_audio_option": lambda m, conn: self.set_audio_option(m["option"], m["on"]),
            "microphone_level": lambda m, conn: self.microphone_level(m.get("call_id")),
            "open_window": lambda m, conn: self.open_window(m["window"], number=m.get("number"),
                                                            book=m.get("book")),
        }

    def _make_pbx_client(self) -> PbxClient | None:
        if not self.settings.pbx_url:
            return None
        return PbxClient(self.settings.pbx_url, self._store, region=self.settings.region,
                         on_change=self._pbx_changed, on_sip=self._pbx_sip)

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.control.start()
        self.control.call_soon(self._on_loop_start)
        self.engine.start()
        self._register()
        if self._route is not None:
            threading.Thread(target=self._follow_route, name="route", daemon=True).start()
        if self._audio_system:
            threading.Thread(target=self._watch_audio_devices, name="audio-devices", daemon=True).start()

    def _follow_route(self) -> None:
        """When the OS's addresses or routes change (and every few seconds while the PBX cannot
        be reached, or where the OS does not say), and at once when registration fails or the
        account changes: if packets to the PBX now leave from another local address, move the
        SIP engine there. Registered and nothing changing, the thread sleeps."""
        while True:
            self._route_changes.wait(poll=self._registration.state != RegistrationState.REGISTERED)
            if self._stop.is_set():
                self._route_changes.close()
                return
            account = self.settings.account
            address = self._route(account.server) if account is not None else None
            if address is None or address == self.engine.bind_address:
                continue
            with self._lock:
                if self._calls:
                    continue  # calls keep their address; the next check moves once they end
            log.info("the route to %s now leaves from %s", account.server, address)
            try:
                self.engine.rebind(address).result(10)
            except (EngineError, concurrent.futures.TimeoutError) as e:
                log.warning("the SIP engine could not move to %s: %s", address, e)

    def _register(self) -> None:
        self._route_changes.poke()  # the account's server may be reached from another address
        account = self.settings.account
        if account is not None and self._password is not None:
            self.engine.set_account(Account(account.username, account.domain, self._password,
                                            account.server, account.display_name))
        elif account is not None:
            log.error("no password is stored for %s", account.aor)

    def _on_loop_start(self) -> None:
        self._registered = asyncio.Event()
        if self._registration.state == RegistrationState.REGISTERED:
            self._registered.set()
        if self.pbx is not None:
            self.pbx.start()

    def attach_icon(self, pystray) -> TrayIcon:
        from tray.menu import TrayMenu

        self.icon = TrayIcon(pystray, TrayMenu(self).build())
        self._refresh_icon()
        return self.icon

    def run(self) -> None:
        """Start, then block on the main thread until quit."""
        pystray = load_pystray()
        if pystray is not None:
            self.attach_icon(pystray).run(self.start)
        else:
            self.start()
            self._stop.wait()
        self.shutdown()

    def request_stop(self) -> None:
        self._stop.set()
        self._route_changes.poke()
        if self.icon is not None:
            self.icon.stop()

    def shutdown(self) -> None:
        self._stop.set()
        self._route_changes.poke()
        self.audio_devices.close()
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
        if event.state == RegistrationState.FAILED:
            self._route_changes.poke()  # perhaps the way to the PBX moved
        if previous.state == event.state:
            return
        if event.state == RegistrationState.REGISTERED:
            self._route_changes.poke()  # the route watcher stops polling
        if event.state == RegistrationState.FAILED and previous.state == RegistrationState.REGISTERED:
            self.notify(tr("tray.registration_lost", reason=event.reason or tr("reg.failed")))
        elif event.state == RegistrationState.REGISTERED and previous.state == RegistrationState.FAILED:
            self.notify(tr("tray.registration_restored"))

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
                started = self._call_started.pop(event.call_id, None)
            else:
                self._calls[event.call_id] = event
                self._call_started.setdefault(event.call_id, dt.datetime.now(dt.timezone.utc))
        if event.state == CallState.ENDED:
            # Recorded before the end is broadcast: a window that reloads the recent calls on
            # it finds this one. The engine decides how it went: only it sees a decline and a
            # CANCEL's Reason before it reports the end.
            self.history.add({"number": event.remote_number, "name": event.remote_name,
                              "direction": event.direction, "outcome": event.outcome,
                              "answered": event.answered,
                              "at": (started or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")})
        self.control.broadcast({"event": "call", "call": call_message(event)})
        self._refresh_icon()
        if event.state == CallState.INCOMING:
            self.notify(tr("tray.ringing", party=party(event.remote_number, event.remote_name)))
            if self.icon is not None and self.icon.has_event_loop:
                # A real tray means a graphical session: answer and decline get a window of their own.
                self.open_window("incoming")
        elif event.outcome == CallOutcome.MISSED:
            self.notify(tr("tray.missed", party=party(event.remote_number, event.remote_name)))

    def _refresh_icon(self) -> None:
        if self.icon is None:
            return
        with self._lock:
            reg, calls = self._registration, list(self._calls.values())
        self.icon.update(icon_state(reg, calls))

    def notify(self, message: str) -> None:
        log.info("notification: %s", message)
        if self.icon is not None:
            self.icon.notify(message)

    # --- what the app can do (coroutines on the control loop) -------------------------------
    def status(self) -> dict:
        with self._lock:
            return {"registration": registration_message(self._registration),
                    "calls": [call_message(c) for c in self._calls.values()]}

    def calls(self) -> list[CallEvent]:
        with self._lock:
            return list(self._calls.values())

    def recent_calls(self, limit: int) -> list[dict]:
        return self.history.recent(limit)

    def icon_state(self) -> IconState | None:
        return self.icon.state if self.icon is not None else None

    @property
    def pbx_url(self) -> str | None:
        """The PBX the app is logged in to (None: not logged in)."""
        return self.pbx.base_url if self.pbx is not None else None

    async def call(self, target_text: str) -> dict:
        try:
            target = dialstring.parse(target_text)
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

    async def act(self, future) -> dict:
        try:
            call_id = await asyncio.wrap_future(future)
        except EngineError as e:
            raise RequestFailed(e.code, tr("call.none")) from None
        return {"call_id": call_id}

    async def decline(self, call_id: str | None) -> dict:
        return await self.act(self.engine.decline(call_id))

    async def _subscribe(self, message: dict, conn: Connection | None) -> dict:
        if conn is not None:
            conn.subscribed = True
        return self.status()

    async def _quit(self, message: dict, conn: Connection | None) -> dict:
        # Reply first; the main thread then shuts everything down.
        asyncio.get_running_loop().call_later(0.05, self.request_stop)
        return {}

    async def handle_request(self, conn: Connection, message: dict) -> dict:
        return await self.actions.handle_request(conn, message)

    def do(self, action: str, **args) -> None:
        """Run an action of the table from any thread (the menu's), without waiting; a refusal
        becomes a notification."""
        self.actions.post(action, **args)

    # --- the PBX side -------------------------------------------------------------------------
    def pbx_state(self) -> dict:
        if self.pbx is None:
            return {"available": False, "stale": False, "reason": tr("pbx.not_logged_in")}
        return self.pbx.pbx_state()

    def _pbx_changed(self) -> None:
        self.control.broadcast({"event": "pbx_state", "pbx_state": self.pbx_state()})
        if self.icon is not None:
            self.icon.refresh_menu()

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
        self._register()

    async def pbx_write(self, operation) -> dict:
        if self.pbx is None:
            raise RequestFailed("pbx_unavailable", tr("pbx.not_logged_in"))
        try:
            await operation(self.pbx)
        except PbxRequestFailed as e:
            raise RequestFailed(e.code, str(e)) from None
        return self.pbx_state()

    async def pbx_api(self, method: str, path: str, body, if_match: str | None) -> dict:
        if self.pbx is None:
            raise RequestFailed("pbx_unavailable", tr("pbx.not_logged_in"))
        try:
            return await self.pbx.raw(method, path, body, if_match)
        except PbxRequestFailed as e:
            raise RequestFailed(e.code, str(e)) from None

    async def login(self, pbx_url: str, login_name: str, password: str) -> dict:
        """Log in to a Talker PBX: keep the session, register with the SIP credentials it hands out."""
        from tray import pbx_client

        try:
            session = await asyncio.to_thread(pbx_client.login, pbx_url, login_name, password)
        except PbxRequestFailed as e:
            raise RequestFailed(e.code, str(e)) from None
        sip, me = session["sip"], session["employee"]
        account = settings_mod.AccountSettings(sip["username"], sip["domain"], sip["proxy"], me["name"])
        new = dataclasses.replace(self.settings, account=account, pbx_url=pbx_url.rstrip("/"), pbx_login=login_name)
        try:
            new.validate()
        except settings_mod.SettingsError as e:
            raise RequestFailed("pbx_refused", str(e)) from None
        self._store.set(sip_password_key(account.aor), sip["password"])
        self._store.set(refresh_token_key(new.pbx_url), session["refresh_token"])
        settings_mod.save(new)
        old_pbx, self.settings, self._password = self.pbx, new, sip["password"]
        if old_pbx is not None:
            await old_pbx.stop()
        self.pbx = self._make_pbx_client()
        self.pbx.start()
        self._register()
        return {"employee": me}

    async def logout(self) -> dict:
        """End the PBX session, unregister, and forget the account's secrets."""
        if self.pbx is not None:
            await self.pbx.logout()
            await self.pbx.stop()
        account = self.settings.account
        if account is not None:
            self._store.delete(sip_password_key(account.aor))
        self.pbx = None
        self.settings = dataclasses.replace(self.settings, account=None, pbx_url=None, pbx_login=None)
        settings_mod.save(self.settings)
        self._password = None
        await asyncio.wrap_future(self.engine.set_account(None))
        self._pbx_changed()
        return {}

    # --- windows and links --------------------------------------------------------------
    def open_window(self, window: str, *, number: str | None = None, book: str | None = None) -> dict:
        """The windows run in processes of their own (Tk), talking back over the control channel:
        on macOS the tray owns the main thread, and a window never freezes the phone."""
        if window not in WINDOWS:
            raise RequestFailed("invalid_message", tr("app.bad_message", detail=window))
        args = [sys.executable, "-m", "tray.windows", window]
        if number:
            args += ["--number", number]
        if book:
            args += ["--book", book]
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        # Reap it when it closes, or every window ever opened stays a zombie until the app exits.
        threading.Thread(target=proc.wait, name=f"window-{window}", daemon=True).start()
        return {}

    # --- sound devices ----------------------------------------------------------------------
    def _init_audio_devices(self, audio: AudioConfig) -> AudioConfig:
        """Before the engine (and PortAudio) start: the devices chosen in settings, as PortAudio
        names. TALKER_AUDIO_INPUT/OUTPUT/RINGER (tests, diagnostics) win over the settings."""
        self._audio_system = audio.device == "system"
        self._echo_allowed = audio.echo_cancellation   # False: TALKER_ECHO_CANCEL=0 overrides the setting
        audio = dataclasses.replace(audio, ring_silently=self.settings.ring_silently,
                                    echo_cancellation=self._echo_allowed and self.settings.echo_cancellation)
        self._audio_forced = {"microphone": audio.input_device, "speaker": audio.output_device,
                              "ringer": audio.ringer_device}
        self._audio_lock = threading.Lock()
        self.audio_devices = AudioDevices(locations.ensure_private_dir(locations.runtime_dir()),
                                          on_change=self._audio_devices_changed)
        if not self._audio_system:
            self._audio_applied = (None, None, None)
            return audio
        try:
            self.audio_devices.prepare()
        except OSError as e:  # no chosen device then, but a phone that starts and rings
            log.error("the sound devices cannot be listed (%s): using the OS default", e)
        self._audio_applied = self._wanted_audio_devices()
        mic, speaker, ringer = self._audio_applied
        return dataclasses.replace(audio, input_device=mic, output_device=speaker, ringer_device=ringer)

    def _wanted_audio_devices(self) -> tuple[str | None, str | None, str | None]:
        return tuple(self._audio_forced[role] or self.audio_devices.resolve(role, getattr(self.settings, role))
                     for role in settings_mod.AUDIO_ROLES)

    @property
    def ringer_device(self) -> str | None:
        """The PortAudio name of the device incoming calls ring on (None: the OS default)."""
        return self._audio_applied[2]

    def audio_devices_state(self) -> dict:
        """Per role: the device chosen (a name, None for the OS default), whether it is there
        now, and the devices to choose from."""
        state = {}
        for role in settings_mod.AUDIO_ROLES:
            devices = self.audio_devices.devices("input" if role == "microphone" else "output")
            chosen = getattr(self.settings, role)
            state[role] = {"device": chosen, "present": chosen is None or any(d.name == chosen for d in devices),
                           "devices": [{"name": d.name, "description": d.description} for d in devices]}
        state["options"] = {option: getattr(self.settings, option) for option in settings_mod.AUDIO_OPTIONS}
        return state

    def _remember(self, **changes) -> Settings:
        """Save a choice of the user's; nothing is written unless all of it is valid."""
        new = dataclasses.replace(self.settings, **changes)
        try:
            settings_mod.save(new)
        except (settings_mod.SettingsError, OSError) as e:
            raise RequestFailed("invalid_message", tr("app.bad_message", detail=str(e))) from None
        self.settings = new
        return new

    async def set_audio_device(self, role: str, name: str | None) -> dict:
        if role not in settings_mod.AUDIO_ROLES:
            raise RequestFailed("invalid_message", tr("app.bad_message", detail=role))
        self._remember(**{role: name})
        log.info("sound device for %s: %s", role, name or "the OS default")
        self._apply_audio_devices()
        if self.icon is not None:
            self.icon.refresh_menu()
        return self.audio_devices_state()

    async def set_audio_option(self, option: str, on: bool) -> dict:
        """Ring silently, echo cancellation: remembered, and in effect at once (a ringing call
        and a call in progress too)."""
        if option not in settings_mod.AUDIO_OPTIONS or not isinstance(on, bool):
            raise RequestFailed("invalid_message", tr("app.bad_message", detail=option))
        new = self._remember(**{option: on})
        log.info("sound option %s: %s", option, "on" if on else "off")
        await asyncio.wrap_future(self.engine.set_audio_options(
            ring_silently=new.ring_silently,
            echo_cancellation=new.echo_cancellation and self._echo_allowed))
        if self.icon is not None:
            self.icon.refresh_menu()
        return self.audio_devices_state()

    async def microphone_level(self, call_id: str | None) -> dict:
        """The call window's level meter: what the other side hears from the microphone now."""
        try:
            level = await asyncio.wrap_future(self.engine.microphone_level(call_id))
        except EngineError:
            raise RequestFailed("no_such_call", tr("call.none")) from None
        return {"level_dbfs": None if level == float("-inf") else round(level, 1)}

    def _audio_devices_changed(self) -> None:
        """Devices were plugged in or out: the menu shows it, and calls follow the choice."""
        self._apply_audio_devices()
        if self.icon is not None:
            self.icon.refresh_menu()

    def _watch_audio_devices(self) -> None:
        self.audio_devices.watch(self._stop)

    def _apply_audio_devices(self) -> None:
        if not self._audio_system:
            return
        with self._audio_lock:
            wanted = self._wanted_audio_devices()
            if wanted == self._audio_applied:
                return
            self._audio_applied = wanted
        log.info("sound devices now: microphone %s, speaker %s, ringer %s", *wanted)
        self.engine.set_sound_devices(*wanted)


def icon_state(reg: RegistrationEvent, calls: list[CallEvent]) -> IconState:
    ringing = [c for c in calls if c.state == CallState.INCOMING]
    if ringing:
        return IconState("ringing", reg.account,
                         tr("tray.ringing", party=party(ringing[-1].remote_number, ringing[-1].remote_name)))
    if calls:
        return IconState("in_call", reg.account,
                         tr("tray.in_call", party=party(calls[-1].remote_number, calls[-1].remote_name)))
    status = tr(f"reg.{reg.state.value}")
    detail = reg.reason
    if detail and reg.retry_in_s:
        detail = f"{detail} ({tr('reg.retry', seconds=round(reg.retry_in_s))})"
    return IconState(reg.state.value, reg.account, status, detail)


def audio_from_environment() -> AudioConfig:
    """Test and diagnostic hooks: TALKER_AUDIO_DEVICE=null, TALKER_AUDIO_INPUT,
    TALKER_AUDIO_OUTPUT and TALKER_AUDIO_RINGER (PortAudio device names; the OS default
    otherwise),
    TALKER_AUDIO_PLAY=tone.wav, TALKER_AUDIO_RECORD_DIR=dir (each call's received audio as
    call-<id>.wav), TALKER_ECHO_CANCEL=0 (no echo cancellation, whatever the settings say)."""
    env = os.environ
    return AudioConfig(
        device=env.get("TALKER_AUDIO_DEVICE", "system"),
        input_device=env.get("TALKER_AUDIO_INPUT") or None,
        output_device=env.get("TALKER_AUDIO_OUTPUT") or None,
        ringer_device=env.get("TALKER_AUDIO_RINGER") or None,
        echo_cancellation=echo.wanted(env),
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
    # httpx logs every request URL at INFO; nothing secret is in them, but they drown the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
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
