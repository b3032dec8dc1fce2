"""Property-based fuzzing of every operation of the live OpenAPI document with schemathesis:
whatever a caller sends, anonymous or administrator, valid or not, the PBX answers with a status
it chose (never a 5xx) and an error body a user can read.

Driven through schemathesis' strategies (`APIOperation.as_strategy`) under our own Hypothesis
settings rather than `schemathesis.pytest.from_fixture`: the latter (4.32) sets
`request.node._nodeid`, which pytest 9 no longer has. Generation is derandomized and uses no
example database, so a run is the same on every machine and in CI.
"""

from __future__ import annotations

import collections

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from pbx import directory, logins
from pbx.audit import Actor
from pbx.errors import Unauthenticated

# Per operation: valid input reaches the code behind validation, so it gets more examples than
# invalid input, which mostly meets the same validation layer.
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
# The operations are fuzzed in this many tests, each on a PBX of its own (every SHARDS-th
# operation in the document's order): they run at the same time under pytest-xdist, where one
# test of every operation took minutes on its own.
SHARDS = 4
CONSOLE = Actor.console()
# Operations whose success may end the very session that is fuzzing.
SESSION_ENDERS = {"POST /api/v1/auth/logout", "POST /api/v1/employees/{employee_id}/communicator-password",
                  "DELETE /api/v1/groups/administrators/members/{employee_id}"}
# Operations that take no access token: their 401 says nothing about the administrator's.
SESSION_OPENERS = {"POST /api/v1/auth/login", "POST /api/v1/auth/refresh"}


class AdminSession:
    """The administrator the fuzzer acts as, put back on their feet whenever a fuzzed request
    logged them out, rotated their password or took them out of Administrators: otherwise every
    later operation would be fuzzed as a 401."""

    def __init__(self, api, person):
        self.api, self.id = api, person.employee.id
        session = api.login(f"{person.sip.username}@{person.sip.domain}", person.communicator_password)
        self.token, self.spare_refresh = session["access_token"], session["refresh_token"]

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def heal(self, http: requests.Session) -> None:
        me = http.get(self.api.url + "/api/v1/me", headers=self.headers(), timeout=30)
        if me.status_code == 200 and me.json()["administrator"]:
            return
        directory.set_administrator(self.api.pbx, CONSOLE, self.id, True)
        if me.status_code == 200:
            return
        try:
            session = logins.refresh(self.api.pbx, self.spare_refresh)
        except Unauthenticated:  # a rotated password ended every session, the spare one too
            password = directory.generate_communicator_password(self.api.pbx, CONSOLE, self.id)
            employee = directory.get_employee(self.api.pbx, CONSOLE, self.id)
            account = employee.sip_accounts[0]
            fresh = self.api.login(f"{account.username}@{account.domain}", password)
            self.token, self.spare_refresh = fresh["access_token"], fresh["refresh_token"]
            return
        self.token, self.spare_refresh = session.access_token, session.refresh_token


