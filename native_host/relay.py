"""The native host's relay, with no I/O: browser frames on one side, the app's control channel
on the other (native_host/README.md).

The host holds no state of its own beyond a connection: it checks each browser message against
the control schema, renames its id (so that the host's own `hello` can never clash with one the
extension chose), passes it on, and passes every reply and event back. What it answers itself:
malformed frames, messages the schema refuses, actions the browser may not use, and requests
when the app is not running.

The adapter (native_host/main.py) drives it:
- bytes from stdin → `receive_from_browser()`, end of stdin → `browser_closed()`;
- when `wants_connection` is set, try to connect, then `connected(secret)` or `connect_failed()`;
- bytes from the app → `receive_from_app()`, end of them → `app_closed()`;
- after each of these, write `data_to_browser()` to stdout and `data_to_app()` to the socket;
- exit once `done` is set.
"""

from __future__ import annotations

import itertools

from common import browser_bridge
from common.i18n import tr
from common.protocol import JsonLines, ProtocolError, actions, error_reply, request, validate_request
from native_host.framing import FrameError, MessageTooLarge, NativeMessaging

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs milliseconds
if TYPE_CHECKING:
    from typing import Any

CLIENT_NAME = "native-host"
# Never from the browser, whatever the schema says: the hello is the host's own, and closing the
# app is not the browser's business.
NEVER_FROM_BROWSER = frozenset({"hello", "quit"})


def browser_actions() -> frozenset[str]:
    """What the extension may ask of the app: the schema's actions open to this kind of client
    (a branch's x-clients, when it has one, must name it). The app enforces the same rule."""
    return frozenset(
        name for name, branch in actions().items()
        if name not in NEVER_FROM_BROWSER and CLIENT_NAME in branch.get("x-clients", (CLIENT_NAME,))
    )


BROWSER_ACTIONS = browser_actions()
HELLO_ID = "h"

IDLE, CONNECTING, CONNECTED = "idle", "connecting", "connected"


class Relay:
    def __init__(self, *, max_from_browser: int = browser_bridge.MAX_MESSAGE_BYTES_FROM_BROWSER,
                 max_to_browser: int = browser_bridge.MAX_MESSAGE_BYTES_TO_BROWSER):
        self.browser = NativeMessaging(max_in=max_from_browser, max_out=max_to_browser)
        self.app = JsonLines()
        self.state = IDLE
        self.wants_connection = False
        self.done = False
        self._ids = itertools.count(1)
        self._waiting: list[dict[str, Any]] = []  # requests for the app, before it is connected
        self._pending: dict[str, str] = {}        # our id → the browser's id

    # --- the browser side ----------------------------------------------------------------
    def receive_from_browser(self, data: bytes) -> None:
        self.browser.receive_data(data)
        self._handle_browser_events()

    def browser_closed(self) -> None:
        self.browser.receive_eof()
        self._handle_browser_events()
        self.done = True

    def _handle_browser_events(self) -> None:
        for item in self.browser.events_received():
            if isinstance(item, FrameError):
                self._to_browser(error_reply(None, "invalid_message", tr("app.bad_message", detail=item.detail)))
            else:
                self._browser_message(item)

    def _browser_message(self, message: dict[str, Any]) -> None:
        rid = message.get("id") if isinstance(message.get("id"), str) else None
        action = message.get("action")
        if isinstance(action, str) and action not in BROWSER_ACTIONS:
            detail = f"the browser may not use {action[:40]!r}"
            self._to_browser(error_reply(rid, "unknown_action", tr("app.bad_message", detail=detail)))
            return
        problem = validate_request(message)
        if problem is not None:
            self._to_browser(error_reply(rid, problem.code, tr("app.bad_message", detail=problem.detail)))
            return
        ours = f"b{next(self._ids)}"
        self._pending[ours] = message["id"]
        forward = {**message, "id": ours}
        if self.state == CONNECTED:
            self.app.send(forward)
        else:
            self._waiting.append(forward)
            if self.state == IDLE:
                self.state = CONNECTING
                self.wants_connection = True

    # --- the app side ----------------------------------------------------------------------
    def connect_soon(self) -> None:
        """Connect before the first request (saves the first click a round trip)."""
        if self.state == IDLE:
            self.state = CONNECTING
            self.wants_connection = True

    def connected(self, secret: str | None) -> None:
        self.wants_connection = False
        self.state = CONNECTED
        hello = {"client": CLIENT_NAME, **({"secret": secret} if secret else {})}
        # The hello goes out with the first requests: the app settles it before reading on.
        self.app.send(request(HELLO_ID, "hello", **hello))
        for message in self._waiting:
            self.app.send(message)
        self._waiting.clear()

    def connect_failed(self, code: str = "app_not_running", detail: str | None = None) -> None:
        """No connection: nobody listens (the app is not running), or the channel is not the
        user's alone (`unsafe_channel`, with its sentence). The waiting requests get that
        error; the next request tries again."""
        self.wants_connection = False
        self.state = IDLE
        waiting, self._waiting = self._waiting, []
        for message in waiting:
            if message["id"] in self._pending:
                self._to_browser(error_reply(self._pending.pop(message["id"]), code, detail or tr("app.not_running")))

    def receive_from_app(self, data: bytes) -> None:
        self.app.receive_data(data)
        for item in self.app.events_received():
            if isinstance(item, ProtocolError):
                # The app sent something that is not a message: nothing to relay.
                continue
            self._app_message(item)
        if self.app.closed:
            self.app_closed()

    def app_closed(self) -> None:
        """The app went away: answer what it left open, then the host exits. The extension
        starts a new host when it needs one."""
        for ours in list(self._pending):
            self._answer_app_not_running(ours)
        for message in self._waiting:
            self._answer_app_not_running(message["id"])
        self._waiting.clear()
        self.state = IDLE
        self.done = True

    def _app_message(self, message: dict[str, Any]) -> None:
        if "event" in message:
            self._to_browser(message, droppable=True)
            return
        rid = message.get("id")
        if rid == HELLO_ID:
            if not message.get("ok"):
                # Refused (a wrong secret): everything asked so far fails the same way.
                error = message.get("error") or {}
                for ours in list(self._pending):
                    browser_id = self._pending.pop(ours)
                    self._to_browser(error_reply(browser_id, str(error.get("code", "unauthorized")),
                                                 str(error.get("message", tr("app.refused")))))
                self.done = True
            return
        if rid not in self._pending:
            return  # a reply to nothing we asked: not the browser's concern
        self._to_browser({**message, "id": self._pending.pop(rid)})

    def _answer_app_not_running(self, ours: str) -> None:
        if ours in self._pending:
            self._to_browser(error_reply(self._pending.pop(ours), "app_not_running", tr("app.not_running")))

    # --- output ------------------------------------------------------------------------------
    def _to_browser(self, message: dict[str, Any], droppable: bool = False) -> None:
        try:
            self.browser.send(message)
        except MessageTooLarge:
            # Chrome closes the port on a message over 1 MB. An event can be left out (the
            # next status brings the state); a reply must still come, as an error.
            if not droppable and "id" in message:
                self.browser.send(error_reply(message["id"], "internal", tr("app.internal")))

    def data_to_browser(self) -> bytes:
        return self.browser.data_to_send()

    def data_to_app(self) -> bytes:
        return self.app.data_to_send()
