"""Address books over HTTP: the company's (administrators write, everyone reads), each employee's
personal one (nobody else even sees it exist), and caller names from the directory and both."""

from __future__ import annotations

from tests.api.helpers import Snapshot, error_of, fields_of


def test_the_company_book_is_everyones_to_read_and_a_personal_contact_its_owners_alone(api, company):
    with api.as_(company["admin"]) as admin, api.as_(company["boris"]) as boris, \
            api.as_(company["vera"]) as vera:
        r = admin.post("/contacts/company", json={"name": "Plumbing Ltd", "number": "8 (495) 000-11-22",
                                                  "note": "24/7"})
        assert r.status_code == 201, r.text
        plumber = r.json()
        assert plumber["number"] == "+74950001122" and plumber["version"] == 1
        assert r.headers["ETag"] == '"1"'
        for person in (admin, boris, vera):
            assert person.get("/contacts/company").json() == [plumber]

        before = Snapshot(admin)
        r = boris.post("/contacts/company", json={"name": "Boris's Friend", "number": "+79031234567"})
        assert error_of(r, 403)["code"] == "forbidden"
        r = boris.patch(f"/contacts/company/{plumber['id']}", json={"name": "Mine"}, headers={"If-Match": "*"})
        assert error_of(r, 403)["code"] == "forbidden"
        assert error_of(boris.delete(f"/contacts/company/{plumber['id']}"), 403)["code"] == "forbidden"
        r = admin.patch(f"/contacts/company/{plumber['id']}", json={"note": "nights too"})
        assert error_of(r, 428)["code"] == "if_match_required"
        r = admin.patch(f"/contacts/company/{plumber['id']}", json={"note": "nights too"}, headers={"If-Match": '"7"'})
        assert error_of(r, 412)["code"] == "stale_version"
        r = admin.post("/contacts/company", json={"name": "Nobody", "number": "not a number"})
        assert fields_of(r) == {"number": "invalid_number"}
        r = admin.post("/contacts/company", json={"name": "", "number": "+74950001122"})
        assert fields_of(r) == {"name": "string_too_short"}
        # A service code longer than the book keeps (this was a 500 on PostgreSQL).
        r = admin.post("/contacts/company", json={"name": "Code", "number": "*" + "1" * 31 + "#"})
        assert fields_of(r) == {"number": "too_long"}
        before.assert_unchanged("refused writes to the company book")

        r = admin.patch(f"/contacts/company/{plumber['id']}", json={"note": "nights too"}, headers={"If-Match": '"1"'})
        assert r.status_code == 200, r.text
        assert r.json() == {**plumber, "note": "nights too", "version": 2} and r.headers["ETag"] == '"2"'
        assert boris.get("/contacts/company").json()[0]["note"] == "nights too"
        assert admin.delete(f"/contacts/company/{plumber['id']}").status_code == 204
        assert vera.get("/contacts/company").json() == []
        assert error_of(admin.delete(f"/contacts/company/{plumber['id']}"), 404)["code"] == "not_found"

        # A personal contact: nobody but its owner even sees that it exists.
        r = vera.post("/contacts/personal", json={"name": "Mum", "number": "+7 903 111-22-33"})
        assert r.status_code == 201, r.text
        mum = r.json()
        assert vera.get("/contacts/personal").json() == [mum]
        # Nobody else sees it, an administrator neither; and it is not in the company book.
        for other in (boris, admin):
            assert other.get("/contacts/personal").json() == []
        assert vera.get("/contacts/company").json() == []

        before = Snapshot(admin)
        for other in (boris, admin):
            # 404, not 403: to anyone else the contact does not exist.
            r = other.patch(f"/contacts/personal/{mum['id']}", json={"name": "Not Mum"}, headers={"If-Match": "*"})
            assert error_of(r, 404)["code"] == "not_found"
            assert error_of(other.delete(f"/contacts/personal/{mum['id']}"), 404)["code"] == "not_found"
            # The same answer as for a contact that really is not there.
            r = other.delete("/contacts/personal/999999")
            assert error_of(r, 404)["code"] == "not_found"
        before.assert_unchanged("other people's attempts at Vera's contact")
        assert vera.get("/contacts/personal").json() == [mum]

        r = vera.patch(f"/contacts/personal/{mum['id']}", json={"note": "call on Sundays"},
                       headers={"If-Match": f'"{mum["version"]}"'})
        assert r.status_code == 200, r.text
        assert r.json()["note"] == "call on Sundays"
        r = vera.patch(f"/contacts/personal/{mum['id']}", json={"note": "lost"},
                       headers={"If-Match": f'"{mum["version"]}"'})
        assert error_of(r, 412)["code"] == "stale_version"
        assert vera.delete(f"/contacts/personal/{mum['id']}").status_code == 204
        assert vera.get("/contacts/personal").json() == []


def test_lookup_finds_the_callers_name_in_the_directory_then_the_company_book_then_ones_own(api, company):
    with api.as_(company["admin"]) as admin, api.as_(company["boris"]) as boris, \
            api.as_(company["vera"]) as vera:
        # The same number in several places: the directory wins, then the company book.
        assert admin.post("/contacts/company", json={"name": "Old Card of Boris", "number": "+79123456789"}
                          ).status_code == 201
        assert admin.post("/contacts/company", json={"name": "Plumbing Ltd", "number": "+74950001122"}
                          ).status_code == 201
        for name, number in (("Borya", "+79123456789"), ("My Plumber", "84950001122"), ("Mum", "+79031112233")):
            assert vera.post("/contacts/personal", json={"name": name, "number": number}).status_code == 201

        def lookup(client, number):
            r = client.get("/lookup", params={"number": number})
            return (r.json()["name"], r.json()["source"]) if r.status_code == 200 else error_of(r, 404)["code"]

        for number in ("8 (912) 345-67-89", "+79123456789", "tel:+7-912-345-67-89", "102"):
            assert lookup(vera, number) == ("Boris Petrov", "directory"), number
        assert lookup(vera, "+7 495 000-11-22") == ("Plumbing Ltd", "company")
        assert lookup(boris, "84950001122") == ("Plumbing Ltd", "company")
        assert lookup(vera, "8 903 111 22 33") == ("Mum", "personal")
        # Vera's contacts name nobody for anyone else.
        assert lookup(boris, "+79031112233") == "unknown_number"
        assert lookup(admin, "+79031112233") == "unknown_number"
        assert lookup(vera, "+79990000000") == "unknown_number"
        assert fields_of(vera.get("/lookup", params={"number": "call me"})) == {"number": "invalid_number"}
