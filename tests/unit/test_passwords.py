"""Communicator passwords are stored as scrypt hashes at the PBX's cost, and a hash made at any
cost it names checks the same way (the tests hash at a lower one: tests/conftest.py)."""

from __future__ import annotations

import pytest

from pbx import passwords
from tests.conftest import TEST_SCRYPT_N


@pytest.mark.production_password_cost
def test_the_pbx_hashes_at_its_own_cost_and_checks_what_it_hashed():
    stored = passwords.hash_password("correct horse")
    assert stored.split("$")[:4] == ["scrypt", str(2**14), "8", "1"]
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("correct hors", stored)


def test_a_hash_made_at_the_tests_cost_checks_at_the_pbx_cost_too(monkeypatch):
    stored = passwords.hash_password("correct horse")
    assert stored.split("$")[1] == str(TEST_SCRYPT_N)
    monkeypatch.setattr(passwords, "_N", 2**14)   # the PBX's own, as a real server has it
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("wrong", stored)
    assert not passwords.verify_password("wrong", None)
