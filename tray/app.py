"""The Talker app: the SIP engine, the control channel, the PBX session and the tray icon, wired.

Threads: the main thread runs the tray icon (pystray wants it, macOS insists); the "sip" thread
owns pjsua2 (tray/sip/engine.py); the "control" thread runs the asyncio loop of the control
server, the PBX client and every request handler; the "route" thread follows the way to the PBX.
The engine reports to this object on its thread; menu clicks arrive on pystray's thread and are
posted to the loop. The registration is replaced whole under `_lock`.

The parts it composes:
* `actions` (tray/actions.py) — every operation once, in the action table (`_action_table`): the
  control channel and the menu both run it by name; the menu's failures become notifications.
  The menu reads the app through the small protocol `tray.menu.MenuModel`.
* `call_list` (tray/calls.py) — the calls now and the history of those that ended.
* `session` (tray/pbx_session.py) — login and logout, the PBX client, the SIP account it hands out.
* `route` (tray/route_follower.py) — moves the SIP engine when the route to the PBX changes.
* `sound` (tray/sound_choice.py) — the sound devices and switches chosen, and the engine kept on them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import dataclasses
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable

from common import dialstring, protocol
from common.i18n import tr
from tray import failures, people, settings as settings_mod
from tray.actions import Actions
from tray.boot import USER_AGENT, EarlyEngine, main
from tray.calls import Calls, call_message
from tray.control_server import Connection, ControlServer, RequestFailed
from tray.history import CallHistory, kind as history_kind, moment as history_moment
from tray.icon import IconState, TrayIcon, load_pystray
from tray.pbx_session import PbxSession
from tray.route_follower import RouteFollower
from tray.sound_choice import SoundChoice
from tray.secret_store import open_store
from tray.settings import Settings
from tray.sip.engine import (
    AudioConfig, CallEvent, CallOutcome, CallState, EngineError, RegistrationEvent, RegistrationState, SipEngine,
)
from tray.sip.network import local_address_for

log = logging.getLogger(__name__)

# A call asked for while the app is still registering waits this long (MicroSIP does the same).
CALL_WAIT_FOR_REGISTRATION_S = 10.0
# A call that reached nobody is notified when the app hears of it this soon after it came.
UNREACHED_NOTIFY_S = 600
WINDOWS = protocol.window_names()

__all__ = ["TalkerApp", "call_message", "registration_message", "main"]


def registration_message(ev: RegistrationEvent) -> dict:
    return {"state": ev.state.value, "account": ev.account, "reason": ev.reason, "retry_in_s": ev.retry_in_s}


def party(number: str, name: str) -> str:
    return f"{name} ({number})" if name and name != number else number


class TalkerApp:
    def __init__(self, settings: Settings, password: str | None, *, audio: AudioConfig = AudioConfig(),
                 bind_address: str | None = None, store=None, history: CallHistory | None = None,
                 route: Callable[[str], str | None] = local_address_for, early: EarlyEngine | None = None):
        """`early`: the engine tray/boot.py started (and set registering) before this module was
        imported; the app adopts it instead of starting its own."""
        self.settings = settings
        self._early = early
        store = store if store is not None else open_store()
        account = settings.account
        # The local address follows the route to the PBX, unless it was given.
        if bind_address is None:
            bind_address = (route(account.server) if account else None) or "127.0.0.1"
        else:
            route = None
        self.sound = SoundChoice(audio, settings=lambda: self.settings, remember=self._remember,
                                 on_change=self._refresh_menu)
        if early is not None:
            self.engine = early.engine
        else:
            self.engine = SipEngine(self, bind_address=bind_address, audio=self.sound.config, user_agent=USER_AGENT)
        self.sound.attach(self.engine)
        self.control = ControlServer(self.handle_request)
        self.call_list = Calls(history)
        self.icon: TrayIcon | None = None
        self._lock = threading.Lock()
        self._registration = RegistrationEvent(RegistrationState.OFFLINE, account.aor if account else None)
        self._registered: asyncio.Event | None = None  # lives on the control loop
        self._stop = threading.Event()
        self._windows: list[subprocess.Popen] = []  # closed with the app (they are no use without it)
        self._quiet_timer: threading.Timer | None = None
        self.route = RouteFollower(
            route, self.engine, server=lambda: self.settings.account.server if self.settings.account else None,
            registered=lambda: self._registration.state == RegistrationState.REGISTERED, busy=self.call_list.any)
        self.session = PbxSession(
            store, password, settings=lambda: self.settings, save_settings=self._save_settings,
            on_change=self._pbx_changed, on_account=self._register,
            unregister=lambda: asyncio.wrap_future(self.engine.set_account(None)))
        self.actions = Actions(self._action_table(), submit=self.control.run_coroutine, notify=self.notify)
        if hasattr(store, "on_fallback"):
            store.on_fallback = self.notify  # a keyring that refuses: the person is told where secrets went

    def _action_table(self) -> dict:
        """Every action, once: the control channel and the menu both dispatch here (tray/actions.py)."""
        engine, session = self.engine, self.session
        return {
            "status": lambda m, conn: self.status(),
            "subscribe": self._subscribe,
            "call": lambda m, conn: self.call(m["target"]),
            "answer": lambda m, conn: self.act(engine.answer(m.get("call_id"))),
            "decline": lambda m, conn: self.act(engine.decline(m.get("call_id"))),
            "hangup": lambda m, conn: self.act(engine.hangup(m.get("call_id"))),
            "mute": lambda m, conn: self.act(engine.set_mute(m.get("call_id"), m["on"])),
            "hold": lambda m, conn: self.act(engine.set_hold(m.get("call_id"), m["on"])),
            "recent_calls": lambda m, conn: {"calls": self.call_list.recent()},
            "missed_calls": lambda m, conn: {"calls": self.missed_calls()},
            "mark_missed_seen": lambda m, conn: self.mark_missed_seen(m.get("number")),
            "caller_info": lambda m, conn: self.caller_info(m["number"]),
            "set_call_note": lambda m, conn: self.set_call_note(m["call_id"], m["note"]),
            "find_people": lambda m, conn: self.find_people(m["query"], m.get("limit", 10)),
            "quit": self._quit,
            "pbx_state": lambda m, conn: session.pbx_state(),
            "set_receive_mode": lambda m, conn: session.write(lambda pbx: pbx.set_receive_mode(m["mode"])),
            "set_device_active": lambda m, conn: session.write(
                lambda pbx: pbx.set_device_active(m["device_id"], m["active"])),
            "set_outgoing_number": lambda m, conn: session.write(
                lambda pbx: pbx.set_outgoing_number(m["number_id"])),
            "set_do_not_disturb": lambda m, conn: session.write(
                lambda pbx: pbx.set_do_not_disturb(m["minutes"])),
            "login": lambda m, conn: session.login(m["pbx_url"], m["login"], m["password"], region=m.get("region"),
                                                   names=m.get("names")),
            "sip_account": lambda m, conn: session.use_sip_account(m["server"], m["user"], m["password"],
                                                                   m.get("display_name", ""), region=m.get("region"),
                                                                   names=m.get("names")),
            "logout": lambda m, conn: session.logout(),
            "pbx_api": lambda m, conn: session.api(m["method"], m["path"], m.get("body"), m.get("if_match")),
            "audio_devices": lambda m, conn: self.sound.state(),
            "set_audio_device": lambda m, conn: self.sound.set_device(m["role"], m.get("device")),
            "set_audio_option": lambda m, conn: self.sound.set_option(m["option"], m["on"]),
            "microphone_level": lambda m, conn: self.microphone_level(m.get("call_id")),
            "open_window": lambda m, conn: self.open_window(m["window"], number=m.get("number"),
                                                            book=m.get("book")),
        }

    @property
    def pbx(self):
        """The PBX client while logged in (tray/pbx_client.py), else None."""
        return self.session.pbx

    @property
    def history(self) -> CallHistory:
        return self.call_list.history

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.control.start()
        self.control.call_soon(self._on_loop_start)
        early, self._early = self._early, None
        if early is None:
            self.engine.start()
            self._register()
        else:
            self.engine.wait_started()
            early.listener.attach(self)   # what the engine reported before the app was there
            self.route.poke()
        self.route.start()
        self.sound.start(self._stop)
        if self.settings.account is None and graphical_session():
            self.open_window("login")  # the first start: nothing works before this

    def _register(self) -> None:
        self.route.poke()  # the account's server may be reached from another address
        account = self.session.sip_account()
        if account is not None:
            self.engine.set_account(account)
        elif self.settings.account is not None:
            log.error("no password is stored for %s", self.settings.account.aor)

    def _save_settings(self, new: Settings) -> None:
        settings_mod.save(new)
        self.settings = new

    def _remember(self, **changes) -> Settings:
        """Save a choice of the user's; nothing is written unless all of it is valid."""
        new = dataclasses.replace(self.settings, **changes)
        try:
            self._save_settings(new)
        except (settings_mod.SettingsError, OSError) as e:
            raise RequestFailed("invalid_message", tr("app.bad_message", detail=str(e))) from None
        return new

    def _on_loop_start(self) -> None:
        self._registered = asyncio.Event()
        if self._registration.state == RegistrationState.REGISTERED:
            self._registered.set()
        self.session.start()

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
        self.route.stop()
        if self.icon is not None:
            self.icon.stop()

    def shutdown(self) -> None:
        self._stop.set()
        self._follow_quiet_end(None)
        self.route.stop()
        self.sound.close()
        if self.session.pbx is not None:
            self.control.run_coroutine(self.session.stop())
        self.engine.stop()
        self.control.stop()
        self._close_windows()

    # --- engine events (SIP thread) ------------------------------------------------------
    def registration_changed(self, event: RegistrationEvent) -> None:
        with self._lock:
            previous, self._registration = self._registration, event
        self.control.call_soon(self._on_registration_loop, event)
        self.control.broadcast({"event": "registration", "registration": registration_message(event)})
        self._refresh_icon()
        if event.state == RegistrationState.FAILED:
            self.route.poke()  # perhaps the way to the PBX moved
        if previous.state == event.state:
            return
        if event.state == RegistrationState.REGISTERED:
            self.route.poke()  # the route follower stops polling
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
        name = self.session.caller_name(event.remote_number)
        if name:
            event = dataclasses.replace(event, remote_name=name)
        # Recorded before the end is broadcast: a window that reloads the recent calls on it
        # finds this one.
        self.call_list.update(event)
        self.control.broadcast({"event": "call", "call": call_message(event)})
        self._refresh_icon()
        if event.state == CallState.INCOMING:
            from tray.windows.forms import about_caller

            # Who it is and how the last call with them went, before the first word is said.
            about = about_caller(self.caller_info(event.remote_number))
            self.notify("\n".join([tr("tray.ringing", party=party(event.remote_number, event.remote_name)), *about]))
            if self.icon is not None and self.icon.has_event_loop:
                # A real tray means a graphical session: answer and decline get a window of their own.
                self.open_window("incoming")
        elif event.outcome == CallOutcome.MISSED:
            self.notify(tr("tray.missed", party=party(event.remote_number, event.remote_name)))
        elif event.outcome == CallOutcome.UNANSWERED and event.code and event.code >= 400 and event.code != 487:
            # Dialled from the menu or a link, no window shows why it did not go through.
            self.notify(tr("tray.call_failed", number=party(event.remote_number, event.remote_name),
                           reason=failures.sip_failure(event.code, event.reason)))

    def _refresh_icon(self) -> None:
        if self.icon is None:
            return
        with self._lock:
            reg = self._registration
        self.icon.update(icon_state(reg, self.call_list.now(), (self.session.pbx_state() or {}).get("receive"),
                                    missed=len(self.history.unseen())))

    def notify(self, message: str) -> None:
        log.info("notification: %s", message)
        if self.icon is not None:
            self.icon.notify(message)

    # --- what the menu reads (tray.menu.MenuModel) and the control channel's questions ----------
    def status(self) -> dict:
        with self._lock:
            registration = self._registration
        return {"registration": registration_message(registration),
                "calls": [call_message(c) for c in self.call_list.now()]}

    def pbx_state(self) -> dict:
        return self.session.pbx_state()

    def audio_devices_state(self) -> dict:
        return self.sound.state()

    @property
    def pbx_url(self) -> str | None:
        return self.session.url

    def calls(self) -> list[CallEvent]:
        return self.call_list.now()

    def recent_calls(self, limit: int) -> list[dict]:
        return self.call_list.recent(limit)

    def icon_state(self) -> IconState | None:
        return self.icon.state if self.icon is not None else None

    def missed_calls(self) -> list[dict]:
        """The missed calls not seen yet, newest first, as the menu and the popup list them."""
        return [{"number": e.get("number") or "", "name": e.get("name") or "", "at": e.get("at") or "",
                 "outcome": e.get("outcome") or "missed"} for e in self.history.unseen()]

    def caller_info(self, number: str) -> dict:
        """Who has this number and how the last call with it went (with its note): what the
        incoming-call window and its notification say besides the name."""
        pbx = self.session.pbx
        found = pbx.caller(number) if pbx is not None else None
        last = self.history.last_with(number)
        return {"number": number, "pbx": pbx is not None,
                "name": (found or {}).get("name", ""), "source": (found or {}).get("source"),
                "contact_note": (found or {}).get("note", ""),
                "last_call": {"at": last.get("at") or "", "kind": history_kind(last), "note": last.get("note", ""),
                              "code": last.get("code"), "reason": last.get("reason")} if last else None}

    def set_call_note(self, call_id: str, note: str) -> dict:
        if not self.call_list.set_note(call_id, note):
            raise RequestFailed("no_such_call", tr("call.none"))
        return {"call_id": call_id}

    def mark_missed_seen(self, number: str | None = None) -> dict:
        self.history.mark_seen(number)
        self._refresh_icon()
        self._refresh_menu()
        return {"calls": self.missed_calls()}

    def do(self, action: str, **args) -> None:
        """Run an action of the table from any thread (the menu's), without waiting; a refusal
        becomes a notification."""
        self.actions.post(action, **args)

    # --- the calls (coroutines on the control loop) -------------------------------------------
    async def call(self, target_text: str) -> dict:
        try:
            target = dialstring.parse(target_text)
            number = dialstring.normalise(target, self.settings.region)
        except dialstring.InvalidTarget as e:
            if not e.may_be_a_persons_name(target_text):
                raise RequestFailed("invalid_number", str(e)) from None
            target = dialstring.DialTarget(self._number_for_name(target_text))
            number = target.number
        if target.is_name:
            number = self.settings.names.get(number) or self._number_for_name(target_text)
        if self.session.sip_account() is None:
            if graphical_session():
                self.open_window("login")
                raise RequestFailed("no_account", tr("app.no_account_window"))
            raise RequestFailed("no_account", tr("app.no_account"))
        try:
            if not self._registered.is_set():   # wait_for costs a task and loop turns: not when registered
                await asyncio.wait_for(self._registered.wait(), CALL_WAIT_FOR_REGISTRATION_S)
        except TimeoutError:
            with self._lock:
                reg = self._registration
            detail = reg.reason or tr(f"reg.{reg.state.value}")
            raise RequestFailed("not_registered", tr("call.not_registered", detail=detail)) from None
        try:
            call_id = await asyncio.wrap_future(self.engine.make_call(number, dtmf=target.extension))
        except EngineError as e:
            raise RequestFailed(e.code, tr("call.failed", detail=str(e))) from None
        # A call back from a list dials the number as the missed call had it; the call itself
        # carries it normalised (tray/calls.py settles that form).
        if self.history.mark_seen(target_text.strip()):
            self._refresh_icon()
        call = self.call_list.get(call_id)
        return {"call": call_message(call) if call else {"call_id": call_id, "direction": "out",
                                                         "state": "calling", "number": number}}

    def _people(self) -> list[people.Person]:
        pbx = self.session.pbx
        return people.from_snapshot(pbx.snapshot()) if pbx is not None else []

    def _number_for_name(self, text: str) -> str:
        """The number of the one colleague or contact `text` names exactly (tray/people.py)."""
        text = text.strip()
        if self.session.pbx is None:
            raise RequestFailed("unknown_name", tr("target.unknown_name", target=text))
        try:
            return people.resolve(self._people(), text).number
        except people.NameNotFound:
            raise RequestFailed("unknown_name", tr("people.not_found", target=text)) from None
        except people.NameAmbiguous as e:
            names, more = people.listed(e.candidates)
            key = "people.ambiguous_more" if more else "people.ambiguous"
            raise RequestFailed("ambiguous_name", tr(key, target=text, names=names, more=more)) from None

    def find_people(self, query: str, limit: int = 10) -> dict:
        """Completion for a name or number being typed: colleagues, then both address books."""
        return {"people": [{"name": p.name, "number": p.number, "source": p.source}
                           for p in people.complete(self._people(), query, limit)]}

    async def act(self, future) -> dict:
        """Wait for the engine to act on a call (answer, decline, hang up, mute, hold)."""
        try:
            call_id = await asyncio.wrap_future(future)
        except EngineError as e:
            raise RequestFailed(e.code, tr("call.none")) from None
        return {"call_id": call_id}

    async def microphone_level(self, call_id: str | None) -> dict:
        """The call window's level meter: what the other side hears from the microphone now."""
        try:
            level = await asyncio.wrap_future(self.engine.microphone_level(call_id))
        except EngineError:
            raise RequestFailed("no_such_call", tr("call.none")) from None
        return {"level_dbfs": None if level == float("-inf") else round(level, 1)}

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

    # --- the PBX side -------------------------------------------------------------------------
    def _pbx_changed(self) -> None:
        state = self.session.pbx_state()
        self.control.broadcast({"event": "pbx_state", "pbx_state": state})
        self._note_unreached()
        self._refresh_icon()
        self._refresh_menu()
        self._follow_quiet_end(((state or {}).get("receive") or {}).get("do_not_disturb_until"))

    def _follow_quiet_end(self, until: str | None) -> None:
        """The PBX ends do-not-disturb by itself, saying nothing: the icon, the menu and the
        popup are told again when its moment comes."""
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
            self._quiet_timer = None
        if not until:
            return
        left = (dt.datetime.fromisoformat(until) - dt.datetime.now(dt.UTC)).total_seconds()
        self._quiet_timer = threading.Timer(max(0.0, left) + 0.5, self._quiet_ended)
        self._quiet_timer.daemon = True
        self._quiet_timer.start()

    def _quiet_ended(self) -> None:
        self._quiet_timer = None
        self.control.broadcast({"event": "pbx_state", "pbx_state": self.session.pbx_state()})
        self._refresh_icon()
        self._refresh_menu()

    def _refresh_menu(self) -> None:
        if self.icon is not None:
            self.icon.refresh_menu()

    def _note_unreached(self) -> None:
        """Calls that rang none of the user's devices, as the PBX recorded them: into the recent
        calls, and a notification for those of the last few minutes (older ones came while the
        app was not running: the list shows them)."""
        pbx = self.session.pbx
        if pbx is None:
            return
        added = self.history.add_unreached(pbx.unreached_calls(), self.session.caller_name)
        recent = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=UNREACHED_NOTIFY_S)
        for entry in reversed(added):
            if history_moment(entry) >= recent:
                self.notify(tr("tray.unreached", party=party(entry["number"] or "?", entry["name"])))

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
        with self._lock:
            self._windows = [p for p in self._windows if p.poll() is None] + [proc]
        # Reap it when it closes, or every window ever opened stays a zombie until the app exits.
        threading.Thread(target=proc.wait, name=f"window-{window}", daemon=True).start()
        return {}

    def _close_windows(self) -> None:
        """Quit closes the windows too: left open, each would only say that Talker is not running."""
        with self._lock:
            windows, self._windows = self._windows, []
        for proc in windows:
            if proc.poll() is None:
                proc.terminate()


