"""The screenshot test uses the windows' fixtures: a private X display, the PBX and its API."""

from tests.windows.conftest import db_url, pbx_api  # noqa: F401 - fixtures, found by name
