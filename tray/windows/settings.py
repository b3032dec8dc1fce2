"""The settings window: the microphone, speaker and ringer (the app's own settings, there with
or without a PBX), the whole receive scheme of the logged-in employee, and the ring-plan
preview "who rings now, and why".

Administrators edit the mode, the time zone, the devices' order, on/off and ring timeouts, each
device's schedule (rules of weekdays, working days, days off or date periods, each with time
windows), and add or remove external numbers. Saving is one PUT of the whole scheme with the
ETag read (If-Match): the PBX applies all of it or none. A 412 means someone changed the scheme
meanwhile: the window says so and shows the current one. A 422 keeps the form as it is, with
every problem next to its field. Anyone else sees how their calls ring, read-only.

The preview is the PBX's own plan (GET …/ringplan) for the *saved* scheme: the API has no
preview of an unsaved one, and the window says so rather than guess.
"""

from __future__ import annotations

import tkinter as tk
import zoneinfo
from tkinter import font as tkfont
from tkinter import ttk

from common.i18n import tr
from tray.settings import AUDIO_OPTIONS, AUDIO_ROLES
from tray.windows import forms
from tray.windows.base import PAGE_PADDING, CellTip, Window, centre, fail_sentence, palette
from tray.windows.forms import FormInvalid, Path, RuleForm, SchemeForm, under
from tray.windows.theme import px

DEFAULT_REGION = "RU"
WHEN_MIN_WIDTH = 200
WHEN_MAX_WIDTH = 360   # wider schedules show whole rules and how many more; the tooltip has all
RULE_KINDS = forms.RULE_KINDS
MIDDLE_GAP = 10        # between the device list and its detail


