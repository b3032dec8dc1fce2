"""One call in a window: who, what is happening, and the buttons that fit (answer and decline
while it rings here; hang up, mute and hold once it is connected). The dial window and the
incoming-call window both show one; the app's call events drive it.

Under the name, what the app knows of the number (`caller_info`): a colleague, a contact (with
its note) or nobody known, and the last call with it and the note typed on it. Once connected,
a note can be typed and saved (`set_call_note`): during the call, or after it, until the window
closes. A number nobody knows is offered "Add to contacts…" once the conversation is over."""

from __future__ import annotations

import time
import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from common.i18n import tr
from tray.failures import sip_failure
from tray.windows.base import Window, fail_sentence
from tray.windows.forms import about_caller
from tray.windows.theme import px


def party(call: dict) -> str:
    name, number = call.get("name") or "", call.get("number") or ""
    return f"{name} ({number})" if name and name != number else number


def state_text(call: dict) -> str:
    who = party(call)
    state = call.get("state")
    if state == "ended":
        code, reason = call.get("code"), call.get("reason")
        if code and code >= 400 and code != 487:
            return tr("win.call.ended_because", reason=sip_failure(code, reason))
        return tr("win.call.ended")
    key = {"calling": "menu.calling", "ringing": "win.call.ringing", "incoming": "tray.ringing",
           "connected": "tray.in_call"}.get(state, "menu.calling")
    return tr(key, party=who)


LEVEL_FLOOR_DB = 60      # the meter spans -60 dBFS (empty) to 0 dBFS (full)
LEVEL_POLL_MS = 150


def meter_value(level_dbfs: float | None) -> float:
    """Where the level meter stands for a level in dBFS (None: silence)."""
    if level_dbfs is None:
        return 0.0
    return max(0.0, min(float(LEVEL_FLOOR_DB), LEVEL_FLOOR_DB + level_dbfs))


