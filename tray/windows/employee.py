"""Register a new employee (members of Administrators): name, extension, mobile, e-mail and
membership of Administrators. The PBX answers with the new SIP account and a communicator
password that exists in plain text only in this answer: the window shows both with Copy
buttons and says so."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from common.i18n import tr
from tray.windows import forms
from tray.windows.form_window import FormWindow
from tray.windows.theme import px


class EmployeeWindow(FormWindow):
    name = "employee"
    title_key = "win.employee.title"
    fields = (("name", "win.employee.name", None),
              ("extension", "win.employee.extension", "win.employee.extension_hint"),
              ("mobile", "win.employee.mobile", None), ("email", "win.employee.email", None))
    required = ("name", "extension")
    close_key = "win.cancel"
    save_key = "win.employee.save"

    def form_parent(self) -> tk.Misc:
        # A frame of its own: a success swaps it for the credentials.
        self.form = ttk.Frame(self.frame)
        self.form.pack(fill="both", expand=True)
        return self.form

    def heading(self) -> str:
        return tr("win.employee.heading")

    def extra_rows(self, parent: tk.Misc, row: int) -> int:
        self.admin = self.named("administrator", tk.BooleanVar(self.root))
        ttk.Checkbutton(parent, text=tr("win.employee.administrator"), variable=self.admin).grid(
            row=row, column=1, sticky="w", pady=px((4, 0)))
        return row + 1

    def path(self) -> str:
        return "/employees"

    def body(self, values: dict[str, str]) -> dict:
        return {"name": values["name"].strip(), "extension": values["extension"].strip(),
                "mobile": forms.optional(values["mobile"]), "email": forms.optional(values["email"]),
                "administrator": bool(self.admin.get())}

    def created(self, body: dict) -> None:
        self._show_created(body)

    def _show_created(self, created: dict) -> None:
        """Swap the form for the credentials: there is nothing more to edit here."""
        self.form.destroy()
        self.names = {k: v for k, v in self.names.items() if not isinstance(v, tk.Misc) or v.winfo_exists()}
        self._messages = [m for m in self._messages if m.winfo_exists()]
        f = ttk.Frame(self.frame)
        f.pack(fill="both", expand=True)
        f.columnconfigure(1, weight=1)
        employee, sip = created["employee"], created["sip"]
        ttk.Label(f, text=tr("win.employee.created", name=employee["name"], extension=employee["extension"]),
                  style="Title.TLabel").grid(row=0, column=0, columnspan=3, sticky="w", pady=px((0, 10)))
        rows = (("sip_login", "win.employee.sip_login", f"{sip['username']}@{sip['domain']}"),
                ("sip_password", "win.employee.sip_password", sip["password"]),
                ("communicator_password", "win.employee.communicator_password", created["communicator_password"]))
        for n, (name, label, value) in enumerate(rows, 1):
            ttk.Label(f, text=tr(label)).grid(row=n, column=0, sticky="w", padx=px((0, 10)), pady=px(3))
            var = self.named(name, tk.StringVar(self.root, value=value))
            ttk.Entry(f, textvariable=var, state="readonly", width=30, font="TkFixedFont").grid(
                row=n, column=1, sticky="ew", pady=px(3))
            self.named(f"copy_{name}", ttk.Button(f, text=tr("win.copy"), command=lambda v=value: self._copy(v))
                       ).grid(row=n, column=2, padx=px((8, 0)), pady=px(3))
        warning = ttk.Label(f, text=tr("win.employee.shown_once"), style="Warning.TLabel", wraplength=px(460),
                            justify="left")
        warning.grid(row=4, column=0, columnspan=3, sticky="w", pady=px((10, 0)))
        self.named("shown_once", warning)
        self.copied = self.message(f, "copied")
        self.copied.grid(row=5, column=0, columnspan=3, sticky="w")
        ttk.Button(f, text=tr("win.close"), command=self.close).grid(row=6, column=2, sticky="e", pady=px((12, 0)))

    def _copy(self, value: str) -> None:
        # The X clipboard lives as long as its owner: this window keeps it until it closes.
        self.root.clipboard_clear()
        self.root.clipboard_append(value)
        self.say(self.copied, tr("win.copied"), "Ok")
