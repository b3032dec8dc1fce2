"""The windows that create one thing at the PBX through its API (a contact, an employee): a
heading, a row per field with its own error line, a status line, and Close / Save.

What is the same for each lives here: the required fields are checked before anything is sent,
Save is disabled while the PBX answers, and the PBX's problems with a field come back under that
field (tray/windows/forms.py reads them). A subclass says which fields, where it posts, the body,
and what a success shows.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from common.i18n import tr
from tray.windows import forms
from tray.windows.base import Window, fail_sentence, field_rows
from tray.windows.theme import px


class FormWindow(Window):
    fields: tuple[tuple[str, str, str | None], ...] = ()   # for field_rows: name, label key, hint key
    required: tuple[str, ...] = ()
    close_key = "win.close"
    save_key = ""

    def heading(self) -> str:
        raise NotImplementedError

    def path(self) -> str:
        """Where the form is posted (the PBX API's path)."""
        raise NotImplementedError

    def body(self, values: dict[str, str]) -> dict:
        raise NotImplementedError

    def created(self, body: dict) -> None:
        """The PBX answered 201 with `body`."""
        raise NotImplementedError

    def form_parent(self) -> tk.Misc:
        """The frame the form is laid out in (a subclass may replace the form later)."""
        return self.frame

    def extra_rows(self, parent: tk.Misc, row: int) -> int:
        """Widgets of the subclass's own below the fields; returns the next free row."""
        return row

    def build(self) -> None:
        f = self.form_parent()
        ttk.Label(f, text=self.heading(), style="Title.TLabel").grid(row=0, column=0, columnspan=2, sticky="w",
                                                                     pady=px((0, 8)))
        self.vars, self.errors, entries, row = field_rows(self, f, self.fields, first_row=1,
                                                         on_fixed=self._problem_fixed)
        row = self.extra_rows(f, row)
        self.status = self.message(f, "message", 440)
        self.status.grid(row=row, column=0, columnspan=2, sticky="w", pady=px((6, 0)))
        self.save_button = self.save_row(f, row + 1, tr(self.close_key), tr(self.save_key), self.save)
        self.root.bind("<Return>", lambda e: self._enter())
        entries[self.fields[0][0]].focus_set()

    def _problem_fixed(self) -> None:
        """Once no field is marked any more, the line that said "the problems are marked" goes too."""
        if str(self.status.cget("style")) == "Error.TLabel" and \
                not any(str(label.cget("text")) for label in self.errors.values()):
            self.say(self.status, "")

    def _enter(self) -> None:
        """Enter does what the default button says, while there is one to press (an employee's
        credentials replace the form: then it does nothing)."""
        if self.save_button.winfo_exists() and str(self.save_button.cget("state")) != "disabled":
            self.save()

    def save(self) -> None:
        values = {k: v.get() for k, v in self.vars.items()}
        missing = forms.required(values, self.required)
        # Every press starts afresh: what the last one was told no longer stands beside this one's.
        self.say(self.status, "")
        self.show_field_problems({k: [v] for k, v in missing.items()})
        if missing:
            return
        body = self.body(values)
        self.save_button.configure(state="disabled")
        self.link.api("POST", self.path(), self._answered, self._failed, body=body)

    def show_field_problems(self, problems: dict) -> None:
        """Each field's error line says its problems (none: the line folds away)."""
        for name, label in self.errors.items():
            self.say(label, " ".join(problems.get((name,), [])))

    def _answered(self, reply: dict) -> None:
        self.save_button.configure(state="normal")
        body = reply.get("body")
        if reply["status"] == 201:
            self.created(body)
            return
        problems = forms.field_problems(body, forms.top_field)
        self.show_field_problems(problems)
        # A sentence already beside its field is not said again in the status line.
        beside = problems and all(key[:1] and key[0] in self.errors for key in problems)
        self.say(self.status, tr("win.not_accepted") if beside else forms.api_failure(reply["status"], body))

    def _failed(self, error) -> None:
        self.save_button.configure(state="normal")
        self.say(self.status, fail_sentence(error))