class CallPanel:
    def __init__(self, window: Window, parent: tk.Misc, on_end: Callable[[dict], None] | None = None):
        self.window = window
        self.call: dict | None = None
        self._connected_at: float | None = None
        self._was_connected = False
        self._on_end = on_end
        self.frame = ttk.Frame(parent)
        self.who = window.named("call_party", ttk.Label(self.frame, text="", style="Title.TLabel"))
        self.who.pack(anchor="w")
        self.state = window.named("call_state", ttk.Label(self.frame, text=""))
        self.state.pack(anchor="w", pady=px((2, 0)))
        self.about = window.named("call_about", ttk.Label(self.frame, text="", style="Muted.TLabel",
                                                         wraplength=px(380), justify="left"))
        self.about.pack(anchor="w", pady=px((2, 8)))
        self._info: dict | None = None
        row = self._button_row = ttk.Frame(self.frame)
        row.pack(anchor="w")
        self.buttons = {
            "answer": ttk.Button(row, text=tr("menu.answer"), style="Accent.TButton",
                                 command=lambda: self._act("answer")),
            "decline": ttk.Button(row, text=tr("menu.decline"), command=lambda: self._act("decline")),
            "hangup": ttk.Button(row, text=tr("menu.hangup"), command=lambda: self._act("hangup")),
        }
        for key, button in self.buttons.items():
            window.named(key, button)
        self.muted = window.named("mute", tk.BooleanVar(window.root))
        self.held = window.named("hold", tk.BooleanVar(window.root))
        self.buttons["mute"] = window.named("mute_button", ttk.Checkbutton(
            row, text=tr("menu.mute"), variable=self.muted, command=lambda: self._toggle("mute", self.muted)))
        self.buttons["hold"] = window.named("hold_button", ttk.Checkbutton(
            row, text=tr("menu.hold"), variable=self.held, command=lambda: self._toggle("hold", self.held)))
        # How loud the other side hears us, so that a user sees the microphone works (and that
        # mute or hold really silence it). Shown while connected, asked for a few times a second.
        self.level_row = ttk.Frame(self.frame)
        ttk.Label(self.level_row, text=tr("audio.level")).pack(side="left", padx=px((0, 8)))
        self.level = window.named("mic_level", ttk.Progressbar(self.level_row, maximum=LEVEL_FLOOR_DB,
                                                               length=px(160), mode="determinate"))
        self.level.pack(side="left")
        self._level_asked = False
        # The note: typed during the call or after it; Enter or the button saves it. It and the
        # offer to add the number live in a frame of their own, always packed (empty while there
        # is nothing to show), so that they find their place whatever else is shown.
        self.extra = ttk.Frame(self.frame)
        self.extra.pack(anchor="w", fill="x")
        self.note_row = ttk.Frame(self.extra)
        ttk.Label(self.note_row, text=tr("win.call.note")).pack(anchor="w")
        self.note = window.named("call_note", tk.StringVar(window.root))
        self._saved_note = ""
        line = ttk.Frame(self.note_row)
        line.pack(anchor="w", fill="x")
        note_entry = ttk.Entry(line, textvariable=self.note, width=40)
        note_entry.pack(side="left", fill="x", expand=True)
        note_entry.bind("<Return>", lambda e: self.save_note())
        window.named("save_note", ttk.Button(line, text=tr("win.call.save_note"),
                                             command=self.save_note)).pack(side="left", padx=px((8, 0)))
        self.note_status = window.message(self.note_row, "note_status", 380)
        self.note_status.pack(anchor="w")
        self.add_contact = window.named("add_contact", ttk.Button(self.extra, text=tr("win.call.add_contact"),
                                                                  command=self._add_contact))
        self.error = window.message(self.frame, "call_error", 380)
        self.error.pack(anchor="w", pady=px((6, 0)))
        self._tick()
        self._poll_level()

    def show(self, call: dict) -> None:
        """Show this call (a call event or a reply's call)."""
        if self.call is not None and call.get("call_id") != self.call.get("call_id"):
            return
        if self.call is None:
            self._new_call(call)
        self.call = call
        if call.get("state") == "connected" and self._connected_at is None:
            self._connected_at = time.monotonic()
        self.who.configure(text=party(call))
        self.muted.set(bool(call.get("muted")))
        self.held.set(bool(call.get("held")))
        wanted = {"incoming": ("answer", "decline"), "calling": ("hangup",), "ringing": ("hangup",),
                  "connected": ("hangup", "mute", "hold")}.get(call.get("state"), ())
        for button in self.buttons.values():
            button.pack_forget()
        for key in wanted:
            self.buttons[key].pack(side="left", padx=px((0, 8)))
        if call.get("state") == "connected":
            self.level_row.pack(anchor="w", pady=px((8, 0)), after=self._button_row)
        else:
            self.level_row.pack_forget()
            self.level.configure(value=0)
        self._render_state()
        self._render_after()
        if call.get("state") == "ended" and self._on_end is not None:
            self._on_end(call)

    # --- who it is, the note, the offer to add the number -------------------------------------
    def _new_call(self, call: dict) -> None:
        self._info = None
        self._connected_at = None
        self._was_connected = False
        self.about.configure(text="")
        self.note.set("")
        self._saved_note = ""
        self.window.say(self.note_status, "", "Ok")
        if call.get("number"):
            call_id = call.get("call_id")
            self.window.link.request("caller_info", lambda info: self._show_info(call_id, info),
                                     lambda error: None, number=call["number"])

    def _show_info(self, call_id: str | None, info: dict) -> None:
        if self.call is None or self.call.get("call_id") != call_id:
            return
        self._info = info
        self.about.configure(text="\n".join(about_caller(info)))
        self._render_after()

    def _render_after(self) -> None:
        """The note while connected and after; "Add to contacts…" once a conversation is over,
        for a number nobody knows (only when logged in to a PBX: the address books are there). A
        call declined or missed offers nothing: the window closes as it did."""
        state = (self.call or {}).get("state")
        if state == "connected":
            self._was_connected = True
        if self._was_connected and state in ("connected", "ended"):
            if not self.note_row.winfo_manager():
                self.note_row.pack(anchor="w", fill="x", pady=px((8, 0)), side="top")
        else:
            self.note_row.pack_forget()
        info = self._info or {}
        if state == "ended" and self._was_connected and info.get("pbx") and not info.get("source"):
            if not self.add_contact.winfo_manager():
                self.add_contact.pack(anchor="w", pady=px((8, 0)), side="top")
        else:
            self.add_contact.pack_forget()

    def note_unsaved(self) -> bool:
        return self.note.get().strip() != self._saved_note

    def offers(self) -> bool:
        """Whether the ended call still asks something of the person: a note not saved yet, or
        a number to add to the contacts."""
        return self.note_unsaved() or bool(self.add_contact.winfo_ismapped())

    def save_note(self) -> None:
        if self.call is None:
            return
        text = self.note.get().strip()

        def saved(reply: dict) -> None:
            self._saved_note = text
            self.window.say(self.note_status, tr("win.call.note_saved"), "Ok")
        self.window.link.request("set_call_note", saved,
                                 lambda error: self.window.say(self.note_status, fail_sentence(error)),
                                 call_id=self.call["call_id"], note=text[:500])

    def _add_contact(self) -> None:
        if self.call is None:
            return
        self.window.link.request("open_window", lambda reply: None, self._failed, window="contact",
                                 number=self.call.get("number") or "")

    def _render_state(self) -> None:
        if self.call is None:
            return
        text = state_text(self.call)
        if self.call.get("state") == "connected" and self._connected_at is not None:
            seconds = int(time.monotonic() - self._connected_at)
            text += f" · {seconds // 60}:{seconds % 60:02d}"
        self.state.configure(text=text)

    def _tick(self) -> None:
        self._render_state()
        try:
            self.window.root.after(1000, self._tick)
        except tk.TclError:
            pass

    def _poll_level(self) -> None:
        call = self.call
        if call is not None and call.get("state") == "connected" and not self._level_asked:
            self._level_asked = True
            self.window.link.request("microphone_level", self._show_level, self._no_level,
                                     call_id=call["call_id"])
        try:
            self.window.root.after(LEVEL_POLL_MS, self._poll_level)
        except tk.TclError:
            pass

    def _show_level(self, reply: dict) -> None:
        self._level_asked = False
        self.level.configure(value=meter_value(reply.get("level_dbfs")))

    def _no_level(self, error) -> None:
        self._level_asked = False  # the call just ended, say: its event redraws the panel
        self.level.configure(value=0)

    def _act(self, action: str) -> None:
        if self.call is None:
            return
        self.window.say(self.error, "")
        self.window.link.request(action, lambda r: None, self._failed, call_id=self.call["call_id"])

    def _toggle(self, action: str, var: tk.BooleanVar) -> None:
        if self.call is None:
            return
        self.window.link.request(action, lambda r: None, self._failed, call_id=self.call["call_id"],
                                 on=bool(var.get()))

    def _failed(self, error) -> None:
        self.window.say(self.error, fail_sentence(error))
