"""The incoming-call window: who calls (and what the app knows of them: tray/windows/callpanel.py),
Answer / Decline; once answered, Hang up, Mute, Hold, and a note. The app opens it when a call
starts ringing here; it shows the newest ringing call and closes itself shortly after that call
ends (or at once if nothing rings any more) — unless the call still asks something of the
person: a note typed and not saved, or a new number to add to the contacts. Then it stays,
with Close."""

from __future__ import annotations

from tkinter import ttk

from common.i18n import tr
from tray.windows.base import Window
from tray.windows.callpanel import CallPanel
from tray.windows.theme import px

CLOSE_AFTER_END_MS = 2000


class IncomingWindow(Window):
    name = "incoming"
    title_key = "win.incoming.title"

    def build(self) -> None:
        self.root.attributes("-topmost", True)  # a ringing phone must not hide behind other windows
        self.frame.configure(padding=px(18))
        self.panel = CallPanel(self, self.frame, on_end=self._ended)
        self.panel.frame.pack(fill="both", expand=True)
        self.waiting = ttk.Label(self.frame, text=tr("win.incoming.waiting"), style="Muted.TLabel")
        self.waiting.pack(anchor="w")
        self.close_button = self.named("close", ttk.Button(self.frame, text=tr("win.close"), command=self.close))
        self.root.bind("<Escape>", lambda e: self.close())
        self.root.minsize(px(360), 0)
        self.link.subscribe(self._message)

    def _message(self, message: dict) -> None:
        event = message.get("event")
        if event == "status":
            ringing = [c for c in message.get("calls", []) if c.get("state") == "incoming"]
            if not ringing:
                self.close()
                return
            self.waiting.pack_forget()
            self.panel.show(ringing[-1])
        elif event == "call" and self.panel.call is not None:
            self.panel.show(message["call"])
        elif event == "gone":
            self.close()

    def _ended(self, call: dict) -> None:
        self.root.after(CLOSE_AFTER_END_MS, self._close_unless_asked)

    def _close_unless_asked(self) -> None:
        if self.panel.offers():
            self.close_button.pack(anchor="e", pady=px((8, 0)))
            return
        self.close()
