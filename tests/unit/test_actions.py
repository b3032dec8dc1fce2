"""The app's action table (tray/actions.py) as plain calls: it must name exactly the control
schema's actions, and an action run for the menu that the app refuses becomes a notification
in the user's words instead of vanishing."""

from __future__ import annotations

import asyncio

import pytest

from common import protocol
from common.i18n import tr
from tray.actions import Actions
from tray.control_server import RequestFailed


def _table(**overrides):
    table = {name: (lambda m, conn: {}) for name in protocol.actions() if name != "hello"}
    table.update(overrides)
    return table


def _run_at_once(coro) -> bool:
    asyncio.run(coro)
    return True


def test_a_table_that_misses_or_invents_an_action_is_refused_at_start():
    table = _table()
    del table["set_receive_mode"]
    with pytest.raises(ValueError, match="set_receive_mode"):
        Actions(table, submit=_run_at_once, notify=print)
    with pytest.raises(ValueError, match="make_coffee"):
        Actions(_table(make_coffee=lambda m, conn: {}), submit=_run_at_once, notify=print)


def test_a_refusal_of_a_menu_action_is_notified_and_a_success_is_silent():
    async def refuse(m, conn):
        raise RequestFailed("pbx_refused", refusal)

    refusal = "Only members of Administrators may change the scheme."
    said: list[str] = []
    done: list[dict] = []
    actions = Actions(_table(set_receive_mode=refuse, hangup=lambda m, conn: done.append(m) or {}),
                      submit=_run_at_once, notify=said.append)
    actions.post("set_receive_mode", mode="in_turn")
    actions.post("hangup", call_id="c1")
    assert said == [tr("tray.change_refused", reason=refusal)]
    assert done == [{"call_id": "c1"}]


def test_an_action_posted_before_the_loop_runs_is_dropped_without_a_warning_from_asyncio():
    never: list[object] = []

    def not_running(coro) -> bool:
        coro.close()
        return False

    actions = Actions(_table(quit=lambda m, conn: never.append(m) or {}), submit=not_running, notify=never.append)
    actions.post("quit")
    assert never == []
