"""What an administrator met when trying the scheme API by hand (issue 12, "Fix on the way"):
a scheme that could not be sent back as it was read, and a preview that left things unsaid."""

from __future__ import annotations

CALENDAR_2026 = b"""<?xml version="1.0" encoding="UTF-8"?>
<calendar year="2026" lang="ru"><days>
<day d="03.06" t="2"/><day d="03.09" t="1"/>
</days></calendar>"""


def _scheme(admin, employee_id: int):
    r = admin.get(f"/employees/{employee_id}/scheme")
    assert r.status_code == 200, r.text
    return r.json(), r.headers["ETag"]


def test_a_scheme_read_after_a_device_was_switched_off_is_accepted_back_as_it_is(api, company):
    boris = company["boris"].employee.id
    with api.as_(company["admin"]) as admin:
        scheme, tag = _scheme(admin, boris)
        scheme["devices"][0]["schedule"] = {"rules": [{"type": "calendar", "days": "working_days",
                                                       "windows": [{"start": "09:00", "end": "18:00"}]}]}
        r = admin.put(f"/employees/{boris}/scheme", json=scheme, headers={"If-Match": tag})
        assert r.status_code == 200, r.text
        r = admin.patch(f"/employees/{boris}/scheme/devices/sip-102", json={"active": False},
                        headers={"If-Match": r.headers["ETag"]})
        assert r.status_code == 200, r.text

        read, tag = _scheme(admin, boris)
        assert read["version"] == 3 and read["devices"][0]["schedule"] is not None
        again = admin.put(f"/employees/{boris}/scheme", json=read, headers={"If-Match": tag})
        assert again.status_code == 200, again.text
        assert again.json()["devices"] == read["devices"] and again.json()["version"] == 4


def test_a_body_version_must_agree_with_if_match_and_guards_a_star(api, company):
    boris = company["boris"].employee.id
    with api.as_(company["admin"]) as admin:
        read, tag = _scheme(admin, boris)
        wrong = admin.put(f"/employees/{boris}/scheme", json=dict(read, version=read["version"] + 7),
                          headers={"If-Match": tag})
        assert wrong.status_code == 422 and wrong.json()["error"]["fields"][0]["code"] == "version_mismatch"
        admin.patch(f"/employees/{boris}/scheme", json={"mode": "in_turn"}, headers={"If-Match": tag})
        # If-Match: * with the version read: the newer scheme is not overwritten.
        stale = admin.put(f"/employees/{boris}/scheme", json=read, headers={"If-Match": "*"})
        assert stale.status_code == 412
        assert _scheme(admin, boris)[0]["mode"] == "in_turn"


def test_the_preview_names_the_limit_the_forever_device_and_what_a_caller_hears(api, company):
    boris = company["boris"].employee.id
    with api.as_(company["admin"]) as admin:
        admin.post(f"/employees/{boris}/sip-accounts", json={"username": "7102"})
        scheme, tag = _scheme(admin, boris)
        scheme.update(mode="in_turn")
        scheme["devices"][0]["ring_timeout_s"] = 0
        assert admin.put(f"/employees/{boris}/scheme", json=scheme, headers={"If-Match": tag}).status_code == 200
        plan = admin.get(f"/employees/{boris}/ringplan").json()
        # Neither phone is registered: nobody rings, and the caller's answer is named.
        assert plan["rings"] is False and plan["caller_hears"] == 480
        assert [n for n in plan["notices"] if n["code"] == "nobody_rings"][0]["status"] == 480
        assert "480" in [n for n in plan["notices"] if n["code"] == "nobody_rings"][0]["message"]

    # The same scheme with both phones counted available (the CLI/routing path shares compute_plan).
    from pbx import ringplan, schemes
    from pbx.audit import Actor
    stored, _ = schemes.get_scheme(api.pbx, Actor.console(), boris)
    plan = ringplan.compute_plan(stored, ringplan_calendar(), _moment(), {}).to_dict()
    assert plan["steps"][0]["devices"][0] == {"id": "sip-102", "kind": "sip", "address": "102", "timeout_s": 0,
                                              "until_answered": True, "limit_s": 600}
    after = plan["excluded"][0]
    assert after["reason"] == "after_forever" and after["after"] == "sip-102" and "102" in after["why"]
    assert {"code": "until_answered", "device": "sip-102", "limit_s": 600,
            "message": "102 rings until answered, but no longer than the PBX-wide limit of 600 s."} in plan["notices"]


