"""The windows' look without a display: light or dark from what each OS says, the theme each
OS gets, the palettes' contrast, and the DPI. Windows and macOS cannot run here: their
registry, `defaults` and DLLs are stand-ins, and those tests say "mock" in their names."""

from __future__ import annotations

import sys
import types

import pytest

from tray.windows import theme
from tray.windows.theme import (DARK, LIGHT, choose_look, contrast, decide_scheme, gsettings_preference,
                                linux_preference, portal_preference, system_scheme, text_pairs, xft_dpi)


def test_talker_theme_overrides_the_system_and_auto_follows_it(caplog):
    assert decide_scheme("dark", "light") == "dark"
    assert decide_scheme("LIGHT", "dark") == "light"
    assert decide_scheme("auto", "dark") == "dark"
    assert decide_scheme(None, "dark") == "dark"
    assert decide_scheme(None, None) == "light"
    # A typo is said in the log and changes nothing else.
    assert decide_scheme("purple", "dark") == "dark"
    assert "purple" in caplog.text


@pytest.mark.parametrize("reply, scheme", [
    ("(<<uint32 1>>,)\n", "dark"),     # Settings.Read wraps the value twice
    ("(<uint32 2>,)\n", "light"),      # Settings.ReadOne once
    ("(<<uint32 0>>,)\n", None),       # no preference: the next source decides
    ("", None), (None, None), ("garbage", None),
])
def test_the_desktop_portals_color_scheme(reply, scheme):
    assert portal_preference(reply) == scheme


GSETTINGS = """org.gnome.desktop.interface clock-format '24h'
org.gnome.desktop.interface color-scheme '{scheme}'
org.gnome.desktop.interface gtk-theme '{gtk}'
"""


def test_gnome_settings_color_scheme_and_a_dark_gtk_theme():
    assert gsettings_preference(GSETTINGS.format(scheme="prefer-dark", gtk="Adwaita")) == "dark"
    assert gsettings_preference(GSETTINGS.format(scheme="prefer-light", gtk="Adwaita-dark")) == "light"
    assert gsettings_preference(GSETTINGS.format(scheme="default", gtk="Adwaita-dark")) == "dark"
    assert gsettings_preference(GSETTINGS.format(scheme="default", gtk="Adwaita")) is None
    assert gsettings_preference(None) is None


def test_linux_asks_the_portal_first_then_gtk_theme_then_gsettings():
    dark_gnome = GSETTINGS.format(scheme="prefer-dark", gtk="Adwaita")
    assert linux_preference("(<<uint32 2>>,)", "Adwaita:dark", dark_gnome) == "light"
    assert linux_preference(None, "Adwaita:dark", None) == "dark"
    assert linux_preference("(<<uint32 0>>,)", "Adwaita", dark_gnome) == "dark"
    assert linux_preference(None, None, None) is None


def test_linux_reads_the_portal_only_with_a_session_bus(tmp_path):
    asked = []

    def run(argv):
        asked.append(argv[0])
        return {"gdbus": "(<<uint32 1>>,)", "gsettings": None}[argv[0]]

    assert system_scheme("linux", {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}, run) == "dark"
    assert asked == ["gdbus"]
    asked.clear()
    # No bus: gdbus would autolaunch one; GTK_THEME and gsettings still answer.
    assert system_scheme("linux", {"XDG_RUNTIME_DIR": str(tmp_path), "GTK_THEME": "Adwaita:dark"}, run) == "dark"
    assert asked == []
    assert system_scheme("linux", {}, run) is None
    assert asked == ["gsettings"]


def test_talker_theme_is_decided_without_asking_the_system():
    def run(argv):
        raise AssertionError(f"asked {argv}")

    assert theme.chosen_scheme({"TALKER_THEME": "dark"}, "linux", run) == "dark"


class FakeWinreg:
    """Stands in for Windows' winreg: HKCU\\...\\Personalize with these values."""
    HKEY_CURRENT_USER = "HKCU"

    def __init__(self, values: dict | None):
        self.values = values

    def OpenKey(self, root, path):
        if self.values is None or root != "HKCU" or path != theme.WINDOWS_KEY:
            raise FileNotFoundError(path)
        values = self.values

        class Key:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        key = Key()
        key.values = values
        return key

    def QueryValueEx(self, key, name):
        if name not in key.values:
            raise FileNotFoundError(name)
        return key.values[name], 4


def test_windows_mock_registry_apps_use_light_theme():
    assert system_scheme("win32", {}, winreg=FakeWinreg({"AppsUseLightTheme": 0})) == "dark"
    assert system_scheme("win32", {}, winreg=FakeWinreg({"AppsUseLightTheme": 1})) == "light"
    # Before Windows 10 1809 there is no such value: light, as those systems are.
    assert theme.chosen_scheme({}, "win32", winreg=FakeWinreg({})) == "light"
    assert theme.chosen_scheme({}, "win32", winreg=FakeWinreg(None)) == "light"


