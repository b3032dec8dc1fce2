"""Pictures of Talker as a user sees it, with the real tray backend: the icon in a system
tray, its open menu, the settings window (light, and dark as TALKER_THEME=dark or a desktop that
prefers dark shows it), the contacts window and the dial window completing a name, in English
and in Russian; and README's picture of the icon's states, drawn by tray/icon.py itself.

A private X session (Xvfb -displayfd) with a D-Bus session bus, trayer as the XEmbed system
tray, dunst for notifications, and the real app on pystray's gtk backend, logged in to a real
PBX as an administrator. xdotool opens the menu as a mouse would; ImageMagick's `import`
captures. Nothing is compared pixel for pixel (fonts and themes differ between machines); the
test checks what a user would notice: the icon's colours are in the tray, the menu is there
and is not blank, its English and Russian pictures differ, the settings window is on screen.

The pictures go to the test's temporary directory. To refresh the ones in docs/screenshots/
(README shows them):

    TALKER_UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/screenshots
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tests.support.api import ApiServer
from tests.support.app import App, talker
from tests.support.processes import stop_process, wait_until
from tests.windows.driver import WindowDriver
from tests.windows.xsession import XSession, median_luma, missing_tools, settle

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TILE_BLUE = (33, 82, 160)        # tray/icon.py: the round tile
REGISTERED_GREEN = (46, 160, 67)  # tray/icon.py: the "registered" badge
DESKTOP = "#3f5f78"
PANEL_HEIGHT = 36


def _gtk_available() -> bool:
    probe = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


@pytest.fixture
def desktop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    missing = missing_tools("trayer", "dunst", "dbus-daemon")
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    if not _gtk_available():
        pytest.skip("PyGObject with GTK 3 is not in the venv (pip install 'PyGObject<3.51')")
    sessions: list[XSession] = []

    def start(name: str) -> XSession:
        x = XSession(tmp_path / f"x-{name}", size="1920x1080")
        sessions.append(x)
        x.start_dbus()
        if shutil.which("xsetroot"):
            subprocess.run(["xsetroot", "-solid", DESKTOP], env={**os.environ, **x.env}, check=False)
        x.start_tray(PANEL_HEIGHT)
        x.start_notifications()
        return x

    try:
        yield start
    finally:
        for x in sessions:
            x.close()


def _company(api: ApiServer):
    """Anna (Administrators) with a scheme worth looking at: her app first, then her mobile on
    working days' office hours, her home number switched off."""
    anna = api.add_employee("101", "Anna Ivanova", admin=True, mobile="+79161234567")
    api.add_employee("102", "Boris Petrov")
    with api.as_(anna) as c:
        c.post("/numbers", json={"number": "+7 495 111-22-33", "label": "Office"}).raise_for_status()
        path = f"/employees/{anna.employee.id}/scheme"
        etag = c.get(path).headers["ETag"]
        scheme = {"mode": "in_turn", "timezone": "Europe/Moscow", "devices": [
            {"id": "sip-101", "kind": "sip", "address": "101", "active": True, "position": 1,
             "ring_timeout_s": 20, "schedule": None},
            {"id": "mobile", "kind": "external", "address": "+79161234567", "active": True, "position": 2,
             "ring_timeout_s": 30, "schedule": {"rules": [
                 {"type": "calendar", "days": "working_days", "windows": [{"start": "09:00", "end": "18:00"}]}]}},
            {"id": "home", "kind": "external", "address": "+74951234567", "active": False, "position": 3,
             "ring_timeout_s": 0, "schedule": None}]}
        c.put(path, json=scheme, headers={"If-Match": etag}).raise_for_status()
        c.post("/contacts/company", json={"name": "Reception", "number": "84951112200"}).raise_for_status()
        c.post("/contacts/personal", json={"name": "Boris Sidorov", "number": "89161112233"}).raise_for_status()
    return anna


