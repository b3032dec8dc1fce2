"""The windows' look: which ttk theme each OS gets, light or dark, and how large things are.

Three parts, kept apart so that the decisions are plain function calls in the tests:

* what the OS prefers (readers with I/O: the XDG desktop portal, GTK_THEME and gsettings on
  Linux, the registry on Windows, `defaults` on macOS) and the pure decisions that turn their
  answers into "light" or "dark" (`decide_scheme`, `linux_preference`, ...);
* which ttk theme and palette a platform gets for a scheme (`choose_look`, pure);
* applying it to a Tk root (`apply`): ttk styles, the option database for the plain Tk
  widgets (Listbox, Text, Canvas, Menu), and the scaling for the display's real DPI.

TALKER_THEME=light|dark|auto overrides what the OS says.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

THEME_ENV = "TALKER_THEME"
SCHEMES = ("light", "dark")
# How long a settings reader may take before the window opens in the light look anyway.
READ_TIMEOUT_S = 1.5
# Paddings in the code are pixels on a 96-DPI screen (the size Windows and GNOME call 100 %).
DESIGN_DPI = 96.0


@dataclass(frozen=True)
class Palette:
    scheme: str
    background: str       # the window
    surface: str          # fields, lists, text areas
    foreground: str
    muted: str            # hints, "switched off"
    disabled: str         # text of a control that cannot be used now (WCAG exempts it; kept ≥ 3:1)
    border: str
    trough: str           # scroll bar and progress bar troughs
    button: str
    button_active: str    # under the pointer
    button_pressed: str
    heading: str          # list headings
    accent: str           # the selection, the default button, the focus ring
    accent_active: str
    on_accent: str        # text on the accent
    error: str
    warning: str
    ok: str


# Light: neutral greys close to GNOME's and Windows' own, the icon's tile blue as the accent.
LIGHT = Palette(
    scheme="light", background="#f4f5f7", surface="#ffffff", foreground="#1f2328", muted="#5b6169",
    disabled="#80868f", border="#c3c8cf", trough="#e3e6ea", button="#e9ebee", button_active="#dde1e6",
    button_pressed="#cdd2d9", heading="#eceef1", accent="#2152a0", accent_active="#2a62bd",
    on_accent="#ffffff", error="#b3261e", warning="#8a5300", ok="#1e6b34")

# Dark: not black (a softer #232529 window, fields a step darker), text a step below white, and
# status colours lightened until they read on both (the contrast test holds them to WCAG AA).
DARK = Palette(
    scheme="dark", background="#232529", surface="#1a1c1f", foreground="#e6e8eb", muted="#a3a9b1",
    disabled="#7a8089", border="#454a52", trough="#2c2f34", button="#33363c", button_active="#3d4148",
    button_pressed="#484c54", heading="#2b2e33", accent="#2f63c0", accent_active="#3a72d4",
    on_accent="#ffffff", error="#ff8a80", warning="#f2c14e", ok="#7fd18b")

PALETTES = {"light": LIGHT, "dark": DARK}


# --- light or dark: the decisions (pure) --------------------------------------------------------

def decide_scheme(override: str | None, system: str | None) -> str:
    """TALKER_THEME wins unless it is "auto" or unset; then the OS's preference; light when
    the OS has none."""
    value = (override or "auto").strip().lower()
    if value in SCHEMES:
        return value
    if value != "auto":
        log.warning("%s=%r is not light, dark or auto: following the system", THEME_ENV, override)
    return system if system in SCHEMES else "light"


def portal_preference(reply: str | None) -> str | None:
    """org.freedesktop.appearance color-scheme as `gdbus call` prints it: `(<<uint32 1>>,)`
    from Read, `(<uint32 1>,)` from ReadOne. 1 prefers dark, 2 prefers light, 0 has no say."""
    if not reply:
        return None
    found = re.search(r"uint32 (\d+)", reply)
    if not found:
        return None
    return {1: "dark", 2: "light"}.get(int(found.group(1)))


def gsettings_preference(listing: str | None) -> str | None:
    """`gsettings list-recursively org.gnome.desktop.interface`: color-scheme (GNOME 42 and
    later) decides; before it, a dark GTK theme ("Adwaita-dark") is how users asked for dark."""
    if not listing:
        return None
    values = {}
    for line in listing.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] == "org.gnome.desktop.interface":
            values[parts[1]] = parts[2].strip().strip("'\"")
    scheme = values.get("color-scheme")
    if scheme == "prefer-dark":
        return "dark"
    if scheme == "prefer-light":
        return "light"
    if values.get("gtk-theme", "").lower().endswith("-dark"):
        return "dark"
    return None


def gtk_theme_preference(gtk_theme: str | None) -> str | None:
    """GTK_THEME=Adwaita:dark (a theme and its variant) or a dark theme's name."""
    if not gtk_theme:
        return None
    value = gtk_theme.strip().lower()
    return "dark" if value.endswith((":dark", "-dark")) else None


