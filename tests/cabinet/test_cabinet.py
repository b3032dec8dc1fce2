"""The administrators' web cabinet, used in real Chromium against a real PBX (on SQLite and on
PostgreSQL): what an administrator, an employee and a stale form each get."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from pbx import settings
from pbx.db import ApiToken
from tests.cabinet.conftest import Cabinet
from tests.support.app import talker
from tests.support.peer import Peer

pytestmark = pytest.mark.slow


def sip_login(person) -> str:
    return f"{person.sip.username}@{person.sip.domain}"


def visible_rows(cabinet: Cabinet) -> list[str]:
    return cabinet.page.locator("#employee-list tbody tr:visible td:first-child").all_inner_texts()


def test_an_administrator_finds_an_employee_by_a_piece_of_the_mobile_and_gives_them_a_password(
        api, company, cabinet):
    cabinet.log_in(sip_login(company["admin"]), company["admin"].communicator_password)
    cabinet.page.wait_for_selector("#employee-search")
    assert visible_rows(cabinet) == ["Anna Ivanova", "Boris Petrov", "Vera Sidorova"]
    # Boris's mobile was typed as 8 (912) 345-67-89; a piece of it, typed as anyone would.
    cabinet.page.locator("#employee-search").press_sequentially("912 345", delay=30)
    expect(cabinet.page.locator("#employee-count")).to_have_text("1 of 3 employees")
    assert visible_rows(cabinet) == ["Boris Petrov"]

    cabinet.page.click("#employee-list >> text=Boris Petrov")
    cabinet.page.wait_for_selector("#card-form")
    cabinet.page.click("#generate-password")
    shown = cabinet.page.wait_for_selector("#new-password")
    cabinet.page.click("#generated button.copy")
    expect(cabinet.page.locator("#toast")).to_have_text("Copied")
    password = cabinet.clipboard()
    assert password == shown.input_value() and len(password) >= 12

    # The employee logs in to the real app with what was copied (by their mobile, as typed on a
    # card); the old password no longer opens anything.
    with api.pbx.sessions.begin() as s:  # what `talker-pbx run` tells the apps to register at
        settings.set_runtime(s, sip_proxy="127.0.0.1:5060")
    done = talker("--login", "8 912 345-67-89", "--pbx", api.url, stdin=password + "\n")
    assert done.returncode == 0, done.stderr
    with api.client() as anyone:
        old = anyone.post("/auth/login", json={"login": "102", "password": company["boris"].communicator_password})
    assert old.status_code == 401
    assert cabinet.problems == []


def test_an_administrator_registers_an_employee_takes_a_desk_phone_away_and_removes_them(api, company, cabinet):
    cabinet.log_in(sip_login(company["admin"]), company["admin"].communicator_password)
    cabinet.page.click("#register-employee")
    cabinet.page.fill("#new-name", "Galina Orlova")
    cabinet.page.fill("#new-extension", "104")
    cabinet.page.fill("#new-mobile", "+7 903 111-22-33")
    cabinet.page.click("#register-form button[type=submit]")
    cabinet.page.wait_for_selector("#created-password")
    cabinet.page.get_by_role("button", name=re.compile("Copy: Communicator password")).click()
    password = cabinet.clipboard()
    with api.client() as anyone:
        assert anyone.post("/auth/login", json={"login": "104", "password": password}).status_code == 200
    # Shown once: the card has no way to show it again.
    cabinet.page.click("#register-result a")
    cabinet.page.wait_for_selector("#password-box")
    assert password not in cabinet.page.content()

    galina = next(e for e in api.client(api.login("101", company["admin"].communicator_password)["access_token"])
                  .get("/employees").json() if e["extension"] == "104")
    cabinet.go(f"employees/{galina['id']}/telephony", "#add-sip-form")
    cabinet.page.fill("#new-sip-username", "7104")
    cabinet.page.click("#add-sip-form button[type=submit]")
    cabinet.page.wait_for_selector(".sip-account[data-username='7104']")
    assert cabinet.page.locator(".sip-account[data-username='104'] button.danger").count() == 0  # the app's own
    cabinet.page.click(".sip-account[data-username='7104'] button.danger")
    expect(cabinet.page.locator(".sip-account[data-username='7104']")).to_have_count(0)
    with api.as_(company["admin"]) as admin:
        assert admin.get(f"/employees/{galina['id']}").json()["sip_logins"] == ["104@pbx.local"]

    cabinet.go(f"employees/{galina['id']}/card", "#remove-employee")
    cabinet.page.click("#remove-employee")
    cabinet.page.wait_for_selector("#employee-list")
    assert "Galina Orlova" not in visible_rows(cabinet)
    with api.client() as anyone:
        assert anyone.post("/auth/login", json={"login": "104", "password": password}).status_code == 401
    assert cabinet.problems == []


def test_a_desk_phone_added_in_the_cabinet_rings_with_the_copied_credentials(
        pbx_api, kamailio, cabinet_on, tmp_path):
    api = pbx_api
    admin = api.add_employee("101", "Anna Ivanova", admin=True)
    boris = api.add_employee("102", "Boris Petrov")
    caller = api.add_employee("103", "Vera Sidorova")
    cabinet = cabinet_on(api)
    cabinet.log_in("101", admin.communicator_password)
    cabinet.go(f"employees/{boris.employee.id}/telephony", "#add-sip-form")
    cabinet.page.fill("#new-sip-username", "7102")
    cabinet.page.click("#add-sip-form button[type=submit]")
    cabinet.page.wait_for_selector("#sip-password-7102")

    box = cabinet.page.locator(".sip-account[data-username='7102']")
    box.get_by_role("button", name=re.compile("Copy: SIP address")).click()
    address = cabinet.clipboard()
    box.get_by_role("button", name=re.compile("Copy: SIP password")).click()
    password = cabinet.clipboard()
    assert address == "7102@pbx.local"

    username = address.split("@")[0]
    desk = Peer(kamailio, username, password, workdir=tmp_path)
    vera = Peer(kamailio, "103", caller.sip.password, workdir=tmp_path)
    try:
        desk.wait_registered(timeout=20)
        vera.wait_registered(timeout=20)
        vera.command("call", number="102")
        desk.wait_call("incoming", timeout=20)
        vera.command("hangup")
    finally:
        desk.stop()
        vera.stop()
    assert cabinet.problems == []


def test_an_employee_sees_only_their_own_card_and_a_forged_write_is_refused(api, company, cabinet):
    boris, vera = company["boris"], company["vera"]
    cabinet.log_in(sip_login(boris), boris.communicator_password)
    cabinet.page.wait_for_selector("#card-form")
    assert cabinet.page.url.endswith(f"#/employees/{boris.employee.id}/card")
    nav = cabinet.page.locator("#nav a").all_inner_texts()
    assert "My card" in nav and not {"Employees", "Numbers", "PBX settings"} & set(nav)
    assert cabinet.page.locator("#card-name").get_attribute("readonly") is not None
    # Asking for a colleague's card by its address brings back one's own.
    cabinet.open(f"employees/{vera.employee.id}/card")
    cabinet.page.wait_for_url(re.compile(f"#/employees/{boris.employee.id}/card$"))
    assert cabinet.page.locator("h1").inner_text() == "Boris Petrov"
    assert "Vera" not in cabinet.page.locator("main").inner_text()

    # What a forged request with the session's own token gets: the PBX decides, not the page.
    forged = cabinet.page.evaluate("""async (id) => {
        const token = JSON.parse(sessionStorage.getItem('talker.cabinet.session')).access_token;
        const send = (method, path, body) => fetch('/api/v1' + path, {method,
            headers: {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', 'If-Match': '*'},
            body: body && JSON.stringify(body)}).then(r => r.status);
        return [await send('GET', '/employees'), await send('PATCH', '/employees/' + id, {name: 'Hacked'}),
                await send('POST', '/employees/' + id + '/communicator-password'),
                await send('DELETE', '/employees/' + id)];
    }""", vera.employee.id)
    assert forged == [403, 403, 403, 403]
    with api.as_(company["admin"]) as admin:
        assert admin.get(f"/employees/{vera.employee.id}").json()["name"] == "Vera Sidorova"
    with api.client() as anyone:
        assert anyone.post("/auth/login", json={"login": "103", "password": vera.communicator_password}).status_code == 200


def test_a_stale_card_says_someone_else_changed_it_and_writes_nothing(api, company, cabinet):
    boris = company["boris"].employee
    cabinet.log_in(sip_login(company["admin"]), company["admin"].communicator_password)
    cabinet.go(f"employees/{boris.id}/card", "#card-form")
    # Someone else renames Boris between the form's load and its save.
    with api.as_(company["admin"]) as other:
        assert other.patch(f"/employees/{boris.id}", json={"name": "Boris Sergeevich Petrov"},
                           headers={"If-Match": "*"}).status_code == 200
    cabinet.page.fill("#card-name", "Boris P.")
    cabinet.page.fill("#card-mobile", "+7 999 000-11-22")
    cabinet.page.click("#card-form button[type=submit]")
    status = cabinet.page.wait_for_selector("#card-status:has-text('Changed by someone else')")
    assert status.inner_text().startswith("Changed by someone else — reload")
    with api.as_(company["admin"]) as admin:
        card = admin.get(f"/employees/{boris.id}").json()
    assert (card["name"], card["mobile"]) == ("Boris Sergeevich Petrov", "+79123456789")
    cabinet.page.click("#card-status button")  # Reload
    # (No wait_for_function here or anywhere: Playwright evaluates its string with eval, which the
    # cabinet's CSP refuses, as it should.)
    expect(cabinet.page.locator("#card-name")).to_have_value("Boris Sergeevich Petrov")


def test_settings_saved_over_a_stale_form_are_refused_in_russian_too(api, company, cabinet):
    cabinet.page.context.add_init_script("localStorage.setItem('talker.cabinet.lang', 'ru')")
    cabinet.log_in(sip_login(company["admin"]), company["admin"].communicator_password)
    cabinet.go("settings", "#settings-form")
    with api.as_(company["admin"]) as other:
        assert other.patch("/settings", json={"trunk": "127.0.0.1:5099"}, headers={"If-Match": "*"}).status_code == 200
    cabinet.page.fill("#settings-buy_numbers_url", "https://shop.example.com/numbers")
    cabinet.page.click("#settings-form button[type=submit]")
    cabinet.page.wait_for_selector("#settings-status:has-text('Изменено кем-то другим — обновите')")
    with api.as_(company["admin"]) as admin:
        assert admin.get("/settings").json()["buy_numbers_url"] == ""


def test_the_cabinet_is_served_with_a_strict_policy_and_no_inline_script(api):
    r = httpx.get(api.url + "/", timeout=10)
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert re.findall(r"<script[^>]*>", r.text) == ['<script type="module" src="/app.js">']
    assert "style=" not in r.text
    assert httpx.get(api.url + "/app.js", timeout=10).headers["content-security-policy"] == policy


def test_an_expired_access_token_is_renewed_without_logging_in_again(api, company, cabinet):
    cabinet.log_in(sip_login(company["admin"]), company["admin"].communicator_password)
    cabinet.page.wait_for_selector("#employee-list")
    before = cabinet.page.evaluate("JSON.parse(sessionStorage.getItem('talker.cabinet.session'))")
    # The access token runs out (its expiry moved into the past, as time would).
    with api.pbx.sessions.begin() as s:
        s.execute(update(ApiToken).where(ApiToken.kind == "access").values(expires_at=dt.datetime(2000, 1, 1)))
    cabinet.go("numbers", "#number-list, #add-number-form")
    after = cabinet.page.evaluate("JSON.parse(sessionStorage.getItem('talker.cabinet.session'))")
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # a refresh token is used once
    # Logging out ends the renewed session at the PBX too.
    cabinet.page.click("#logout")
    cabinet.page.wait_for_selector("form.login")
    with api.client(after["access_token"]) as client:
        assert client.get("/me").status_code == 401
    assert cabinet.page.evaluate("sessionStorage.getItem('talker.cabinet.session')") is None


def test_a_russian_cabinet_says_every_refusal_in_russian(api, company, cabinet):
    """The API's own messages are English: a Russian reader gets the app's sentences for their
    codes, with what they name (the number, its owner), and a field problem beside its field."""
    page = cabinet.page
    page.context.add_init_script("localStorage.setItem('talker.cabinet.lang', 'ru')")
    cabinet.open()
    page.fill("#login", sip_login(company["admin"]))
    page.fill("#password", "not-the-password")
    page.click("form.login button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Неверный логин или пароль.")

    cabinet.log_in(sip_login(company["admin"]), company["admin"].communicator_password)
    cabinet.go("employees/new", "#register-form")
    status = page.locator("#register-form p.error[role=alert]")
    page.fill("#new-name", "Галина Орлова")
    page.fill("#new-extension", company["boris"].sip.username)
    page.click("#register-form button[type=submit]")
    expect(status).to_have_text(f"Внутренний номер {company['boris'].sip.username} уже принадлежит "
                                f"сотруднику {company['boris'].employee.name}.")

    page.fill("#new-extension", "104")
    page.fill("#new-mobile", "12")
    page.click("#register-form button[type=submit]")
    expect(status).to_have_text("ВАТС не приняла эти значения; проблемы отмечены.")
    beside = page.locator("#register-form .field-error")
    expect(beside).to_have_count(1)
    assert re.search("[А-Яа-яЁё]", beside.inner_text()) and not re.search("[A-Za-z]{3}", beside.inner_text())
    # The browser logs each refused request (401, 409, 422) itself; nothing else went wrong.
    assert [p for p in cabinet.problems if "Failed to load resource" not in p] == []
