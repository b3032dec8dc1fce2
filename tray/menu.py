"""The tray menu, rebuilt from the app's state each time it opens (pystray's dynamic menu).

Only what the user may do appears: the receive scheme, the devices and the employee forms are
absent for anyone outside Administrators (the PBX refuses them anyway). When the PBX cannot be
reached, its part of the menu shows the last known state, disabled, with the reason. Every
action is one of the app's action table (tray/actions.py), run by name on the app's loop, as
the control channel runs it; a refusal comes back as a notification and the menu shows what the
PBX really has.

The menu sees the app only through `MenuModel`: what it reads, and `do` to act.
"""

from __future__ import annotations

from typing import Protocol

from common import protocol
from common.i18n import tr
from tray import history
from tray.icon import IconState
from tray.sip.engine import CallEvent, CallState

RECENT_IN_MENU = 10
# Do not disturb for how long, in minutes (the PBX takes up to a day).
QUIET_CHOICES = (15, 30, 60, 120)
MODES = protocol.receive_modes()
# The recent calls' icons by history.kind; the kinds that an icon alone would not explain also
# get a word (menu.recent_<kind>).
RECENT_ICONS = {"in": "↙", "out": "↗", "missed": "✗", "declined": "⊘", "answered_elsewhere": "↪",
                "out_unanswered": "↗", "out_declined": "↗", "out_failed": "↗", "unreached": "⌀"}


class MenuModel(Protocol):
    """What the menu needs of the app (tray/app.py's TalkerApp is the real one)."""

    @property
    def pbx_url(self) -> str | None:
        """The PBX the app is logged in to; None when it is not."""

    def icon_state(self) -> IconState | None: ...

    def recent_calls(self, limit: int) -> list[dict]: ...

    def calls(self) -> list[CallEvent]: ...

    def pbx_state(self) -> dict: ...

    def audio_devices_state(self) -> dict: ...

    def missed_calls(self) -> list[dict]:
        """The missed calls not seen yet, newest first ({number, name, at, outcome})."""

    def do(self, action: str, **args: object) -> None:
        """Run an action of the app's table by name (from pystray's thread), without waiting."""