def ringplan_calendar():
    from pbx.prodcalendar import ProductionCalendar
    return ProductionCalendar()


def _moment():
    import datetime as dt
    return dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_a_local_time_the_clocks_skip_is_moved_and_said_so(api, company):
    boris = company["boris"].employee.id
    with api.as_(company["admin"]) as admin:
        scheme, tag = _scheme(admin, boris)
        scheme["timezone"] = "Europe/Berlin"
        assert admin.put(f"/employees/{boris}/scheme", json=scheme, headers={"If-Match": tag}).status_code == 200
        plan = admin.get(f"/employees/{boris}/ringplan", params={"at": "2026-03-29T02:30"}).json()
        assert plan["local_time"] == "2026-03-29T03:30:00+02:00"
        moved = [n for n in plan["notices"] if n["code"] == "nonexistent_local_time"]
        assert moved and moved[0]["asked"] == "2026-03-29T02:30" and "does not exist" in moved[0]["message"]
        ordinary = admin.get(f"/employees/{boris}/ringplan", params={"at": "2026-03-29T10:30"}).json()
        assert ordinary["local_time"] == "2026-03-29T10:30:00+02:00"
        assert not [n for n in ordinary["notices"] if n["code"] == "nonexistent_local_time"]


def test_the_preview_warns_of_a_calendar_year_never_imported(api, company):
    boris = company["boris"].employee.id
    with api.as_(company["admin"]) as admin:
        plan = admin.get(f"/employees/{boris}/ringplan", params={"at": "2027-01-01T10:00+03:00"}).json()
        missing = [n for n in plan["notices"] if n["code"] == "calendar_year_missing"]
        assert missing and missing[0]["year"] == 2027 and "2027" in missing[0]["message"]
        cal = admin.get("/calendar")
        r = admin.post("/calendar/import", content=CALENDAR_2026,
                       headers={"If-Match": cal.headers["ETag"], "Content-Type": "application/xml"})
        assert r.status_code == 200, r.text
        plan = admin.get(f"/employees/{boris}/ringplan", params={"at": "2026-03-09T10:00+03:00"}).json()
        assert plan["working_day"] is False
        assert not [n for n in plan["notices"] if n["code"] == "calendar_year_missing"]


def test_shortened_days_end_an_hour_earlier_when_the_pbx_says_so(api, company):
    boris = company["boris"].employee.id
    with api.as_(company["admin"]) as admin:
        cal = admin.get("/calendar")
        admin.post("/calendar/import", content=CALENDAR_2026,
                   headers={"If-Match": cal.headers["ETag"], "Content-Type": "application/xml"})
        scheme, tag = _scheme(admin, boris)
        scheme["devices"][0]["schedule"] = {"rules": [{"type": "calendar", "days": "working_days",
                                                       "windows": [{"start": "09:00", "end": "18:00"}]}]}
        assert admin.put(f"/employees/{boris}/scheme", json=scheme, headers={"If-Match": tag}).status_code == 200
        at = {"at": "2026-03-06T17:30+03:00"}  # Friday before 8 March, a shortened day
        reason = lambda: admin.get(f"/employees/{boris}/ringplan", params=at).json()["excluded"][0]["reason"]  # noqa: E731
        assert reason() == "not_registered"  # within hours: only the phone being offline keeps it silent

        settings = admin.get("/settings")
        assert settings.json()["shortened_days_end_earlier"] is False
        r = admin.patch("/settings", json={"shortened_days_end_earlier": True},
                        headers={"If-Match": settings.headers["ETag"]})
        assert r.status_code == 200 and r.json()["shortened_days_end_earlier"] is True
        assert reason() == "shortened_day"
        bad = admin.patch("/settings", json={"shortened_days_end_earlier": "maybe"},
                          headers={"If-Match": r.headers["ETag"]})
        assert bad.status_code == 422


def test_the_cli_preview_says_it_too(api, company):
    import json
    import subprocess

    from tests.support.processes import VENV_BIN
    done = subprocess.run([str(VENV_BIN / "talker-pbx"), "--data-dir", str(api.pbx.data_dir), "ringplan", "102",
                           "--at", "2027-01-01T10:00"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["local_time"] == "2027-01-01T10:00:00+03:00" and plan["caller_hears"] == 480
    assert "talker-pbx: note: Nobody rings: the caller hears that the employee is busy or unavailable (SIP 480" \
        in done.stderr
    assert "The production calendar for 2027 has not been imported" in done.stderr
