"""Logging in, staying logged in and being logged out, as the app sees it over HTTP."""

from __future__ import annotations

from tests.api.helpers import error_of

WRONG = {"code": "invalid_credentials", "message": "Wrong login or password."}


def test_each_kind_of_login_opens_the_session_and_a_wrong_one_gets_the_same_401(api, company):
    boris, vera = company["boris"], company["vera"]
    # Boris was created with the mobile "8 (912) 345-67-89" and the e-mail "Boris@Example.com".
    logins = ["102@pbx.local", "102@PBX.LOCAL", "102", " 102 ",
              "+79123456789", "+7 912 345-67-89", "8 (912) 345-67-89", "89123456789", "8-912-345-67-89",
              "boris@example.com", "BORIS@EXAMPLE.COM", "Boris@Example.com"]
    for login in logins:
        session = api.login(login, boris.communicator_password)
        assert session["employee"]["id"] == boris.employee.id, login
        assert session["sip"]["username"] == "102" and session["sip"]["domain"] == "pbx.local", login
        assert session["sip"]["password"] == boris.sip.password, login
        assert session["token_type"] == "bearer" and session["expires_in"] > 0, login
        with api.client(session["access_token"]) as c:
            assert c.get("/me").json()["extension"] == "102", login

    with api.client() as c:
        answers = [
            c.post("/auth/login", json={"login": "102", "password": "wrong-password"}),
            c.post("/auth/login", json={"login": "102", "password": vera.communicator_password}),
            c.post("/auth/login", json={"login": "boris@example.com", "password": boris.communicator_password[:-1]}),
            c.post("/auth/login", json={"login": "999", "password": boris.communicator_password}),
            c.post("/auth/login", json={"login": "nobody@example.com", "password": "x"}),
            c.post("/auth/login", json={"login": "+7 999 000-00-00", "password": "x"}),
            c.post("/auth/login", json={"login": "102@other.example", "password": boris.communicator_password}),
        ]
    for r in answers:
        error = error_of(r, 401)
        # Whether the login exists must not show: same code, same sentence.
        assert {k: error[k] for k in WRONG} == WRONG, r.text
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "access_token" not in r.text


def test_repeated_failures_lock_the_login_even_for_the_right_password(api, company):
    boris, vera = company["boris"], company["vera"]
    # Five guesses at Boris's password, each spelling his login another way: the lock is on
    # Boris, not on one spelling (a mobile number alone has endless spellings).
    spellings = ["102@pbx.local", "102", "+79123456789", "8 (912) 345-67-89", "BORIS@example.com"]
    earlier = api.login("102", boris.communicator_password)
    with api.client() as c:
        for attempt, login in enumerate(spellings):
            r = c.post("/auth/login", json={"login": login, "password": f"guess-{attempt}"})
            assert error_of(r, 401)["code"] == "invalid_credentials", (attempt, login)
        r = c.post("/auth/login", json={"login": "89123456789", "password": boris.communicator_password})
        error = error_of(r, 429)
        assert error["code"] == "login_locked"
        retry = int(r.headers["Retry-After"])
        assert 0 < retry <= 15 * 60
        assert error["retry_after_s"] == retry and f"{retry} s" in error["message"]
        assert "access_token" not in r.text
        r = c.post("/auth/login", json={"login": "102@pbx.local", "password": boris.communicator_password})
        assert error_of(r, 429)["code"] == "login_locked"
        # A colleague at the same address is not locked out by Boris's failures.
        assert c.post("/auth/login", json={"login": "103", "password": vera.communicator_password}).status_code == 200

        # A login that names nobody locks the same way: otherwise the lock itself would tell
        # which numbers belong to an employee.
        nobody = ["+7 999 000-11-22", "89990001122", "8 (999) 000 11 22", "+79990001122", "8-999-000-11-22"]
        for attempt, login in enumerate(nobody):
            r = c.post("/auth/login", json={"login": login, "password": f"guess-{attempt}"})
            assert error_of(r, 401)["code"] == "invalid_credentials", (attempt, login)
        r = c.post("/auth/login", json={"login": "+7 (999) 0001122", "password": "guess"})
        assert error_of(r, 429)["code"] == "login_locked"
        assert int(r.headers["Retry-After"]) > 0

    # The lock stops guessing; it does not end the session Boris already had.
    with api.client(earlier["access_token"]) as c:
        assert c.get("/me").status_code == 200


def test_refresh_rotates_logout_revokes_and_a_new_password_ends_every_session(api, company):
    boris = company["boris"]
    first = api.login("102", boris.communicator_password)
    other_device = api.login("102", boris.communicator_password)
    with api.client() as anonymous:
        r = anonymous.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert r.status_code == 200, r.text
        second = r.json()
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] != first["refresh_token"]
        assert second["employee"]["id"] == boris.employee.id and second["sip"]["username"] == "102"
        # The refresh token is used up: a replayed one gets nothing.
        replay = anonymous.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert error_of(replay, 401)["code"] == "session_expired"
    with api.client(second["access_token"]) as c:
        assert c.get("/me").status_code == 200
        r = c.post("/auth/logout", json={"refresh_token": second["refresh_token"]})
        assert r.status_code == 204, r.text
        assert error_of(c.get("/me"), 401)["code"] == "invalid_token"
    with api.client() as anonymous:
        r = anonymous.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert error_of(r, 401)["code"] == "session_expired"
    # Logging out of one session leaves the others alone.
    with api.client(other_device["access_token"]) as c:
        assert c.get("/me").status_code == 200

    # A new communicator password ends every session the old one opened, and only those.
    sessions = [api.login("102", boris.communicator_password), api.login("89123456789", boris.communicator_password)]
    vera_session = api.login("103", company["vera"].communicator_password)
    with api.as_(company["admin"]) as admin:
        r = admin.post(f"/employees/{boris.employee.id}/communicator-password")
        assert r.status_code == 200, r.text
        new_password = r.json()["communicator_password"]
        assert new_password != boris.communicator_password and len(new_password) >= 12
    for session in [*sessions, other_device]:
        with api.client(session["access_token"]) as c:
            assert error_of(c.get("/me"), 401)["code"] == "invalid_token"
    for session in sessions:
        with api.client() as c:
            r = c.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
            assert error_of(r, 401)["code"] == "session_expired"
    with api.client() as c:
        r = c.post("/auth/login", json={"login": "102", "password": boris.communicator_password})
        assert error_of(r, 401)["code"] == "invalid_credentials"
    assert api.login("102", new_password)["employee"]["id"] == boris.employee.id
    with api.client(vera_session["access_token"]) as c:
        assert c.get("/me").status_code == 200
