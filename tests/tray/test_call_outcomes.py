"""How each outgoing call went, in the tray menu's recent calls and the dial window's list
(tray/history.py), after real calls through Kamailio: answered, not answered (the caller gave
up), declined by the callee, and failed with the reason in the user's language — never all
alike as "outgoing"."""

from __future__ import annotations

import pytest

from common import i18n
from common.control_client import ControlClient
from tests.support.processes import wait_until
from tests.support.tray import find, menu, texts
from tray.windows.forms import recent_row

pytestmark = pytest.mark.slow

MENU = {
    "en": ["↗ 999 — failed: there is no such number",
           "↗ Vera Orlova (103) — failed: nobody can take the call now",
           "↗ Boris Petrov (102) — not answered",
           "↗ Boris Petrov (102) — declined",
           "↗ Boris Petrov (102)"],
    "ru": ["↗ 999 — не удалось: такого номера нет",
           "↗ Vera Orlova (103) — не удалось: сейчас никто не может принять звонок",
           "↗ Boris Petrov (102) — без ответа",
           "↗ Boris Petrov (102) — отклонён",
           "↗ Boris Petrov (102)"],
}
WINDOW = {
    "en": ["↗ failed: there is no such number", "↗ failed: nobody can take the call now", "↗ not answered",
           "↗ declined", "↗ outgoing"],
    "ru": ["↗ не удалось: такого номера нет", "↗ не удалось: сейчас никто не может принять звонок",
           "↗ без ответа", "↗ отклонён", "↗ исходящий"],
}


def _ended(app, count: int) -> None:
    wait_until(lambda: len(app.recent_calls(10)) >= count and not app.call_list.any(), 20, 0.05,
               f"call {count} to end")


def test_outgoing_calls_show_how_they_went(kamailio, pbx_api, peers, logged_in, monkeypatch):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    kamailio.add_employee("103", "Vera Orlova")   # no phone registered: the PBX answers 480
    boris = peers(kamailio, "102", "Boris Petrov")
    app = logged_in(anna)
    with ControlClient.connect(client="test") as c:
        c.request("call", target="102")                     # answered, then hung up
        boris.wait_call("incoming")
        boris.command("answer")
        boris.wait_call("connected")
        c.request("hangup")
        _ended(app, 1)
        mark = boris.mark()
        c.request("call", target="102")                     # declined by Boris
        boris.wait_call("incoming", after=mark)
        boris.command("decline")
        _ended(app, 2)
        mark = boris.mark()
        c.request("call", target="102")                     # Anna gives up while it rings
        boris.wait_call("incoming", after=mark)
        c.request("hangup")
        _ended(app, 3)
        c.request("call", target="103")
        _ended(app, 4)
        c.request("call", target="999")
        _ended(app, 5)

    for lang in ("en", "ru"):
        monkeypatch.setattr(i18n, "_language", lang)
        title = "Recent calls" if lang == "en" else "Недавние звонки"
        assert texts(find(menu(app), title)._action)[:5] == MENU[lang]
        assert [recent_row(e)[0] for e in app.recent_calls(5)] == WINDOW[lang]
