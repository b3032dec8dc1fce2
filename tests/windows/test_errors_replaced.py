"""An old error never stays beside a new one (issue 14), in every form window of the real app on
a real PBX, under Xvfb: a second submit replaces what the first one said, and changing a field
takes that field's error away. Before this, the login, new-employee and contact windows kept the
first refusal's sentence under a new "Fill this in.", and no window cleared a field's error
while the user corrected it."""

from __future__ import annotations

import pytest

from tests.windows.driver import WindowDriver

pytestmark = pytest.mark.slow

REQUIRED = "Fill this in."


def _said(w, predicate=lambda text: bool(text)) -> dict:
    return w.settled(lambda s: predicate(s["message"]["text"]))


def test_the_login_window_forgets_a_refusal_once_a_new_problem_or_a_fix_comes(windowed_app, pbx_api):
    pbx_api.add_employee("102", "Boris Petrov")
    app = windowed_app(None)
    w = WindowDriver.wait_for(app.hook_dir, "login")  # a first start opens it by itself
    w.set("pbx_url", pbx_api.url)
    w.set("login", "102")
    w.set("password", "not-the-password")
    w.invoke("submit")
    _said(w, lambda t: t == "Wrong login or password.")

    # The second submit is refused before it leaves the window: only its own problems show.
    w.set("login", "")
    w.invoke("submit")
    state = w.read()
    assert state["login_error"]["text"] == REQUIRED
    assert state["message"]["text"] == "", "the first refusal stayed beside the new one"

    # Typing into a field takes its error away.
    w.set("login", "102")
    w.set("password", "x")
    state = w.read()
    assert state["login_error"]["text"] == "" and state["password_error"]["text"] == ""

    # The same in the plain SIP account's half of the window.
    w.set("kind", "sip")
    w.invoke("submit")
    assert w.read()["sip_server_error"]["text"] == REQUIRED
    w.set("sip_server", "sip.example.com")
    assert w.read()["sip_server_error"]["text"] == ""


def test_the_new_employee_window_replaces_the_pbx_refusal_and_clears_what_is_fixed(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, wait_registered=False)
    w = app.open("employee")
    w.set("name", "Dmitry Orlov")
    w.set("extension", "101")
    w.invoke("save")
    state = _said(w)
    assert state["extension_error"]["text"] == "The extension 101 belongs to Anna Ivanova already."
    assert state["message"]["text"] == "The PBX did not accept this; the problems are marked:", \
        "the refusal beside the extension was said a second time under the form"

    w.set("name", "")
    w.invoke("save")
    state = w.read()
    assert state["name_error"]["text"] == REQUIRED
    assert state["message"]["text"] == "", "the PBX's first refusal stayed beside the new problem"
    assert state["extension_error"]["text"] == ""

    w.set("extension", "101")
    w.invoke("save")  # the name is still empty: refused in the window again
    w.set("name", "Dmitry Orlov")
    assert w.read()["name_error"]["text"] == ""
    w.set("extension", "104")
    w.invoke("save")
    w.settled(lambda s: "communicator_password" in s)


def test_the_contact_window_clears_a_corrected_number_and_an_old_refusal(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, wait_registered=False)
    c = app.open("contact", book="personal")
    c.set("name", "Reception")
    c.set("number", "no digits here")
    c.invoke("save")
    state = _said(c)
    assert state["number_error"]["text"], state

    c.set("number", "+7 495 111-22-33")
    assert c.read()["number_error"]["text"] == "", "a corrected field kept its error"
    c.set("name", "")
    c.invoke("save")
    state = c.read()
    assert state["name_error"]["text"] == REQUIRED
    assert state["message"]["text"] == "", "the PBX's first refusal stayed beside the new problem"
    c.set("name", "Reception")
    assert c.read()["name_error"]["text"] == ""


def test_the_dial_window_drops_its_error_when_the_number_is_edited(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, wait_registered=False)
    d = app.open("dial")
    d.settled()
    d.set("number", "abc")
    d.invoke("call")
    assert d.settled(lambda s: "abc" in s["error"]["text"])["error"]["text"] == \
        "Nobody called “abc” is in the company directory or your address books."
    d.set("number", "ab")
    assert d.read()["error"]["text"] == "", "the error stayed while the number was corrected"


def test_the_settings_window_drops_an_external_numbers_error_when_it_is_edited(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, wait_registered=False)
    s = app.open("settings")
    s.settled(lambda st: st.get("devices"))
    s.set("new_number", "123")
    s.invoke("add_number")
    assert s.read()["new_number_error"]["text"] == "“123” is not a full phone number."
    s.set("new_number", "+7 916 123-45-67")
    assert s.read()["new_number_error"]["text"] == "", "the error stayed while the number was corrected"
    s.invoke("add_number")
    assert len(s.read()["devices"]) == 2


def test_the_contacts_window_edits_without_an_old_refusal_beside_a_new_problem(windowed_app, pbx_api):
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    with pbx_api.as_(anna) as api:
        assert api.post("/contacts/personal", json={"name": "Reception", "number": "84951112233"}).status_code == 201
    app = windowed_app(anna, wait_registered=False)
    w = app.open("contacts")
    w.settled(lambda s: len(s["people"]) == 2)
    w.set("search", "Recep")
    w.settled(lambda s: len(s["people"]) == 1)
    w.select("people", 0)
    w.set("number", "no digits here")
    w.invoke("save")
    assert _said(w, lambda t: t.startswith("The PBX did not accept"))["number_error"]["text"]

    w.set("name", "")
    w.invoke("save")
    state = w.read()
    assert state["name_error"]["text"] == REQUIRED and state["number_error"]["text"] == ""
    assert state["message"]["text"] == "", "the PBX's first refusal stayed beside the new problem"
    w.set("name", "Reception")
    assert w.read()["name_error"]["text"] == ""