def linux_preference(portal: str | None, gtk_theme: str | None, gsettings: str | None) -> str | None:
    """The portal is what every current desktop (GNOME, KDE, Xfce with its portal) answers;
    GTK_THEME is a user's explicit choice for one session; gsettings is GNOME's own store."""
    return portal_preference(portal) or gtk_theme_preference(gtk_theme) or gsettings_preference(gsettings)


def windows_preference(apps_use_light_theme: int | None) -> str | None:
    """HKCU\\...\\Themes\\Personalize AppsUseLightTheme: 0 is dark; missing (before Windows 10
    1809) is light."""
    if apps_use_light_theme is None:
        return None
    return "light" if apps_use_light_theme else "dark"


def macos_preference(apple_interface_style: str | None) -> str | None:
    """`defaults read -g AppleInterfaceStyle` prints "Dark" in dark mode; in light mode the
    key does not exist."""
    if apple_interface_style is None:
        return None
    return "dark" if apple_interface_style.strip().lower() == "dark" else "light"


# --- what the OS says: the readers (I/O) --------------------------------------------------------

Run = Callable[[list[str]], "str | None"]


def run_quietly(argv: list[str]) -> str | None:
    """A reader's command: its output, or None when it is missing, fails or hangs."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=READ_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as e:
        log.debug("%s: %s", argv[0], e)
        return None
    return done.stdout if done.returncode == 0 else None


PORTAL_READ = ["gdbus", "call", "--session", "--timeout", "1", "--dest", "org.freedesktop.portal.Desktop",
               "--object-path", "/org/freedesktop/portal/desktop",
               "--method", "org.freedesktop.portal.Settings.Read", "org.freedesktop.appearance", "color-scheme"]
GSETTINGS_READ = ["gsettings", "list-recursively", "org.gnome.desktop.interface"]
MACOS_READ = ["defaults", "read", "-g", "AppleInterfaceStyle"]
WINDOWS_KEY = r"Software\Microsoft\Windows\CurrentVersion\Themes\Personalize"


def read_windows_setting(winreg=None) -> int | None:
    if winreg is None:
        import winreg  # type: ignore[no-redef]  # Windows only
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_KEY) as key:
            value, _ = winreg.QueryValueEx(key, "AppsUseLightTheme")
    except OSError:
        return None
    return int(value)


def system_scheme(platform: str | None = None, env: dict | None = None, run: Run = run_quietly,
                  winreg=None) -> str | None:
    """What this OS's settings prefer, or None when it does not say."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    if platform == "win32":
        return windows_preference(read_windows_setting(winreg))
    if platform == "darwin":
        return macos_preference(run(MACOS_READ))
    # Without a session bus gdbus would autolaunch one (dbus-launch) just to be told no.
    portal = run(PORTAL_READ) if _session_bus(env) else None
    if portal_preference(portal):
        return portal_preference(portal)
    gtk = gtk_theme_preference(env.get("GTK_THEME"))
    if gtk:
        return gtk
    return gsettings_preference(run(GSETTINGS_READ))


