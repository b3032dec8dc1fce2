"""The first start and the account, as a person meets them on a real X display, in English and
Russian: with no account the login window opens by itself, a call leads back to it with a
sentence (never a terminal command), a plain SIP account can be set up in it; logged in, the
same window shows who and logs out only when asked; Quit closes every window."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_until
from tests.windows.driver import WindowDriver

pytestmark = pytest.mark.slow

WORDS = {
    "en": {"title": "Talker — Log in",
           "no_account": "You are not logged in: log in to your company's PBX in the window that opened.",
           "saved": "Saved: Talker registers as {account}.",
           "signed_in": "Logged in as Anna Ivanova (101), 101@pbx.local.",
           "logged_out": "You have logged out."},
    "ru": {"title": "Talker — Вход",
           "no_account": "Вход не выполнен: войдите в ВАТС вашей компании в открывшемся окне.",
           "saved": "Сохранено: Talker регистрируется как {account}.",
           "signed_in": "Вход выполнен: Anna Ivanova (101), 101@pbx.local.",
           "logged_out": "Вы вышли из аккаунта."},
}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_first_start_opens_the_login_window_and_a_plain_sip_account_can_be_set_up_there(
        lang, windowed_app, kamailio):
    words = WORDS[lang]
    vera = kamailio.add_employee("103", "Vera Sidorova")
    app = windowed_app(None, lang=lang)
    first = WindowDriver.wait_for(app.hook_dir, "login")
    assert first.read()["title"] == words["title"]

    dial = app.open("dial")
    dial.set("number", "102")
    dial.invoke("call")
    said = dial.settled(lambda s: s["error"]["text"] and not s["error"]["text"].startswith(("Calling", "Звоним")))
    assert said["error"]["text"] == words["no_account"]
    assert "talker --" not in said["error"]["text"]
    again = WindowDriver.wait_for(app.hook_dir, "login", known={first.path})
    again.close()

    first.set("kind", "sip")
    first.set("sip_server", kamailio.server)
    first.set("sip_user", vera.username)  # the domain is the server's unless given
    first.set("sip_password", "not-the-password")
    first.invoke("submit")
    account = f"{vera.username}@{kamailio.server.rsplit(':', 1)[0]}"
    assert first.settled(lambda s: s["message"]["text"])["message"]["text"] == words["saved"].format(account=account)
    wait_until(lambda: not first.alive(), 10, 0.1, "the login window to close")

    # A wrong domain or password is the registrar's to refuse; with the right ones it registers.
    w = app.open("login")
    assert w.settled(lambda s: s["account"]["mapped"])["account"]["text"].endswith(account + ".")
    w.invoke("logout")
    w.settled(lambda s: s["submit"]["mapped"])
    w.set("kind", "sip")
    w.set("sip_server", kamailio.server)
    w.set("sip_user", f"{vera.username}@{vera.domain}")
    w.set("sip_password", vera.password)
    w.invoke("submit")
    w.settled(lambda s: s["message"]["text"])
    status = app.app.wait_registered()
    assert status["registration"]["account"] == f"{vera.username}@{vera.domain}"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_logged_in_the_login_window_shows_the_account_and_logs_out_only_when_asked(lang, windowed_app, pbx_api):
    words = WORDS[lang]
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, lang=lang)
    w = app.open("login")
    state = w.settled(lambda s: s["account"]["mapped"] and s["logout"]["mapped"])
    assert state["account"]["text"] == words["signed_in"]
    assert not state["submit"]["mapped"]
    assert app.request("pbx_state")["available"] is True  # opening it asked, nothing more

    w.invoke("logout")
    state = w.settled(lambda s: s["message"]["text"] and s["submit"]["mapped"])  # mapped once Tk has drawn it
    assert state["message"]["text"] == words["logged_out"]
    assert not state["logout"]["mapped"]
    assert app.request("pbx_state")["available"] is False
    assert app.request("status")["registration"]["account"] is None


def test_quit_closes_every_open_window(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, wait_registered=False)
    windows = [app.open("dial"), app.open("settings")]
    assert all(w.alive() for w in windows)
    assert app.app.quit() == 0
    wait_until(lambda: not any(w.alive() for w in windows), 10, 0.1, "the windows to close with the app")
