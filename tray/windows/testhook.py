"""A scripted driver for the windows, for the integration tests only.

Loaded only when TALKER_WINDOW_TEST_DIR is set (tray/windows/__main__.py): the window then
listens on `<dir>/<window>-<pid>.sock` (a Unix socket in the test's own directory) for JSON
lines, runs each command on Tk's thread and answers one JSON line. It reaches only what the
window registered with `Window.named()`, and does what a user's click or keystroke would:
set a variable, invoke a button, select a row. Real X input (xdotool) works too; this is the
deterministic way to drive a whole form.

    {"op": "set", "name": "timeout", "value": "0"}      a Tk variable, as if typed
    {"op": "invoke", "name": "save"}                     a button or check button
    {"op": "select", "name": "devices", "index": 1}      a row of a list
    {"op": "hover", "name": "devices", "row": 0, "column": "when"}   the pointer on a cell
    {"op": "read"}                                       every named thing's text, and "busy"
    {"op": "look"}                                       the theme, scaling and colours Tk really uses
    {"op": "place", "name": "save"}                      where a widget is on the screen (root x, y, size)
    {"op": "place"}                                      the same for the window, and whether it scrolls sideways
    {"op": "close"}
"""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
import tkinter as tk
import tkinter.font
from tkinter import ttk


def install(window, directory: str) -> None:
    path = os.path.join(directory, f"{window.name}-{os.getpid()}.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Listening before the name appears: a test that sees the socket can connect at once.
    server.bind(path + ".new")
    server.listen(4)
    os.rename(path + ".new", path)
    jobs: queue.Queue = queue.Queue()

    def pump():
        while True:
            try:
                command, reply = jobs.get_nowait()
            except queue.Empty:
                break
            try:
                reply.put({"ok": True, "result": _run(window, command)})
            except Exception as e:  # the test wants to see it, not a hang
                reply.put({"ok": False, "error": f"{type(e).__name__}: {e}"})
        try:
            window.root.after(20, pump)
        except tk.TclError:
            pass

    def serve(conn: socket.socket):
        with conn, conn.makefile("rwb") as f:
            for line in f:
                reply: queue.Queue = queue.Queue()
                jobs.put((json.loads(line), reply))
                f.write(json.dumps(reply.get(), ensure_ascii=False).encode() + b"\n")
                f.flush()

    def accept():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, name="test-hook", daemon=True).start()
    window.root.after(20, pump)


def _run(window, command: dict):
    op = command["op"]
    if op == "read":
        return _read(window)
    if op == "look":
        return _look(window)
    if op == "close":
        window.root.after(10, window.close)
        return None
    if op == "place":
        return _place(window, command.get("name"))
    thing = window.names[command["name"]]
    if op == "set":
        thing.set(command["value"])
    elif op == "invoke":
        if str(thing.cget("state")) == "disabled":
            raise RuntimeError(f"{command['name']} is disabled")
        thing.invoke()
    elif op == "hover":
        # The pointer comes to rest on a cell of a list, as a mouse's would.
        row = thing.get_children()[command["row"]]
        x, y, width, height = thing.bbox(row, command["column"])
        thing.event_generate("<Motion>", x=x + width // 2, y=y + height // 2)
    elif op == "select":
        rows = thing.get_children() if isinstance(thing, ttk.Treeview) else None
        if rows is not None:
            thing.selection_set(rows[command["index"]])
            thing.focus(rows[command["index"]])
        else:
            thing.selection_clear(0, "end")
            thing.selection_set(command["index"])
            thing.event_generate("<<ListboxSelect>>")
    else:
        raise ValueError(f"unknown op {op!r}")
    window.root.update()  # let the bindings the action set off run before answering
    return None


def _read(window) -> dict:
    out: dict = {"busy": window.link.pending, "title": window.root.title()}
    for name, thing in window.names.items():
        if isinstance(thing, tk.Variable):
            out[name] = thing.get()
        elif isinstance(thing, ttk.Treeview):
            out[name] = [[str(v) for v in thing.item(row, "values")] for row in thing.get_children()]
            out[f"{name}:widths"] = {c: int(thing.column(c, "width")) for c in thing["columns"]}
        elif isinstance(thing, tk.Text):
            out[name] = thing.get("1.0", "end-1c")
        elif isinstance(thing, tk.Listbox):
            out[name] = list(thing.get(0, "end"))
        elif isinstance(thing, tk.Misc):
            if not thing.winfo_exists():
                continue  # replaced (the employee form gives way to the credentials)
            info = {"mapped": _shown(thing)}
            for option in ("text", "state", "value"):
                try:
                    info[option] = str(thing.cget(option))
                except tk.TclError:
                    pass
            out[name] = info
    return out


def _place(window, name: str | None) -> dict:
    """Where Tk has put a widget (or the window) on the screen, in the screen's pixels."""
    window.root.update_idletasks()
    widget = window.root if name is None else window.names[name]
    out = {"x": widget.winfo_rootx(), "y": widget.winfo_rooty(), "width": widget.winfo_width(),
           "height": widget.winfo_height(), "screen_width": widget.winfo_screenwidth(),
           "screen_height": widget.winfo_screenheight()}
    if name is None:
        area = window.scroll_area
        out["sideways"] = bool(area is not None and area.sideways())
    return out


def _look(window) -> dict:
    """What Tk draws with, as Tk reports it (not what the code asked for)."""
    root = window.root
    style = ttk.Style(root)

    def rgb(colour: str) -> str:
        return "#" + "".join(f"{c >> 8:02x}" for c in root.winfo_rgb(colour))

    out: dict = {"theme": style.theme_use(), "scaling": float(root.tk.call("tk", "scaling")),
                 "background": rgb(root.cget("background")),
                 "rowheight": int(style.lookup("Treeview", "rowheight") or 0),
                 "linespace": tk.font.nametofont("TkDefaultFont").metrics("linespace"), "widgets": {}}
    for name, thing in window.names.items():
        if isinstance(thing, (tk.Text, tk.Listbox, tk.Canvas)) and thing.winfo_exists():
            colours = {"background": rgb(thing.cget("background"))}
            if not isinstance(thing, tk.Canvas):
                colours["foreground"] = rgb(thing.cget("foreground"))
            out["widgets"][name] = colours
    return out


def _shown(widget: tk.Misc) -> bool:
    """Laid out in the window, as far as a user can scroll to it: a widget of a scrolling
    window that is off the visible part is unmapped by the canvas, yet it is there."""
    top = widget.winfo_toplevel()
    while widget is not None and widget is not top:
        if not widget.winfo_manager():
            return False
        widget = widget.master
    return bool(top.winfo_ismapped())
