"""What every window shares: the link to the app (requests off Tk's thread), the look, and the
names the test hook can reach.

Tk is not thread-safe, and a request to the app can take seconds (a call waits for the
registration, the PBX may be slow): requests run one at a time on a worker thread with their
own control connection, and their answers are handed back to Tk's thread by a short poll.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk

from common.control_client import AppNotRunning, ControlClient, ControlError
from common.i18n import tr
from tray.windows import theme
from tray.windows.theme import px

log = logging.getLogger(__name__)

POLL_MS = 40
PAGE_PADDING = 14   # around a window's content
REQUEST_TIMEOUT_S = 30.0


class Link:
    """The window's control connection, as client "window"."""

    def __init__(self, root: tk.Misc):
        self._root = root
        self._jobs: queue.Queue = queue.Queue()
        self._done: queue.Queue = queue.Queue()     # replies to requests
        self._events: queue.Queue = queue.Queue()   # what a subscription delivers
        self._client: ControlClient | None = None
        self.pending = 0  # requests not answered yet (the test hook waits for 0)
        threading.Thread(target=self._work, name="window-link", daemon=True).start()
        root.after(POLL_MS, self._pump)

    def request(self, action: str, on_ok: Callable[[dict], None],
                on_error: Callable[[ControlError], None], **fields: object) -> None:
        self.pending += 1
        self._jobs.put((action, fields, on_ok, on_error))

    def api(self, method: str, path: str, on_done: Callable[[dict], None],
            on_error: Callable[[ControlError], None], body: object = None, if_match: str | None = None) -> None:
        """One PBX API request with the app's session: on_done gets {status, etag, body}."""
        fields: dict = {"method": method, "path": path}
        if body is not None:
            fields["body"] = body
        if if_match:
            fields["if_match"] = if_match
        self.request("pbx_api", on_done, on_error, **fields)

    def _work(self) -> None:
        while True:
            action, fields, on_ok, on_error = self._jobs.get()
            try:
                if self._client is None:
                    self._client = ControlClient.connect(client="window")
                outcome = (on_ok, self._client.request(action, timeout=REQUEST_TIMEOUT_S, **fields))
            except ControlError as e:
                if isinstance(e, AppNotRunning) or e.code in ("app_not_running", "timeout", "internal"):
                    self._drop_client()  # the next request reconnects (the app may be restarting)
                outcome = (on_error, e)
            except Exception:  # a bug here must not leave the window waiting forever
                log.exception("request %s failed", action)
                self._drop_client()
                outcome = (on_error, ControlError("internal", tr("app.internal")))
            self._done.put(outcome)

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _pump(self) -> None:
        for source, is_reply in ((self._done, True), (self._events, False)):
            while True:
                try:
                    callback, value = source.get_nowait()
                except queue.Empty:
                    break
                if is_reply:
                    self.pending -= 1
                try:
                    callback(value)
                except Exception:
                    log.exception("a window callback failed")
        try:
            self._root.after(POLL_MS, self._pump)
        except tk.TclError:
            pass  # the window is gone

    def subscribe(self, on_message: Callable[[dict], None]) -> None:
        """The status, then every event, on a connection of their own; on_message runs on Tk's
        thread. A lost app arrives as {"event": "gone"}."""
        def run():
            try:
                with ControlClient.connect(client="window") as c:
                    status = c.request("subscribe")
                    self._events.put((on_message, {"event": "status", **status}))
                    while True:
                        event = c.next_event(3600)
                        if event is not None:
                            self._events.put((on_message, event))
            except ControlError:
                self._events.put((on_message, {"event": "gone"}))

        threading.Thread(target=run, name="window-events", daemon=True).start()