def _colour_share(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 24) -> float:
    data = image.convert("RGB").tobytes()
    r0, g0, b0 = colour
    near = sum(1 for i in range(0, len(data), 3)
               if abs(data[i] - r0) <= tolerance and abs(data[i + 1] - g0) <= tolerance
               and abs(data[i + 2] - b0) <= tolerance)
    return near / (len(data) // 3)


def _shoot(x: XSession, app: App, hook_dir: Path, lang: str, out: Path) -> dict[str, Path]:
    shots = {}
    tray = x.find(class_="trayer")[0]
    wait_until(lambda: x.geometry(tray)[2] >= 24, 15, 0.1, "the icon in the tray")
    settle(1.0)
    # The icon: the top right corner of the screen, panel and all.
    tx, ty, tw, th = x.geometry(tray)
    screen_w = tx + tw
    shots["icon"] = x.capture(out / f"tray-icon-{lang}.png", crop=(screen_w - 120, 0, 120, th + 12))
    before = Image.open(x.capture(out / f"screen-before-{lang}.png"))

    # The menu: a right click on the icon, as a user opens it; then into "Receive calls".
    x.xdotool("mousemove", str(tx + tw - th // 2), str(ty + th // 2), "click", "3")
    settle(1.0)
    for key in ("Down", "Down", "Down", "Down", "Right"):  # past «Do not disturb»
        x.xdotool("key", key)
        settle(0.3)
    settle(0.7)
    after = Image.open(x.capture(out / f"screen-menu-{lang}.png"))
    box = ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox()
    assert box is not None, "nothing appeared on the screen after the click"
    left = max(0, box[0] - 24)
    shots["menu"] = out / f"tray-menu-{lang}.png"
    after.crop((left, 0, screen_w, min(after.height, box[3] + 24))).save(shots["menu"])
    x.xdotool("key", "Escape")
    x.xdotool("key", "Escape")
    settle(0.5)

    # The settings window, opened as the menu's "Settings…" does, showing the mobile's schedule
    # and the PBX's plan for a Monday morning.
    with app.client() as c:
        c.request("open_window", window="settings")
    shots["settings"] = _settings_shot(x, WindowDriver.wait_for(hook_dir, "settings"), out / f"settings-{lang}.png")
    # The same window on a desktop that prefers dark (a window process of its own, as the app
    # starts them, with TALKER_THEME=dark).
    known = {str(p) for p in hook_dir.glob("settings-*.sock")}
    dark = subprocess.Popen([sys.executable, "-m", "tray.windows", "settings"], env={**app.env, "TALKER_THEME": "dark"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        shots["settings-dark"] = _settings_shot(x, WindowDriver.wait_for(hook_dir, "settings", known=known),
                                                out / f"settings-dark-{lang}.png")
    finally:
        stop_process(dark)

    # The contacts window (colleagues with presence, both address books), and the dial window
    # offering the people a typed name may mean.
    with app.client() as c:
        c.request("open_window", window="contacts")
    w = WindowDriver.wait_for(hook_dir, "contacts")
    w.settled(lambda s: len(s["people"]) == 4 and s["people"][0][3])
    shots["contacts"] = _capture_window(x, w, out / f"contacts-{lang}.png")
    w.close()
    with app.client() as c:
        c.request("open_window", window="dial")
    w = WindowDriver.wait_for(hook_dir, "dial")
    w.settled()
    w.set("number", "bor")
    w.settled(lambda s: len(s["suggestions"]) == 2)
    shots["dial"] = _capture_window(x, w, out / f"dial-completion-{lang}.png")
    w.close()
    return shots


def _settings_shot(x: XSession, w: WindowDriver, path: Path) -> Path:
    w.settled(lambda s: s.get("devices"))
    w.select("devices", 1)
    w.set("preview_at", "2026-03-02 10:30")
    w.invoke("preview_refresh")
    w.settled(lambda s: "10:30" in s["preview"])  # the date is written the language's way
    try:
        return _capture_window(x, w, path)
    finally:
        w.close()


def _capture_window(x, w, path: Path) -> Path:
    title = w.read()["title"]
    settle(0.8)
    window = wait_until(lambda: x.find(name=title), 10, 0.1, f"the window {title!r}")[0]
    return x.capture(path, window)


def test_pictures_of_the_tray_icon_its_menu_and_the_settings_window_in_english_and_russian(
        desktop, kamailio, pbx_api, tmp_path):
    anna = _company(pbx_api)
    done = talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "shots"
    out.mkdir()
    hook_dir = tmp_path / "hooks"
    hook_dir.mkdir()
    shots: dict[str, dict[str, Path]] = {}
    for lang in ("en", "ru"):
        x = desktop(lang)
        app = App(tmp_path / lang, extra_env={**x.env, "PYSTRAY_BACKEND": "gtk", "TALKER_LANG": lang,
                                              "TALKER_WINDOW_TEST_DIR": str(hook_dir), "TALKER_THEME": "light"})
        try:
            app.wait_registered()
            with app.client() as c:
                wait_until(lambda: not c.request("pbx_state")["stale"], 15, 0.1, "the PBX state")
            shots[lang] = _shoot(x, app, hook_dir, lang, out)
        finally:
            app.quit()
            x.close()

    for lang, pictures in shots.items():
        icon = Image.open(pictures["icon"])
        assert _colour_share(icon, TILE_BLUE) > 0.02, f"{lang}: no icon in the tray"
        assert _colour_share(icon, REGISTERED_GREEN) > 0.002, f"{lang}: the icon does not say registered"
        menu = Image.open(pictures["menu"])
        assert menu.width > 250 and menu.height > 250, f"{lang}: the menu is too small: {menu.size}"
        assert len(menu.convert("RGB").getcolors(1 << 20)) > 50, f"{lang}: the menu is blank"
        settings = Image.open(pictures["settings"])
        assert settings.width > 900 and settings.height > 500, f"{lang}: {settings.size}"
        dark = Image.open(pictures["settings-dark"])
        assert dark.size == settings.size, f"{lang}: the dark window is laid out differently: {dark.size}"
        assert median_luma(dark) < 0.2 < 0.8 < median_luma(settings), f"{lang}: the dark window is not dark"
        for name in ("contacts", "dial"):
            picture = Image.open(pictures[name])
            assert picture.width > 300 and picture.height > 200, f"{lang}: the {name} window: {picture.size}"
            assert len(picture.convert("RGB").getcolors(1 << 20)) > 50, f"{lang}: the {name} window is blank"
    en, ru = (Image.open(shots[lang]["menu"]).convert("RGB") for lang in ("en", "ru"))
    if en.size == ru.size:
        assert ImageChops.difference(en, ru).getbbox() is not None, "the Russian menu looks English"

    if os.environ.get("TALKER_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        for pictures in shots.values():
            for path in pictures.values():
                shutil.copyfile(path, DOCS / path.name)


def test_pictures_of_the_first_start_in_english_and_russian(kamailio, tmp_path):
    """The window a new user meets: no account yet, so the login window opens by itself."""
    if missing_tools():
        pytest.skip(f"not installed: {', '.join(missing_tools())}")
    out = tmp_path / "shots"
    out.mkdir()
    shots = {}
    for lang in ("en", "ru"):
        hook_dir = tmp_path / f"hooks-{lang}"
        hook_dir.mkdir()
        with XSession(tmp_path / f"x-first-{lang}", size="1440x900") as x:
            if shutil.which("xsetroot"):
                subprocess.run(["xsetroot", "-solid", DESKTOP], env={**os.environ, **x.env}, check=False)
            app = App(tmp_path / f"first-{lang}", extra_env={**x.env, "TALKER_LANG": lang, "TALKER_THEME": "light",
                                                           "TALKER_WINDOW_TEST_DIR": str(hook_dir)})
            try:
                w = WindowDriver.wait_for(hook_dir, "login")
                w.settled()
                shots[lang] = _capture_window(x, w, out / f"first-run-{lang}.png")
            finally:
                app.quit()
    for lang, path in shots.items():
        picture = Image.open(path)
        assert picture.width > 300 and picture.height > 200, f"{lang}: the login window: {picture.size}"
        assert len(picture.convert("RGB").getcolors(1 << 20)) > 50, f"{lang}: the login window is blank"
    if os.environ.get("TALKER_UPDATE_SCREENSHOTS") == "1":
        for path in shots.values():
            shutil.copyfile(path, DOCS / path.name)


# What README's picture of the icon's states says under each (English, as the README's text).
STATE_CAPTIONS = {"registered": "registered", "registering": "connecting", "offline": "offline",
                  "failed": "error", "in_call": "in a call", "ringing": "ringing", "nobody_rings": "nobody rings",
                  "do_not_disturb": "do not disturb"}
MISSED_EXAMPLE = 3


def _icon_states_picture() -> Image.Image:
    """Every state's icon as tray/icon.py draws it, captioned, and one with missed calls."""
    from PIL import ImageDraw, ImageFont

    from tray import icon

    assert set(STATE_CAPTIONS) == set(icon.BADGES), "a badge has no caption here"
    tiles = [(icon.render(badge, 64), STATE_CAPTIONS[badge]) for badge in icon.BADGES]
    tiles.append((icon.render("registered", 64, missed=MISSED_EXAMPLE), f"{MISSED_EXAMPLE} missed"))
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 12)
    except OSError:
        font = ImageFont.load_default(size=12)
    cell_w, cell_h, pad = 96, 100, 8
    sheet = Image.new("RGB", (cell_w * len(tiles) + 2 * pad, cell_h + 2 * pad), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (image, caption) in enumerate(tiles):
        x = pad + n * cell_w
        sheet.paste(image, (x + (cell_w - 64) // 2, pad + 4), image)
        draw.text((x + cell_w // 2, pad + 84), caption, fill=(60, 64, 67), font=font, anchor="mm")
    return sheet


def test_the_picture_of_the_icons_states_is_drawn_by_the_icons_own_code(tmp_path):
    """docs/tray-icon-states.png (README's first picture) shows every badge tray/icon.py has;
    TALKER_UPDATE_SCREENSHOTS=1 draws it anew from that code."""
    from tray import icon

    fresh = _icon_states_picture()
    fresh.save(tmp_path / "tray-icon-states.png")
    if os.environ.get("TALKER_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(tmp_path / "tray-icon-states.png", DOCS.parent / "tray-icon-states.png")
    for picture in (fresh, Image.open(DOCS.parent / "tray-icon-states.png")):
        for badge, colour in {**icon.BADGES, "missed calls": icon.MISSED_COLOUR}.items():
            assert _colour_share(picture, colour, tolerance=6) > 0.001, f"no {badge} badge in the picture"
