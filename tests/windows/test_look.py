"""The windows' look on a real X display (Xvfb): dark when TALKER_THEME or the desktop says
so, light otherwise, with a dark title bar hint for the window manager, and sized for the
DPI the desktop announces (Xft.dpi). Judged from the pixels of a screenshot and from the
colours Tk really draws with (the test hook's "look")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import stop_process, wait_until
from tests.windows.driver import WindowDriver
from tests.windows.xsession import XSession, median_luma, settle
from tray.windows.theme import luminance

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_talker_theme_dark_gives_a_dark_settings_window_and_light_a_light_one(scheme, windowed_app, pbx_api,
                                                                              xsession, tmp_path):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, env={"TALKER_THEME": scheme})
    w = app.open("settings")
    state = w.settled(lambda s: s.get("devices") and s.get("preview"))
    window = wait_until(lambda: xsession.find(name=state["title"]), 10, 0.1, "the settings window")[0]
    settle(0.8)
    median = median_luma(xsession.capture(tmp_path / f"settings-{scheme}.png", window))
    # Most of the window is its background: dark in the dark scheme, with light text on it.
    assert median < 0.2 if scheme == "dark" else median > 0.8, median
    look = w.do("look")
    preview = look["widgets"]["preview"]
    if scheme == "dark":
        assert luminance(look["background"]) < 0.05 and luminance(preview["background"]) < 0.05, look
        assert luminance(preview["foreground"]) > 0.6, look
    else:
        assert luminance(look["background"]) > 0.8 and luminance(preview["background"]) > 0.8, look
        assert luminance(preview["foreground"]) < 0.1, look
    assert look["theme"] == "clam"


@pytest.fixture
def window_process(xsession: XSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Start `python -m tray.windows NAME` on the test's display; yields a driver for it."""
    started: list[subprocess.Popen] = []
    hook_dir = tmp_path / "hooks"
    hook_dir.mkdir()

    def start(name: str, **env: str) -> WindowDriver:
        known = {str(p) for p in hook_dir.glob(f"{name}-*.sock")}
        proc = subprocess.Popen([sys.executable, "-m", "tray.windows", name],
                                env={**os.environ, **xsession.env, "TALKER_WINDOW_TEST_DIR": str(hook_dir), **env},
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=open(tmp_path / f"window-{name}-{len(started)}.log", "wb"))
        started.append(proc)
        return WindowDriver.wait_for(hook_dir, name, known=known)

    try:
        yield start
    finally:
        for proc in started:
            stop_process(proc)


def _xprop(x: XSession, *args: str) -> str:
    return subprocess.run(["xprop", *args], env={**os.environ, **x.env}, capture_output=True, text=True,
                          timeout=20, check=True).stdout


def _frame_of(x: XSession, title: str) -> str:
    """The window the window manager manages (Tk's wrapper): the one with the title."""
    return wait_until(lambda: x.find(name=title), 10, 0.1, f"the window {title!r}")[0]


def test_a_desktop_that_prefers_dark_in_gnome_settings_opens_dark_windows(window_process, xsession, tmp_path):
    if shutil.which("gsettings") is None or shutil.which("xprop") is None:
        pytest.skip("not installed: gsettings (libglib2.0-bin) or xprop (x11-utils)")
    # GNOME's own store, for real, in the test's HOME (the keyfile backend needs no dconf daemon).
    env = {**os.environ, "GSETTINGS_BACKEND": "keyfile"}
    done = subprocess.run(["gsettings", "set", "org.gnome.desktop.interface", "color-scheme", "prefer-dark"],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"gsettings cannot set color-scheme here (GNOME 42 schemas?): {done.stderr.strip()}")
    w = window_process("login", GSETTINGS_BACKEND="keyfile")
    title = w.settled()["title"]
    frame = _frame_of(xsession, title)
    settle(0.8)
    median = median_luma(xsession.capture(tmp_path / "login-dark.png", frame))
    assert median < 0.2, median
    assert luminance(w.do("look")["background"]) < 0.05
    # The window manager is told too, so that GNOME draws the title bar dark as well.
    assert '"dark"' in _xprop(xsession, "-id", frame, "_GTK_THEME_VARIANT")
    w.close()

    subprocess.run(["gsettings", "set", "org.gnome.desktop.interface", "color-scheme", "default"],
                   env=env, check=True, capture_output=True)
    w = window_process("login", GSETTINGS_BACKEND="keyfile")
    w.settled()
    assert luminance(w.do("look")["background"]) > 0.8
    assert '"dark"' not in _xprop(xsession, "-id", _frame_of(xsession, title), "_GTK_THEME_VARIANT")


def test_windows_grow_with_the_dpi_the_desktop_announces(window_process, xsession):
    """GNOME, KDE and Xfce put their scale and text size into Xft.dpi; Tk alone would keep the
    X server's 96 (here Xvfb's 100) whatever the user chose."""
    if shutil.which("xprop") is None:
        pytest.skip("not installed: xprop (x11-utils)")
    sizes = {}
    for dpi in (96, 192):
        # -noreset keeps the root window's properties after xprop disconnects.
        _xprop(xsession, "-root", "-f", "RESOURCE_MANAGER", "8s", "-set", "RESOURCE_MANAGER",
               f"Xft.dpi:\t{dpi}\nXft.antialias:\t1\n")
        w = window_process("dial")
        title = w.settled()["title"]
        frame = _frame_of(xsession, title)
        wait_until(lambda frame=frame: xsession.geometry(frame)[2] > 200, 10, 0.1, "the window laid out")
        settle(0.3)
        look = w.do("look")
        sizes[dpi] = (xsession.geometry(frame)[2:], look)
        w.close()
        wait_until(lambda w=w: not w.alive(), 10, 0.1, "the window to close")
    (w96, h96), look96 = sizes[96]
    (w192, h192), look192 = sizes[192]
    assert look96["scaling"] == pytest.approx(96 / 72, rel=0.01)
    assert look192["scaling"] == pytest.approx(192 / 72, rel=0.01)
    assert look192["linespace"] >= 1.8 * look96["linespace"], (look96, look192)
    # Rows, paddings and the window itself follow the text.
    assert look192["rowheight"] >= 1.8 * look96["rowheight"], (look96, look192)
    assert w192 >= 1.8 * w96 and h192 >= 1.8 * h96, sizes
