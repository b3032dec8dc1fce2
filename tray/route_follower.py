"""The SIP engine's local address follows the route to the PBX: a network that comes up after
the app, another Wi-Fi, a VPN, a PBX on another host.

A thread of its own waits for the OS to say that addresses or routes changed (tray/sip/network.py,
`RouteChanges`), or polls every few seconds while the PBX cannot be reached or where the OS does
not say; the app also pokes it when registration fails or the account changes. If packets to
the PBX now leave from another local address, the engine moves there and registers again from
it. Registered and nothing changing, the thread sleeps.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable

from tray.sip.engine import EngineError, SipEngine
from tray.sip.network import RouteChanges
from tray.threadnames import name_this_thread

log = logging.getLogger(__name__)

# How often the route is looked at where the OS does not tell of route changes, and while the
# PBX cannot be reached.
ROUTE_POLL_S = 5.0

Route = Callable[[str], "str | None"]  # the PBX's host → the local address packets to it leave from


class RouteFollower:
    def __init__(self, route: Route | None, engine: SipEngine, *, server: Callable[[], str | None],
                 registered: Callable[[], bool], busy: Callable[[], bool]):
        """`route` None: the address was given, nothing to follow. `server`: the PBX's host now;
        `registered`: whether the engine is registered; `busy`: whether calls are in progress
        (they keep their address; the move waits until they end)."""
        self._route = route
        self._engine = engine
        self._server = server
        self._registered = registered
        self._busy = busy
        self._stop = threading.Event()
        self._changes = RouteChanges(ROUTE_POLL_S)
        if route is None:
            self._changes.close()  # nothing to follow: no watcher thread, no open files

    def start(self) -> None:
        if self._route is not None:
            threading.Thread(target=self._follow, name="route", daemon=True).start()

    def poke(self) -> None:
        """Look at the route now (registration failed, the account changed, the app stops)."""
        self._changes.poke()

    def stop(self) -> None:
        self._stop.set()
        self._changes.poke()

    def _follow(self) -> None:
        name_this_thread("route")
        while True:
            self._changes.wait(poll=not self._registered())
            if self._stop.is_set():
                self._changes.close()
                return
            server = self._server()
            address = self._route(server) if server is not None else None
            if address is None or address == self._engine.bind_address:
                continue
            if self._busy():
                continue  # calls keep their address; the next check moves once they end
            log.info("the route to %s now leaves from %s", server, address)
            try:
                self._engine.rebind(address).result(10)
            except (EngineError, concurrent.futures.TimeoutError) as e:
                log.warning("the SIP engine could not move to %s: %s", address, e)
