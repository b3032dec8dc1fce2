"""The login window, and the account window once logged in.

Not logged in: a Talker PBX's address, a login (SIP account, mobile or e-mail) and the
communicator password, handed to the app (action "login"), which keeps the session and
registers with the SIP credentials the PBX gives it; or, as the second choice, a plain SIP
account on any server (action "sip_account"). Logged in: who, and a "Log out" button with what
logging out means — the menu's "Log out…" leads here, so logging out always asks first.
Refusals stay in the window.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from common.i18n import tr
from tray.settings import normalise_pbx_url
from tray.windows import forms
from tray.windows.base import Window, fail_sentence
from tray.windows.theme import px

CLOSE_AFTER_MS = 1200
PBX_FIELDS = (("pbx_url", "win.login.pbx_url", "win.login.pbx_url_hint", {}),
              ("login", "win.login.login", "win.login.login_hint", {}),
              ("password", "win.login.password", None, {"show": "•"}))
SIP_FIELDS = (("sip_server", "win.login.sip_server", "win.login.sip_server_hint", {}),
              ("sip_user", "win.login.sip_user", "win.login.sip_user_hint", {}),
              ("sip_password", "win.login.password", None, {"show": "•"}))


class LoginWindow(Window):
    name = "login"
    title_key = "win.login.title"

    def build(self) -> None:
        f = self.frame
        f.columnconfigure(0, weight=1)
        self.vars: dict[str, tk.StringVar] = {}
        self.errors: dict[str, ttk.Label] = {}
        self.entries: dict[str, ttk.Entry] = {}

        self.account_box = ttk.Frame(f)
        self.account = self.named("account", ttk.Label(self.account_box, text="", style="Title.TLabel",
                                                       wraplength=px(440), justify="left"))
        self.account.pack(anchor="w", pady=px((0, 8)))
        ttk.Label(self.account_box, text=tr("win.login.logout_warning"), wraplength=px(440),
                  justify="left").pack(anchor="w")

        self.form_box = ttk.Frame(f)
        self.form_box.columnconfigure(0, weight=1)
        self.kind = self.named("kind", tk.StringVar(self.root, value="pbx"))
        kinds = ttk.Frame(self.form_box)
        kinds.grid(row=0, column=0, sticky="w", pady=px((0, 10)))
        for value, key in (("pbx", "win.login.kind_pbx"), ("sip", "win.login.kind_sip")):
            ttk.Radiobutton(kinds, text=tr(key), value=value, variable=self.kind,
                            command=self._show_kind).pack(side="left", padx=px((0, 14)))
        self.pbx_box = self._fields(self.form_box, "win.login.heading", PBX_FIELDS)
        self.sip_box = self._fields(self.form_box, "win.login.sip_heading", SIP_FIELDS)
        self.pbx_box.grid(row=1, column=0, sticky="ew")

        self.status = self.message(f, "message", 440)
        self.status.grid(row=1, column=0, sticky="w", pady=px((8, 0)))
        buttons = ttk.Frame(f)
        buttons.grid(row=2, column=0, sticky="e", pady=px((12, 0)))
        self.cancel = ttk.Button(buttons, text=tr("win.cancel"), command=self.close)
        self.cancel.pack(side="right")
        self.submit = self.named("submit", ttk.Button(buttons, text=tr("win.login.submit"),
                                                      style="Accent.TButton", command=self.log_in))
        self.logout_button = self.named("logout", ttk.Button(buttons, text=tr("win.login.logout"),
                                                             command=self.log_out))
        self.root.bind("<Return>", lambda e: self.log_in())
        self.root.bind("<Escape>", lambda e: self.close())
        self._show_form()
        self.link.request("status", self._status, lambda e: None)

    def _fields(self, parent: tk.Misc, heading: str, specs) -> ttk.Frame:
        box = ttk.Frame(parent)
        box.columnconfigure(1, weight=1)
        ttk.Label(box, text=tr(heading), style="Title.TLabel").grid(row=0, column=0, columnspan=2, sticky="w",
                                                                   pady=px((0, 10)))
        row = 1
        for key, label, hint, extra in specs:
            ttk.Label(box, text=tr(label)).grid(row=row, column=0, sticky="w", padx=px((0, 10)), pady=px((4, 0)))
            var = self.vars[key] = self.named(key, tk.StringVar(self.root))
            entry = self.entries[key] = ttk.Entry(box, textvariable=var, width=36, **extra)
            entry.grid(row=row, column=1, sticky="ew", pady=px((4, 0)))
            row += 1
            if hint:
                ttk.Label(box, text=tr(hint), style="Muted.TLabel").grid(row=row, column=1, sticky="w")
                row += 1
            self.errors[key] = self.message(box, f"{key}_error", 320)
            self.errors[key].grid(row=row, column=1, sticky="w")
            self.clear_when_edited(var, self.errors[key])
            row += 1
        return box

    # --- which view -----------------------------------------------------------------------
    def _status(self, status: dict) -> None:
        account = (status.get("registration") or {}).get("account")
        if not account:
            return
        self.link.request("pbx_state", lambda state: self._show_account(account, state),
                          lambda e: self._show_account(account, {}))

    def _show_account(self, account: str, pbx_state: dict) -> None:
        me = pbx_state.get("employee") if pbx_state.get("available") else None
        who = f"{me['name']} ({me['extension']}), {account}" if me else account
        self.account.configure(text=tr("win.login.signed_in", who=who))
        self.form_box.grid_remove()
        self.account_box.grid(row=0, column=0, sticky="ew")
        self.submit.pack_forget()
        self.logout_button.pack(side="right", padx=px((0, 8)))
        self.cancel.configure(text=tr("win.close"))
        self.logout_button.focus_set()

    def _show_form(self) -> None:
        self.account_box.grid_remove()
        self.form_box.grid(row=0, column=0, sticky="ew")
        self.logout_button.pack_forget()
        self.submit.pack(side="right", padx=px((0, 8)))
        self.cancel.configure(text=tr("win.cancel"))
        self._show_kind()

    def _show_kind(self) -> None:
        sip = self.kind.get() == "sip"
        (self.pbx_box if sip else self.sip_box).grid_remove()
        (self.sip_box if sip else self.pbx_box).grid(row=1, column=0, sticky="ew")
        self.entries["sip_server" if sip else "pbx_url"].focus_set()

    # --- actions ---------------------------------------------------------------------------
    def log_in(self) -> None:
        if str(self.submit.cget("state")) == "disabled" or not self.submit.winfo_manager():
            return
        sip = self.kind.get() == "sip"
        keys = ("sip_server", "sip_user", "sip_password") if sip else ("pbx_url", "login", "password")
        values = {k: self.vars[k].get() for k in keys}
        missing = forms.required(values, keys)
        # Every press starts afresh: the last refusal must not stand beside this one's problems
        # (nor those of the other kind of account, hidden now).
        self.say(self.status, "")
        for key in self.errors:
            self.say(self.errors[key], missing.get((key,), ""))
        if missing:
            return
        self.submit.configure(state="disabled")
        if sip:
            self.link.request("sip_account", self._sip_saved, self._failed, server=values["sip_server"].strip(),
                              user=values["sip_user"].strip(), password=values["sip_password"])
            return
        url = normalise_pbx_url(values["pbx_url"])
        self.vars["pbx_url"].set(url)
        self.say(self.status, tr("win.login.busy", url=url), "Muted")
        self.link.request("login", self._done, self._failed, pbx_url=url, login=values["login"].strip(),
                          password=values["password"])

    def _done(self, result: dict) -> None:
        me = result.get("employee") or {}
        self.say(self.status, tr("cli.logged_in", name=me.get("name", ""), extension=me.get("extension", ""),
                                 url=self.vars["pbx_url"].get()), "Ok")
        self.root.after(CLOSE_AFTER_MS, self.close)

    def _sip_saved(self, result: dict) -> None:
        self.say(self.status, tr("win.login.sip_saved", account=result.get("account", "")), "Ok")
        self.root.after(CLOSE_AFTER_MS, self.close)

    def _failed(self, error) -> None:
        self.submit.configure(state="normal")
        self.say(self.status, fail_sentence(error))
        password = "sip_password" if self.kind.get() == "sip" else "password"
        self.vars[password].set("")
        self.entries[password].focus_set()

    def log_out(self) -> None:
        self.logout_button.configure(state="disabled")
        self.link.request("logout", self._logged_out, self._logout_failed)

    def _logged_out(self, result: dict) -> None:
        self.logout_button.configure(state="normal")
        self._show_form()
        self.say(self.status, tr("win.login.logged_out"), "Ok")

    def _logout_failed(self, error) -> None:
        self.logout_button.configure(state="normal")
        self.say(self.status, fail_sentence(error))