def _session_bus(env) -> bool:
    runtime = env.get("XDG_RUNTIME_DIR")
    return bool(env.get("DBUS_SESSION_BUS_ADDRESS")) or bool(runtime and os.path.exists(os.path.join(runtime, "bus")))


def chosen_scheme(env: dict | None = None, platform: str | None = None, run: Run = run_quietly,
                  winreg=None) -> str:
    env = os.environ if env is None else env
    override = env.get(THEME_ENV)
    if (override or "auto").strip().lower() in SCHEMES:
        return decide_scheme(override, None)  # the OS is not asked at all
    return decide_scheme(override, system_scheme(platform, env, run, winreg))


# --- which theme a platform gets (pure) ---------------------------------------------------------

@dataclass(frozen=True)
class Look:
    theme: str         # the ttk theme
    palette: Palette
    native: bool       # the OS draws the controls; Talker only adds its text colours


def choose_look(platform: str, scheme: str, themes: Iterable[str]) -> Look:
    """Windows: "vista" (the system's own controls), but it can only draw them light: dark mode
    uses Talker's dark clam. macOS: "aqua", which draws dark itself when told. Elsewhere: clam
    with Talker's palette (it draws every part from colours, so both schemes look whole)."""
    available = set(themes)
    palette = PALETTES[scheme]
    if platform == "win32" and scheme == "light" and "vista" in available:
        return Look("vista", palette, native=True)
    if platform == "darwin" and "aqua" in available:
        return Look("aqua", palette, native=True)
    for theme in ("clam", "default"):
        if theme in available:
            return Look(theme, palette, native=False)
    return Look(sorted(available)[0], palette, native=False)


# --- contrast (WCAG 2.x) -------------------------------------------------------------------------

def luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_pairs(p: Palette) -> dict[str, tuple[str, str]]:
    """Every (text, background) pair the windows draw with this palette."""
    pairs = {}
    for text in ("foreground", "muted", "error", "warning", "ok"):
        for ground in ("background", "surface"):
            pairs[f"{text} on {ground}"] = (getattr(p, text), getattr(p, ground))
    for ground in ("button", "button_active", "button_pressed", "heading"):
        pairs[f"foreground on {ground}"] = (p.foreground, getattr(p, ground))
    for ground in ("accent", "accent_active"):
        pairs[f"on_accent on {ground}"] = (p.on_accent, getattr(p, ground))
    return pairs


# --- size ----------------------------------------------------------------------------------------

def xft_dpi(resources: str | None) -> float | None:
    """Xft.dpi from the X resource database (RESOURCE_MANAGER), where GNOME, KDE and Xfce put
    the DPI their own toolkits use (the scale and text size a user chose in the settings). Tk
    reads only the size the X server reports, which Xorg pins at 96."""
    if not resources:
        return None
    found = re.search(r"^Xft\.dpi:\s*([0-9.]+)\s*$", resources, re.MULTILINE)
    if not found:
        return None
    dpi = float(found.group(1))
    return dpi if 48 <= dpi <= 960 else None


@contextlib.contextmanager
def _x_display():
    """libX11 (already in the process for Tk) and a connection to the display, closed after;
    (None, None) without X."""
    import ctypes

    try:
        x11 = ctypes.CDLL("libX11.so.6")
    except OSError:
        yield None, None
        return
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x11.XOpenDisplay(None)
    if not display:
        yield None, None
        return
    try:
        yield x11, display
    finally:
        x11.XCloseDisplay(display)


def read_x_resources() -> str | None:
    """The root window's RESOURCE_MANAGER string through Xlib; None without X."""
    import ctypes

    with _x_display() as (x11, display):
        if display is None:
            return None
        x11.XResourceManagerString.restype = ctypes.c_char_p
        x11.XResourceManagerString.argtypes = [ctypes.c_void_p]
        value = x11.XResourceManagerString(display)
        return value.decode("utf-8", "replace") if value else None


