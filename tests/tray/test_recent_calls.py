"""The tray menu's recent calls say how each call went, in the user's language: a call declined
here or answered on another phone is never shown as missed (tests/integration/test_call_history.py
makes such calls for real; this reads what they leave in the history)."""

from __future__ import annotations

import pytest

from common import i18n
from tests.support.tray import find, menu, start_app, texts
from tray.history import CallHistory

BORIS = {"number": "102", "name": "Boris Petrov", "direction": "in", "at": "2026-12-04T07:00:00+00:00"}


@pytest.fixture
def app_with_history():
    history = CallHistory()
    # Oldest first: the menu lists the newest first.
    history.add({**BORIS, "missed": True, "answered": False})  # written before outcomes were kept
    history.add({**BORIS, "outcome": "answered", "answered": True})
    history.add({**BORIS, "outcome": "missed", "answered": False})
    history.add({**BORIS, "outcome": "answered_elsewhere", "answered": False})
    history.add({**BORIS, "outcome": "declined", "answered": False})
    history.add({"number": "103", "name": "", "direction": "out", "outcome": "unanswered", "answered": False,
                 "at": BORIS["at"]})
    app = start_app()
    try:
        yield app
    finally:
        app.shutdown()


def test_each_incoming_call_is_listed_as_it_ended(app_with_history):
    assert texts(find(menu(app_with_history), "Recent calls")._action) == [
        "↗ 103 — not answered",
        "⊘ Boris Petrov (102) — declined",
        "↪ Boris Petrov (102) — answered elsewhere",
        "✗ Boris Petrov (102)",
        "↙ Boris Petrov (102)",
        "✗ Boris Petrov (102)",
    ]


def test_in_russian(app_with_history, monkeypatch):
    monkeypatch.setattr(i18n, "_language", "ru")
    recent = texts(find(menu(app_with_history), "Недавние звонки")._action)
    assert recent[1:3] == ["⊘ Boris Petrov (102) — отклонён",
                           "↪ Boris Petrov (102) — принят на другом устройстве"]
