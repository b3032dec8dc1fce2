"""The menu acts only through the app's action table, in the control protocol's own words: every
item a person can click asks for an action the control schema defines, with arguments the schema
accepts — the same request a window would send, so the menu keeps no write of its own.

The menu is driven through its seam (tray.menu.MenuModel) by a plain object holding the state an
administrator in a call sees, so that every kind of item is on screen at once (pystray's dummy
backend; no app, no PBX: what the actions then do is tested in tests/tray/test_menu.py)."""

from __future__ import annotations

import webbrowser

from common.protocol import validate_request
from tests.support.tray import dummy_pystray, visible
from tray.icon import IconState
from tray.menu import TrayMenu
from tray.sip.engine import CallEvent, CallState

PBX = "https://pbx.example.com"


class AdministratorInTwoCalls:
    """A MenuModel: logged in as an administrator, one call ringing and one connected."""

    pbx_url = PBX

    def __init__(self):
        self.requests: list[dict] = []

    def icon_state(self):
        return IconState("in_call", "101@pbx.local", "In a call with Boris")

    def recent_calls(self, limit):
        return [{"number": "102", "name": "Boris Petrov", "direction": "in", "outcome": "missed",
                 "answered": False, "at": "2026-12-04T10:00:00+00:00"},
                {"number": "+74951112233", "name": "", "direction": "out", "outcome": "answered",
                 "answered": True, "at": "2026-12-04T09:00:00+00:00"}][:limit]

    def missed_calls(self):
        return [{"number": "102", "name": "Boris Petrov", "at": "2026-12-04T10:00:00+00:00", "outcome": "missed"}]

    def calls(self):
        return [CallEvent("c1", "in", CallState.INCOMING, "103", "Vera", None, None),
                CallEvent("c2", "out", CallState.CONNECTED, "102", "Boris", None, None, muted=True)]

    def pbx_state(self):
        return {"available": True, "stale": False, "reason": None,
                "employee": {"name": "Anna", "administrator": True},
                "receive": {"mode": "all_at_once",
                            "devices": [{"id": "sip-1", "label": "SIP account 101", "active": True}]},
                "outgoing": {"selected_id": None, "buy_url": PBX + "/numbers",
                             "numbers": [{"id": 7, "number": "+74951112233", "label": "Office"}]}}

    def audio_devices_state(self):
        devices = [{"name": "usb", "description": "USB headset"}]
        return {"microphone": {"device": None, "present": True, "devices": devices},
                "speaker": {"device": "gone", "present": False, "devices": devices},
                "ringer": {"device": "usb", "present": True, "devices": devices},
                "options": {"ring_silently": False, "echo_cancellation": True}}

    def do(self, action, **args):
        self.requests.append({"id": "1", "action": action, **args})


def _click_everything(menu, icon) -> int:
    clicked = 0
    for item in visible(menu):
        if item.text == "- - - -" or not item.enabled:
            continue
        if hasattr(item._action, "items"):
            clicked += _click_everything(item._action, icon)
        else:
            item(icon)
            clicked += 1
    return clicked


def test_every_menu_item_sends_a_request_the_control_protocol_accepts(monkeypatch):
    pystray = dummy_pystray()
    opened: list[str] = []
    # The OS browser is the one thing not started here.
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **kw: opened.append(url) or True)
    model = AdministratorInTwoCalls()
    icon = pystray.Icon("test", menu=TrayMenu(model).build())

    clicked = _click_everything(icon.menu, icon)

    assert clicked == len(model.requests) + len(opened)
    for request in model.requests:
        problem = validate_request(request)
        assert problem is None, f"the menu sent {request}: {problem.detail}"
    asked = {r["action"] for r in model.requests}
    assert asked == {"open_window", "call", "answer", "decline", "hangup", "mute", "hold", "set_receive_mode",
                     "set_device_active", "set_outgoing_number", "set_audio_device", "set_audio_option",
                     "mark_missed_seen", "set_do_not_disturb", "quit"}
    # Logging out asks first: the menu opens the account window, whose own button logs out.
    assert {"action": "open_window", "id": "1", "window": "login"} in model.requests
    assert {"action": "mute", "id": "1", "call_id": "c2", "on": False} in model.requests  # it was muted
    assert opened == [PBX + "/numbers", PBX + "/"]