def setup_style(root: tk.Tk, env: dict | None = None) -> ttk.Style:
    """The look for this OS (tray/windows/theme.py): its ttk theme, light or dark as the
    system or TALKER_THEME says, sized for the display's DPI; the system's own font family."""
    theme.setup_scaling(root)
    look = theme.choose_look(sys.platform, theme.chosen_scheme(env), ttk.Style(root).theme_names())
    root._look = look
    base = tkfont.nametofont("TkDefaultFont")
    if root.tk.call("tk", "windowingsystem") == "x11":
        # Tk's X11 default is 12 pixels whatever the screen; points follow the DPI.
        base.configure(size=10)
    size = int(base.cget("size"))
    size = size if size > 0 else 10
    for name in ("TkTextFont", "TkMenuFont", "TkHeadingFont"):
        tkfont.nametofont(name).configure(family=base.cget("family"), size=size)
    bold = base.copy()
    bold.configure(weight="bold")
    title = base.copy()
    title.configure(size=size + 3, weight="bold")
    root._fonts = (bold, title)  # Tk forgets fonts that Python stops referencing
    theme.apply(root, look)
    style = ttk.Style(root)
    style.configure("Title.TLabel", font=title)
    style.configure("Bold.TLabel", font=bold)
    style.configure("Accent.TButton", font=bold)
    # A row as tall as a line of text and a little air, at any font size and DPI.
    style.configure("Treeview", rowheight=base.metrics("linespace") + px(8))
    style.configure("Section.TLabelframe.Label", font=bold)
    return style


def palette(widget: tk.Misc) -> theme.Palette:
    """The colours of this window's look (for what the styles do not cover: text tags)."""
    return widget._root()._look.palette


class Window:
    """One top-level window. Subclasses build their widgets in build() and name the ones a
    test may drive with `named()`."""

    name = ""          # dial, settings, ...
    title_key = ""
    scrolls = False    # a large window: its content scrolls when the screen is smaller

    def __init__(self, root: tk.Tk, link: Link, options):
        self.root = root
        self.link = link
        self.options = options
        self.names: dict[str, object] = {}
        root.title(tr(self.title_key))
        root.protocol("WM_DELETE_WINDOW", self.close)
        self.scroll_area: ScrollArea | None = None
        if self.scrolls:
            self.scroll_area = ScrollArea(root)
            self.frame = self.scroll_area.inner
        else:
            self.frame = ttk.Frame(root, padding=px(PAGE_PADDING))
            self.frame.pack(fill="both", expand=True)
        self._messages: list[ttk.Label] = []
        self.build()
        self.tidy()

    def build(self) -> None:
        raise NotImplementedError

    def named(self, name: str, thing):
        """Register a widget or a variable under a stable name (the test hook's handle)."""
        self.names[name] = thing
        return thing

    def message(self, parent: tk.Misc, name: str, wraplength: int = 420) -> ttk.Label:
        """A label for one sentence (an error, a hint); empty until told."""
        label = ttk.Label(parent, text="", wraplength=px(wraplength), justify="left")
        self._messages.append(label)
        return self.named(name, label)

    def save_row(self, parent: tk.Misc, row: int, close_text: str, save_text: str,
                 on_save: Callable[[], None]) -> ttk.Button:
        """The bottom row of a form: close on the right, the default action (named "save") before
        it; Escape closes. Returns the save button."""
        buttons = ttk.Frame(parent)
        buttons.grid(row=row, column=0, columnspan=2, sticky="e", pady=px((12, 0)))
        ttk.Button(buttons, text=close_text, command=self.close).pack(side="right")
        save = self.named("save", ttk.Button(buttons, text=save_text, style="Accent.TButton",
                                             command=on_save))
        save.pack(side="right", padx=px((0, 8)))
        self.root.bind("<Escape>", lambda e: self.close())
        return save

    def clear_when_edited(self, var: tk.Variable, label: ttk.Label, then: Callable[[], None] | None = None) -> None:
        """Changing a field takes its error away: what the error said was about the old value."""
        def edited(*_):
            if str(label.cget("text")):
                self.say(label, "")
                if then is not None:
                    then()
        var.trace_add("write", edited)

    def tidy(self) -> None:
        """Fold away every message label that has nothing to say (call after placing them)."""
        for label in self._messages:
            if not str(label.cget("text")) and label.winfo_manager():
                _hide(label)

    def say(self, label: ttk.Label, text: str, kind: str = "Error") -> None:
        """Show a sentence in a message label; an empty one takes no room at all."""
        label.configure(text=text, style=f"{kind}.TLabel")
        if text:
            _unhide(label)
        else:
            _hide(label)

    def close(self) -> None:
        self.root.destroy()