class SettingsWindow(Window):
    name = "settings"
    title_key = "win.settings.title"
    scrolls = True

    def build(self) -> None:
        self.me: dict | None = None
        self.form: SchemeForm | None = None
        self.etag: str | None = None
        self.saved_json: dict | None = None
        self.region = DEFAULT_REGION
        self.server: dict[Path, list[str]] = {}   # the PBX's problems with the last save
        self.local: dict[Path, str] = {}          # values the form could not read
        self.device_index: int | None = None
        self.rule_index: int | None = None
        self._loading = False
        self._nobody_confirmed = False  # Save was pressed once on a scheme that rings nothing
        self._close_confirmed = False   # Close was pressed once with changes not saved
        self._build_audio()
        self.status = self.message(self.frame, "message", 900)
        self.say(self.status, tr("win.loading"), "Muted")
        self.status.pack(anchor="w")
        self.link.api("GET", "/me", self._got_me, self._unavailable)

    # --- sound devices (the app's own settings: no PBX needed) -------------------------------------
    def _build_audio(self) -> None:
        box = ttk.LabelFrame(self.frame, text=tr("win.settings.audio"), padding=px(8))
        box.pack(fill="x", pady=px((0, 12)))
        self.audio: dict[str, forms.AudioChoices] = {}
        self.audio_boxes: dict[str, ttk.Combobox] = {}
        self._audio_filling = False
        for row, role in enumerate(AUDIO_ROLES):
            ttk.Label(box, text=tr(f"audio.{role}")).grid(row=row, column=0, sticky="w", padx=px((0, 10)), pady=px(2))
            var = self.named(role, tk.StringVar(self.root))
            combo = ttk.Combobox(box, textvariable=var, state="readonly", width=48)
            combo.grid(row=row, column=1, sticky="we", pady=px(2))
            # Listed afresh each time it drops down: a headset plugged in since shows up.
            combo.configure(postcommand=self._load_audio)
            self.audio_boxes[role] = combo
            var.trace_add("write", lambda *_, role=role: self._audio_chosen(role))
        switches = ttk.Frame(box)
        switches.grid(row=len(AUDIO_ROLES), column=0, columnspan=2, sticky="w", pady=px((4, 0)))
        self.audio_options: dict[str, tk.BooleanVar] = {}
        for option in AUDIO_OPTIONS:
            var = self.audio_options[option] = self.named(option, tk.BooleanVar(self.root))
            self.named(f"{option}_switch", ttk.Checkbutton(
                switches, text=tr(f"audio.{option}"), variable=var,
                command=lambda option=option: self._audio_option(option))).pack(side="left", padx=px((0, 16)))
        box.columnconfigure(1, weight=1)
        self.audio_message = self.message(box, "audio_message", 600)
        self.audio_message.grid(row=len(AUDIO_ROLES) + 1, column=0, columnspan=2, sticky="w")
        self.say(self.audio_message, tr("win.settings.audio_hint"), "Muted")
        self._load_audio()

    def _load_audio(self) -> None:
        self.link.request("audio_devices", self._show_audio, lambda e: self.say(self.audio_message, fail_sentence(e)))

    def _show_audio(self, state: dict) -> None:
        self._audio_filling = True
        try:
            for role in AUDIO_ROLES:
                self.audio[role] = choices = forms.AudioChoices(state[role])
                self.audio_boxes[role].configure(values=choices.labels)
                self.names[role].set(choices.chosen_label)
            for option, var in self.audio_options.items():
                var.set(bool(state["options"][option]))
        finally:
            self._audio_filling = False

    def _audio_option(self, option: str) -> None:
        def failed(error) -> None:
            self.say(self.audio_message, fail_sentence(error))
            self._load_audio()  # the switch shows what is in effect, not what was asked

        self.link.request("set_audio_option", self._show_audio, failed,
                          option=option, on=bool(self.audio_options[option].get()))

    def _audio_chosen(self, role: str) -> None:
        if self._audio_filling or role not in self.audio:
            return
        try:
            device = self.audio[role].name_for(self.names[role].get())
        except KeyError:
            return
        if device == self.audio[role].chosen:
            return
        self.link.request("set_audio_device", self._show_audio,
                          lambda e: self.say(self.audio_message, fail_sentence(e)), role=role, device=device)

    # --- loading --------------------------------------------------------------------------------
    def _unavailable(self, error) -> None:
        """Not logged in to a Talker PBX, or it cannot be reached: one sentence, and a way in."""
        self.say(self.status, fail_sentence(error))
        if error.code == "pbx_unavailable":
            ttk.Button(self.frame, text=tr("menu.login"), command=self._open_login).pack(anchor="w", pady=px((10, 0)))
        ttk.Button(self.frame, text=tr("win.close"), command=self.close).pack(anchor="e", pady=px((10, 0)))

    def _open_login(self) -> None:
        self.link.request("open_window", lambda r: self.close(), self._unavailable, window="login")

    def _got_me(self, reply: dict) -> None:
        if reply["status"] != 200:
            self.say(self.status, forms.api_failure(reply["status"], reply.get("body")))
            return
        self.me = reply["body"]
        if self.me.get("administrator"):
            self.link.api("GET", "/settings", self._got_settings, lambda e: None)
        self._build_outgoing()
        self.load()

    # --- the outgoing number (the menu's "Outgoing number", here as well) -------------------------
    def _build_outgoing(self) -> None:
        box = ttk.LabelFrame(self.frame, text=tr("menu.outgoing_number"), padding=px(8))
        box.pack(fill="x", pady=px((0, 12)), before=self.status)
        self.outgoing = self.named("outgoing", tk.StringVar(self.root))
        self.outgoing_box = ttk.Combobox(box, textvariable=self.outgoing, state="readonly", width=48)
        self.outgoing_box.pack(side="left")
        self.outgoing_message = self.message(box, "outgoing_message", 500)
        self.outgoing_message.pack(side="left", padx=px((12, 0)))
        self._outgoing_ids: dict[str, int | None] = {}
        self._outgoing_filling = False
        self.outgoing.trace_add("write", lambda *_: self._outgoing_chosen())
        self.link.request("pbx_state", self._show_outgoing, lambda e: self.say(self.outgoing_message, fail_sentence(e)))

    def _show_outgoing(self, state: dict) -> None:
        outgoing = state.get("outgoing") or {}
        labels = {tr("menu.pbx_default_number"): None}
        for n in outgoing.get("numbers") or []:
            labels[f"{n['number']} — {n['label']}" if n.get("label") else n["number"]] = n["id"]
        self._outgoing_ids = labels
        self._outgoing_filling = True
        try:
            self.outgoing_box.configure(values=list(labels))
            selected = outgoing.get("selected_id")
            self.outgoing.set(next((text for text, i in labels.items() if i == selected), ""))
        finally:
            self._outgoing_filling = False

    def _outgoing_chosen(self) -> None:
        if self._outgoing_filling or self.outgoing.get() not in self._outgoing_ids:
            return
        number_id = self._outgoing_ids[self.outgoing.get()]

        def done(state: dict) -> None:
            self.say(self.outgoing_message, tr("win.outgoing_saved"), "Ok")
            self._show_outgoing(state)

        def failed(error) -> None:
            self.say(self.outgoing_message, fail_sentence(error))
            self.link.request("pbx_state", self._show_outgoing, lambda e: None)  # show what is in effect

        self.link.request("set_outgoing_number", done, failed, number_id=number_id)

    def _got_settings(self, reply: dict) -> None:
        if reply["status"] == 200:
            self.region = reply["body"].get("region") or DEFAULT_REGION

    def load(self, then_say: tuple[str, str] | None = None) -> None:
        def done(reply: dict) -> None:
            if reply["status"] != 200:
                self.say(self.status, forms.api_failure(reply["status"], reply.get("body")))
                return
            self._show_scheme(reply["body"], reply.get("etag"))
            if then_say:
                self.say(self.status, *then_say)
        self.link.api("GET", self._scheme_path(), done, lambda e: self.say(self.status, fail_sentence(e)))

    def _scheme_path(self) -> str:
        return f"/employees/{self.me['id']}/scheme"

    def _show_scheme(self, body: dict, etag: str | None) -> None:
        first = self.form is None
        self.etag = etag
        self.form = SchemeForm.from_json(body)
        self.saved_json = self._current_json()
        self.server, self.local = {}, {}
        if first:
            self.status.pack_forget()
            if self.me.get("administrator"):
                self._build_editor()
            else:
                self._build_read_only()
            self.tidy()
            self.root.after_idle(lambda: centre(self.root))
        if self.me.get("administrator"):
            self._fill_editor()
        else:
            self._fill_read_only()
        self.say(self.status, "")
        self.refresh_preview()

    def _current_json(self) -> dict | None:
        try:
            return self.form.to_json()
        except FormInvalid:
            return None

    # --- the editor -----------------------------------------------------------------------------
    def _build_editor(self) -> None:
        f = self.frame
        me = self.me
        top = ttk.Frame(f)
        top.pack(fill="x")
        ttk.Label(top, text=tr("win.settings.heading", name=me["name"], extension=me["extension"]),
                  style="Title.TLabel").pack(side="left")

        mode_box = ttk.LabelFrame(f, text=tr("menu.receive_calls"), padding=px((10, 6)), style="Section.TLabelframe")
        mode_box.pack(fill="x", pady=px((10, 0)))
        self.mode = self.named("mode", tk.StringVar(self.root))
        radios = self.mode_row = ttk.Frame(mode_box)
        radios.pack(fill="x")
        radios.columnconfigure(1, weight=1)
        choices = self._mode_choices = ttk.Frame(radios)
        choices.grid(row=0, column=0, sticky="w")
        for mode in forms.MODES:
            ttk.Radiobutton(choices, text=tr(f"mode.{mode}"), value=mode, variable=self.mode).pack(
                side="left", padx=px((0, 18)))
        tz = self.timezone_row = ttk.Frame(radios)   # beside the modes, or under them (_reflow)
        ttk.Label(tz, text=tr("win.timezone")).pack(side="left", padx=px((0, 6)))
        self.timezone = self.named("timezone", tk.StringVar(self.root))
        ttk.Combobox(tz, textvariable=self.timezone, width=22,
                     values=sorted(zoneinfo.available_timezones())).pack(side="left")
        self.mode_help = self.named("mode_help", ttk.Label(mode_box, text="", style="Muted.TLabel",
                                                           wraplength=px(900), justify="left"))
        self._page_wide = [self.mode_help]   # sentences as wide as the page allows (_reflow)
        self.mode_help.pack(anchor="w", pady=px((4, 0)))
        self.mode_error = self.message(mode_box, "mode_error", 900)
        self.mode_error.pack(anchor="w")
        self.tz_error = self.message(mode_box, "timezone_error", 900)
        self.tz_error.pack(anchor="w")
        self._page_wide += [self.mode_error, self.tz_error]

        middle = self.middle = ttk.Frame(f)
        middle.pack(fill="both", expand=True, pady=px((10, 0)))
        self._build_devices(middle)
        self._build_device_detail(middle)
        self._stacked: bool | None = None
        self._reflow()
        # Whenever the content or the window changes size: the detail grows when the rules open,
        # and a user may resize the window.
        for widget in (self.frame, self.scroll_area.canvas):
            widget.bind("<Configure>", lambda e: self._reflow(), add="+")
        self._build_preview(f)

        bottom = ttk.Frame(self.scroll_area.footer)  # Save and Close in sight at any screen height
        bottom.pack(fill="x", pady=px((8, 0)))
        self.status = self.message(bottom, "message", 640)
        self.status.pack(side="left", anchor="w")
        self.save_button = self.named("save", ttk.Button(bottom, text=tr("win.save"), style="Accent.TButton",
                                                         command=self.save))
        self.save_button.pack(side="right")
        self.close_button = self.named("close", ttk.Button(bottom, text=tr("win.close"), command=self.close))
        self.close_button.pack(side="right", padx=px((0, 8)))
        self.named("reload", ttk.Button(bottom, text=tr("win.reload"), command=self.reload)).pack(
            side="right", padx=px((0, 8)))

        for var, handler in ((self.mode, self._mode_changed), (self.timezone, self._timezone_changed)):
            var.trace_add("write", lambda *a, h=handler: None if self._loading else h())

    def _reflow(self) -> None:
        """The device detail beside the list when the window has the room, under it when not (a
        1024- or 1280-pixel-wide screen); the time zone likewise beside or under the modes, and
        long sentences wrap at the page's width: nothing is off to the right, behind a sideways
        scroll."""
        page = self._page_width()
        for label in self._page_wide:
            label.configure(wraplength=min(px(900), page - px(40)))
        # Widths as the parts ask for them, whatever their arrangement now: no flip-flopping.
        tz_under = self._mode_choices.winfo_reqwidth() + px(18) + self.timezone_row.winfo_reqwidth() + px(40) > page
        if tz_under:
            self.timezone_row.grid(row=1, column=0, columnspan=2, sticky="w", pady=px((4, 0)))
        else:
            self.timezone_row.grid(row=0, column=1, columnspan=1, sticky="e", pady=0)
        self._fit_when()
        beside = self._list_width(int(self.devices.column("when", "width"))) + px(MIDDLE_GAP) + \
            self.detail.winfo_reqwidth()
        stacked = beside > page
        if stacked == self._stacked:
            return
        self._stacked = stacked
        middle = self.middle
        if stacked:
            self.devices_box.grid(row=0, column=0, sticky="nsew", padx=0)
            self.detail.grid(row=1, column=0, sticky="nsew", pady=px((MIDDLE_GAP, 0)))
            middle.columnconfigure(0, weight=1)
            middle.columnconfigure(1, weight=0)
        else:
            self.devices_box.grid(row=0, column=0, sticky="nsew", padx=px((0, MIDDLE_GAP)))
            self.detail.grid(row=0, column=1, sticky="nsew", pady=0)
            middle.columnconfigure(0, weight=3)
            middle.columnconfigure(1, weight=2)
        middle.rowconfigure(0, weight=1)

    def _page_width(self) -> int:
        """How wide the content may be without scrolling sideways: the window's room less its padding."""
        return self.scroll_area.room() - 2 * px(PAGE_PADDING)

    def _when_limit(self) -> int:
        """«When» may grow to WHEN_MAX_WIDTH, but not so far that the list is wider than the page."""
        limit = min(px(WHEN_MAX_WIDTH), self._page_width() - self._list_width(0))
        return max(px(WHEN_MIN_WIDTH), limit)

    def _list_width(self, when: int) -> int:
        """How wide the device list's box is with «When» that wide. From the columns' own widths,
        not what they have now: «Device» stretches to the box's width, and counting that would
        make the list look a little wider at each pass."""
        columns = sum(width for column, width in self._column_widths.items() if column != "when") + when
        frame = px(2 * 10 + 4)   # the box's padding and border
        return max(columns + px(8) + self._list_side.winfo_reqwidth(), self._add_row.winfo_reqwidth()) + frame

    def _build_devices(self, parent: tk.Misc) -> None:
        box = self.devices_box = ttk.LabelFrame(parent, text=tr("win.devices"), padding=px((10, 6)),
                                                style="Section.TLabelframe")
        box.columnconfigure(0, weight=1)
        box.rowconfigure(0, weight=1)
        columns = (("n", "win.col.order", 70), ("device", "win.col.device", 190), ("on", "win.col.on", 80),
                   ("rings", "win.col.rings", 110), ("when", "win.col.when", 200))
        self.devices = self.named("devices", ttk.Treeview(box, columns=[c[0] for c in columns], show="headings",
                                                          height=6, selectmode="browse"))
        font = tkfont.nametofont("TkHeadingFont")
        widest = {"on": max(tr("win.on"), tr("win.off"), key=font.measure)}
        self._column_widths: dict[str, int] = {}
        for column, key, width in columns:
            # Never narrower than the heading or the longest word the column shows, in any language.
            width = max(px(width), font.measure(tr(key)) + px(24), font.measure(widest.get(column, "")) + px(24))
            self._column_widths[column] = width
            self.devices.heading(column, text=tr(key), anchor="w")
            # «Device» takes what room is left, but never less than its own (a wider «When» once
            # squeezed it to two letters).
            self.devices.column(column, width=width, anchor="w", stretch=column == "device",
                                minwidth=width if column == "device" else 20)
        self.devices.grid(row=0, column=0, sticky="nsew")
        self.devices.bind("<<TreeviewSelect>>", lambda e: self._device_selected())
        CellTip(self, self.devices, "when", lambda row: self.form.devices[int(row)].schedule_text(), "when_tip")
        side = self._list_side = ttk.Frame(box)
        side.grid(row=0, column=1, sticky="n", padx=px((8, 0)))
        for name, delta in (("up", -1), ("down", 1)):
            self.named(name, ttk.Button(side, text=tr(f"win.{name}"), width=9,
                                        command=lambda d=delta: self._move(d))).pack(pady=px((0, 4)))
        self.remove_button = self.named("remove", ttk.Button(side, text=tr("win.remove"), width=9,
                                                             command=self._remove_device))
        self.remove_button.pack()
        add = self._add_row = ttk.Frame(box)
        add.grid(row=1, column=0, columnspan=2, sticky="ew", pady=px((8, 0)))
        ttk.Label(add, text=tr("win.add_number_label")).pack(side="left")
        self.new_number = self.named("new_number", tk.StringVar(self.root))
        entry = ttk.Entry(add, textvariable=self.new_number, width=20)
        entry.pack(side="left", padx=px(6))
        entry.bind("<Return>", lambda e: self._add_number())
        self.named("add_number", ttk.Button(add, text=tr("win.add"), command=self._add_number)).pack(side="left")
        # The mobile of the employee's card, one click away from being a device of the scheme.
        self.add_mobile = self.named("add_mobile", ttk.Button(add, text="", command=self._add_mobile))
        self.main_note = self.named("main_note", ttk.Label(box, text=tr("win.main_device"), style="Muted.TLabel",
                                                           wraplength=px(520), justify="left"))
        self.new_number_error = self.message(box, "new_number_error", 520)
        self.new_number_error.grid(row=2, column=0, columnspan=2, sticky="w")
        self.clear_when_edited(self.new_number, self.new_number_error)
        self.warnings = self.message(box, "warnings", 520)
        self.warnings.grid(row=3, column=0, columnspan=2, sticky="w", pady=px((4, 0)))

    def _build_device_detail(self, parent: tk.Misc) -> None:
        box = self.detail = ttk.LabelFrame(parent, text="", padding=px((10, 6)), style="Section.TLabelframe")
        box.columnconfigure(1, weight=1)
        self.active = self.named("active", tk.BooleanVar(self.root))
        ttk.Checkbutton(box, text=tr("win.active"), variable=self.active).grid(row=0, column=0, columnspan=3,
                                                                              sticky="w")
        self.device_error = self.message(box, "device_error", 440)
        self.device_error.grid(row=1, column=0, columnspan=3, sticky="w")
        ttk.Label(box, text=tr("win.ring_timeout")).grid(row=2, column=0, sticky="w", pady=px((4, 0)), padx=px((0, 6)))
        self.timeout = self.named("timeout", tk.StringVar(self.root))
        spin = ttk.Frame(box)
        spin.grid(row=2, column=1, columnspan=2, sticky="w", pady=px((4, 0)))
        ttk.Spinbox(spin, from_=0, to=forms.MAX_RING_TIMEOUT_S, increment=5, width=5,
                    textvariable=self.timeout).pack(side="left")
        ttk.Label(spin, text=tr("win.seconds_unit")).pack(side="left", padx=px((4, 10)))
        ttk.Label(spin, text=tr("win.zero_forever"), style="Muted.TLabel").pack(side="left")
        self.timeout_msg = self.message(box, "timeout_message", 440)
        self.timeout_msg.grid(row=4, column=0, columnspan=3, sticky="w")

        ttk.Separator(box).grid(row=5, column=0, columnspan=3, sticky="ew", pady=px(6))
        # The seed's control: the schedule in words and «Указать» ("Set") while the device has
        # none, «Изменить» ("Change") once it has one; either opens the rules below.
        ttk.Label(box, text=tr("win.schedule"), style="Bold.TLabel").grid(row=6, column=0, sticky="nw")
        self.scheduled = self.named("scheduled", tk.BooleanVar(self.root))
        self.schedule_summary = self.named("schedule_summary", ttk.Label(box, text="", wraplength=px(300),
                                                                         justify="left"))
        self.schedule_summary.grid(row=6, column=1, sticky="w")
        self.schedule_button = self.named("schedule_button", ttk.Button(box, text=tr("win.schedule_set"),
                                                                        command=self._open_schedule))
        self.schedule_button.grid(row=6, column=2, sticky="ne", padx=px((6, 0)))
        self.schedule_error = self.message(box, "schedule_error", 440)
        self.schedule_error.grid(row=7, column=0, columnspan=3, sticky="w")
        self._schedule_open: str | None = None   # the device whose rules are open for editing

        rules = self.rules_frame = ttk.Frame(box)
        rules.grid(row=8, column=0, columnspan=3, sticky="nsew")
        box.rowconfigure(8, weight=1)
        rules.columnconfigure(0, weight=1)
        self.named("no_schedule", ttk.Button(rules, text=tr("win.schedule_none"),
                                             command=lambda: self.scheduled.set(False))).grid(
            row=2, column=0, columnspan=2, sticky="w", pady=px((6, 0)))
        self.rules = self.named("rules", ttk.Treeview(rules, columns=("rule",), show="", height=3,
                                                      selectmode="browse"))
        self.rules.column("rule", width=px(260), anchor="w")
        self.rules.grid(row=0, column=0, sticky="nsew")
        self.rules.bind("<<TreeviewSelect>>", lambda e: self._rule_selected())
        rule_buttons = ttk.Frame(rules)
        rule_buttons.grid(row=0, column=1, sticky="n", padx=px((6, 0)))
        self.named("add_rule", ttk.Button(rule_buttons, text=tr("win.add_rule"), width=9,
                                          command=self._add_rule)).pack(pady=px((0, 4)))
        self.named("remove_rule", ttk.Button(rule_buttons, text=tr("win.remove"), width=9,
                                             command=self._remove_rule)).pack()

        editor = self.rule_editor = ttk.Frame(rules)
        editor.grid(row=1, column=0, columnspan=2, sticky="ew", pady=px((6, 0)))
        editor.columnconfigure(1, weight=1)
        self.rule_kind = self.named("rule_kind", tk.StringVar(self.root))
        kinds = ttk.Frame(editor)
        kinds.grid(row=0, column=0, columnspan=2, sticky="w")
        for n, kind in enumerate(RULE_KINDS):
            ttk.Radiobutton(kinds, text=tr(f"win.rule.{kind}"), value=kind, variable=self.rule_kind).grid(
                row=0, column=n, sticky="w", padx=px((0, 10)))
        self.rule_error = self.message(editor, "rule_error", 440)
        self.rule_error.grid(row=1, column=0, columnspan=2, sticky="w")

        self.period = ttk.Frame(editor)
        self.start = self.named("start", tk.StringVar(self.root))
        self.end = self.named("end", tk.StringVar(self.root))
        for n, (label, var) in enumerate((("win.from", self.start), ("win.to", self.end))):
            ttk.Label(self.period, text=tr(label)).grid(row=0, column=2 * n, sticky="w", padx=(0 if n == 0 else 10, 6))
            ttk.Entry(self.period, textvariable=var, width=11).grid(row=0, column=2 * n + 1, sticky="w")
        ttk.Label(self.period, text=tr("win.date_hint"), style="Muted.TLabel").grid(row=0, column=4, sticky="w",
                                                                                  padx=px((10, 0)))
        self.start_error = self.message(self.period, "start_error", 440)
        self.start_error.grid(row=1, column=0, columnspan=5, sticky="w")
        self.end_error = self.message(self.period, "end_error", 440)
        self.end_error.grid(row=2, column=0, columnspan=5, sticky="w")
        self.weekdays = ttk.Frame(editor)
        self.day_vars = {}
        for n, day in enumerate(forms.WEEKDAYS):
            var = self.day_vars[day] = self.named(f"day_{day}", tk.BooleanVar(self.root))
            ttk.Checkbutton(self.weekdays, text=tr(f"win.day.{day}"), variable=var).grid(row=0, column=n, sticky="w")
            var.trace_add("write", lambda *a: None if self._loading else self._rule_edited("days"))
        self.days_error = self.message(self.weekdays, "days_error", 440)
        self.days_error.grid(row=1, column=0, columnspan=7, sticky="w")

        hours = ttk.Frame(editor)
        hours.grid(row=3, column=0, columnspan=2, sticky="ew", pady=px((4, 0)))
        hours.columnconfigure(1, weight=1)
        ttk.Label(hours, text=tr("win.hours")).grid(row=0, column=0, sticky="w", padx=px((0, 6)))
        self.hours = self.named("hours", tk.StringVar(self.root))
        ttk.Entry(hours, textvariable=self.hours).grid(row=0, column=1, sticky="ew")
        ttk.Label(hours, text=tr("win.hours_hint"), style="Muted.TLabel", wraplength=px(360), justify="left").grid(
            row=1, column=1, sticky="w")
        self.hours_error = self.message(hours, "hours_error", 440)
        self.hours_error.grid(row=2, column=0, columnspan=2, sticky="w")

        watched = ((self.active, self._active_changed), (self.timeout, self._timeout_changed),
                   (self.scheduled, self._scheduled_changed), (self.rule_kind, lambda: self._rule_edited("type")),
                   (self.start, lambda: self._rule_edited("start")), (self.end, lambda: self._rule_edited("end")),
                   (self.hours, lambda: self._rule_edited("windows")))
        for var, handler in watched:
            var.trace_add("write", lambda *a, h=handler: None if self._loading else h())

    def _build_preview(self, parent: tk.Misc) -> None:
        box = ttk.LabelFrame(parent, text=tr("win.preview"), padding=px((10, 6)), style="Section.TLabelframe")
        box.pack(fill="x", pady=px((10, 0)))
        row = ttk.Frame(box)
        row.pack(fill="x")
        ttk.Label(row, text=tr("win.preview_at")).pack(side="left")
        self.preview_at = self.named("preview_at", tk.StringVar(self.root))
        entry = ttk.Entry(row, textvariable=self.preview_at, width=18)
        entry.pack(side="left", padx=px(6))
        entry.bind("<Return>", lambda e: self.refresh_preview())
        self.named("preview_refresh", ttk.Button(row, text=tr("win.refresh"), command=self.refresh_preview)).pack(
            side="left")
        if self.me.get("administrator"):
            # Only an editor has unsaved changes to mention (and a Save button to save them).
            # Under the row, not beside it: in Russian the row would be wider than a 1024-px screen.
            self.named("preview_note", ttk.Label(box, text=tr("win.preview_saved_only"), style="Muted.TLabel")).pack(
                anchor="w", pady=px((4, 0)))
        text = self.preview = self.named("preview", tk.Text(box, height=7, wrap="word", relief="flat",
                                                            borderwidth=0, highlightthickness=0,
                                                            font="TkDefaultFont", padx=px(4), pady=px(4)))
        colours = palette(self.root)
        text.tag_configure("head", font=self.root._fonts[0])
        text.tag_configure("ring", foreground=colours.ok)
        text.tag_configure("off", foreground=colours.muted)
        text.tag_configure("none", foreground=colours.error)
        text.pack(fill="x", pady=px((6, 0)))
        text.configure(state="disabled")

    # --- filling the editor from the form -----------------------------------------------------
    def _fill_editor(self) -> None:
        self._loading = True
        try:
            self.mode.set(self.form.mode)
            self.timezone.set(self.form.timezone)
        finally:
            self._loading = False
        self._refresh_devices()
        index = self.device_index if self.device_index is not None and self.device_index < len(self.form.devices) \
            else (0 if self.form.devices else None)
        self._select_device(index)
        self._render()

    def _row(self, i: int) -> tuple[str, ...]:
        d = self.form.devices[i]
        flag = "⚠ " if self._has_problem(("devices", i)) else ""
        main = tr("win.main_marker") if i == self.form.main_index() else ""
        font = tkfont.nametofont("TkDefaultFont")
        limit = self._when_limit()
        when = forms.fit_rules(d.schedule_parts(), lambda text: font.measure(text) + px(24) <= limit)
        return (f"{flag}{i + 1}", f"{main}{d.label}", tr("win.on") if d.active else tr("win.off"),
                d.timeout_text(), when)

    def _refresh_devices(self) -> None:
        tree = self.devices
        tree.delete(*tree.get_children())
        for i in range(len(self.form.devices)):
            tree.insert("", "end", iid=str(i), values=self._row(i))
        self._offer_mobile()
        self._fit_when()

    def _update_device_row(self, i: int) -> None:
        # The main number may have moved to another row (an order or an Active switch changed).
        for row in range(len(self.form.devices)):
            self.devices.item(str(row), values=self._row(row))
        self._fit_when()

    def _fit_when(self) -> None:
        """«When» is as wide as its longest text, up to WHEN_MAX_WIDTH: a longer schedule shows
        its first rules whole and how many more (the detail beside it and the cell's tooltip say
        all). A wider column would squeeze «Device» and run past the list's edge."""
        font = tkfont.nametofont("TkDefaultFont")
        shown = (self.devices.set(row, "when") for row in self.devices.get_children())
        needed = max((font.measure(text) for text in shown), default=0) + px(24)
        width = min(self._when_limit(), max(px(WHEN_MIN_WIDTH), needed))
        if width == int(self.devices.column("when", "width")):
            return
        self.devices.column("when", width=width)
        # A Treeview asks for room only when configured: without this it keeps its first width
        # and the wider column runs past its edge.
        self.devices.configure(height=self.devices.cget("height"))

    def _select_device(self, index: int | None) -> None:
        self.device_index = index
        if index is None:
            self.detail.configure(text=tr("win.no_device"))
            return
        if self.devices.selection() != (str(index),):
            self.devices.selection_set(str(index))
        self.devices.see(str(index))
        d = self.form.devices[index]
        self.detail.configure(text=d.label)
        self._loading = True
        try:
            self.active.set(d.active)
            self.timeout.set(d.timeout)
            self.scheduled.set(d.scheduled)
        finally:
            self._loading = False
        self.remove_button.configure(state="normal" if d.kind == "external" else "disabled")
        self._refresh_rules()
        self._select_rule(0 if d.rules else None)
        self._show_schedule()

    def _device_selected(self) -> None:
        selected = self.devices.selection()
        if selected and int(selected[0]) != self.device_index:
            self._select_device(int(selected[0]))
            self._render()

    def _refresh_rules(self) -> None:
        self.rules.delete(*self.rules.get_children())
        d = self._device()
        if d is None:
            return
        for j, rule in enumerate(d.rules):
            flag = "⚠ " if self._has_problem(self._rule_path(j)) else ""
            self.rules.insert("", "end", iid=str(j), values=(f"{flag}{j + 1}. {rule.summary()}",))
        state = "normal" if d.scheduled else "disabled"
        for child in _descendants(self.rules_frame):
            try:
                child.state(["!disabled"] if state == "normal" else ["disabled"])
            except (AttributeError, tk.TclError):
                pass

    def _select_rule(self, index: int | None) -> None:
        self.rule_index = index
        d = self._device()
        if index is None or d is None or not d.scheduled:
            self.rule_editor.grid_remove()
            return
        self.rule_editor.grid()
        if self.rules.selection() != (str(index),):
            self.rules.selection_set(str(index))
        rule = d.rules[index]
        self._loading = True
        try:
            self.rule_kind.set(rule.kind)
            self.start.set(rule.start)
            self.end.set(rule.end)
            self.hours.set(rule.hours)
            for day, var in self.day_vars.items():
                var.set(day in rule.days)
        finally:
            self._loading = False
        self._show_rule_kind(rule.kind)

    def _show_rule_kind(self, kind: str) -> None:
        self.period.grid_remove()
        self.weekdays.grid_remove()
        if kind == "period":
            self.period.grid(row=2, column=0, columnspan=2, sticky="ew", pady=px((4, 0)))
        elif kind == "weekdays":
            self.weekdays.grid(row=2, column=0, columnspan=2, sticky="w", pady=px((4, 0)))

    def _rule_selected(self) -> None:
        selected = self.rules.selection()
        if selected and int(selected[0]) != self.rule_index:
            self._select_rule(int(selected[0]))
            self._render()

    # --- edits -------------------------------------------------------------------------------------
    def _device(self):
        if self.form is None or self.device_index is None or self.device_index >= len(self.form.devices):
            return None
        return self.form.devices[self.device_index]

    def _rule(self) -> RuleForm | None:
        d = self._device()
        if d is None or self.rule_index is None or self.rule_index >= len(d.rules):
            return None
        return d.rules[self.rule_index]

    def _rule_path(self, j: int) -> Path:
        return ("devices", self.device_index, "schedule", "rules", j)

    def _forget(self, prefix: Path) -> None:
        """The user changed what a problem was about: stop showing it."""
        self.server = {k: v for k, v in self.server.items() if not under(k, prefix)}
        self.local = {k: v for k, v in self.local.items() if not under(k, prefix)}

    def _mode_changed(self) -> None:
        self.form.mode = self.mode.get()
        self._forget(("mode",))
        self._offer_mobile()
        if self.device_index is None and self.form.devices:
            self._update_device_row(0)
        self._edited()

    def _timezone_changed(self) -> None:
        self.form.timezone = self.timezone.get()
        self._forget(("timezone",))
        self._edited()

    def _active_changed(self) -> None:
        d = self._device()
        if d is not None:
            d.active = bool(self.active.get())
            self._forget(("devices", self.device_index, "active"))
            self._forget(("devices", self.device_index, "schedule"))
            self._edited()

    def _timeout_changed(self) -> None:
        d = self._device()
        if d is not None:
            d.timeout = self.timeout.get()
            self._forget(("devices", self.device_index, "ring_timeout_s"))
            self._edited()

    def _scheduled_changed(self) -> None:
        d = self._device()
        if d is None:
            return
        d.scheduled = bool(self.scheduled.get())
        if d.scheduled and not d.rules:
            d.rules.append(_default_rule())
        self._schedule_open = d.id if d.scheduled else None
        self._forget(("devices", self.device_index, "schedule"))
        self._refresh_rules()
        self._select_rule(0 if d.scheduled and d.rules else None)
        self._edited()

    def _open_schedule(self) -> None:
        """«Указать» gives the device a schedule (office hours to start from); «Изменить» opens
        the one it has."""
        d = self._device()
        if d is None:
            return
        if not d.scheduled:
            self.scheduled.set(True)  # -> _scheduled_changed
        self._schedule_open = d.id
        self._show_schedule()

    def _show_schedule(self) -> None:
        """The schedule in words, the button that fits it, and the rules only while open (or
        while the PBX or the form has something to say about them)."""
        d = self._device()
        if d is None:
            self.schedule_summary.configure(text="")
            self.rules_frame.grid_remove()
            return
        self.schedule_summary.configure(text=d.schedule_text())
        self.schedule_button.configure(text=tr("win.schedule_change" if d.scheduled else "win.schedule_set"))
        opened = d.scheduled and (self._schedule_open == d.id or
                                  self._has_problem(("devices", self.device_index, "schedule")))
        self.schedule_button.state(["disabled"] if opened else ["!disabled"])
        if opened:
            self.rules_frame.grid()
        else:
            self.rules_frame.grid_remove()

    def _rule_edited(self, what: str) -> None:
        rule = self._rule()
        if rule is None:
            return
        if what == "type":
            rule.kind = self.rule_kind.get()
            self._show_rule_kind(rule.kind)
        elif what == "days":
            rule.days = {day for day, var in self.day_vars.items() if var.get()}
        elif what == "windows":
            rule.hours = self.hours.get()
        else:
            setattr(rule, what, getattr(self, what).get())
        path = self._rule_path(self.rule_index)
        self._forget(path + (what,) if what != "type" else path)
        self.rules.item(str(self.rule_index), values=(f"{self.rule_index + 1}. {rule.summary()}",))
        self._edited()

    def _add_rule(self) -> None:
        d = self._device()
        if d is None or not d.scheduled:
            return
        d.rules.append(_default_rule())
        self._forget(("devices", self.device_index, "schedule"))
        self._refresh_rules()
        self._select_rule(len(d.rules) - 1)
        self._edited()

    def _remove_rule(self) -> None:
        d = self._device()
        if d is None or self.rule_index is None:
            return
        del d.rules[self.rule_index]
        self._forget(("devices", self.device_index, "schedule"))
        self._refresh_rules()
        self._select_rule(min(self.rule_index, len(d.rules) - 1) if d.rules else None)
        self._edited()

    def _move(self, delta: int) -> None:
        if self.device_index is None:
            return
        new = self.form.move(self.device_index, delta)
        if new != self.device_index:
            # The PBX's problems name devices by their old places: they no longer fit.
            self.server, self.local = {}, {}
            self._refresh_devices()
            self._select_device(new)
            self._edited()

    def _remove_device(self) -> None:
        d = self._device()
        if d is None or d.kind != "external":
            return
        del self.form.devices[self.device_index]
        self.server, self.local = {}, {}
        self._refresh_devices()
        self._select_device(min(self.device_index, len(self.form.devices) - 1) if self.form.devices else None)
        self._edited()

    def _offer_mobile(self) -> None:
        mobile = (self.me or {}).get("mobile")
        if self.form is None or not mobile or any(d.address == mobile for d in self.form.devices):
            self.add_mobile.pack_forget()
        else:
            self.add_mobile.configure(text=tr("win.add_mobile", number=mobile))
            self.add_mobile.pack(side="left", padx=px((12, 0)))
        if self.form is not None and self.form.mode == "main_only":
            self.main_note.grid(row=4, column=0, columnspan=2, sticky="w", pady=px((4, 0)))
        else:
            self.main_note.grid_remove()

    def _add_mobile(self) -> None:
        mobile = (self.me or {}).get("mobile")
        if not mobile or self.form is None:
            return
        index = self.form.add_number(mobile)
        self._refresh_devices()
        self._select_device(index)
        self._edited()

    def _add_number(self) -> None:
        try:
            number = forms.normalise_number(self.new_number.get(), self.region)
        except ValueError as e:
            self.say(self.new_number_error, str(e))
            return
        self.say(self.new_number_error, "")
        self.new_number.set("")
        index = self.form.add_number(number)
        self._refresh_devices()
        self._select_device(index)
        self._edited()

    def _edited(self) -> None:
        self._unconfirm()
        if self.device_index is not None and self.device_index < len(self.form.devices):
            self._update_device_row(self.device_index)
            self._show_schedule()
        self._render()
        dirty = self._current_json() != self.saved_json
        self.say(self.status, tr("win.unsaved") if dirty else "", "Muted")

    # --- showing problems and hints ----------------------------------------------------------------
    def _has_problem(self, prefix: Path) -> bool:
        return any(under(k, prefix) for k in (*self.server, *self.local))

    def _text_for(self, key: Path, hints: dict[Path, str]) -> tuple[str, str]:
        if key in self.server:
            return " ".join(self.server[key]), "Error"
        if key in self.local:
            return self.local[key], "Error"
        if key in hints:
            return hints[key], "Warning"
        return "", "Error"

    def _render(self) -> None:
        if self.form is None:
            return
        hints = self.form.hints()
        self.mode_help.configure(text=tr(f"win.mode_help.{self.form.mode}") if self.form.mode in forms.MODES else "")
        self.say(self.mode_error, *self._text_for(("mode",), hints))
        self.say(self.tz_error, *self._text_for(("timezone",), hints))
        i = self.device_index
        labels = {
            "device": (self.device_error, [("devices", i)] + [("devices", i, k) for k in
                                                              ("address", "id", "kind", "position", "active")]),
            "timeout": (self.timeout_msg, [("devices", i, "ring_timeout_s")]),
            "schedule": (self.schedule_error, [("devices", i, "schedule")]),
        }
        j = self.rule_index
        if j is not None:
            rule = ("devices", i, "schedule", "rules", j)
            labels.update({"rule": (self.rule_error, [rule, rule + ("type",)]),
                           "start": (self.start_error, [rule + ("start",)]),
                           "end": (self.end_error, [rule + ("end",)]),
                           "days": (self.days_error, [rule + ("days",)]),
                           "hours": (self.hours_error, [rule + ("windows",)])})
        else:
            for label in (self.rule_error, self.start_error, self.end_error, self.days_error, self.hours_error):
                self.say(label, "")
        for label, keys in labels.values():
            texts = [self._text_for(k, hints) for k in keys] if i is not None else []
            texts = [t for t in texts if t[0]]
            kind = "Error" if any(k == "Error" for _, k in texts) else "Warning"
            self.say(label, " ".join(t for t, _ in texts), kind)
        # Every hint, for devices not on screen too: the in-turn trap is easy to miss otherwise.
        lines = []
        for key, text in sorted(hints.items(), key=lambda kv: [str(p) for p in kv[0]]):
            if len(key) >= 2 and isinstance(key[1], int) and key[1] < len(self.form.devices):
                lines.append(f"⚠ {self.form.devices[key[1]].label}: {text}")
        self.say(self.warnings, "\n".join(lines), "Warning")

    # --- saving ------------------------------------------------------------------------------------
    def save(self) -> None:
        if self.form is None or str(self.save_button.cget("state")) == "disabled":
            return
        if not any(d.active for d in self.form.devices) and not self._nobody_confirmed:
            # Saved, this scheme rings nothing: every caller would hear "unavailable". Say so
            # first; Save again means it.
            self._nobody_confirmed = True
            self.save_button.configure(text=tr("win.save_anyway"))
            self.say(self.status, tr("win.nobody_would_ring"), "Warning")
            return
        try:
            body = self.form.to_json()
        except FormInvalid as e:
            self.server = {}
            self.local = {forms.widget_key(p): text for p, text in e.problems.items()}
            self._refresh_devices_keep()
            self.say(self.status, tr("win.cannot_read") + self._summary(
                {k: [v] for k, v in self.local.items()}))
            return
        # This save's answer replaces the last one's problems, even an answer that never comes.
        had_problems = bool(self.server or self.local)
        self.server, self.local = {}, {}
        if had_problems:
            self._refresh_devices_keep()
        self.save_button.configure(state="disabled")
        self.say(self.status, tr("win.saving"), "Muted")
        self.link.api("PUT", self._scheme_path(), self._saved, self._save_failed, body=body, if_match=self.etag)

    def close(self) -> None:
        """Closing with changes not saved asks first: Close again discards them."""
        dirty = self.form is not None and self.me is not None and self.me.get("administrator") \
            and self._current_json() != self.saved_json
        if dirty and not self._close_confirmed:
            self._close_confirmed = True
            self.close_button.configure(text=tr("win.discard_close"))
            self.say(self.status, tr("win.unsaved_close"), "Warning")
            return
        super().close()

    def _unconfirm(self) -> None:
        if self._close_confirmed:
            self._close_confirmed = False
            self.close_button.configure(text=tr("win.close"))
        if self._nobody_confirmed:
            self._nobody_confirmed = False
            self.save_button.configure(text=tr("win.save"))

    def _saved(self, reply: dict) -> None:
        self.save_button.configure(state="normal")
        self._unconfirm()
        status, body = reply["status"], reply.get("body")
        if status == 200:
            self._show_scheme(body, reply.get("etag"))
            self.say(self.status, tr("win.saved"), "Ok")
            return
        if status == 412:
            self.load(then_say=(tr("win.changed_meanwhile"), "Error"))
            return
        self.server = forms.field_problems(body) if status == 422 else {}
        self._refresh_devices_keep()
        self.say(self.status, forms.api_failure(status, body) + self._summary(self.server))

    def _save_failed(self, error) -> None:
        self.save_button.configure(state="normal")
        self.say(self.status, fail_sentence(error))

    def _refresh_devices_keep(self) -> None:
        index, rule = self.device_index, self.rule_index
        self._refresh_devices()
        self._select_device(index)
        if rule is not None and self._device() is not None and rule < len(self._device().rules):
            self._select_rule(rule)
        self._render()

    def _summary(self, problems: dict[Path, list[str]]) -> str:
        lines = []
        for key, texts in problems.items():
            place = forms.where(key, self.form)
            for text in texts:
                lines.append(f"\n• {place}: {text}" if place else f"\n• {text}")
        return "".join(lines)

    def reload(self) -> None:
        self.load(then_say=(tr("win.reloaded"), "Muted"))

    # --- the preview --------------------------------------------------------------------------------
    def refresh_preview(self) -> None:
        if self.form is None:
            return
        try:
            query = forms.plan_query(self.preview_at.get(), self.form.timezone)
        except ValueError as e:
            self._show_preview([("none", str(e))])
            return
        path = f"/employees/{self.me['id']}/ringplan{query}"
        self.link.api("GET", path, self._got_plan, lambda e: self._show_preview([("none", fail_sentence(e))]))

    def _got_plan(self, reply: dict) -> None:
        if reply["status"] != 200:
            self._show_preview([("none", forms.api_failure(reply["status"], reply.get("body")))])
            return
        labels = {d.id: d.label for d in self.form.devices}
        self._show_preview(forms.describe_plan(reply["body"], labels))

    def _show_preview(self, lines: list[tuple[str, str]]) -> None:
        self.preview.configure(state="normal")
        self.preview.delete("1.0", "end")
        for n, (style, line) in enumerate(lines):
            self.preview.insert("end", ("\n" if n else "") + line, style)
        height = min(12, max(4, len(lines)))
        self.preview.configure(state="disabled", height=height)

    # --- read-only, for everyone outside Administrators ------------------------------------------
    def _build_read_only(self) -> None:
        f = self.frame
        me = self.me
        ttk.Label(f, text=tr("win.settings.heading", name=me["name"], extension=me["extension"]),
                  style="Title.TLabel").pack(anchor="w")
        self.named("read_only_note", ttk.Label(f, text=tr("win.read_only"), wraplength=px(640), justify="left")).pack(
            anchor="w", pady=px((6, 8)))
        self.summary = self.named("summary", tk.Text(f, height=8, wrap="word", relief="flat", borderwidth=0,
                                                     highlightthickness=0, font="TkDefaultFont", padx=px(4), pady=px(4)))
        self.summary.pack(fill="x")
        self._build_preview(f)
        bottom = ttk.Frame(f)
        bottom.pack(fill="x", pady=px((8, 0)))
        self.status = self.message(bottom, "message", 520)
        self.status.pack(side="left")
        ttk.Button(bottom, text=tr("win.close"), command=self.close).pack(side="right")
        self.root.minsize(px(640), 0)

    def _fill_read_only(self) -> None:
        lines = [tr("win.ro.mode", mode=tr(f"mode.{self.form.mode}")) if self.form.mode in forms.MODES else ""]
        main = self.form.main_index()
        for n, d in enumerate(self.form.devices, 1):
            state = tr("win.on") if d.active else tr("win.off")
            marker = tr("win.main_marker") if n - 1 == main else ""
            lines.append(f"{n}. {marker}{d.label} — {state}, {d.timeout_text()}, {d.schedule_text()}")
        self.summary.configure(state="normal")
        self.summary.delete("1.0", "end")
        self.summary.insert("end", "\n".join(lines))
        self.summary.configure(state="disabled", height=max(3, len(lines)))


def _default_rule() -> RuleForm:
    """What a new rule starts as: office hours on the working days of the production calendar."""
    return RuleForm("working_days", hours="09:00–18:00")


def _descendants(widget: tk.Misc):
    for child in widget.winfo_children():
        yield child
        yield from _descendants(child)
