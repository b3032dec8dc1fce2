"""Employees' cards as an administrator manages them over HTTP: creating one, reading and
changing a card under If-Match, the refusals (and that a refusal changes nothing), credentials,
and where the communicator password may and may not appear."""

from __future__ import annotations

from pbx import directory
from tests.api.helpers import Snapshot, audit_log, error_of, fields_of, last_audit_id, recording_client


def _employee(admin, employee_id: int) -> tuple[dict, str]:
    r = admin.get(f"/employees/{employee_id}")
    assert r.status_code == 200, r.text
    return r.json(), r.headers["ETag"]


def test_a_new_employee_gets_sip_credentials_and_a_one_time_password_that_works(api, company):
    seen: list[tuple[str, str]] = []
    admin_session = api.login("101", company["admin"].communicator_password)
    with recording_client(api, admin_session["access_token"], seen) as admin:
        start = last_audit_id(admin)
        r = admin.post("/employees", json={"name": "  Galina   Orlova ", "extension": "104",
                                           "mobile": "+7 (916) 555-12-34", "email": "Galina.Orlova@Example.COM"})
        assert r.status_code == 201, r.text
        created = r.json()
        card, sip, password = created["employee"], created["sip"], created["communicator_password"]
        assert r.headers["Location"] == f"/api/v1/employees/{card['id']}"
        assert r.headers["ETag"] == f'"{card["version"]}"'
        # What was typed comes back in its normal form.
        assert (card["name"], card["extension"], card["mobile"], card["email"]) == (
            "Galina Orlova", "104", "+79165551234", "galina.orlova@example.com")
        assert card["administrator"] is False and card["sip_logins"] == ["104@pbx.local"]
        assert card["communicator_password_set"] is True and card["communicator_password_set_at"]
        assert (sip["username"], sip["domain"]) == ("104", "pbx.local") and len(sip["password"]) >= 12
        assert len(password) >= 12 and password != sip["password"]

        # The one-time password is the employee's login, by every kind of login.
        for login in ("104@pbx.local", "+79165551234", "GALINA.ORLOVA@example.com"):
            session = api.login(login, password)
            assert session["employee"]["id"] == card["id"]
            assert session["sip"]["username"] == "104" and session["sip"]["password"] == sip["password"]

        # The card reads back the same, with its ETag.
        r = admin.get(f"/employees/{card['id']}")
        assert r.status_code == 200 and r.json() == card and r.headers["ETag"] == f'"{card["version"]}"'
        assert card["id"] in [e["id"] for e in admin.get("/employees").json()]
        assert "Galina Orlova" in [e["name"] for e in admin.get("/directory").json()]

        # An administrator reads the SIP password in clear; the communicator password only as
        # "set", since only its hash is kept.
        r = admin.get(f"/employees/{card['id']}/credentials")
        assert r.status_code == 200, r.text
        credentials = r.json()
        assert credentials["sip"] == [sip]
        assert credentials["communicator_password_set"] is True
        assert credentials["communicator_password_set_at"] == card["communicator_password_set_at"]

        # A new password: shown once, the old one stops working.
        r = admin.post(f"/employees/{card['id']}/communicator-password")
        assert r.status_code == 200, r.text
        rotated = r.json()["communicator_password"]
        assert rotated != password
        with api.client() as anonymous:
            r = anonymous.post("/auth/login", json={"login": "104", "password": password})
            assert error_of(r, 401)["code"] == "invalid_credentials"
        api.login("104", rotated)

        entries = audit_log(admin, start)
        actions = [(e["action"], e["resource_id"], e["actor"]) for e in entries if e["action"] != "login"]
        assert ("employee.create", card["id"], "Anna Ivanova") in actions
        assert ("employee.credentials.read", card["id"], "Anna Ivanova") in actions
        assert ("employee.communicator_password", card["id"], "Anna Ivanova") in actions

    # The communicator password is shown when it is generated and never again: not in any
    # other answer, not in the audit log, not in the server's log.
    for secret, shown_by in ((password, "POST /api/v1/employees"),
                             (rotated, f"POST /api/v1/employees/{card['id']}/communicator-password")):
        where = [request for request, text in seen if secret in text]
        assert where == [shown_by], f"the communicator password appeared in: {where}"
        assert secret not in str(entries)
        assert secret not in api.log_path.read_text(errors="replace")
    assert len(seen) >= 10  # the hook did record the exchanges