def enable_dpi_awareness(windll=None) -> bool:
    """Windows: say the process draws for the monitor's real DPI before Tk starts; otherwise
    Windows stretches a 96-DPI bitmap of the window and every text is blurred. Per-monitor
    (Windows 8.1+), else system-wide (Vista+)."""
    if windll is None:
        import ctypes
        windll = ctypes.windll  # type: ignore[attr-defined]  # Windows only
    try:
        windll.shcore.SetProcessDpiAwareness(2)  # PROCESS_PER_MONITOR_DPI_AWARE
        return True
    except (AttributeError, OSError):
        pass
    try:
        return bool(windll.user32.SetProcessDPIAware())
    except (AttributeError, OSError):
        return False


_scale = 1.0


def px(n):
    """A distance (or a tuple of them, as paddings are given) for a 96-DPI screen, in this
    screen's pixels."""
    if isinstance(n, tuple):
        return tuple(round(v * _scale) for v in n)
    return round(n * _scale)


def setup_scaling(root, platform: str | None = None, resources: str | None = None) -> float:
    """Fonts (in points) follow Tk's scaling; set it from the DPI the desktop uses, and the
    factor px() applies to paddings and row heights. Returns the DPI."""
    global _scale
    platform = platform or sys.platform
    if platform == "darwin":
        _scale = 1.0  # Tk on macOS counts in points; Retina is the system's business
        return 72.0
    dpi = None
    if platform != "win32" and root.tk.call("tk", "windowingsystem") == "x11":
        dpi = xft_dpi(resources if resources is not None else read_x_resources())
        if dpi:
            root.tk.call("tk", "scaling", dpi / 72.0)
    if dpi is None:
        dpi = float(root.winfo_fpixels("1i"))  # Windows: Tk already follows the system DPI
    _scale = max(1.0, dpi / DESIGN_DPI)
    return dpi


# --- applying a look -----------------------------------------------------------------------------

def apply(root, look: Look) -> None:
    """The ttk theme and colours for every style the windows use, and the same colours for
    the plain Tk widgets through the option database (before any window is built)."""
    from tkinter import ttk

    style = ttk.Style(root)
    style.theme_use(look.theme)
    p = look.palette
    if not look.native:
        _style_clam(style, p)
    elif look.theme == "aqua":
        # Tk 8.6.10+: aqua follows the system appearance by itself; pin it to the scheme
        # chosen so that Talker's own colours (below) match the controls.
        try:
            root.tk.call("::tk::unsupported::MacWindowStyle", "appearance", root,
                         "darkaqua" if p.scheme == "dark" else "aqua")
        except Exception as e:  # older Tk: it keeps the system's appearance
            log.debug("appearance not set: %s", e)
    for kind, colour in (("Error", p.error), ("Warning", p.warning), ("Ok", p.ok), ("Muted", p.muted)):
        style.configure(f"{kind}.TLabel", foreground=colour)
    plain = {
        "*Listbox.background": p.surface, "*Listbox.foreground": p.foreground,
        "*Listbox.selectBackground": p.accent, "*Listbox.selectForeground": p.on_accent,
        "*Listbox.disabledForeground": p.disabled,
        "*Text.background": p.surface, "*Text.foreground": p.foreground, "*Text.insertBackground": p.foreground,
        "*Text.selectBackground": p.accent, "*Text.selectForeground": p.on_accent,
        "*Canvas.background": p.background,
        "*Menu.background": p.surface, "*Menu.foreground": p.foreground,
        "*Menu.activeBackground": p.accent, "*Menu.activeForeground": p.on_accent,
        "*Menu.disabledForeground": p.disabled, "*Menu.selectColor": p.foreground,
    }
    if not look.native:
        # One thin border like the ttk fields' instead of X11's sunken 3-D edge; a flat border
        # inside it is drawn in the background colour: the Listbox's only way to pad its text.
        for widget, inner in (("Listbox", px(3)), ("Text", 0)):
            plain.update({f"*{widget}.relief": "flat", f"*{widget}.borderWidth": inner,
                          f"*{widget}.highlightThickness": 1, f"*{widget}.highlightBackground": p.border,
                          f"*{widget}.highlightColor": p.accent})
        plain.update({"*Menu.relief": "flat", "*Menu.borderWidth": 1, "*Menu.activeBorderWidth": 0})
    for pattern, value in plain.items():
        root.option_add(pattern, value)
    root.configure(background=style.lookup("TFrame", "background") or p.background)


