"""Removing a desk phone's SIP account and removing an employee, as an administrator would
through the API (the cabinet's Telephony tab and its "Remove employee")."""

from __future__ import annotations

from pbx import directory, schemes
from pbx.audit import Actor


def _audit(admin_client, action: str) -> list[dict]:
    return [e for e in admin_client.get("/audit", params={"limit": 500}).json() if e["action"] == action]


def test_a_desk_phone_is_removed_with_its_device_and_the_main_account_stays(api, company):
    boris = company["boris"].employee
    with api.as_(company["admin"]) as admin:
        added = admin.post(f"/employees/{boris.id}/sip-accounts", json={"username": "7102"})
        assert added.status_code == 201
        assert [d["address"] for d in admin.get(f"/employees/{boris.id}/scheme").json()["devices"]] == ["102", "7102"]

        r = admin.delete(f"/employees/{boris.id}/sip-accounts/7102")
        assert r.status_code == 204, r.text
        assert admin.get(f"/employees/{boris.id}").json()["sip_logins"] == ["102@pbx.local"]
        assert [d["address"] for d in admin.get(f"/employees/{boris.id}/scheme").json()["devices"]] == ["102"]
        assert [e["details"]["username"] for e in _audit(admin, "employee.sip_account.delete")] == ["7102"]

        own = admin.delete(f"/employees/{boris.id}/sip-accounts/102")
        assert own.status_code == 409 and own.json()["error"]["code"] == "main_sip_account"
        missing = admin.delete(f"/employees/{boris.id}/sip-accounts/7102")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_sip_account"


def test_only_administrators_remove_sip_accounts(api, company):
    boris = company["boris"]
    schemes.add_sip_account(api.pbx, Actor.console(), boris.employee.id, "7102")
    with api.as_(boris) as own:
        assert own.delete(f"/employees/{boris.employee.id}/sip-accounts/7102").status_code == 403
    with api.as_(company["admin"]) as admin:
        assert admin.get(f"/employees/{boris.employee.id}").json()["sip_logins"] == ["102@pbx.local", "7102@pbx.local"]


def test_removing_an_employee_takes_their_logins_and_leaves_their_number_without_destination(api, company):
    boris = company["boris"]
    number = directory.add_number(api.pbx, Actor.console(), "+74951234567", "Sales", boris.employee.id)
    with api.as_(boris) as boris_client:
        with api.as_(company["admin"]) as admin:
            card = admin.get(f"/employees/{boris.employee.id}")
            stale = admin.delete(f"/employees/{boris.employee.id}", headers={"If-Match": '"999"'})
            assert stale.status_code == 412
            r = admin.delete(f"/employees/{boris.employee.id}", headers={"If-Match": card.headers["ETag"]})
            assert r.status_code == 204, r.text
            assert admin.get(f"/employees/{boris.employee.id}").status_code == 404
            assert [n["inbound_employee_id"] for n in admin.get("/numbers").json()["numbers"]
                    if n["id"] == number.id] == [None]
            [entry] = _audit(admin, "employee.delete")
            assert entry["details"]["extension"] == "102"
            assert entry["details"]["numbers_left_without_destination"] == ["+74951234567"]
        # Their session ended with them, and their login no longer opens one.
        assert boris_client.get("/me").status_code == 401
    with api.client() as anon:
        login = anon.post("/auth/login", json={"login": "102", "password": boris.communicator_password})
        assert login.status_code == 401


def test_nobody_removes_themselves_or_the_last_administrator(api, company):
    admin = company["admin"].employee
    with api.as_(company["admin"]) as client:
        own = client.delete(f"/employees/{admin.id}", headers={"If-Match": "*"})
        assert own.status_code == 409 and own.json()["error"]["code"] == "own_account"
    # The console has no account of its own; the last administrator still stays.
    try:
        directory.remove_employee(api.pbx, Actor.console(), admin.id, None)
    except Exception as e:  # noqa: BLE001 - the PBX's own refusal is what is checked
        assert getattr(e, "code", None) == "last_administrator"
    else:
        raise AssertionError("the last administrator was removed")
