"""The tray icon: a badge for the state, a tooltip, and the menu (tray/menu.py builds it anew each time it opens).

pystray picks its backend per platform (PYSTRAY_BACKEND overrides). Without a graphical session
there is no backend: the app then runs without an icon and says so. pystray's "dummy" backend
(tests) has no event loop: the app runs its own wait loop and the menu stays inspectable.
"""

from __future__ import annotations

import base64
import logging
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from common.i18n import tr

log = logging.getLogger(__name__)

# Badge colours per state: what a glance at the tray should tell.
BADGES = {
    "registered": (46, 160, 67),     # green
    "registering": (230, 168, 23),   # amber
    "offline": (140, 140, 140),      # grey
    "failed": (214, 45, 45),         # red
    "in_call": (36, 115, 230),       # blue
    "ringing": (245, 124, 0),        # orange
    "nobody_rings": (123, 31, 162),  # purple: registered, but every device is switched off
    "do_not_disturb": (84, 84, 84),  # dark grey: registered, nothing rings until a set time
}


@dataclass(frozen=True)
class IconState:
    badge: str                 # a key of BADGES
    account: str | None
    status: str                # "Registered", "Error", ...
    detail: str | None = None  # the last error, the other party, ...
    missed: int = 0            # missed calls not seen yet (tray/history.py)

    @property
    def tooltip(self) -> str:
        parts = [tr("tray.title")]
        if self.account:
            parts.append(self.account)
        parts.append(self.status)
        text = " — ".join(parts)
        # The count comes before the detail: Windows cuts a long tooltip, and this line must show.
        if self.missed:
            text += "\n" + tr("tray.missed_count", count=self.missed)
        if self.detail:
            text += f"\n{self.detail}"
        return text[:127]  # Windows caps tooltips at 128 characters


MISSED_COLOUR = (214, 45, 45)
ICON_SIZE = 64   # what the app hands the tray; the OS scales it to its own


def missed_label(count: int) -> str:
    """What the icon's red bubble says: the count, up to 9; more is "9+"."""
    return str(count) if count <= 9 else "9+"


@cache
def render(badge: str, size: int = ICON_SIZE, missed: int = 0):
    """The icon image (`draw`'s). The tray's own size without missed calls comes from the pixels
    `draw` made beforehand (tray/icon_pixels.py): Pillow's drawing and font modules, and the
    font libraries they load, cost the app about 1.5 MB all day (bench/idle.py) while it shows
    nothing but these; the red bubble of missed calls loads them when it first appears."""
    from PIL import Image

    if size == ICON_SIZE and not missed:
        from tray.icon_pixels import PIXELS

        return Image.frombytes("RGBA", (size, size), zlib.decompress(base64.b64decode(PIXELS[badge])))
    return draw(badge, size, missed)


def draw(badge: str, size: int = ICON_SIZE, missed: int = 0):
    """The icon image: a handset on a round tile, with a state badge at the bottom right and,
    while missed calls wait to be seen, a red bubble with their count at the top right (as
    phones and mail programs show unread items)."""
    from PIL import Image, ImageDraw

    scale = 4  # draw large, then downsample: smooth edges without anti-aliasing primitives
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((0, 0, s - 1, s - 1), fill=(33, 82, 160, 255))
    white = (255, 255, 255, 255)
    # The handset: the lower-left quarter of a thick ring (9 o'clock round to 6 o'clock), with
    # the earpiece and the mouthpiece bulging towards the ring's centre.
    cx, cy, r, w = s * 0.575, s * 0.425, s * 0.30, s * 0.12
    pad_len, pad_wide, rad = s * 0.09, s * 0.15, s * 0.045
    d.arc((cx - r, cy - r, cx + r, cy + r), start=90, end=180, fill=white, width=round(w))
    d.rounded_rectangle((cx - r, cy - pad_wide, cx - r + w + pad_len, cy + rad), radius=rad, fill=white)
    d.rounded_rectangle((cx - rad, cy + r - w - pad_len, cx + pad_wide, cy + r), radius=rad, fill=white)
    br = s * 0.2
    bx, by = s - br - s * 0.02, s - br - s * 0.02
    d.ellipse((bx - br, by - br, bx + br, by + br), fill=(*BADGES[badge], 255),
              outline=(255, 255, 255, 255), width=int(s * 0.04))
    if missed:
        label = missed_label(missed)
        mr = s * 0.23
        mx, my = s - mr - s * 0.01, mr + s * 0.01
        d.ellipse((mx - mr, my - mr, mx + mr, my + mr), fill=(*MISSED_COLOUR, 255),
                  outline=(255, 255, 255, 255), width=int(s * 0.03))
        font = _font(round(mr * (1.35 if len(label) == 1 else 1.0)))
        d.text((mx, my), label, fill=white, font=font, anchor="mm")
    return img.resize((size, size), Image.LANCZOS)


@cache
def _font(px: int):
    """A bold sans-serif of `px` pixels; Pillow's own when the system has none of them."""
    from PIL import ImageFont

    for name in ("DejaVuSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf", "Helvetica.ttc"):
        try:
            return ImageFont.truetype(name, px)
        except OSError:
            continue
    return ImageFont.load_default(size=px)


def load_pystray():
    """pystray, or None when this session has no tray (no display)."""
    try:
        import pystray
    except Exception as e:  # Xlib raises its own errors without a display
        log.warning("%s (%s)", tr("tray.no_display"), e)
        return None
    return pystray


class TrayIcon:
    """The icon and its menu. `menu` is a pystray.Menu; it may be dynamic (built on each
    opening from the app's state)."""

    def __init__(self, pystray, menu):
        self._pystray = pystray
        self._state = IconState("offline", None, tr("reg.offline"))
        self._stopped = threading.Event()
        self.notifications: list[str] = []  # what was shown, newest last (the tests read it)
        self.icon = pystray.Icon("talker", render("offline"), tr("tray.title"), menu=menu)
        # The dummy backend (tests) implements no event loop of its own.
        self.has_event_loop = type(self.icon).__module__ != "pystray._base"

    @property
    def state(self) -> IconState:
        return self._state

    def update(self, state: IconState) -> None:
        if state == self._state:
            return
        self._state = state
        self.icon.icon = render(state.badge, missed=min(state.missed, 10))
        self.icon.title = state.tooltip
        self.refresh_menu()

    def refresh_menu(self) -> None:
        try:
            self.icon.update_menu()
        except NotImplementedError:
            pass

    def notify(self, message: str, title: str | None = None) -> None:
        self.notifications.append(message)
        del self.notifications[:-50]
        try:
            self.icon.notify(message, title or tr("tray.title"))
        except Exception as e:  # no notification service in this session
            log.debug("notification not shown: %s", e)

    def run(self, setup: Callable[[], None]) -> None:
        """Block on the main thread until stop()."""
        if self.has_event_loop:
            def _setup(icon):
                icon.visible = True
                setup()
            self.icon.run(setup=_setup)
        else:
            setup()
            self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()
        if self.has_event_loop:
            self.icon.stop()
