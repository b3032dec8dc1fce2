from __future__ import annotations


def test_login_by_each_kind_and_read_me(api, company):
    for login in ("101@pbx.local", "101", "+7 916 123-45-67", "89161234567", "ANNA@example.com"):
        session = api.login(login, company["admin"].communicator_password)
        assert session["employee"]["extension"] == "101", login
        assert session["sip"]["username"] == "101"
        assert session["employee"]["administrator"] is True
    with api.as_(company["boris"]) as c:
        r = c.get("/me")
        assert r.status_code == 200 and r.json()["name"] == "Boris Petrov"
        assert r.headers["ETag"] == '"1"'
        assert c.get("/employees").status_code == 403