class TrayMenu:
    def __init__(self, app: MenuModel):
        self.app = app

    def build(self):
        import pystray

        self.ps = pystray
        return pystray.Menu(lambda: tuple(self.items()))

    def _item(self, text, action=None, **kw):
        return self.ps.MenuItem(text, action if action is not None else _noop, **kw)

    def _label(self, text):
        return self.ps.MenuItem(text, _noop, enabled=False)

    def _submenu(self, text, items, enabled=True):
        items = [i for i in items if i is not None]
        return self.ps.MenuItem(text, self.ps.Menu(*items), enabled=enabled and bool(items))

    # --- the whole menu -------------------------------------------------------------------
    def items(self):
        app = self.app
        sep = self.ps.Menu.SEPARATOR
        yield self._label(self._status_line())
        missed = self._missed_calls()
        if missed is not None:
            yield missed
        yield sep
        # Left click (where the platform has one) opens the dial window: the thing most used.
        yield self._item(tr("menu.call"), _do(app.do, "open_window", window="dial"), default=True)
        yield self._recent_calls()
        yield from self._call_items()
        yield sep
        yield from self._pbx_items()
        yield sep
        yield self._audio_devices()
        yield self._item(tr("menu.settings"), _do(app.do, "open_window", window="settings"))
        # Logging out asks first: the login window shows who is logged in, what logging out
        # means, and its own "Log out" button. Quit stays apart from it, below a separator.
        state = app.icon_state()
        logged_in = app.pbx_url is not None or (state is not None and state.account is not None)
        yield self._item(tr("menu.logout" if logged_in else "menu.login"), _do(app.do, "open_window", window="login"))
        yield sep
        yield self._item(tr("tray.quit"), _do(app.do, "quit"))

    def _status_line(self) -> str:
        st = self.app.icon_state()
        if st is None:
            return tr("reg.offline")
        line = f"{st.account}: {st.status}" if st.account else st.status
        return f"{line} — {st.detail}" if st.detail else line

    def _missed_calls(self):
        """Missed calls not seen yet, right under the status: each calls back when clicked (and
        so leaves the list); "Mark as seen" empties it without calling. Absent when there are none."""
        from tray.windows.forms import short_time

        calls = self.app.missed_calls()
        if not calls:
            return None
        items = []
        for c in calls[:RECENT_IN_MENU]:
            who = f"{c['name']} ({c['number']})" if c.get("name") else (c["number"] or "?")
            text = tr("menu.call_back", call=f"{RECENT_ICONS[c['outcome']]} {who}", when=short_time(c["at"]))
            items.append(self._item(text, _do(self.app.do, "call", target=c["number"]), enabled=bool(c["number"])))
        items.append(self.ps.Menu.SEPARATOR)
        items.append(self._item(tr("menu.mark_missed_seen"), _do(self.app.do, "mark_missed_seen")))
        return self._submenu(tr("tray.missed_count", count=len(calls)), items)

    def _recent_calls(self):
        entries = self.app.recent_calls(RECENT_IN_MENU)
        items = []
        for e in entries:
            kind = history.kind(e)
            who = f"{e['name']} ({e['number']})" if e.get("name") else e["number"]
            text = f"{RECENT_ICONS[kind]} {who}"
            if kind in ("declined", "answered_elsewhere", "out_declined", "out_unanswered", "unreached"):
                text = tr(f"menu.recent_{kind}", call=text)
            elif kind == "out_failed":
                text = tr("menu.recent_out_failed", call=text, reason=history.failure(e))
            items.append(self._item(text, _do(self.app.do, "call", target=e["number"])))
        if not items:
            items.append(self._label(tr("menu.no_recent_calls")))
        return self._submenu(tr("menu.recent_calls"), items)

    def _call_items(self):
        app = self.app
        sep = self.ps.Menu.SEPARATOR
        for call in app.calls():
            who = f"{call.remote_name} ({call.remote_number})" if call.remote_name else call.remote_number
            cid = call.call_id
            yield sep
            if call.state == CallState.INCOMING:
                yield self._label(tr("tray.ringing", party=who))
                yield self._item(tr("menu.answer"), _do(app.do, "answer", call_id=cid))
                yield self._item(tr("menu.decline"), _do(app.do, "decline", call_id=cid))
                continue
            state_text = tr("tray.in_call", party=who) if call.state == CallState.CONNECTED else \
                tr("menu.calling", party=who)
            yield self._label(state_text)
            yield self._item(tr("menu.hangup"), _do(app.do, "hangup", call_id=cid))
            if call.state == CallState.CONNECTED:
                yield self._item(tr("menu.mute"), _do(app.do, "mute", call_id=cid, on=not call.muted), checked=_is(call.muted))
                yield self._item(tr("menu.hold"), _do(app.do, "hold", call_id=cid, on=not call.held), checked=_is(call.held))

    def _audio_devices(self):
        """Microphone ▸, Speaker ▸, Ringer ▸: the OS default and each device, the choice checked;
        then the switches Ring silently and Echo cancellation.
        A chosen device that is unplugged stays listed (checked, greyed): it is used again as
        soon as it is back."""
        app = self.app
        state = app.audio_devices_state()
        options = state.pop("options")
        roles = []
        for role, s in state.items():
            chosen = s["device"]
            items = [self._item(tr("audio.system_default"), _do(app.do, "set_audio_device", role=role, device=None),
                                checked=_is(chosen is None), radio=True)]
            for d in s["devices"]:
                items.append(self._item(d["description"], _do(app.do, "set_audio_device", role=role, device=d["name"]),
                                        checked=_is(d["name"] == chosen), radio=True))
            if not s["present"]:
                items.append(self._item(tr("audio.absent", device=chosen), checked=_is(True), radio=True,
                                        enabled=False))
            roles.append(self._submenu(tr(f"audio.{role}"), items))
        roles.append(self.ps.Menu.SEPARATOR)
        for option, on in options.items():
            roles.append(self._item(tr(f"audio.{option}"), _do(app.do, "set_audio_option", option=option, on=not on),
                                    checked=_is(on)))
        return self._submenu(tr("menu.audio_devices"), roles)

    def _do_not_disturb(self, receive: dict, editable: bool):
        """Do not disturb ▸ for 15 minutes … 2 hours, and while it is on, its end in the title and
        "Ring again now". Every employee has it: it is their own quiet, not the scheme's devices."""
        from tray.windows.forms import short_time

        until = receive.get("do_not_disturb_until")
        items = [self._item(tr(f"menu.quiet_{m}"), _do(self.app.do, "set_do_not_disturb", minutes=m),
                            enabled=editable) for m in QUIET_CHOICES]
        if until:
            items += [self.ps.Menu.SEPARATOR,
                      self._item(tr("menu.quiet_off"), _do(self.app.do, "set_do_not_disturb", minutes=0),
                                 enabled=editable)]
            return self._submenu(tr("menu.do_not_disturb_on", until=short_time(until)), items)
        return self._submenu(tr("menu.do_not_disturb"), items)

    def _pbx_items(self):
        app = self.app
        state = app.pbx_state()
        if not state.get("available"):
            return
        editable = not state.get("stale")
        if state.get("stale"):
            yield self._label(state.get("reason") or tr("pbx.not_logged_in"))
        employee = state.get("employee") or {}
        admin = bool(employee.get("administrator"))
        receive = state.get("receive")
        if receive is not None:
            yield self._do_not_disturb(receive, editable)
        if admin and receive:
            current = receive["mode"]
            yield self._submenu(tr("menu.receive_calls"), [
                self._item(tr(f"mode.{mode}"), _do(app.do, "set_receive_mode", mode=mode), checked=_is(current == mode),
                           radio=True, enabled=editable)
                for mode in MODES])
            yield self._submenu(tr("menu.my_numbers"), [
                self._item(d["label"], _do(app.do, "set_device_active", device_id=d["id"], active=not d["active"]),
                           checked=_is(d["active"]), enabled=editable)
                for d in receive["devices"]])
        outgoing = state.get("outgoing")
        if outgoing is not None:
            selected = outgoing.get("selected_id")
            numbers = [self._item(tr("menu.pbx_default_number"), _do(app.do, "set_outgoing_number", number_id=None),
                                  checked=_is(selected is None), radio=True, enabled=editable)]
            for n in outgoing["numbers"]:
                text = f"{n['number']} — {n['label']}" if n.get("label") else n["number"]
                numbers.append(self._item(text, _do(app.do, "set_outgoing_number", number_id=n["id"]),
                                          checked=_is(selected == n["id"]), radio=True, enabled=editable))
            buy_url = outgoing.get("buy_url")
            if buy_url:
                numbers.append(self.ps.Menu.SEPARATOR)
                numbers.append(self._item(tr("menu.add_number"), _do(_open_url, buy_url)))
            yield self._submenu(tr("menu.outgoing_number"), numbers)
        contacts = [self._item(tr("menu.open_contacts"), _do(app.do, "open_window", window="contacts")),
                    self.ps.Menu.SEPARATOR,
                    self._item(tr("menu.add_personal_contact"), _do(app.do, "open_window", window="contact", book="personal"),
                               enabled=editable)]
        if admin:
            contacts.append(self._item(tr("menu.add_company_contact"), _do(app.do, "open_window", window="contact", book="company"),
                                       enabled=editable))
            contacts.append(self._item(tr("menu.new_employee"), _do(app.do, "open_window", window="employee"), enabled=editable))
        yield self._submenu(tr("menu.contacts"), contacts)
        base_url = app.pbx_url
        if admin and base_url:
            # Everything else an administrator does (credentials, desk phones, numbers, the
            # calendar) is in the PBX's web cabinet, served at the root of the same address.
            yield self._item(tr("menu.open_cabinet"), _do(_open_url, base_url + "/"))


def _noop(icon, item) -> None:
    pass


def _open_url(url: str) -> None:
    # Links the PBX hands out (the cabinet, where to buy a number): only the web, never a file
    # or a program.
    if url.startswith(("https://", "http://")):
        import webbrowser

        webbrowser.open(url)


# pystray inspects an action's argument count (0, 1 or 2): closures with bound values, not
# lambdas with default arguments.
def _do(fn, *args, **kwargs):
    def action(icon, item):
        fn(*args, **kwargs)
    return action


def _is(value: bool):
    def checked(item):
        return value
    return checked
