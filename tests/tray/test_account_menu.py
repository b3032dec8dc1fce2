"""The account in the tray menu: with none, the status says so plainly and "Log in…" is offered;
logged in, "Log out…" asks first (it opens the account window, whose own button logs out) and
sits apart from Quit. In English and Russian, with pystray's dummy backend."""

from __future__ import annotations

import time

import pytest

from common import i18n
from tests.support.tray import menu, start_app, texts, visible

pytestmark = pytest.mark.slow

WORDS = {
    "en": {"status": "Not logged in", "login": "Log in…", "logout": "Log out…", "quit": "Quit"},
    "ru": {"status": "Вход не выполнен", "login": "Войти…", "logout": "Выйти из аккаунта…", "quit": "Выход"},
}


def _before_quit(app, quit_text: str) -> str:
    items = visible(menu(app))
    index = [i.text for i in items].index(quit_text)
    return items[index - 1].text


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_with_no_account_the_menu_says_not_logged_in_and_offers_to_log_in(lang, monkeypatch):
    monkeypatch.setattr(i18n, "_language", lang)
    words = WORDS[lang]
    app = start_app()
    try:
        top = texts(menu(app))
        assert top[0] == words["status"]
        assert words["login"] in top and words["logout"] not in top
        assert _before_quit(app, words["quit"]) == "- - - -", "Quit must stand apart"
        assert app.icon.icon.title.endswith(words["status"])
    finally:
        app.shutdown()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_log_out_in_the_menu_asks_first_and_stands_apart_from_quit(lang, monkeypatch, pbx_api, logged_in):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = logged_in(anna)
    monkeypatch.setattr(i18n, "_language", lang)
    words = WORDS[lang]
    top = texts(menu(app))
    assert words["logout"] in top and words["login"] not in top
    assert _before_quit(app, words["quit"]) == "- - - -", "Quit must stand apart"
    [logout] = [i for i in visible(menu(app)) if i.text == words["logout"]]
    logout(app.icon.icon)
    time.sleep(1.0)  # a log-out straight from the menu would have ended the session by now
    assert app.pbx is not None and app.status()["registration"]["state"] == "registered"
