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


def test_talker_pbx_serve_in_its_own_process_answers_logins_and_refusals(api_process):
    # The other API tests run the same server on a thread of the test process; this one is the
    # command itself, opening the PBX from its data directory on each backend.
    boris = api_process.add_employee("102", "Boris Petrov")
    with api_process.as_(boris) as c:
        r = c.get("/me")
        assert r.status_code == 200 and r.json()["name"] == "Boris Petrov"
        assert c.get("/employees").status_code == 403
    with api_process.client() as c:
        assert c.get("/me").status_code == 401
