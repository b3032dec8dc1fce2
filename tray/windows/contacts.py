"""The contacts window: colleagues (with their presence, as the PBX knows it), the company's
address book and the user's own, in one list with a search field. Call whoever is selected;
edit or delete one's own contacts, and the company's as a member of Administrators (for
anyone else the company book is read-only, and the PBX refuses anyway). Colleagues are edited
in the PBX's cabinet, not here.

Everything goes through the app's PBX session (`pbx_api`); the lists are fetched again when the
app says the PBX changed, and presence every PRESENCE_REFRESH_MS while the window is open
(registrations raise no event)."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from common.i18n import tr
from tray import people
from tray.windows import forms
from tray.windows.base import Window, fail_sentence, field_rows
from tray.windows.theme import px

PRESENCE_REFRESH_MS = 10_000
FIELDS = (("name", "win.contact.name", None), ("number", "win.contact.number", None),
          ("note", "win.contact.note", None))


class ContactsWindow(Window):
    name = "contacts"
    title_key = "win.contacts.title"

    def build(self) -> None:
        f = self.frame
        f.columnconfigure(0, weight=1)
        self.query = self.named("search", tk.StringVar(self.root))
        search = ttk.Entry(f, textvariable=self.query, width=40)
        ttk.Label(f, text=tr("win.contacts.search")).grid(row=0, column=0, sticky="w")
        search.grid(row=1, column=0, columnspan=2, sticky="ew", pady=px((2, 6)))
        self.query.trace_add("write", lambda *_: self._show())

        box = ttk.Frame(f)
        box.grid(row=2, column=0, columnspan=2, sticky="nsew")
        f.rowconfigure(2, weight=1)
        self.list = self.named("people", ttk.Treeview(box, columns=("name", "number", "book", "presence"),
                                                      show="headings", height=10, selectmode="browse"))
        for column, width in (("name", 190), ("number", 130), ("book", 200), ("presence", 130)):
            self.list.heading(column, text=tr(f"win.contacts.{column}"), anchor="w")
            self.list.column(column, width=px(width), anchor="w", stretch=column == "name")
        scroll = ttk.Scrollbar(box, orient="vertical", command=self.list.yview)
        self.list.configure(yscrollcommand=scroll.set)
        self.list.pack(side="left", fill="both", expand=True)
        scroll.pack(side="right", fill="y")
        self.list.bind("<<TreeviewSelect>>", lambda e: self._selected())
        self.list.bind("<Double-1>", lambda e: self.call())
        self.list.bind("<Return>", lambda e: self.call())

        actions = ttk.Frame(f)
        actions.grid(row=3, column=0, columnspan=2, sticky="w", pady=px((6, 0)))
        self.call_button = self.named("call", ttk.Button(actions, text=tr("win.dial.call"), style="Accent.TButton",
                                                         command=self.call, state="disabled"))
        self.call_button.pack(side="left")
        self.delete_button = self.named("delete", ttk.Button(actions, text=tr("win.contacts.delete"),
                                                             command=self.delete, state="disabled"))
        self.delete_button.pack(side="left", padx=px((8, 0)))
        self.named("add", ttk.Button(actions, text=tr("menu.add_personal_contact"),
                                     command=lambda: self._open_add("personal"))).pack(side="left", padx=px((8, 0)))

        form = ttk.LabelFrame(f, text=tr("win.contacts.edit"), padding=px(8))
        form.grid(row=4, column=0, columnspan=2, sticky="ew", pady=px((10, 0)))
        self.vars, self.errors, self.entries, row = field_rows(self, form, FIELDS)
        self.save_button = self.named("save", ttk.Button(form, text=tr("win.contacts.save"), command=self.save,
                                                         state="disabled"))
        self.save_button.grid(row=row, column=1, sticky="e", pady=px((6, 0)))
        self.status = self.message(f, "message", 560)
        self.status.grid(row=5, column=0, columnspan=2, sticky="w", pady=px((6, 0)))
        buttons = ttk.Frame(f)
        buttons.grid(row=6, column=0, columnspan=2, sticky="e", pady=px((10, 0)))
        ttk.Button(buttons, text=tr("win.close"), command=self.close).pack(side="right")
        self.root.bind("<Escape>", lambda e: self.close())
        self.tidy()
        search.focus_set()

        self._admin = False
        self._data: dict[str, list] = {}
        self._presence: dict[int, str] = {}
        self._rows: list[people.Person] = []
        self._confirming: people.Person | None = None
        self._set_form(None)
        self.load()
        # A change anywhere (the add-contact window, the cabinet, another computer) reaches the
        # app on the PBX's event stream, and the app tells its windows: reload the books then.
        self.link.subscribe(self._message)
        self.root.after(PRESENCE_REFRESH_MS, self._refresh_presence)

    # --- loading ------------------------------------------------------------------------------
    def load(self) -> None:
        self.link.request("pbx_state", self._got_state, self._failed)
        for key, path in (("directory", "/directory"), ("company", "/contacts/company"),
                          ("personal", "/contacts/personal"), ("presence", "/presence")):
            self.link.api("GET", path, lambda reply, key=key: self._got(key, reply), self._failed)

    def _got_state(self, state: dict) -> None:
        if not state.get("available"):
            self.say(self.status, state.get("reason") or tr("pbx.not_logged_in"))
        self._admin = bool((state.get("employee") or {}).get("administrator"))
        self._selected()

    def _got(self, key: str, reply: dict) -> None:
        if reply["status"] != 200:
            self.say(self.status, forms.api_failure(reply["status"], reply.get("body")))
            return
        if key == "presence":
            self._presence = {p["employee_id"]: p["state"] for p in reply["body"]}
        else:
            self._data[key] = reply["body"]
        self._show()

    def _message(self, message: dict) -> None:
        if message.get("event") == "pbx_state":
            for book in ("company", "personal", "directory"):
                path = "/directory" if book == "directory" else f"/contacts/{book}"
                self.link.api("GET", path, lambda reply, book=book: self._got(book, reply), lambda e: None)

    def _refresh_presence(self) -> None:
        self.link.api("GET", "/presence", lambda reply: self._got("presence", reply), lambda e: None)
        self.root.after(PRESENCE_REFRESH_MS, self._refresh_presence)

    def _failed(self, error) -> None:
        self.say(self.status, fail_sentence(error))

    # --- the list -----------------------------------------------------------------------------
    def _show(self) -> None:
        everyone = people.from_snapshot(self._data)
        query = self.query.get().strip()
        shown = people.complete(everyone, query, limit=len(everyone)) if query else everyone
        if query:
            # Completion keeps one entry per name and number; the list shows every book's copy.
            keys = {(p.name, p.number) for p in shown}
            shown = [p for p in everyone if (p.name, p.number) in keys]
        selected = self._current()
        self.list.delete(*self.list.get_children())
        self._rows = shown
        for person in shown:
            presence = ""
            if person.employee_id is not None and person.employee_id in self._presence:
                presence = tr(f"presence.{self._presence[person.employee_id]}")
            self.list.insert("", "end", values=(person.name, person.number, tr(f"people.source.{person.source}"),
                                                presence))
        if selected in shown:
            row = self.list.get_children()[shown.index(selected)]
            self.list.selection_set(row)
        else:
            self._selected()

    def _current(self) -> people.Person | None:
        selected = self.list.selection()
        if not selected:
            return None
        index = self.list.index(selected[0])
        return self._rows[index] if index < len(self._rows) else None

    def _editable(self, person: people.Person | None) -> bool:
        if person is None or person.contact_id is None:
            return False
        return person.source == "personal" or self._admin

    def _selected(self) -> None:
        person = self._current()
        if person != self._confirming:
            self._confirming = None
            self.delete_button.configure(text=tr("win.contacts.delete"))
        self.call_button.configure(state="normal" if person else "disabled")
        editable = self._editable(person)
        self.delete_button.configure(state="normal" if editable else "disabled")
        self._set_form(person)
        if person is not None and person.contact_id is not None and not editable:
            self.say(self.status, tr("win.contacts.read_only"), "Muted")
        elif person is not None and person.source == "directory":
            self.say(self.status, tr("win.contacts.colleague"), "Muted")
        elif self.status.cget("style") == "Muted.TLabel" and self._confirming is None:
            # (A refresh of the list selects the same row again: a question about it stays.)
            self.say(self.status, "")

    def _set_form(self, person: people.Person | None) -> None:
        contact = self._contact(person) if person is not None else None
        editable = self._editable(person)
        for field, var in self.vars.items():
            var.set(contact.get(field, "") if contact else (getattr(person, field, "") if person else ""))
            self.entries[field].configure(state="normal" if editable else "disabled")
        for label in self.errors.values():
            self.say(label, "")
        self.save_button.configure(state="normal" if editable else "disabled")

    def _contact(self, person: people.Person) -> dict | None:
        for c in self._data.get(person.source, []) if person.contact_id is not None else []:
            if c["id"] == person.contact_id:
                return c
        return None

    # --- actions ------------------------------------------------------------------------------
    def call(self) -> None:
        person = self._current()
        if person is None:
            return
        self.say(self.status, tr("call.started", number=person.label()), "Muted")
        self.link.request("call", lambda r: None, self._failed, target=person.number)

    def save(self) -> None:
        person = self._current()
        contact = self._contact(person) if person is not None else None
        if contact is None or not self._editable(person):
            return
        values = {k: v.get().strip() for k, v in self.vars.items()}
        missing = forms.required(values, ("name", "number"))
        self.say(self.status, "")  # the last save's answer does not stand beside this one's
        for name, label in self.errors.items():
            self.say(label, missing.get((name,), ""))
        if missing:
            return
        self.save_button.configure(state="disabled")
        self.link.api("PATCH", f"/contacts/{person.source}/{contact['id']}",
                      lambda reply: self._saved(reply, person), self._failed, body=values,
                      if_match=f'"{contact["version"]}"')

    def _saved(self, reply: dict, person: people.Person) -> None:
        self.save_button.configure(state="normal")
        body = reply.get("body")
        if reply["status"] != 200:
            problems = forms.field_problems(body, forms.top_field)
            for name, label in self.errors.items():
                self.say(label, " ".join(problems.get((name,), [])))
            self.say(self.status, forms.api_failure(reply["status"], body))
            return
        self.say(self.status, tr("win.contacts.saved", name=body["name"], number=body["number"]), "Ok")
        self._reload_book(person.source, select_id=body["id"])

    def delete(self) -> None:
        person = self._current()
        if person is None or not self._editable(person):
            return
        if self._confirming != person:
            # Nothing is deleted on one click: the button asks to be pressed again.
            self._confirming = person
            self.delete_button.configure(text=tr("win.contacts.delete_confirm"))
            self.say(self.status, tr("win.contacts.delete_ask", name=person.label()), "Muted")
            return
        self._confirming = None
        self.delete_button.configure(text=tr("win.contacts.delete"))
        self.link.api("DELETE", f"/contacts/{person.source}/{person.contact_id}",
                      lambda reply: self._deleted(reply, person), self._failed)

    def _deleted(self, reply: dict, person: people.Person) -> None:
        if reply["status"] != 204:
            self.say(self.status, forms.api_failure(reply["status"], reply.get("body")))
            return
        self.say(self.status, tr("win.contacts.deleted", name=person.label()), "Ok")
        self._reload_book(person.source)

    def _reload_book(self, book: str, select_id: int | None = None) -> None:
        def got(reply: dict) -> None:
            self._got(book, reply)
            if select_id is not None:
                for i, p in enumerate(self._rows):
                    if p.source == book and p.contact_id == select_id:
                        self.list.selection_set(self.list.get_children()[i])
        self.link.api("GET", f"/contacts/{book}", got, self._failed)

    def _open_add(self, book: str) -> None:
        self.link.request("open_window", lambda r: None, self._failed, window="contact", book=book)
