"""Who may call what, over HTTP: the matrix of tests/api/matrix.py, checked cell by cell against
the running API and against the live OpenAPI document."""

from __future__ import annotations

import copy
from dataclasses import replace

import httpx

from tests.api.helpers import Snapshot
from tests.api.matrix import ADMIN, ANON, COLUMNS, EMPLOYEE, MATRIX, OTHER, RUN_ORDER, Call, World


def test_authorization_matrix(api, company):
    document = httpx.get(api.url + "/api/v1/openapi.json").json()
    live = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    rows = [(row.method, row.path) for row in MATRIX]
    assert len(rows) == len(set(rows)), "the matrix has a duplicate row"
    assert not live - set(rows), f"endpoints without a row in the authorization matrix: {sorted(live - set(rows))}"
    assert not set(rows) - live, f"matrix rows for endpoints the API does not have: {sorted(set(rows) - live)}"

    w = World(api, company)
    wrong = []
    with httpx.Client(base_url=api.url, timeout=30) as http:
        spoiled = True
        for row in MATRIX:
            if spoiled:
                w.new_target()
            spoiled = row.spoils_target
            expected = dict(zip(COLUMNS, row.expect, strict=True))
            for persona in RUN_ORDER:
                r = http.request(**row.call(w, persona).request(row, w.token(persona)))
                if r.status_code != expected[persona]:
                    wrong.append(f"{row.method} {row.path} as {persona}: expected {expected[persona]}, "
                                 f"got {r.status_code} {r.text[:200]}")
                elif r.status_code >= 400:
                    # A refusal is a sentence with a stable code, never a bare status.
                    error = r.json()["error"]
                    assert error["code"] and error["message"], (row, persona, r.text)
    assert not wrong, "authorization matrix mismatches:\n" + "\n".join(wrong)


# What a caller who may not do something might send anyway: none of it may get them further
# than 403 (not a 422 that checks their input, not a 428 that asks for an ETag, not a 404 that
# says whether an id exists), and none of it may change anything.
NO_SUCH_ID = 2**31 - 1
JUNK_QUERY = {"limit": "0", "after_id": "-1", "at": "yesterday", "year": "1"}
NOT_JSON = b'{"name": "Eve", "administrator": tr'
JSON_TYPE = {"Content-Type": "application/json"}


def _variants(call: Call) -> dict[str, Call]:
    body = call.json if isinstance(call.json, dict) else {}
    variants = {"as the matrix sends it": call,
                "with an unknown field": replace(call, json={**body, "is_admin": True}, content=None),
                "with junk in the query": replace(call, query={**(call.query or {}), **JUNK_QUERY})}
    if "If-Match" in call.headers:
        others = {k: v for k, v in call.headers.items() if k != "If-Match"}
        variants["without If-Match"] = replace(call, headers=others)
        variants["with a stale If-Match"] = replace(call, headers={**others, "If-Match": '"999999"'})
    if body:
        variants["with fields of the wrong type"] = replace(call, json={k: [1] for k in body})
        variants["with a body that is not JSON"] = replace(call, json=None, content=NOT_JSON,
                                                           headers={**call.headers, **JSON_TYPE})
    if call.params:
        missing = {k: "2031-02-30" if k == "day" else NO_SUCH_ID if k.endswith("_id") else "no-such-thing"
                   for k in call.params}
        variants["on an id that does not exist"] = replace(call, params=missing)
        impossible = {k: "not-a-date" if k == "day" else "0" for k in call.params}
        variants["on an id that cannot exist"] = replace(call, params=impossible)
    return variants


def test_a_non_administrator_gets_403_whatever_they_send(api, company):
    w = World(api, company)
    w.new_target()  # none of what follows may change T
    attempts: list[tuple[str, dict]] = []
    for row in MATRIX:
        expected = dict(zip(COLUMNS, row.expect, strict=True))
        callers = [p for p in (EMPLOYEE, OTHER) if expected[p] == 403]
        if not callers or expected[ADMIN] == 403:
            continue
        for persona in callers:
            for what, call in _variants(row.call(w, persona)).items():
                attempts.append((f"{row.method} {row.path} as {persona} {what}",
                                 copy.deepcopy(call.request(row, w.token(persona)))))
    assert len(attempts) > 100  # the matrix drives this: an empty table would prove nothing

    with api.client(w.tokens[ADMIN]) as admin, httpx.Client(base_url=api.url, timeout=30) as http:
        before = Snapshot(admin)
        wrong = []
        for what, request in attempts:
            r = http.request(**request)
            if r.status_code != 403:
                wrong.append(f"{what}: {r.status_code} {r.text[:160]}")
        assert not wrong, "a non-administrator got further than 403:\n" + "\n".join(wrong)
        before.assert_unchanged("the refused attempts of non-administrators")


def test_without_a_valid_token_a_body_that_is_not_json_gets_401_and_an_administrator_gets_422(api, company):
    """FastAPI reads a JSON body before any dependency runs; the gates still answer first."""
    document = httpx.get(api.url + "/api/v1/openapi.json").json()
    w = World(api, company)
    w.new_target()
    attempts: list[tuple[str, int, dict]] = []
    for row in MATRIX:
        call = row.call(w, ADMIN)
        if not isinstance(call.json, dict) or not document["paths"][row.path][row.method.lower()].get("security"):
            continue  # no body, or a public route (its answer to a broken body is 422 for everyone)
        for persona, token, status in ((ANON, None, 401), ("a stale token", "not-a-token", 401),
                                       (ADMIN, w.token(ADMIN), 422)):
            broken = replace(call, json=None, content=NOT_JSON, headers={**call.headers, **JSON_TYPE}, token=token)
            attempts.append((f"{row.method} {row.path} as {persona}", status, broken.request(row, token)))
    assert len(attempts) > 30

    with api.client(w.tokens[ADMIN]) as admin, httpx.Client(base_url=api.url, timeout=30) as http:
        before = Snapshot(admin)
        wrong = []
        for what, status, request in attempts:
            r = http.request(**request)
            if r.status_code != status:
                wrong.append(f"{what}: {r.status_code} {r.text[:160]}")
            elif status == 422:
                assert r.json()["error"]["fields"][0]["code"] == "json_invalid", r.text
        assert not wrong, "a body that is not JSON changed who is refused:\n" + "\n".join(wrong)
        before.assert_unchanged("requests whose body is not JSON")
