"""The Administrators group over HTTP: membership decides, at once, what an employee may do, and
the PBX always keeps one administrator. (That a non-member gets 403 on everything
administrative, whatever they send, is in test_authorization.py: it is driven by the matrix.)"""

from __future__ import annotations

from tests.api.helpers import Snapshot, audit_log, error_of, last_audit_id


def test_administrators_come_and_go_but_the_last_one_stays(api, company):
    anna_id, boris_id = company["admin"].employee.id, company["boris"].employee.id
    with api.as_(company["admin"]) as admin, api.as_(company["boris"]) as boris:
        start = last_audit_id(admin)
        assert error_of(boris.get("/employees"), 403)["code"] == "forbidden"

        r = admin.put(f"/groups/administrators/members/{boris_id}")
        assert r.status_code == 200, r.text
        assert r.json()["administrator"] is True
        # The session Boris already has is an administrator's from the next request on.
        assert boris.get("/me").json()["administrator"] is True
        assert boris.get("/employees").status_code == 200
        assert boris.get("/audit").status_code == 200
        # Putting in a member again is harmless and changes nothing.
        version = admin.get(f"/employees/{boris_id}").json()["version"]
        assert admin.put(f"/groups/administrators/members/{boris_id}").json()["version"] == version

        r = admin.delete(f"/groups/administrators/members/{boris_id}")
        assert r.status_code == 200, r.text
        assert r.json()["administrator"] is False
        assert error_of(boris.get("/employees"), 403)["code"] == "forbidden"
        assert error_of(boris.get("/audit"), 403)["code"] == "forbidden"
        assert admin.get(f"/employees/{boris_id}").json()["administrator"] is False

        changes = [(e["action"], e["resource_id"], e["details"].get("member"))
                   for e in audit_log(admin, start) if e["action"] == "employee.administrators"]
        assert changes == [("employee.administrators", boris_id, True),
                           ("employee.administrators", boris_id, False)]

        # The PBX always keeps an administrator: the last one cannot leave.
        before = Snapshot(admin)
        r = admin.delete(f"/groups/administrators/members/{anna_id}")
        assert error_of(r, 409)["code"] == "last_administrator"
        before.assert_unchanged("removing the last administrator")
        assert admin.get("/me").json()["administrator"] is True

        # With a second administrator, Anna may step down; then Boris is the last one.
        assert admin.put(f"/groups/administrators/members/{boris_id}").status_code == 200
        r = admin.delete(f"/groups/administrators/members/{anna_id}")
        assert r.status_code == 200 and r.json()["administrator"] is False
        assert error_of(admin.get("/employees"), 403)["code"] == "forbidden"
        before = Snapshot(boris)
        r = boris.delete(f"/groups/administrators/members/{boris_id}")
        assert error_of(r, 409)["code"] == "last_administrator"
        before.assert_unchanged("removing the last administrator")
        assert [e["name"] for e in boris.get("/employees").json() if e["administrator"]] == ["Boris Petrov"]
