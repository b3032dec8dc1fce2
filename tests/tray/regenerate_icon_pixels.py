"""Write tray/icon_pixels.py, the icon's states as tray/icon.py draws them, which the running app
shows without loading Pillow's drawing and font modules.

    .venv/bin/python -m tests.tray.regenerate_icon_pixels

tests/tray/test_icon_pixels.py fails while the stored pixels differ from what `draw` makes (a
change of the drawing, or of Pillow's); this brings them up to date.
"""

from __future__ import annotations

import base64
import textwrap
import zlib
from pathlib import Path

MODULE = Path(__file__).resolve().parents[2] / "tray" / "icon_pixels.py"
COMMAND = ".venv/bin/python -m tests.tray.regenerate_icon_pixels"

HEADER = f'''"""The tray icon's states without missed calls, as tray/icon.py draws them at its size: 64×64
RGBA pixels, zlib-compressed, base64. Written by `{COMMAND}`
from `tray.icon.draw` (tests/tray/test_icon_pixels.py checks them against it); do not edit."""

'''


def module_text() -> str:
    from tray import icon

    lines = [HEADER, "PIXELS = {\n"]
    for badge in icon.BADGES:
        encoded = base64.b64encode(zlib.compress(icon.draw(badge, icon.ICON_SIZE).tobytes(), 9)).decode()
        lines.append(f'    "{badge}": (\n')
        lines += [f'        "{chunk}"\n' for chunk in textwrap.wrap(encoded, 100)]
        lines.append("    ),\n")
    lines.append("}\n")
    return "".join(lines)


def main() -> int:
    MODULE.write_text(module_text(), encoding="utf-8")
    print(f"wrote {MODULE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
