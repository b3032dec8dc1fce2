"""The screenshot test uses the windows' fixtures: a private X display, the PBX and its API."""

from tests.windows.conftest import db_url  # noqa: F401 - a fixture, found by name (SQLite only)
