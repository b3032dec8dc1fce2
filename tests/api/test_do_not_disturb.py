"""Do not disturb: any employee asks the PBX that nothing ring for them for a while; the scheme
says until when, the preview says why nothing rings, an administrator's edit of the scheme
keeps it, and it ends by itself. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt


def _reasons(plan: dict) -> list[str]:
    return [e["reason"] for e in plan["excluded"]]


def test_an_employee_asks_for_quiet_and_the_scheme_and_preview_say_so(api, company):
    boris = company["boris"].employee.id
    with api.as_(company["boris"]) as me:
        before = dt.datetime.now(dt.UTC)
        r = me.put("/me/do-not-disturb", json={"minutes": 30})
        assert r.status_code == 200, r.text
        until = dt.datetime.fromisoformat(r.json()["do_not_disturb_until"])
        # Whole minutes, at least the time asked for.
        assert until.second == 0 and dt.timedelta(minutes=30) <= until - before <= dt.timedelta(minutes=31, seconds=5)
        assert me.get(f"/employees/{boris}/scheme").json()["do_not_disturb_until"] == r.json()["do_not_disturb_until"]

        plan = me.get(f"/employees/{boris}/ringplan").json()
        assert plan["rings"] is False and plan["caller_hears"] == 480
        assert _reasons(plan) == ["do_not_disturb"]
        later = (until + dt.timedelta(minutes=1)).isoformat()
        # Afterwards his phone's own state decides again (no phone is registered here).
        assert _reasons(me.get(f"/employees/{boris}/ringplan", params={"at": later}).json()) == ["not_registered"]

    # An administrator's edit of the scheme (what GET returned, sent back) keeps it.
    with api.as_(company["admin"]) as admin:
        read = admin.get(f"/employees/{boris}/scheme")
        scheme = dict(read.json(), mode="in_turn")
        put = admin.put(f"/employees/{boris}/scheme", json=scheme, headers={"If-Match": read.headers["ETag"]})
        assert put.status_code == 200, put.text
        assert put.json()["do_not_disturb_until"] == r.json()["do_not_disturb_until"]
        assert admin.patch(f"/employees/{boris}/scheme/devices/sip-102", json={"active": True},
                           headers={"If-Match": put.headers["ETag"]}).json()["do_not_disturb_until"] is not None

    with api.as_(company["boris"]) as me:
        off = me.put("/me/do-not-disturb", json={"minutes": 0})
        assert off.status_code == 200 and off.json()["do_not_disturb_until"] is None
        assert _reasons(me.get(f"/employees/{boris}/ringplan").json()) == ["not_registered"]
        assert off.json()["mode"] == "in_turn"   # the rest of the scheme untouched


def test_a_duration_out_of_range_is_refused_with_its_code(api, company):
    with api.as_(company["vera"]) as me:
        for minutes in (-1, 1441):
            r = me.put("/me/do-not-disturb", json={"minutes": minutes})
            assert r.status_code == 422, r.text
            assert r.json()["error"]["fields"][0]["code"] == "bad_minutes"
        assert me.put("/me/do-not-disturb", json={"minutes": "soon"}).status_code == 422
