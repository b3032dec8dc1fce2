"""The PBX's numbers, the "Add number…" page, and each employee's outgoing number, over HTTP."""

from __future__ import annotations

from tests.api.helpers import Snapshot, error_of, fields_of


def test_numbers_the_buy_url_and_the_outgoing_number_chosen_by_oneself_or_an_administrator(api, company):
    vera_id = company["vera"].employee.id
    with api.as_(company["admin"]) as admin, api.as_(company["boris"]) as boris, \
            api.as_(company["vera"]) as vera:
        assert boris.get("/numbers").json() == {"numbers": [], "buy_numbers_url": ""}

        r = admin.post("/numbers", json={"number": "8 (495) 123-45-67", "label": "Office"})
        assert r.status_code == 201, r.text
        office = r.json()
        assert office["number"] == "+74951234567" and office["label"] == "Office"
        r = admin.post("/numbers", json={"number": "+7 495 123 45 67"})
        assert error_of(r, 409)["code"] == "number_taken"
        assert fields_of(admin.post("/numbers", json={"number": "not a number"})) == {"number": "invalid_number"}

        r = admin.get("/settings")
        assert r.status_code == 200
        etag = r.headers["ETag"]
        assert etag == f'"{r.json()["version"]}"'
        url = "https://billing.example.com/numbers?pbx=demo"

        before = Snapshot(admin)
        r = admin.patch("/settings", json={"buy_numbers_url": url})
        assert error_of(r, 428)["code"] == "if_match_required"
        r = admin.patch("/settings", json={"buy_numbers_url": url}, headers={"If-Match": '"999"'})
        assert error_of(r, 412)["code"] == "stale_version"
        for bad in ("javascript:alert(1)", "ftp://files.example.com/", "billing.example.com"):
            r = admin.patch("/settings", json={"buy_numbers_url": bad}, headers={"If-Match": etag})
            assert fields_of(r) == {"buy_numbers_url": "invalid_url"}, bad
        before.assert_unchanged("refused changes of the settings")

        r = admin.patch("/settings", json={"buy_numbers_url": url}, headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        assert r.json()["buy_numbers_url"] == url and r.headers["ETag"] != etag
        # The settings moved on: the ETag read before is stale now.
        r = admin.patch("/settings", json={"buy_numbers_url": ""}, headers={"If-Match": etag})
        assert error_of(r, 412)["code"] == "stale_version"

        for person in (boris, admin):
            assert person.get("/numbers").json() == {"numbers": [office], "buy_numbers_url": url}

        # The outgoing number: an employee chooses their own, under If-Match, from the PBX's numbers.
        sales = admin.post("/numbers", json={"number": "+74957654321", "label": "Sales"}).json()

        me = boris.get("/me")
        assert me.json()["outgoing_number"] is None
        etag = me.headers["ETag"]
        r = boris.put("/me/outgoing-number", json={"number_id": office["id"]})
        assert error_of(r, 428)["code"] == "if_match_required"
        r = boris.put("/me/outgoing-number", json={"number_id": 999999}, headers={"If-Match": etag})
        assert fields_of(r) == {"number_id": "unknown_number"}
        r = boris.put("/me/outgoing-number", json={"number_id": office["id"]}, headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        assert r.json()["outgoing_number"] == office
        new_etag = r.headers["ETag"]
        assert new_etag != etag
        r = boris.put("/me/outgoing-number", json={"number_id": sales["id"]}, headers={"If-Match": etag})
        assert error_of(r, 412)["code"] == "stale_version"
        assert boris.get("/me").json()["outgoing_number"] == office

        # An administrator chooses for anyone; the employee sees it as their own.
        card = admin.get(f"/employees/{vera_id}")
        r = admin.put(f"/employees/{vera_id}/outgoing-number", json={"number_id": 999999},
                      headers={"If-Match": card.headers["ETag"]})
        assert fields_of(r) == {"number_id": "unknown_number"}
        r = admin.put(f"/employees/{vera_id}/outgoing-number", json={"number_id": sales["id"]},
                      headers={"If-Match": card.headers["ETag"]})
        assert r.status_code == 200, r.text
        assert r.json()["outgoing_number"] == sales
        assert vera.get("/me").json()["outgoing_number"] == sales
        # ...but not a colleague.
        r = boris.put(f"/employees/{vera_id}/outgoing-number", json={"number_id": office["id"]},
                      headers={"If-Match": "*"})
        assert error_of(r, 403)["code"] == "forbidden"
        assert vera.get("/me").json()["outgoing_number"] == sales

        # Back to the PBX default...
        r = vera.put("/me/outgoing-number", json={"number_id": None}, headers={"If-Match": "*"})
        assert r.status_code == 200 and r.json()["outgoing_number"] is None
        # ...which is also where a removed number leaves whoever used it.
        assert admin.delete(f"/numbers/{office['id']}").status_code == 204
        assert boris.get("/me").json()["outgoing_number"] is None
        assert boris.get("/numbers").json()["numbers"] == [sales]
