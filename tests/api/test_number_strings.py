"""Number strings that once made the PBX answer 500 (issue 11, finding 5): the dial-string parser
raised StopIteration on a "+" inside a number, through every operation that reads one, the
unauthenticated login included. Each now gets the answer a malformed number gets."""

from __future__ import annotations

import pytest

from tests.api.helpers import Snapshot, error_of, fields_of

ONCE_CRASHED = ["1+2", "*1+2", "+7+495", "tel:*21*+74991234567#"]
# RFC 3966: a number local to a domain is that domain's business; the PBX cannot dial it.
REFUSED = [*ONCE_CRASHED, "tel:7042;phone-context=ex.com"]


@pytest.mark.parametrize("login", ONCE_CRASHED)
def test_a_login_that_is_no_number_is_a_wrong_login_like_any_other(api, company, login):
    with api.client() as anyone:
        r = anyone.post("/auth/login", json={"login": login, "password": "guess"})
    # Not a 422: whether a login names someone must not show (tests/api/test_sessions.py).
    error = error_of(r, 401)
    assert (error["code"], error["message"]) == ("invalid_credentials", "Wrong login or password.")
    assert "Traceback" not in api.log_path.read_text(errors="replace")


def test_every_operation_that_reads_a_number_answers_422_with_the_field_and_its_reason(api, company):
    boris_id = company["boris"].employee.id
    with api.as_(company["admin"]) as admin, api.as_(company["vera"]) as vera:
        before = Snapshot(admin)
        for number in REFUSED:
            assert fields_of(vera.get("/lookup", params={"number": number})) == {"number": "invalid_number"}, number
            for book, client in (("company", admin), ("personal", vera)):
                r = client.post(f"/contacts/{book}", json={"name": "Someone", "number": number})
                assert fields_of(r) == {"number": "invalid_number"}, (book, number)
            r = admin.post("/employees", json={"name": "Someone New", "extension": "151", "mobile": number})
            assert fields_of(r) == {"mobile": "invalid_number"}, number
            r = admin.patch(f"/employees/{boris_id}", json={"mobile": number}, headers={"If-Match": "*"})
            assert fields_of(r) == {"mobile": "invalid_number"}, number
            assert fields_of(admin.post("/numbers", json={"number": number})) == {"number": "invalid_number"}, number
        before.assert_unchanged("numbers refused")
    assert "Traceback" not in api.log_path.read_text(errors="replace")


def test_a_number_in_a_global_phone_context_is_stored_as_that_contexts_number(api, company):
    with api.as_(company["admin"]) as admin:
        r = admin.post("/numbers", json={"number": "tel:2079460958;phone-context=+44"})
        assert r.status_code == 201, r.text
        assert r.json()["number"] == "+442079460958"
        r = admin.post("/contacts/company", json={"name": "London", "number": "tel:7946-0958;phone-context=+44-20"})
        assert r.status_code == 201, r.text
        assert r.json()["number"] == "+442079460958"
        assert admin.get("/lookup", params={"number": "+44 20 7946 0958"}).json()["name"] == "London"