def dress_frame(root, look: Look, platform: str | None = None, windll=None) -> bool:
    """A dark title bar for a dark window, where the window manager draws it from a hint:
    Windows 10 20H1+ (DWMWA_USE_IMMERSIVE_DARK_MODE, 19 before 20H1) and X11 window managers
    that read GTK's _GTK_THEME_VARIANT (GNOME's mutter, Budgie, Cinnamon). Call once the
    window exists. Returns whether a hint was given."""
    platform = platform or sys.platform
    if look.palette.scheme != "dark" or look.theme == "aqua":
        return False  # light is every title bar's default; aqua's appearance covers its own
    root.update_idletasks()
    if platform == "win32":
        frame = int(root.wm_frame(), 16)
        import ctypes

        windll = windll or ctypes.windll  # type: ignore[attr-defined]  # Windows only
        on = ctypes.c_int(1)
        for attribute in (20, 19):
            try:
                if windll.dwmapi.DwmSetWindowAttribute(frame, attribute, ctypes.byref(on), ctypes.sizeof(on)) == 0:
                    return True
            except (AttributeError, OSError):
                return False
        return False
    if root.tk.call("tk", "windowingsystem") == "x11":
        return _x11_set_string(root.winfo_id(), "_GTK_THEME_VARIANT", "dark")
    return False


def _x11_set_string(inner: int, name: str, value: str) -> bool:
    """Set a string property on the X window that carries the title (Tk's wrapper, the
    parent of the toplevel's own window: `wm frame` would give the manager's frame instead)."""
    import ctypes

    with _x_display() as (x11, display):
        if display is None:
            return False
        x11.XInternAtom.restype = ctypes.c_ulong
        x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x11.XChangeProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int,
                                        ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        x11.XFlush.argtypes = [ctypes.c_void_p]
        x11.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                   ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p),
                                   ctypes.POINTER(ctypes.c_uint)]
        x11.XFree.argtypes = [ctypes.c_void_p]
        top, parent, children, count = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p(), ctypes.c_uint()
        if not x11.XQueryTree(display, inner, ctypes.byref(top), ctypes.byref(parent), ctypes.byref(children),
                              ctypes.byref(count)):
            return False
        if children:
            x11.XFree(children)
        data = value.encode()
        x11.XChangeProperty(display, parent.value, x11.XInternAtom(display, name.encode(), 0),
                            x11.XInternAtom(display, b"UTF8_STRING", 0), 8, 0, data, len(data))  # PropModeReplace
        x11.XFlush(display)
        return True


