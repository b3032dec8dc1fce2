"""Add a contact: to the user's personal contacts, or (members of Administrators) to the
company's address book. Incoming calls then show the name."""

from __future__ import annotations

from tkinter import ttk

from common.i18n import tr
from tray.windows import forms
from tray.windows.base import Window, fail_sentence, field_rows

FIELDS = (("name", "win.contact.name", None), ("number", "win.contact.number", "win.contact.number_hint"),
          ("note", "win.contact.note", None))


class ContactWindow(Window):
    name = "contact"
    title_key = "win.contact.title"

    def build(self) -> None:
        f = self.frame
        self.book = self.options.book
        heading = "win.contact.company" if self.book == "company" else "win.contact.personal"
        ttk.Label(f, text=tr(heading), style="Title.TLabel").grid(row=0, column=0, columnspan=2, sticky="w",
                                                                 pady=(0, 8))
        self.vars, self.errors, entries, row = field_rows(self, f, FIELDS, first_row=1)
        self.status = self.message(f, "message", 440)
        self.status.grid(row=row, column=0, columnspan=2, sticky="w", pady=(6, 0))
        self.save_button = self.save_row(f, row + 1, tr("win.close"), tr("win.contact.save"), self.save)
        self.root.bind("<Return>", lambda e: self.save())
        entries["name"].focus_set()

    def save(self) -> None:
        values = {k: v.get() for k, v in self.vars.items()}
        missing = forms.required(values, ("name", "number"))
        self._show_fields({k: [v] for k, v in missing.items()})
        if missing:
            return
        body = {"name": values["name"].strip(), "number": values["number"].strip(), "note": values["note"].strip()}
        self.save_button.configure(state="disabled")
        self.say(self.status, "")
        self.link.api("POST", f"/contacts/{self.book}", self._answered, self._failed, body=body)

    def _show_fields(self, problems: dict) -> None:
        for name, label in self.errors.items():
            self.say(label, " ".join(problems.get((name,), [])))

    def _answered(self, reply: dict) -> None:
        self.save_button.configure(state="normal")
        body = reply.get("body")
        if reply["status"] == 201:
            self._show_fields({})
            self.say(self.status, tr("win.contact.saved", name=body["name"], number=body["number"]), "Ok")
            for var in self.vars.values():
                var.set("")
            return
        self._show_fields(forms.field_problems(body, forms.top_field))
        self.say(self.status, forms.api_failure(reply["status"], body))

    def _failed(self, error) -> None:
        self.save_button.configure(state="normal")
        self.say(self.status, fail_sentence(error))
