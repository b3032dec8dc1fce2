"""Several clients write the same versioned resource at the same moment, over the real
`talker-pbx serve`, on SQLite and PostgreSQL.

With one ETag in If-Match, exactly one write wins: it answers 200, its value is what stays, and
its ETag is the resource's; every other one answers 412 stale_version and leaves no trace (no
audit entry). With If-Match: * each write applies on top of the one before it, so no two share
an ETag. Never a 500. Every If-Match-protected write of the API is tried, a few rounds each; the
first round of the settings and of the calendar is their very first write."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

import httpx

from tests.api.helpers import audit_log, last_audit_id

WRITERS = 8  # parallel requests per round, each on its own connection
ROUNDS = 3   # rounds with one shared ETag; then one round with If-Match: *
DAY = "2031-05-04"
IMPORT_YEAR = 2032


@dataclass
class Surface:
    name: str
    read: Callable[[], tuple[str, object]]                        # → (ETag, what is stored)
    write: Callable[[httpx.Client, int, int, str, object], httpx.Response]  # client, writer, round, If-Match, read
    kept: Callable[[object, int, int], bool]                       # stored, winner, round → its value stayed?
    as_boris: bool = False
    prepare: Callable[[], object] = lambda: None                   # before each round


def _fire(clients: list[httpx.Client], send: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """Every client sends at once: the threads wait for each other at a barrier, on connections
    that are already open."""
    barrier = threading.Barrier(len(clients))

    def one(i: int) -> httpx.Response:
        barrier.wait()
        return send(clients[i], i)

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(one, range(len(clients))))


def _version(etag: str) -> int:
    return int(etag.strip('"'))


def _ok(r: httpx.Response) -> httpx.Response:
    assert r.status_code in (200, 201, 204), f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
    return r


def _surfaces(admin: httpx.Client, boris: httpx.Client, boris_id: int) -> list[Surface]:
    numbers = [_ok(admin.post("/numbers", json={"number": f"+7495100{i:04d}"})).json()["id"] for i in range(WRITERS)]
    plumber = _ok(admin.post("/contacts/company", json={"name": "Plumber", "number": "+79210000001"})).json()["id"]
    mum = _ok(boris.post("/contacts/personal", json={"name": "Mum", "number": "+79210000002"})).json()["id"]
    scheme_path = f"/employees/{boris_id}/scheme"
    device = _ok(admin.get(scheme_path)).json()["devices"][0]["id"]
    modes = ("main_only", "all_at_once", "in_turn")

    def get(client: httpx.Client, path: str, **params) -> tuple[str, object]:
        r = _ok(client.get(path, params=params))
        return r.headers["ETag"], r.json()

    def contact(client: httpx.Client, book: str, contact_id: int) -> tuple[str, object]:
        found = [c for c in _ok(client.get(f"/contacts/{book}")).json() if c["id"] == contact_id]
        return f'"{found[0]["version"]}"', found[0]

    def timeout(i: int, rnd: int) -> int:
        return 20 + rnd * WRITERS + i

    def ring_timeout_of(scheme: dict) -> int:
        return next(d["ring_timeout_s"] for d in scheme["devices"] if d["id"] == device)

    def whole_scheme(c, i, rnd, etag, scheme):
        body = {k: v for k, v in scheme.items() if k != "version"}
        body["devices"] = [{**d, "ring_timeout_s": timeout(i, rnd)} if d["id"] == device else d
                           for d in body["devices"]]
        return c.put(scheme_path, json=body, headers={"If-Match": etag})

    def day_to_delete() -> None:
        _ok(admin.put(f"/calendar/days/{DAY}", json={"kind": "day_off"}, headers={"If-Match": "*"}))

    def calendar_file(i: int) -> bytes:
        return (f'<?xml version="1.0" encoding="UTF-8"?><calendar year="{IMPORT_YEAR}"><days>'
                f'<day d="03.{i + 1:02d}" t="1"/></days></calendar>').encode()

    def holiday(i: int, rnd: int) -> str:
        return f"Holiday {rnd}-{i}"

    def names(i: int, rnd: int) -> str:
        return "Boris " + "ABCDEFGHIJKLMNOP"[rnd] + "ABCDEFGHIJKLMNOP"[i]

    return [
        # The settings first: their first write creates the version row.
        Surface("PATCH /settings", lambda: get(admin, "/settings"),
                lambda c, i, rnd, etag, _: c.patch("/settings", json={"buy_numbers_url": f"https://n.example/{rnd}/{i}"},
                                                   headers={"If-Match": etag}),
                lambda s, i, rnd: s["buy_numbers_url"] == f"https://n.example/{rnd}/{i}"),
        Surface("PUT /calendar/days/{day}", lambda: get(admin, "/calendar", year=2031),
                lambda c, i, rnd, etag, _: c.put(f"/calendar/days/{DAY}", json={"kind": "day_off", "holiday": holiday(i, rnd)},
                                                 headers={"If-Match": etag}),
                lambda s, i, rnd: [d["holiday"] for d in s["days"] if d["date"] == DAY] == [holiday(i, rnd)]),
        Surface("DELETE /calendar/days/{day}", lambda: get(admin, "/calendar", year=2031),
                lambda c, i, rnd, etag, _: c.delete(f"/calendar/days/{DAY}", headers={"If-Match": etag}),
                lambda s, i, rnd: all(d["date"] != DAY for d in s["days"]), prepare=day_to_delete),
        Surface("POST /calendar/import", lambda: get(admin, "/calendar", year=IMPORT_YEAR),
                lambda c, i, rnd, etag, _: c.post("/calendar/import", content=calendar_file(i),
                                                  headers={"If-Match": etag, "Content-Type": "application/xml"}),
                lambda s, i, rnd: [d["date"] for d in s["days"]] == [f"{IMPORT_YEAR}-03-{i + 1:02d}"]),
        Surface("PATCH /employees/{id}/scheme/devices/{device}", lambda: get(admin, scheme_path),
                lambda c, i, rnd, etag, _: c.patch(f"{scheme_path}/devices/{device}", json={"ring_timeout_s": timeout(i, rnd)},
                                                   headers={"If-Match": etag}),
                lambda s, i, rnd: ring_timeout_of(s) == timeout(i, rnd)),
        Surface("PUT /employees/{id}/scheme", lambda: get(admin, scheme_path), whole_scheme,
                lambda s, i, rnd: ring_timeout_of(s) == timeout(i, rnd)),
        Surface("PATCH /employees/{id}/scheme", lambda: get(admin, scheme_path),
                lambda c, i, rnd, etag, _: c.patch(scheme_path, json={"mode": modes[(i + rnd) % 3]},
                                                   headers={"If-Match": etag}),
                lambda s, i, rnd: s["mode"] == modes[(i + rnd) % 3]),
        Surface("PATCH /employees/{id}", lambda: get(admin, f"/employees/{boris_id}"),
                lambda c, i, rnd, etag, _: c.patch(f"/employees/{boris_id}", json={"name": names(i, rnd)},
                                                   headers={"If-Match": etag}),
                lambda s, i, rnd: s["name"] == names(i, rnd)),
        Surface("PUT /employees/{id}/outgoing-number", lambda: get(admin, f"/employees/{boris_id}"),
                lambda c, i, rnd, etag, _: c.put(f"/employees/{boris_id}/outgoing-number", json={"number_id": numbers[i]},
                                                 headers={"If-Match": etag}),
                lambda s, i, rnd: s["outgoing_number"]["id"] == numbers[i]),
        Surface("PUT /me/outgoing-number", lambda: get(boris, "/me"),
                lambda c, i, rnd, etag, _: c.put("/me/outgoing-number", json={"number_id": numbers[-1 - i]},
                                                 headers={"If-Match": etag}),
                lambda s, i, rnd: s["outgoing_number"]["id"] == numbers[-1 - i], as_boris=True),
        Surface("PATCH /contacts/company/{id}", lambda: contact(admin, "company", plumber),
                lambda c, i, rnd, etag, _: c.patch(f"/contacts/company/{plumber}", json={"note": holiday(i, rnd)},
                                                   headers={"If-Match": etag}),
                lambda s, i, rnd: s["note"] == holiday(i, rnd)),
        Surface("PATCH /contacts/personal/{id}", lambda: contact(boris, "personal", mum),
                lambda c, i, rnd, etag, _: c.patch(f"/contacts/personal/{mum}", json={"note": holiday(i, rnd)},
                                                   headers={"If-Match": etag}),
                lambda s, i, rnd: s["note"] == holiday(i, rnd), as_boris=True),
    ]


def _describe(responses: list[httpx.Response]) -> str:
    return " ".join(f"{r.status_code}{'/' + r.headers.get('ETag', '') if r.status_code == 200 else ''}"
                    for r in responses)


def _refusals_other_than_412(responses: list[httpx.Response]) -> list[str]:
    bad = [r for r in responses if r.status_code != 200
           and (r.status_code != 412 or r.json()["error"]["code"] != "stale_version")]
    return [f"{len(bad)} writes answered neither 200 nor 412 stale_version, e.g. {bad[0].text[:200]}"] if bad else []


def _same_etag_round(admin, surface: Surface, clients, rnd: int) -> list[str]:
    surface.prepare()
    etag, stored = surface.read()
    audit_from = last_audit_id(admin)
    responses = _fire(clients, lambda c, i: surface.write(c, i, rnd, etag, stored))
    problems = []
    won = [i for i, r in enumerate(responses) if r.status_code == 200]
    if len(won) != 1:
        problems.append(f"{len(won)} of {WRITERS} writes with If-Match {etag} won")
    problems += _refusals_other_than_412(responses)
    after, stored = surface.read()
    if won:
        winner = won[-1]
        if responses[winner].headers.get("ETag") != after:
            problems.append(f"the winner's ETag {responses[winner].headers.get('ETag')} is not the stored {after}")
        if not surface.kept(stored, winner, rnd):
            problems.append(f"the stored value is not writer {winner}'s: {stored}")
    if _version(after) != _version(etag) + 1:
        problems.append(f"the version went from {etag} to {after}")
    written = len(audit_log(admin, audit_from))
    if written != 1:
        problems.append(f"{written} audit entries for one change")
    return [f"round {rnd} ({_describe(responses)}): {p}" for p in problems]


def _any_etag_round(admin, surface: Surface, clients) -> tuple[list[str], int]:
    surface.prepare()
    before, stored = surface.read()
    audit_from = last_audit_id(admin)
    responses = _fire(clients, lambda c, i: surface.write(c, i, ROUNDS, "*", stored))
    problems = []
    done = [r for r in responses if r.status_code == 200]
    # A write that loses the race over and over may give up with 412; a 500 never.
    problems += _refusals_other_than_412(responses)
    etags = [r.headers.get("ETag") for r in done]
    if len(set(etags)) != len(etags):
        problems.append("two writes answered the same ETag: one was lost")
    after, _ = surface.read()
    if _version(after) != _version(before) + len(done):
        problems.append(f"{len(done)} writes moved the version from {before} to {after}")
    written = len(audit_log(admin, audit_from))
    if written != len(done):
        problems.append(f"{written} audit entries for {len(done)} changes")
    return [f"If-Match * ({_describe(responses)}): {p}" for p in problems], len(done)


def test_of_writes_with_the_same_if_match_exactly_one_wins_and_the_others_get_412(api, company):
    boris_id = company["boris"].employee.id
    admin_token = api.login("101", company["admin"].communicator_password)["access_token"]
    boris_token = api.login("102", company["boris"].communicator_password)["access_token"]
    report, problems = [], []
    with ExitStack() as stack:
        def clients(token: str) -> list[httpx.Client]:
            opened = [stack.enter_context(api.client(token)) for _ in range(WRITERS)]
            for c in opened:  # the connection is open before the race starts
                _ok(c.get("/health"))
            return opened

        admins, borises = clients(admin_token), clients(boris_token)
        admin, boris = admins[0], borises[0]
        for surface in _surfaces(admin, boris, boris_id):
            writers = borises if surface.as_boris else admins
            found = []
            for rnd in range(ROUNDS):
                found += _same_etag_round(admin, surface, writers, rnd)
            any_etag, applied = _any_etag_round(admin, surface, writers)
            found += any_etag
            report.append(f"{surface.name}: {ROUNDS} rounds of {WRITERS} with one ETag, then {applied} of "
                          f"{WRITERS} with * applied: " + ("ok" if not found else f"{len(found)} problems"))
            problems += [f"{surface.name}: {p}" for p in found]
    print("\n".join(report))
    assert not problems, "\n".join(problems)
