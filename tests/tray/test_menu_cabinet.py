"""The tray menu's way into the PBX's web cabinet: administrators get "Open cabinet…", which
opens the cabinet of the PBX the app is logged in to in the default browser."""

from __future__ import annotations

import webbrowser

import httpx
import pytest

from tests.support.tray import find, menu, texts

pytestmark = pytest.mark.slow


def test_an_administrator_opens_the_cabinet_of_their_pbx(pbx_api, logged_in, monkeypatch):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = logged_in(anna)
    opened: list[str] = []
    # The OS browser is the one thing not started here: record what it would have been given.
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **kw: opened.append(url) or True)
    find(menu(app), "Open cabinet…")(app.icon.icon)
    assert opened == [pbx_api.url + "/"]
    page = httpx.get(opened[0], timeout=10)
    assert page.status_code == 200 and '<script type="module" src="/app.js">' in page.text


def test_someone_outside_administrators_has_no_cabinet_item(pbx_api, logged_in):
    pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    boris = pbx_api.add_employee("102", "Boris Petrov")
    app = logged_in(boris)
    assert "Open cabinet…" not in texts(menu(app))