def _hide(label: tk.Misc) -> None:
    manager = label.winfo_manager()
    if manager == "grid":
        label.grid_remove()  # grid remembers where it was
        label._hidden = ("grid",)
    elif manager == "pack":
        # pack forgets: note the place in the packing order to come back to.
        siblings = label.master.pack_slaves()
        after = siblings[siblings.index(label) + 1:]
        info = {k: v for k, v in label.pack_info().items() if k != "in"}
        label.pack_forget()
        label._hidden = ("pack", info, after)


def _unhide(label: tk.Misc) -> None:
    hidden = getattr(label, "_hidden", None)
    if hidden is None:
        return
    label._hidden = None
    if hidden[0] == "grid":
        label.grid()
    else:
        _, info, after = hidden
        still = [w for w in after if w.winfo_manager() == "pack"]
        label.pack(**info, **({"before": still[0]} if still else {}))


def fail_sentence(error: ControlError) -> str:
    return str(error) or tr("app.internal")


# Room a window leaves on the screen for the desktop's panels and the window's frame.
SCREEN_MARGIN = (24, 72)


def centre(root: tk.Tk) -> None:
    root.update_idletasks()
    w, h = root.winfo_reqwidth(), root.winfo_reqheight()
    x = max(0, (root.winfo_screenwidth() - w) // 2)
    y = max(0, (root.winfo_screenheight() - h) // 3)
    root.geometry(f"+{x}+{y}")


class ScrollArea:
    """A window's content in a canvas that scrolls (wheel and scroll bars) when it is larger
    than the screen leaves room for: the settings window must fit 1024×600, at any font size.
    The bars show only when needed; what is put in `footer` stays under the content, never
    scrolled away."""

    def __init__(self, root: tk.Tk):
        self.root = root
        background = ttk.Style(root).lookup("TFrame", "background")
        self.canvas = tk.Canvas(root, highlightthickness=0, borderwidth=0, background=background)
        self.vbar = ttk.Scrollbar(root, orient="vertical", command=self.canvas.yview)
        self.hbar = ttk.Scrollbar(root, orient="horizontal", command=self.canvas.xview)
        self.canvas.configure(yscrollcommand=self.vbar.set, xscrollcommand=self.hbar.set)
        root.grid_rowconfigure(0, weight=1)
        root.grid_columnconfigure(0, weight=1)
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.inner = ttk.Frame(self.canvas, padding=px(PAGE_PADDING))
        self._item = self.canvas.create_window((0, 0), window=self.inner, anchor="nw")
        # What stays in sight however the content scrolls: the window's Save and Close.
        self.footer = ttk.Frame(root, padding=px((PAGE_PADDING, 0, PAGE_PADDING, PAGE_PADDING)))
        self.footer.grid(row=2, column=0, columnspan=2, sticky="ew")
        self.inner.bind("<Configure>", lambda e: self._fit())
        self.footer.bind("<Configure>", lambda e: self._fit())
        self.canvas.bind("<Configure>", lambda e: self._bars())
        for sequence, step in (("<Button-4>", -1), ("<Button-5>", 1)):
            root.bind_all(sequence, lambda e, step=step: self.canvas.yview_scroll(step * 3, "units"))
        root.bind_all("<MouseWheel>", lambda e: self.canvas.yview_scroll(-1 if e.delta > 0 else 1, "units"))

    def _fit(self) -> None:
        w, h = self.inner.winfo_reqwidth(), self.inner.winfo_reqheight()
        self.canvas.configure(scrollregion=(0, 0, w, h),
                              width=min(w, self.root.winfo_screenwidth() - px(SCREEN_MARGIN[0])),
                              height=min(h, self.root.winfo_screenheight() - px(SCREEN_MARGIN[1])
                                         - self.footer.winfo_reqheight()))
        self._bars()

    def room(self) -> int:
        """How wide the content may be without scrolling sideways: as wide as the window grows,
        the screen less its margin (_fit)."""
        return self.root.winfo_screenwidth() - px(SCREEN_MARGIN[0])

    def sideways(self) -> bool:
        """The content is wider than what shows of it: the window scrolls sideways."""
        return self.inner.winfo_reqwidth() > self.canvas.winfo_width()

    def _bars(self) -> None:
        w, h = self.inner.winfo_reqwidth(), self.inner.winfo_reqheight()
        cw, ch = max(1, self.canvas.winfo_width()), max(1, self.canvas.winfo_height())
        # The content keeps its requested size (a canvas window given a size would no longer
        # tell when its content grows, and the window would not follow).
        for bar, needed, place in ((self.vbar, h > ch, {"row": 0, "column": 1, "sticky": "ns"}),
                                   (self.hbar, w > cw, {"row": 1, "column": 0, "sticky": "ew"})):
            if needed and not bar.winfo_manager():
                bar.grid(**place)
            elif not needed and bar.winfo_manager():
                bar.grid_remove()


class CellTip:
    """The whole text of a Treeview column's cell near the pointer while it rests there (Tk has no
    tooltips): for a column that shows a shortened text."""

    def __init__(self, window: Window, tree: ttk.Treeview, column: str, text_for: Callable[[str], str], name: str):
        self.tree, self.column, self.text_for = tree, column, text_for
        self.tip = tk.Toplevel(tree)
        self.tip.withdraw()
        self.tip.overrideredirect(True)
        colours = palette(tree)
        self.label = window.named(name, tk.Label(self.tip, text="", justify="left", wraplength=px(480),
                                                 background=colours.surface, foreground=colours.foreground,
                                                 highlightthickness=1, highlightbackground=colours.border,
                                                 borderwidth=0, padx=px(6), pady=px(3)))
        self.label.pack()
        tree.bind("<Motion>", self._moved, add="+")
        tree.bind("<Leave>", lambda e: self.hide(), add="+")

    def _moved(self, event) -> None:
        row = self.tree.identify_row(event.y)
        column = self.tree.identify_column(event.x)
        if not row or not column or self.tree.column(column, "id") != self.column:
            self.hide()
            return
        self.label.configure(text=self.text_for(row))
        self.tip.geometry(f"+{event.x_root + 14}+{event.y_root + 18}")
        self.tip.deiconify()
        self.tip.lift()

    def hide(self) -> None:
        self.tip.withdraw()


TEST_HOOK_ENV = "TALKER_WINDOW_TEST_DIR"


def test_hook_dir() -> str | None:
    return os.environ.get(TEST_HOOK_ENV) or None


def field_rows(window: Window, parent: tk.Misc, specs, first_row: int = 0, width: int = 34,
               on_fixed: Callable[[], None] | None = None):
    """Label, entry and an error line per field: specs are (name, label_key, hint_key or None).
    Editing a field clears its error line (then `on_fixed` runs). Returns the variables, the
    error labels (both by name) and the next free row."""
    parent.columnconfigure(1, weight=1)
    variables, errors, entries = {}, {}, {}
    row = first_row
    for name, label_key, hint_key in specs:
        ttk.Label(parent, text=tr(label_key)).grid(row=row, column=0, sticky="w", padx=px((0, 10)), pady=px((4, 0)))
        var = variables[name] = window.named(name, tk.StringVar(window.root))
        entries[name] = ttk.Entry(parent, textvariable=var, width=width)
        entries[name].grid(row=row, column=1, sticky="ew", pady=px((4, 0)))
        row += 1
        if hint_key:
            ttk.Label(parent, text=tr(hint_key), style="Muted.TLabel").grid(row=row, column=1, sticky="w")
            row += 1
        errors[name] = window.message(parent, f"{name}_error", 320)
        errors[name].grid(row=row, column=1, sticky="w")
        window.clear_when_edited(var, errors[name], on_fixed)
        row += 1
    return variables, errors, entries, row
