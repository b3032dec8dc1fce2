from __future__ import annotations

from pathlib import Path

import pytest

from pbx.instance import PbxInstance
from tests.support.api import ApiProcess, ApiServer


def _serve(kind, tmp_path: Path, db_url: str | None):
    pbx = PbxInstance.init(tmp_path / "pbx", database_url=db_url)
    server = kind(pbx, tmp_path / "api.log")
    try:
        yield server
    finally:
        server.stop()
        pbx.engine.dispose()


@pytest.fixture
def api(tmp_path: Path, db_url: str | None):
    """The API server `talker-pbx serve` runs, over real HTTP on a thread of this process, on
    each database backend."""
    yield from _serve(ApiServer, tmp_path, db_url)


@pytest.fixture
def api_process(tmp_path: Path, db_url: str | None):
    """`talker-pbx serve` itself, in a process of its own, on each database backend."""
    yield from _serve(ApiProcess, tmp_path, db_url)


@pytest.fixture
def company(api: ApiServer):
    """An administrator and two employees, each with a communicator password."""
    return {
        "admin": api.add_employee("101", "Anna Ivanova", admin=True, mobile="+79161234567",
                                  email="anna@example.com"),
        "boris": api.add_employee("102", "Boris Petrov", mobile="8 (912) 345-67-89", email="Boris@Example.com"),
        "vera": api.add_employee("103", "Vera Sidorova"),
    }