def _style_clam(style, p: Palette) -> None:
    """Clam draws every element from colours: flat controls with a one-pixel border, the
    accent for the selection, the focus and the default button."""
    flat = {"lightcolor": p.button, "darkcolor": p.button, "bordercolor": p.border}
    style.configure(".", background=p.background, foreground=p.foreground, bordercolor=p.border,
                    lightcolor=p.background, darkcolor=p.background, troughcolor=p.trough,
                    fieldbackground=p.surface, selectbackground=p.accent, selectforeground=p.on_accent,
                    insertcolor=p.foreground, focuscolor=p.accent, arrowcolor=p.foreground,
                    indicatorbackground=p.surface, indicatorforeground=p.foreground,
                    upperbordercolor=p.border, lowerbordercolor=p.border)
    style.map(".", background=[("disabled", p.background)], foreground=[("disabled", p.disabled)],
              selectbackground=[("!focus", p.accent)], selectforeground=[("!focus", p.on_accent)])

    pressed_or_hover = [("disabled", p.background), ("pressed", p.button_pressed), ("active", p.button_active)]
    style.configure("TButton", background=p.button, padding=(px(10), px(4)), anchor="center", **flat)
    style.map("TButton", background=pressed_or_hover, lightcolor=pressed_or_hover, darkcolor=pressed_or_hover,
              bordercolor=[("focus", p.accent)], foreground=[("disabled", p.disabled)])
    accent = [("disabled", p.button), ("pressed", p.accent), ("active", p.accent_active)]
    style.configure("Accent.TButton", background=p.accent, foreground=p.on_accent, lightcolor=p.accent,
                    darkcolor=p.accent, bordercolor=p.accent)
    style.map("Accent.TButton", background=accent, lightcolor=accent, darkcolor=accent,
              bordercolor=[("disabled", p.border), ("focus", p.foreground)],
              foreground=[("disabled", p.disabled)])

    for name in ("TCheckbutton", "TRadiobutton"):
        style.configure(name, background=p.background, indicatorsize=px(13), indicatormargin=(1, 1, px(6), 1),
                        indicatorbackground=p.surface, indicatorforeground=p.on_accent, padding=px(2))
        style.map(name, background=[("active", p.background)],
                  indicatorbackground=[("disabled", p.background), ("selected", p.accent), ("pressed", p.button_pressed)],
                  indicatorforeground=[("disabled", p.disabled)],
                  upperbordercolor=[("selected", p.accent), ("active", p.accent)],
                  lowerbordercolor=[("selected", p.accent), ("active", p.accent)],
                  foreground=[("disabled", p.disabled)])

    field = {"fieldbackground": p.surface, "lightcolor": p.surface, "darkcolor": p.surface,
             "bordercolor": p.border, "foreground": p.foreground, "insertcolor": p.foreground}
    focus = [("focus", p.accent)]
    for name in ("TEntry", "TCombobox", "TSpinbox"):
        style.configure(name, padding=(px(5), px(3)), **field)
        style.map(name, bordercolor=focus, lightcolor=focus, darkcolor=[("focus", p.surface)],
                  fieldbackground=[("disabled", p.background), ("readonly", p.surface)],
                  foreground=[("disabled", p.disabled), ("readonly focus", p.foreground)],
                  selectbackground=[("readonly !focus", p.surface), ("readonly focus", p.accent)],
                  selectforeground=[("readonly !focus", p.foreground)])
    for name in ("TCombobox", "TSpinbox"):
        style.configure(name, background=p.surface, arrowcolor=p.muted, arrowsize=px(15))
        style.map(name, background=[("pressed", p.button_pressed), ("active", p.button_active)],
                  arrowcolor=[("disabled", p.disabled), ("active", p.foreground)])

    style.configure("Treeview", background=p.surface, fieldbackground=p.surface, foreground=p.foreground,
                    bordercolor=p.border, lightcolor=p.surface, darkcolor=p.surface)
    style.map("Treeview", background=[("selected", p.accent)], foreground=[("selected", p.on_accent)])
    style.configure("Treeview.Heading", background=p.heading, foreground=p.foreground, relief="flat",
                    padding=(px(6), px(3)), lightcolor=p.heading, darkcolor=p.heading, bordercolor=p.border)
    style.map("Treeview.Heading", background=[("active", p.button_active)],
              lightcolor=[("active", p.button_active)], darkcolor=[("active", p.button_active)])

    style.configure("TScrollbar", background=p.button, troughcolor=p.trough, bordercolor=p.trough,
                    lightcolor=p.button, darkcolor=p.button, arrowcolor=p.muted, gripcount=0)
    style.map("TScrollbar", background=[("pressed", p.button_pressed), ("active", p.button_active)],
              lightcolor=[("pressed", p.button_pressed), ("active", p.button_active)],
              darkcolor=[("pressed", p.button_pressed), ("active", p.button_active)])
    style.configure("TProgressbar", background=p.accent, troughcolor=p.trough, bordercolor=p.border,
                    lightcolor=p.accent, darkcolor=p.accent)
    style.configure("TLabelframe", background=p.background, bordercolor=p.border, lightcolor=p.background,
                    darkcolor=p.background, relief="solid", borderwidth=1)
    style.configure("TLabelframe.Label", background=p.background, foreground=p.foreground)
    style.configure("TSeparator", background=p.border)
