"""Facts that several parts of Talker read have one definition, and what must stay a copy (an
HTML form, a published document, a translation) agrees with it: the receive modes, the ring
timeout's limit, and the window names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from common import protocol
from common.i18n_app import APP_MESSAGES as TEXTS
from pbx import ringplan

ROOT = Path(__file__).resolve().parents[2]
MODES = [m.value for m in ringplan.Mode]


def test_the_receive_modes_are_the_pbxs_everywhere():
    assert list(protocol.receive_modes()) == MODES
    state = protocol.schema()["$defs"]["pbx_state"]["properties"]["receive"]["properties"]
    assert state["mode"]["enum"] == MODES

    # The published OpenAPI document (kept equal to the live one by tests/api) lists them.
    openapi = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]
    for model in ("SchemeModel", "SchemeOut", "SchemePatch"):
        assert openapi[model]["properties"]["mode"]["enum"] == MODES, model

    # The extension: popup.js takes the modes from the control schema, and its form and both
    # translations have exactly those.
    popup_js = (ROOT / "extension" / "src" / "popup.js").read_text(encoding="utf-8")
    assert re.search(r"const RECEIVE_MODES = schema\.\$defs\.request\.oneOf\.find\(.*'set_receive_mode'\)"
                     r"\s*\.properties\.mode\.enum", popup_js)
    popup_html = (ROOT / "extension" / "src" / "popup.html").read_text(encoding="utf-8")
    assert re.findall(r'<input type="radio" name="mode" value="([a-z_]+)"', popup_html) == MODES
    for lang in ("en", "ru"):
        messages = json.loads((ROOT / "extension" / "_locales" / lang / "messages.json").read_text(encoding="utf-8"))
        assert sorted(k[len("mode_"):] for k in messages if k.startswith("mode_")) == sorted(MODES), lang
    # The app's texts.
    for mode in MODES:
        assert f"mode.{mode}" in TEXTS and f"win.mode_help.{mode}" in TEXTS


def test_the_ring_timeout_limit_and_the_weekdays_are_the_pbxs():
    from tray.windows import forms

    assert protocol.max_ring_timeout_s() == forms.MAX_RING_TIMEOUT_S == ringplan.MAX_RING_TIMEOUT_S
    assert forms.WEEKDAYS == ringplan.WEEKDAYS
    assert list(forms.MODES) == MODES
    openapi = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]
    for model in ("DeviceModel", "DevicePatch"):
        timeout = openapi[model]["properties"]["ring_timeout_s"]
        assert (timeout["minimum"], timeout["maximum"]) == (0, ringplan.MAX_RING_TIMEOUT_S), model


def test_every_window_the_schema_names_has_its_module():
    from tray.windows.__main__ import WINDOWS

    assert sorted(WINDOWS) == sorted(protocol.window_names())



# The popup's words for what the tray menu also offers, by message name in extension/_locales.
POPUP_AS_MENU = {"receiveMode": "menu.receive_calls", "mode_main_only": "mode.main_only",
                 "mode_all_at_once": "mode.all_at_once", "mode_in_turn": "mode.in_turn",
                 "devices": "menu.my_numbers", "outgoingNumber": "menu.outgoing_number",
                 "outgoingDefault": "menu.pbx_default_number", "addNumber": "menu.add_number"}


def test_the_popup_says_what_the_tray_menu_says():
    """The popup's translations are a copy the browser reads; the words are the menu's."""
    for i, lang in enumerate(("en", "ru")):
        messages = json.loads((ROOT / "extension" / "_locales" / lang / "messages.json").read_text(encoding="utf-8"))
        assert {k: messages[k]["message"] for k in POPUP_AS_MENU} == \
            {k: TEXTS[app][i] for k, app in POPUP_AS_MENU.items()}, lang
