"""The login window: the PBX's address, a login (SIP account, mobile or e-mail) and the
communicator password, handed to the app (action "login"), which keeps the session and
registers with the SIP credentials the PBX gives it. Refusals stay in the window."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from common.i18n import tr
from tray.settings import normalise_pbx_url
from tray.windows import forms
from tray.windows.base import Window, fail_sentence

CLOSE_AFTER_MS = 1200


class LoginWindow(Window):
    name = "login"
    title_key = "win.login.title"

    def build(self) -> None:
        f = self.frame
        f.columnconfigure(1, weight=1)
        ttk.Label(f, text=tr("win.login.heading"), style="Title.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, 10))
        self.vars = {}
        self.errors = {}
        rows = (("pbx_url", "win.login.pbx_url", "win.login.pbx_url_hint", {}),
                ("login", "win.login.login", "win.login.login_hint", {}),
                ("password", "win.login.password", None, {"show": "•"}))
        row = 1
        for key, label, hint, extra in rows:
            ttk.Label(f, text=tr(label)).grid(row=row, column=0, sticky="w", padx=(0, 10), pady=(4, 0))
            var = self.vars[key] = self.named(key, tk.StringVar(self.root))
            entry = ttk.Entry(f, textvariable=var, width=36, **extra)
            entry.grid(row=row, column=1, sticky="ew", pady=(4, 0))
            if key == "pbx_url":
                self.first = entry
            if key == "password":
                self.password_entry = entry
            row += 1
            if hint:
                ttk.Label(f, text=tr(hint), style="Muted.TLabel").grid(row=row, column=1, sticky="w")
                row += 1
            self.errors[key] = self.message(f, f"{key}_error", 320)
            self.errors[key].grid(row=row, column=1, sticky="w")
            row += 1
        self.status = self.message(f, "message", 440)
        self.status.grid(row=row, column=0, columnspan=2, sticky="w", pady=(8, 0))
        buttons = ttk.Frame(f)
        buttons.grid(row=row + 1, column=0, columnspan=2, sticky="e", pady=(12, 0))
        ttk.Button(buttons, text=tr("win.cancel"), command=self.close).pack(side="right")
        self.submit = self.named("submit", ttk.Button(buttons, text=tr("win.login.submit"),
                                                      style="Accent.TButton", command=self.log_in))
        self.submit.pack(side="right", padx=(0, 8))
        self.root.bind("<Return>", lambda e: self.log_in())
        self.root.bind("<Escape>", lambda e: self.close())
        self.first.focus_set()

    def log_in(self) -> None:
        if str(self.submit.cget("state")) == "disabled":
            return
        values = {k: v.get() for k, v in self.vars.items()}
        missing = forms.required(values, ("pbx_url", "login", "password"))
        for key, label in self.errors.items():
            self.say(label, missing.get((key,), ""))
        if missing:
            return
        url = normalise_pbx_url(values["pbx_url"])
        self.vars["pbx_url"].set(url)
        self.submit.configure(state="disabled")
        self.say(self.status, tr("win.login.busy", url=url), "Muted")
        self.link.request("login", self._done, self._failed, pbx_url=url, login=values["login"].strip(),
                          password=values["password"])

    def _done(self, result: dict) -> None:
        me = result.get("employee") or {}
        self.say(self.status, tr("cli.logged_in", name=me.get("name", ""), extension=me.get("extension", ""),
                                 url=self.vars["pbx_url"].get()), "Ok")
        self.root.after(CLOSE_AFTER_MS, self.close)

    def _failed(self, error) -> None:
        self.submit.configure(state="normal")
        self.say(self.status, fail_sentence(error))
        self.vars["password"].set("")
        self.password_entry.focus_set()