def fuzz(api, admin: AdminSession, shard: int) -> tuple[list[str], dict[str, collections.Counter], set[str]]:
    """Every SHARDS-th operation from `shard` on, with valid and with invalid input, each case
    sent first anonymously and then as the administrator. Returns what went wrong, the statuses
    each caller saw (so that a run where everything was a 401 does not pass unnoticed) and the
    operations fuzzed."""
    config = schemathesis.Config.from_dict({"generation": {"database": "none"}})
    schema = schemathesis.openapi.from_url(api.url + "/api/v1/openapi.json", config=config)
    failures: dict[tuple[str, str, int], str] = {}
    statuses = {"anonymous": collections.Counter(), "administrator": collections.Counter()}
    fuzzed: set[str] = set()

    with requests.Session() as http:  # kept alive: thousands of requests
        http.trust_env = False  # no proxy look-ups in the environment for each of them
        for index, result in enumerate(schema.get_all_operations()):
            if index % SHARDS != shard:
                continue
            operation = result.ok()
            fuzzed.add(operation.label)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
                          # No shrinking: a failure is reported with the curl command that produced it.
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode))
                def send(case):
                    for caller in ("anonymous", "administrator"):
                        headers = admin.headers() if caller == "administrator" else {}
                        response = case.call(base_url=api.url, session=http, headers=headers, timeout=30)
                        statuses[caller][operation.label, response.status_code] += 1
                        problem = _problem(response)
                        if problem and (caller, operation.label, response.status_code) not in failures:
                            failures[caller, operation.label, response.status_code] = (
                                f"{caller}, {mode.value} input: {operation.label} → {response.status_code}: "
                                f"{problem}\n    {case.as_curl_command(base_url=api.url)}")
                    # `response` is the administrator's now.
                    if operation.label in SESSION_ENDERS or (
                            response.status_code in (401, 403) and operation.label not in SESSION_OPENERS):
                        admin.heal(http)

                try:
                    send()
                except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                    assert mode is GenerationMode.NEGATIVE, operation.label
    return list(failures.values()), statuses, fuzzed


def _problem(response) -> str | None:
    if response.status_code >= 500:
        return "a server error"
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            if error["code"] and error["message"]:
                return None
        except (ValueError, KeyError, TypeError):
            pass
        return f"not the API's error shape: {response.text[:200]!r}"
    return None


# Inputs that once got a 500 (on PostgreSQL, or from the ring-plan preview), sent as they are
# before the generated ones, so that they are tried on every run whatever Hypothesis draws.
KNOWN_EDGES = [
    ("GET", "/api/v1/audit", {"params": {"after_id": 2**31}}),   # beyond PostgreSQL's integer
    ("GET", "/api/v1/audit", {"params": {"after_id": 2**63}}),   # beyond SQLite's
    ("GET", "/api/v1/employees/1/ringplan", {"params": {"at": "9999-12-31T23:59:59+00:00"}}),
    ("GET", "/api/v1/employees/1/ringplan", {"params": {"at": "0001-01-01T00:00:00+14:00"}}),
    ("POST", "/api/v1/contacts/personal", {"json": {"name": "Code", "number": "*" + "1" * 31 + "#"}}),
    ("POST", "/api/v1/contacts/company", {"json": {"name": "Code", "number": "*" + "1" * 31 + "#"}}),
]


def test_inputs_that_once_got_a_server_error_get_an_answer_a_user_can_read(api, company):
    admin = AdminSession(api, company["admin"])
    with requests.Session() as http:
        for method, path, kw in KNOWN_EDGES:
            response = http.request(method, api.url + path, headers=admin.headers(), timeout=30, **kw)
            assert _problem(response) is None and response.status_code < 500, (method, path, kw, response.text)
    log = api.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


# CPU-bound thousands of requests: on two cores shared with other pytest-xdist workers a shard
# can take several minutes, beyond the suite's per-test limit, which is there to catch hangs.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_operation_answers_a_server_error_whatever_it_is_sent(api, company, shard):
    admin = AdminSession(api, company["admin"])
    failures, statuses, fuzzed = fuzz(api, admin, shard)
    assert fuzzed, "no operation in this shard: fewer operations than SHARDS?"

    log = api.log_path.read_text(errors="replace")
    assert not failures, ("the API failed under fuzzing:\n" + "\n".join(failures)
                          + f"\n--- server log (tail) ---\n{log[-4000:]}")
    assert "Traceback" not in log, log[-4000:]
    # The fuzzing got past the door: the administrator had answers other than 401/403 from
    # every operation, and anonymous callers got in nowhere but where one logs in.
    answered = {label for (label, status) in statuses["administrator"] if status not in (401, 403)}
    assert answered == fuzzed, sorted(fuzzed - answered)
    let_in = {label for (label, status) in statuses["anonymous"] if status < 400}
    assert let_in <= {"GET /api/v1/health", "POST /api/v1/auth/login", "POST /api/v1/auth/refresh"}, let_in
