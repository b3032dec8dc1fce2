from __future__ import annotations

from pathlib import Path

import pytest

from pbx.instance import PbxInstance
from tests.support.api import ApiServer


@pytest.fixture
def api(tmp_path: Path, db_url: str | None):
    """A running `talker-pbx serve` over real HTTP, on each database backend."""
    pbx = PbxInstance.init(tmp_path / "pbx", database_url=db_url)
    server = ApiServer(pbx, tmp_path / "api.log")
    try:
        yield server
    finally:
        server.stop()
        pbx.engine.dispose()


@pytest.fixture
def company(api: ApiServer):
    """An administrator and two employees, each with a communicator password."""
    return {
        "admin": api.add_employee("101", "Anna Ivanova", admin=True, mobile="+79161234567",
                                  email="anna@example.com"),
        "boris": api.add_employee("102", "Boris Petrov", mobile="8 (912) 345-67-89", email="Boris@Example.com"),
        "vera": api.add_employee("103", "Vera Sidorova"),
    }