def icon_state(reg: RegistrationEvent, calls: list[CallEvent], receive: dict | None = None,
               missed: int = 0) -> IconState:
    """The badge and tooltip; `receive` is the PBX state's receive scheme (every device switched
    off shows: callers reach nobody, though the app itself is registered); `missed`, the missed
    calls not seen yet (a count on the icon, whatever the state)."""
    return dataclasses.replace(_icon_state(reg, calls, receive), missed=missed)


def _icon_state(reg: RegistrationEvent, calls: list[CallEvent], receive: dict | None) -> IconState:
    ringing = [c for c in calls if c.state == CallState.INCOMING]
    if ringing:
        return IconState("ringing", reg.account,
                         tr("tray.ringing", party=party(ringing[-1].remote_number, ringing[-1].remote_name)))
    if calls:
        return IconState("in_call", reg.account,
                         tr("tray.in_call", party=party(calls[-1].remote_number, calls[-1].remote_name)))
    # No account is not a network problem: say what is missing.
    status = tr("reg.not_logged_in") if reg.account is None and reg.state == RegistrationState.OFFLINE \
        else tr(f"reg.{reg.state.value}")
    if reg.state == RegistrationState.REGISTERED and receive and receive.get("do_not_disturb_until"):
        from tray.windows.forms import short_time

        return IconState("do_not_disturb", reg.account, status,
                         tr("tray.do_not_disturb_until", until=short_time(receive["do_not_disturb_until"])))
    if reg.state == RegistrationState.REGISTERED and receive and not any(d["active"] for d in receive["devices"]):
        return IconState("nobody_rings", reg.account, status, tr("tray.nobody_rings"))
    detail = reg.reason
    if detail and reg.retry_in_s:
        detail = f"{detail} ({tr('reg.retry', seconds=round(reg.retry_in_s))})"
    return IconState(reg.state.value, reg.account, status, detail)


def graphical_session() -> bool:
    """Whether windows can open: Windows and macOS always have a desktop; elsewhere X11 or
    Wayland says so in the environment."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
