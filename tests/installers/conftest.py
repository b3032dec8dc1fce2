"""Fixtures for the installer tests. Every test already has its own HOME and XDG directories
(tests/conftest.py); these add a way to run the installer as a user would and to compare a
home before and after."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import playwright_driver as driver

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)


@pytest.fixture(scope="package")
def playwright_driver():
    """This package's Playwright driver (tests/support/playwright_driver.py)."""
    yield from driver.running()


@pytest.fixture(autouse=True)
def _never_the_real_home(isolated_environment, tmp_path):
    """These tests install for "the user": make sure that user is the test's (tests/conftest.py
    gives every test its own HOME and XDG folders), before anything is written."""
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        assert Path(os.environ[name]).is_relative_to(tmp_path), name


@pytest.fixture
def db_url():
    """SQLite only: these tests exercise the installers, not the PBX's database backends."""
    return None


def snapshot(home: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file, folder and link under `home`, with what it holds: the HOME "as it was"."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(home):
        rel_dir = os.path.relpath(dirpath, home)
        if rel_dir != "." and rel_dir.startswith(skip):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = os.path.relpath(path, home)
            if rel.startswith(skip):
                continue
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()[:16] + f" {oct(path.stat().st_mode & 0o777)}"
    return found


def integration(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """`python -m installers ...` from this venv, as `talker-integration` runs; never a
    terminal on stdin, so a question would be answered no at once (and never hang)."""
    return subprocess.run([sys.executable, "-P", "-m", "installers", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL, cwd=ROOT)


def install(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = integration("install", "--venv", str(VENV), *args, env=env)
    assert done.returncode == 0, done.stderr
    return done


class MemoryRegistry:
    """A registry in a dict, for the Windows backend's logic on Linux (the tests that use it say
    `without_windows`): keys are case-insensitive as in Windows; values are REG_SZ."""

    def __init__(self):
        self.keys: dict[str, dict[str, str]] = {}

    def _k(self, key: str) -> str:
        return key.lower()

    def get(self, key, name):
        return self.keys.get(self._k(key), {}).get(name.lower())

    def key_exists(self, key):
        return self._k(key) in self.keys

    def set(self, key, name, data):
        parts = key.split("\\")
        for i in range(2, len(parts) + 1):
            self.keys.setdefault(self._k("\\".join(parts[:i])), {})
        self.keys[self._k(key)][name.lower()] = data

    def delete_value(self, key, name):
        self.keys.get(self._k(key), {}).pop(name.lower(), None)

    def delete_key_if_empty(self, key):
        k = self._k(key)
        if k in self.keys and not self.keys[k] and not any(other.startswith(k + "\\") for other in self.keys):
            del self.keys[k]

    def copy(self) -> dict:
        return {k: dict(v) for k, v in self.keys.items()}


class FakeLaunchServices:
    """Launch Services' default URL handlers in a dict, for the macOS backend's logic on Linux
    (the tests that use it say `without_macos`)."""

    def __init__(self, handlers: dict[str, str] | None = None):
        self.handlers = dict(handlers or {})

    def default_handler(self, scheme):
        return self.handlers.get(scheme)

    def set_default_handler(self, scheme, bundle_id):
        self.handlers[scheme] = bundle_id
        return True
