"""Guessing a password in parallel, over the real `talker-pbx serve`, on SQLite and PostgreSQL.

The lockout allows five wrong guesses per employee and address. An attacker who sends his
guesses all at once must not get more than that: every guess counts before its password is
checked, and no guess ends in a 500."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pbx.logins import MAX_FAILURES

GUESSERS = 16
# Each guess holds its request as long as a real check does (the race the lockout must win, and
# the database connections held meanwhile).
pytestmark = pytest.mark.production_password_cost


def test_guesses_sent_at_once_get_no_more_tries_than_one_at_a_time(api, company):
    clients = [api.client() for _ in range(GUESSERS)]
    try:
        for c in clients:  # connections open before the race
            c.get("/health")
        barrier = threading.Barrier(GUESSERS)

        def guess(i: int) -> int:
            barrier.wait()
            return clients[i].post("/auth/login", json={"login": "102", "password": f"guess-{i}"}).status_code

        with ThreadPoolExecutor(GUESSERS) as pool:
            answers = list(pool.map(guess, range(GUESSERS)))
    finally:
        for c in clients:
            c.close()
    assert 500 not in answers, answers
    assert answers.count(401) <= MAX_FAILURES, f"{answers.count(401)} guesses were checked: {answers}"
    assert answers.count(401) + answers.count(429) == GUESSERS, answers
    # Boris's own password no longer opens from that address either, until the lock ends.
    with api.client() as late:
        r = late.post("/auth/login", json={"login": "102", "password": company["boris"].communicator_password})
        assert r.status_code == 429, r.text
