"""The app's one action table: every thing the app can be asked to do, by name, defined once.

Like baresip's command registry, which its TCP control module and its keyboard menu both
dispatch into, the control channel (tray/control_server.py) and the tray menu (tray/menu.py)
both run the same handlers: `{"action": "set_receive_mode", "mode": "in_turn"}` from a window
and the menu's "All numbers in turn" are one code path. The names and the arguments are the
control protocol's (common/control-schema.json, docs/control-protocol.md); the menu passes its
arguments under the same names.

A handler gets the request's fields (`args`) and, from the control channel, the connection it
came on (None from the menu). It returns the reply's result, or raises RequestFailed with a
stable code and a sentence for the user. Handlers run on the control thread's asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping

from common import protocol
from common.i18n import tr
from tray.control_server import Connection, RequestFailed

log = logging.getLogger(__name__)

Handler = Callable[[dict, "Connection | None"], "Awaitable[dict] | dict"]
# Runs a coroutine on the app's loop from any thread (ControlServer.run_coroutine).
Submit = Callable[[Coroutine], bool]


class Actions:
    def __init__(self, handlers: Mapping[str, Handler], *, submit: Submit, notify: Callable[[str], None]):
        # "hello" is the control channel's own business (tray/control_server.py); every other
        # action of the protocol must have a handler here, and nothing else may.
        wanted = set(protocol.actions()) - {"hello"}
        if set(handlers) != wanted:
            raise ValueError(f"the action table and the control schema differ: "
                             f"{sorted(set(handlers) ^ wanted)}")
        self._handlers = dict(handlers)
        self._submit = submit
        self._notify = notify

    def names(self) -> frozenset[str]:
        return frozenset(self._handlers)

    async def run(self, action: str, args: dict, conn: Connection | None = None) -> dict:
        result = self._handlers[action](args, conn)
        return await result if asyncio.iscoroutine(result) else result

    async def handle_request(self, conn: Connection, message: dict) -> dict:
        """The control channel's handler: the message has passed the schema already."""
        return await self.run(message["action"], message, conn)

    def post(self, action: str, **args) -> None:
        """Run an action from any thread (the menu's), without waiting: a refusal becomes a
        notification, and the menu, rebuilt when it next opens, shows what really is."""
        if action not in self._handlers:
            raise KeyError(action)  # a programming error in the caller, not the user's
        if not self._submit(self._guarded(action, args)):
            log.warning("action %s before the app's loop runs: ignored", action)

    async def _guarded(self, action: str, args: dict) -> None:
        try:
            await self.run(action, args)
        except RequestFailed as e:
            # A warning to confirm by doing it again is said as it is, not as a refusal.
            self._notify(str(e) if e.code == "confirm_needed" else tr("tray.change_refused", reason=str(e)))
        except Exception:
            log.exception("menu action %s failed", action)