def test_a_card_changes_only_under_if_match_and_a_stale_write_changes_nothing(api, company):
    boris_id = company["boris"].employee.id
    with api.as_(company["admin"]) as admin:
        card, etag = _employee(admin, boris_id)
        assert etag == f'"{card["version"]}"'

        before = Snapshot(admin)
        r = admin.patch(f"/employees/{boris_id}", json={"name": "Boris Without Etag"})
        assert error_of(r, 428)["code"] == "if_match_required"
        for stale in ('"0"', f'"{card["version"] + 1}"', '"not-a-version"'):
            r = admin.patch(f"/employees/{boris_id}", json={"name": "Boris Stale"}, headers={"If-Match": stale})
            assert error_of(r, 412)["code"] == "stale_version", stale
        before.assert_unchanged("PATCH without or with a stale If-Match")

        r = admin.patch(f"/employees/{boris_id}", json={"name": "Boris Petrovich", "email": None},
                        headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        changed = r.json()
        assert changed["name"] == "Boris Petrovich" and changed["email"] is None
        assert changed["mobile"] == card["mobile"]  # what was not sent stays
        assert changed["version"] == card["version"] + 1 and r.headers["ETag"] == f'"{changed["version"]}"'

        # Someone else's write, made with the card as it was before, is refused as a whole.
        before = Snapshot(admin)
        r = admin.patch(f"/employees/{boris_id}", json={"name": "Lost Update", "mobile": "+79160000000"},
                        headers={"If-Match": etag})
        assert error_of(r, 412)["code"] == "stale_version"
        before.assert_unchanged("PATCH with the ETag of an older version")
        assert _employee(admin, boris_id)[0] == changed

        # An employee who does not exist is a 404, and nothing changes either.
        before = Snapshot(admin)
        for method, path in (("GET", "/employees/999999"), ("GET", "/employees/999999/credentials"),
                             ("POST", "/employees/999999/communicator-password"),
                             ("PUT", "/groups/administrators/members/999999")):
            assert error_of(admin.request(method, path), 404)["code"] == "not_found", path
        r = admin.patch("/employees/999999", json={"name": "Nobody"}, headers={"If-Match": "*"})
        assert error_of(r, 404)["code"] == "not_found"
        before.assert_unchanged("writes to an employee who does not exist")

    # Boris's own view of himself follows the card.
    with api.as_(company["boris"]) as boris:
        r = boris.get("/me")
        assert r.json()["name"] == "Boris Petrovich" and r.headers["ETag"] == f'"{changed["version"]}"'


def test_a_duplicate_is_409_a_malformed_field_is_422_with_reasons_and_neither_changes_anything(api, company):
    boris_id, vera = company["boris"].employee.id, company["vera"]
    # Vera has a second SIP login, 150 (a desk phone): nobody else may get 150 as an extension,
    # since an extension is a SIP login too.
    with api.pbx.sessions.begin() as s:
        account = directory._sip_account(api.pbx, "150", "desk-phone-password")
        account.employee_id = vera.employee.id
        s.add(account)

    with api.as_(company["admin"]) as admin:
        before = Snapshot(admin)
        new = {"name": "Someone New", "extension": "151"}
        # Boris has 102, boris@example.com and +79123456789: taken however they are written.
        for clash, code in (({"extension": "102"}, "extension_taken"),
                            ({"extension": " 102 "}, "extension_taken"),
                            ({"email": "BORIS@example.com"}, "email_taken"),
                            ({"mobile": "8 912 345-67-89"}, "mobile_taken"),
                            ({"mobile": "+79123456789"}, "mobile_taken")):
            r = admin.post("/employees", json={**new, **clash})
            assert error_of(r, 409)["code"] == code, clash
            r = admin.patch(f"/employees/{vera.employee.id}", json=clash, headers={"If-Match": "*"})
            assert error_of(r, 409)["code"] == code, clash

        cases = [
            ({"email": "not-an-e-mail"}, {"email": "invalid_email"}),
            ({"email": "two@@example.com"}, {"email": "invalid_email"}),
            ({"mobile": "call me maybe"}, {"mobile": "invalid_number"}),
            ({"mobile": "12"}, {"mobile": "invalid_number"}),
            ({"mobile": "+7 912"}, {"mobile": "invalid_number"}),
            ({"extension": "1"}, {"extension": "invalid_extension"}),
            ({"extension": "1234567"}, {"extension": "invalid_extension"}),
            ({"extension": "10a"}, {"extension": "invalid_extension"}),
            ({"extension": "150"}, {"extension": "extension_clash"}),
            ({"name": "   "}, {"name": "required"}),
            ({"name": ""}, {"name": "string_too_short"}),
            # Every reason at once, so that the form can mark every field.
            ({"email": "nope", "mobile": "nope", "extension": "x"},
             {"email": "invalid_email", "mobile": "invalid_number", "extension": "invalid_extension"}),
        ]
        for change, reasons in cases:
            r = admin.post("/employees", json={**new, **change})
            assert fields_of(r) == reasons, (change, r.text)
            r = admin.patch(f"/employees/{boris_id}", json=change, headers={"If-Match": "*"})
            assert fields_of(r) == reasons, (change, r.text)
        r = admin.post("/employees", json={**new, "extension": "150"})
        assert "150" in error_of(r, 422)["message"] and vera.employee.name in r.json()["error"]["message"]
        r = admin.patch(f"/employees/{boris_id}", json={"administrator": True}, headers={"If-Match": "*"})
        assert fields_of(r) == {"administrator": "extra_forbidden"}
        before.assert_unchanged("writes refused as duplicates or as malformed")

        # Writing one's own current value is no clash.
        r = admin.patch(f"/employees/{vera.employee.id}", json={"extension": "103", "mobile": None},
                        headers={"If-Match": "*"})
        assert r.status_code == 200, r.text
