"""The dial window: a number field that takes what `talker --callto` takes (the app checks it
with common/dialstring.py and its sentence is shown here) and names: while a name or the start
of a number is typed, the colleagues and contacts it may mean are offered below the field
(the app's `find_people`); the call it starts; and the recent calls to call back with a double
click."""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

from common.i18n import tr
from tray.windows import forms
from tray.windows.base import Window, fail_sentence
from tray.windows.callpanel import CallPanel
from tray.windows.theme import px


class DialWindow(Window):
    name = "dial"
    title_key = "win.dial.title"

    def build(self) -> None:
        f = self.frame
        f.columnconfigure(0, weight=1)
        ttk.Label(f, text=tr("win.dial.number")).grid(row=0, column=0, columnspan=2, sticky="w")
        self.number = self.named("number", tk.StringVar(self.root, value=self.options.number or ""))
        entry = ttk.Entry(f, textvariable=self.number, width=32, font=("TkDefaultFont", 13))
        entry.grid(row=1, column=0, sticky="ew", pady=px((2, 0)), ipady=px(3))
        self.call_button = self.named("call", ttk.Button(f, text=tr("win.dial.call"), style="Accent.TButton",
                                                         command=self.dial))
        self.call_button.grid(row=1, column=1, sticky="e", padx=px((8, 0)))
        ttk.Label(f, text=tr("win.dial.hint"), style="Muted.TLabel").grid(row=2, column=0, columnspan=2, sticky="w")
        # Suggestions take the hint's place while there are any.
        self.suggestions = self.named("suggestions", tk.Listbox(f, height=5, exportselection=False,
                                                                activestyle="dotbox"))
        # Arrow keys only move the selection; a click, Enter or Call takes it.
        self.suggestions.bind("<ButtonRelease-1>", lambda e: self._pick())
        self.suggestions.bind("<Double-1>", lambda e: (self._pick(), self.dial()))
        self.suggestions.bind("<Return>", lambda e: (self._pick(), self.dial()))
        self.suggestions.bind("<Escape>", lambda e: (self._hide_suggestions(), entry.focus_set(), "break")[-1])
        entry.bind("<Down>", lambda e: self._into_suggestions())
        self._found: list[dict] = []
        self._chosen: tuple[str, str] | None = None   # (the name shown in the field, its number)
        self._pending_query: str | None = None
        self.number.trace_add("write", lambda *_: self._typed())
        self.error = self.message(f, "error", 420)
        self.error.grid(row=3, column=0, columnspan=2, sticky="w", pady=px((4, 0)))
        self.clear_when_edited(self.number, self.error)
        self.panel = CallPanel(self, f, on_end=lambda call: self.load_recent())
        self.panel_row = 4

        ttk.Label(f, text=tr("menu.recent_calls"), style="Bold.TLabel").grid(row=5, column=0, sticky="w",
                                                                             pady=px((12, 4)))
        box = ttk.Frame(f)
        box.grid(row=6, column=0, columnspan=2, sticky="nsew")
        f.rowconfigure(6, weight=1)
        self.recent = self.named("recent", ttk.Treeview(box, columns=("kind", "who", "when"), show="headings",
                                                        height=7, selectmode="browse"))
        # Wide enough for a whole date and time in either language (issue 14: it was cut).
        when_width = tkfont.nametofont("TkDefaultFont").measure("88.88.8888 88:88") + px(24)
        for column, key, width in (("kind", "win.recent.kind", px(170)), ("who", "win.recent.who", px(220)),
                                   ("when", "win.recent.when", when_width)):
            self.recent.heading(column, text=tr(key), anchor="w")
            self.recent.column(column, width=width, minwidth=width if column == "when" else px(40), anchor="w",
                               stretch=column == "who")
        scroll = ttk.Scrollbar(box, orient="vertical", command=self.recent.yview)
        self.recent.configure(yscrollcommand=scroll.set)
        self.recent.pack(side="left", fill="both", expand=True)
        scroll.pack(side="right", fill="y")
        self.recent.bind("<Double-1>", lambda e: self.call_back())
        self.recent.bind("<Return>", lambda e: self.call_back())
        self.empty = ttk.Label(f, text="", style="Muted.TLabel")
        self.empty.grid(row=7, column=0, sticky="w")
        buttons = ttk.Frame(f)
        buttons.grid(row=8, column=0, columnspan=2, sticky="e", pady=px((10, 0)))
        ttk.Button(buttons, text=tr("win.close"), command=self.close).pack(side="right")
        self.named("call_back", ttk.Button(buttons, text=tr("win.dial.call_back"),
                                           command=self.call_back)).pack(side="right", padx=px((0, 8)))
        entry.bind("<Return>", lambda e: self.dial())
        self.root.bind("<Escape>", lambda e: self.close())
        entry.focus_set()
        entry.icursor("end")
        self._numbers: list[str] = []
        self.link.subscribe(self._message)
        self.load_recent()

    # --- completion ------------------------------------------------------------------------
    def _typed(self) -> None:
        text = self.number.get().strip()
        if self._chosen is not None and text == self._chosen[0]:
            return
        self._chosen = None
        digits = sum(c.isdigit() for c in text)
        if not any(c.isalpha() for c in text) and digits < 2:
            self._show_suggestions([])
            return
        if self._pending_query is None:
            # One request in flight at a time; the newest text is asked for when it answers.
            self.root.after(120, self._ask)
        self._pending_query = text

    def _ask(self) -> None:
        query = self._pending_query
        if not query:
            self._pending_query = None
            return

        def answered(result: dict) -> None:
            latest, self._pending_query = self._pending_query, None
            if latest != query:
                self._pending_query = latest
                self._ask()
            elif self.number.get().strip() == query:
                self._show_suggestions(result.get("people", []))

        def failed(error) -> None:
            self._pending_query = None
            self._show_suggestions([])

        self.link.request("find_people", answered, failed, query=query[:256], limit=8)

    def _show_suggestions(self, found: list[dict]) -> None:
        self._found = found
        self.suggestions.delete(0, "end")
        for p in found:
            self.suggestions.insert("end", f"{p['name']} ({p['number']}) — {tr('people.source.' + p['source'])}")
        if found:
            self.suggestions.configure(height=min(len(found), 6))
            self.suggestions.grid(row=2, column=0, columnspan=2, sticky="ew")
        else:
            self.suggestions.grid_remove()

    def _hide_suggestions(self) -> None:
        self._show_suggestions([])

    def _into_suggestions(self) -> str | None:
        if not self._found:
            return None
        self.suggestions.focus_set()
        self.suggestions.selection_clear(0, "end")
        self.suggestions.selection_set(0)
        self.suggestions.activate(0)
        return "break"

    def _pick(self) -> None:
        selected = self.suggestions.curselection()
        if not selected or selected[0] >= len(self._found):
            return
        person = self._found[selected[0]]
        self._chosen = (person["name"], person["number"])
        self.number.set(person["name"])
        self._hide_suggestions()

    def load_recent(self) -> None:
        self.link.request("recent_calls", self._show_recent, lambda e: self.say(self.error, fail_sentence(e)))

    def _show_recent(self, result: dict) -> None:
        self.recent.delete(*self.recent.get_children())
        self._numbers = []
        for entry in result.get("calls", []):
            self.recent.insert("", "end", values=forms.recent_row(entry))
            self._numbers.append(entry.get("number", ""))
        self.empty.configure(text="" if self._numbers else tr("menu.no_recent_calls"))

    def call_back(self) -> None:
        selected = self.recent.selection()
        if not selected:
            return
        self.number.set(self._numbers[self.recent.index(selected[0])])
        self.dial()

    def dial(self) -> None:
        target = self.number.get().strip()
        self.say(self.error, "")
        if not target:
            self.say(self.error, tr("target.empty"))
            return
        if self._found and self.suggestions.curselection():
            self._pick()
            target = self.number.get().strip()
        self._hide_suggestions()
        if self._chosen is not None and target == self._chosen[0]:
            target = self._chosen[1]   # the very person picked, even where two share the name
        self.call_button.configure(state="disabled")
        self.say(self.error, tr("call.started", number=target), "Muted")
        self.link.request("call", self._started, self._failed, target=target)

    def _started(self, result: dict) -> None:
        self.call_button.configure(state="normal")
        self.say(self.error, "")
        self.panel.call = None
        self.panel.frame.grid(row=self.panel_row, column=0, columnspan=2, sticky="ew", pady=px((10, 0)))
        self.panel.show(result["call"])

    def _failed(self, error) -> None:
        self.call_button.configure(state="normal")
        self.say(self.error, fail_sentence(error))

    def _message(self, message: dict) -> None:
        if message.get("event") == "call" and self.panel.call is not None:
            self.panel.show(message["call"])