def test_macos_mock_defaults_apple_interface_style():
    assert system_scheme("darwin", {}, lambda argv: "Dark\n" if argv == theme.MACOS_READ else None) == "dark"
    # In light mode the key does not exist: `defaults` fails.
    assert theme.chosen_scheme({}, "darwin", lambda argv: None) == "light"


ALL_THEMES = ("clam", "alt", "default", "classic", "vista", "winnative", "xpnative", "aqua")


def test_each_os_gets_its_own_theme():
    assert choose_look("linux", "light", ("clam", "alt", "default", "classic")) == theme.Look("clam", LIGHT, False)
    assert choose_look("linux", "dark", ("clam", "default")) == theme.Look("clam", DARK, False)
    assert choose_look("win32", "light", ALL_THEMES) == theme.Look("vista", LIGHT, True)
    # vista draws its controls through uxtheme, light only: dark Windows gets the dark clam.
    assert choose_look("win32", "dark", ALL_THEMES) == theme.Look("clam", DARK, False)
    assert choose_look("darwin", "dark", ALL_THEMES) == theme.Look("aqua", DARK, True)
    assert choose_look("linux", "light", ("default", "classic")).theme == "default"


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=lambda p: p.scheme)
def test_every_text_colour_reads_on_its_background_wcag_aa(palette):
    low = {name: round(contrast(*pair), 2) for name, pair in text_pairs(palette).items() if contrast(*pair) < 4.5}
    assert not low, f"below 4.5:1 in the {palette.scheme} palette: {low}"
    # A disabled control's text is exempt from AA, but must still be seen (3:1, as for large text).
    for ground in (palette.background, palette.surface, palette.button):
        assert contrast(palette.disabled, ground) >= 3.0


def test_contrast_is_wcags_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_the_desktops_xft_dpi_is_read_from_the_x_resources():
    assert xft_dpi("Xft.antialias:\t1\nXft.dpi:\t144\nXft.hinting:\t1\n") == 144.0
    assert xft_dpi("Xft.dpi: 96") == 96.0
    assert xft_dpi("Xcursor.size: 24") is None
    assert xft_dpi("Xft.dpi: 0") is None  # nonsense is ignored, not applied
    assert xft_dpi(None) is None


class FakeDll:
    """Stands in for a Windows DLL through ctypes.windll: records calls, returns `result`."""

    def __init__(self, fail: bool = False, result: int = 1):
        self.calls = []
        self.fail = fail
        self.result = result

    def __getattr__(self, name):
        def call(*args):
            self.calls.append((name, args))
            if self.fail:
                raise OSError("not there")
            return self.result
        return call


def test_windows_mock_dpi_awareness_is_per_monitor_with_a_fallback():
    windll = types.SimpleNamespace(shcore=FakeDll(), user32=FakeDll())
    assert theme.enable_dpi_awareness(windll)
    assert windll.shcore.calls == [("SetProcessDpiAwareness", (2,))]
    older = types.SimpleNamespace(shcore=FakeDll(fail=True), user32=FakeDll())  # before 8.1
    assert theme.enable_dpi_awareness(older)
    assert older.user32.calls == [("SetProcessDPIAware", ())]


def test_windows_mock_dpi_awareness_comes_before_tk_starts(monkeypatch):
    import tkinter

    from tray.windows import __main__ as windows_main

    order = []
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(theme, "enable_dpi_awareness", lambda windll=None: order.append("dpi aware"))

    def tk_starts(*args, **kwargs):
        order.append("Tk")
        raise tkinter.TclError("no display here")

    monkeypatch.setattr(tkinter, "Tk", tk_starts)
    assert windows_main.main(["dial"]) == 1
    assert order == ["dpi aware", "Tk"]


def test_windows_mock_a_dark_window_gets_a_dark_title_bar():
    dwm = FakeDll(result=0)  # S_OK
    root = types.SimpleNamespace(update_idletasks=lambda: None, wm_frame=lambda: "0x2a")
    windll = types.SimpleNamespace(dwmapi=dwm)
    assert theme.dress_frame(root, theme.Look("clam", DARK, False), "win32", windll)
    name, args = dwm.calls[0]
    assert name == "DwmSetWindowAttribute" and args[:2] == (0x2A, 20)  # DWMWA_USE_IMMERSIVE_DARK_MODE
    assert not theme.dress_frame(root, theme.Look("vista", LIGHT, True), "win32", windll)
    assert len(dwm.calls) == 1
