"""The login, new-employee, add-contact, dial and incoming-call windows against the real app, a
real PBX and a real phone, on a private X display."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_until
from tests.windows.driver import WindowDriver

pytestmark = pytest.mark.slow


def _message(w, predicate=lambda text: bool(text)) -> str:
    return w.settled(lambda s: predicate(s["message"]["text"]))["message"]["text"]


def test_the_login_window_says_why_a_login_fails_and_logs_in(windowed_app, pbx_api):
    pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    boris = pbx_api.add_employee("102", "Boris Petrov", email="boris@example.com")
    app = windowed_app(None)
    assert app.request("pbx_state")["available"] is False
    settings = app.open("settings")
    assert _message(settings) == "Not logged in to a Talker PBX: receive schemes and numbers are unavailable."
    settings.close()
    w = WindowDriver.wait_for(app.hook_dir, "login")  # opened by itself: this is the first start

    w.invoke("submit")
    state = w.read()
    assert state["pbx_url_error"]["text"] == "Fill this in." and state["password_error"]["text"] == "Fill this in."

    w.set("pbx_url", "127.0.0.1:1")
    w.set("login", "boris@example.com")
    w.set("password", "secret")
    w.invoke("submit")
    text = _message(w, lambda t: "cannot be reached" in t)
    assert text.startswith("The PBX at http://127.0.0.1:1 cannot be reached (")
    assert w.read()["pbx_url"] == "http://127.0.0.1:1"

    w.set("pbx_url", pbx_api.url)
    w.set("password", "not-the-password")
    w.invoke("submit")
    assert _message(w, lambda t: "Wrong" in t) == "Wrong login or password."
    assert w.read()["password"] == ""  # typed again, not kept

    # Someone guessing at Anna's account locks it; the window says for how long.
    for _ in range(6):
        w.set("login", "101")
        w.set("password", "guess")
        w.invoke("submit")
        text = _message(w, lambda t: t and not t.startswith("Logging in"))
    assert text.startswith("Too many failed logins: try again in ")

    w.set("login", "boris@example.com")
    w.set("password", boris.communicator_password)
    w.invoke("submit")
    assert _message(w, lambda t: t.startswith("Logged in")) == \
        f"Logged in as Boris Petrov (102) at {pbx_api.url}."
    wait_until(lambda: not w.alive(), 10, 0.1, "the login window to close")
    state = wait_until(lambda: (s := app.request("pbx_state"))["available"] and not s["stale"] and s, 15, 0.1,
                       "the PBX state")
    assert state["employee"]["name"] == "Boris Petrov"
    app.app.wait_registered()


def test_a_new_employee_gets_credentials_shown_once_and_a_contact_joins_the_company_book(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, wait_registered=False)

    w = app.open("employee")
    w.set("name", "Dmitry Orlov")
    w.set("extension", "104")
    w.set("mobile", "8 916 000-11-22")
    w.set("email", "not an address")
    w.set("administrator", True)
    w.invoke("save")
    assert _message(w) == "The PBX did not accept this; the problems are marked:"
    assert w.read()["email_error"]["text"] == "This is not an e-mail address."
    w.set("email", "dmitry@example.com")
    w.invoke("save")
    state = w.settled(lambda s: "communicator_password" in s)
    assert state["sip_login"] == "104@pbx.local"
    assert state["shown_once"]["text"].startswith("The communicator password is shown only this once")
    w.invoke("copy_communicator_password")
    assert w.read()["copied"]["text"].startswith("Copied.")
    session = pbx_api.login("dmitry@example.com", state["communicator_password"])
    assert session["employee"]["administrator"] is True and session["employee"]["mobile"] == "+79160001122"
    assert session["sip"]["password"] == state["sip_password"]

    again = app.open("employee")
    again.set("name", "Another Dmitry")
    again.set("extension", "104")
    again.invoke("save")
    _message(again)
    assert again.read()["extension_error"]["text"] == "The extension 104 belongs to Dmitry Orlov already."
    assert again.alive()

    c = app.open("contact", book="company")
    c.set("number", "+7 495 111-22-33")
    c.invoke("save")
    assert c.read()["name_error"]["text"] == "Fill this in."
    c.set("name", "Reception")
    c.set("note", "front desk")
    c.invoke("save")
    assert _message(c).startswith("Added: Reception (+74951112233).")
    with pbx_api.as_(anna) as api:
        book = api.get("/contacts/company").json()
    assert [(e["name"], e["number"], e["note"]) for e in book] == [("Reception", "+74951112233", "front desk")]


def test_dial_by_typing_then_answer_an_incoming_call_in_its_window(windowed_app, pbx_api, kamailio, peers, xsession):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    boris = peers(kamailio, "102", "Boris Petrov")
    app = windowed_app(anna)
    w = app.open("dial")
    w.settled()
    window = wait_until(lambda: xsession.find(name="Talker — Call"), 10, 0.1, "the dial window")[0]

    # Typed on the keyboard, as a user would.
    xsession.xdotool("windowfocus", "--sync", window)
    xsession.xdotool("type", "--delay", "20", "abc")
    xsession.xdotool("key", "Return")
    error = w.settled(lambda s: "abc" in s["error"]["text"])["error"]["text"]
    assert error == "Nobody called “abc” is in the company directory or your address books."
    w.set("number", "")
    xsession.xdotool("type", "--delay", "20", "102")
    xsession.xdotool("key", "Return")
    boris.wait_call("incoming")
    state = w.settled(lambda s: s["call_party"]["text"])
    assert state["call_party"]["text"] == "Boris Petrov (102)"
    boris.command("answer")
    w.settled(lambda s: s["call_state"]["text"].startswith("In a call with Boris Petrov (102)"))
    mark = boris.mark()
    w.invoke("hangup")
    boris.wait_call("ended", after=mark)
    w.settled(lambda s: s["call_state"]["text"] == "The call has ended.")
    recent = w.settled(lambda s: s["recent"])["recent"]
    assert recent[0][:2] == ["↗ outgoing", "Boris Petrov (102)"]
    mark = boris.mark()
    w.set("number", "")
    w.select("recent", 0)
    w.invoke("call_back")
    boris.wait_call("incoming", after=mark)
    assert w.read()["number"] == "102"
    w.settled(lambda s: s["hangup"]["mapped"])
    w.invoke("hangup")
    boris.wait_call("ended", after=mark)

    # Boris calls back; the incoming-call window answers.
    mark = boris.mark()
    boris.command("call", number="101")
    wait_until(lambda: any(c["state"] == "incoming" for c in app.request("status")["calls"]), 10, 0.1,
               "the incoming call")
    incoming = app.open("incoming")
    state = incoming.settled(lambda s: s["answer"]["mapped"])  # on screen, with Answer to click
    assert state["call_state"]["text"] == "Incoming call from Boris Petrov (102)"
    assert state["decline"]["mapped"] and not state["hangup"]["mapped"]
    assert xsession.find(name="Talker — Incoming call")
    incoming.invoke("answer")
    boris.wait_call("connected", after=mark)
    incoming.settled(lambda s: s["hangup"]["mapped"] and s["call_state"]["text"].startswith("In a call"))
    boris.command("hangup")
    wait_until(lambda: not incoming.alive(), 10, 0.1, "the incoming-call window to close")
