"""The icon the tray shows is the one tray/icon.py draws, in every state, and showing it costs
the app no drawing or font module (about 1.5 MB all day, bench/idle.py)."""

from __future__ import annotations

from tests.support.processes import modules_loaded
from tests.tray.regenerate_icon_pixels import COMMAND
from tray import icon

# Pillow's drawing and font modules, and the C module that loads FreeType and HarfBuzz.
DRAWING_MODULES = ("PIL.ImageDraw", "PIL.ImageFont", "PIL._imagingft")


def test_every_state_shows_exactly_what_the_drawing_code_draws():
    for badge in icon.BADGES:
        shown, drawn = icon.render(badge), icon.draw(badge)
        assert shown.mode == drawn.mode and shown.size == drawn.size
        assert shown.tobytes() == drawn.tobytes(), \
            f"tray/icon_pixels.py is not what tray.icon.draw makes of {badge!r}: regenerate it with\n    {COMMAND}"


def test_showing_the_icon_in_every_state_loads_no_drawing_or_font_module():
    loaded = modules_loaded("from tray import icon\n[icon.render(b) for b in icon.BADGES]", DRAWING_MODULES)
    assert loaded == [], f"loaded to show the icon: {loaded}"


def test_missed_calls_still_get_their_red_bubble_with_the_count():
    plain, bubbled = icon.render("registered"), icon.render("registered", missed=3)
    assert bubbled.tobytes() == icon.draw("registered", missed=3).tobytes()
    red = sum(n for n, (r, g, b, a) in bubbled.getcolors(64 * 64) if a > 200 and (r, g, b) == icon.MISSED_COLOUR)
    assert red > 100 and plain.tobytes() != bubbled.tobytes()
