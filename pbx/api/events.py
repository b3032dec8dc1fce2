"""The event stream: every change to the PBX, pushed to the apps it concerns.

The source is the audit log (pbx/audit.py): each write adds an entry in its own transaction, so
following the table sees every committed change, whichever process made it (this API, the
console, another API instance on the same database). Calls that reached nobody are no one's
change: Kamailio adds them to their own table (pbx/unreached.py), which is followed the same way
and announced to that employee only as {"resource": "unreached_calls"}. One poller per API process reads new
entries a few times a second and hands each to the connections in its audience.

A stream belongs to the session whose access token opened it, not to that token: it stays open
across the app's refreshes and is closed (code 4401) within about a second of the session
ending — a logout, a rotated password, a removed employee — whichever process ended it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import func, select

from pbx import audit, logins
from pbx.db import AuditEntry, UnreachedCall
from pbx.errors import Unauthenticated
from pbx.instance import PbxInstance

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.2
SESSION_CHECK_S = 0.5
QUEUE_LIMIT = 1000  # a client this far behind is dropped: it reconnects and refetches

# Close codes in the 4000 range mirror the HTTP status an app would get (RFC 6455 §7.4.2).
CLOSE_SESSION_ENDED = 4401
CLOSE_TOO_FAR_BEHIND = 1013  # "try again later": reconnect and refetch


@dataclass(eq=False)
class Listener:
    employee_id: int
    session: str  # logins.session_key of the token that opened the stream
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    # Set with (code, reason) when the hub ends the stream.
    closed: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def close(self, code: int, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))


class EventHub:
    def __init__(self, pbx: PbxInstance):
        self.pbx = pbx
        self.listeners: set[Listener] = set()
        self._last_id = 0
        self._last_unreached_id = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._last_id, self._last_unreached_id = await asyncio.to_thread(self._newest_ids)
        self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _newest_ids(self) -> tuple[int, int]:
        with self.pbx.sessions() as s:
            return (s.scalar(select(func.max(AuditEntry.id))) or 0,
                    s.scalar(select(func.max(UnreachedCall.id))) or 0)

    def _unreached_after(self, last_id: int) -> list[tuple[int, int]]:
        with self.pbx.sessions() as s:
            return [tuple(r) for r in s.execute(select(UnreachedCall.id, UnreachedCall.employee_id)
                                                .where(UnreachedCall.id > last_id).order_by(UnreachedCall.id)
                                                .limit(500))]

    def _entries_after(self, last_id: int) -> list[AuditEntry]:
        with self.pbx.sessions() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)
                                  .limit(500)))

    async def _poll(self) -> None:
        checked = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                entries = await asyncio.to_thread(self._entries_after, self._last_id)
            except Exception:
                log.exception("event stream: reading the audit log failed")
                entries = []
            for entry in entries:
                self._last_id = entry.id
                self._dispatch(entry)
            try:
                unreached = await asyncio.to_thread(self._unreached_after, self._last_unreached_id)
            except Exception:
                log.exception("event stream: reading the unreached calls failed")
                unreached = []
            for row_id, employee_id in unreached:
                self._last_unreached_id = row_id
                self._send(employee_id, {"type": "changed", "resource": "unreached_calls", "id": row_id,
                                         "action": "unreached_call.create"})
            if self.listeners and loop.time() - checked >= SESSION_CHECK_S:
                checked = loop.time()
                await self._close_ended_sessions()
            await asyncio.sleep(POLL_INTERVAL_S)

    async def _close_ended_sessions(self) -> None:
        listeners = list(self.listeners)
        try:
            alive = await asyncio.to_thread(logins.live_sessions, self.pbx, {x.session for x in listeners})
        except Exception:
            log.exception("event stream: checking the sessions failed")
            return
        for listener in listeners:
            if listener.session not in alive:
                self.listeners.discard(listener)
                listener.close(CLOSE_SESSION_ENDED, "session ended")

    def _send(self, employee_id: int, event: dict) -> None:
        for listener in list(self.listeners):
            if listener.employee_id == employee_id:
                try:
                    listener.queue.put_nowait(event)
                except asyncio.QueueFull:
                    self.listeners.discard(listener)
                    listener.close(CLOSE_TOO_FAR_BEHIND, "too far behind: reconnect")

    def _dispatch(self, entry: AuditEntry) -> None:
        if entry.audience_id == audit.NOBODY:
            return
        event = {"type": "changed", "event_id": entry.id, "resource": entry.resource,
                 "id": entry.resource_id, "action": entry.action}
        for listener in list(self.listeners):
            if entry.audience_id is audit.EVERYONE or entry.audience_id == listener.employee_id:
                try:
                    listener.queue.put_nowait(event)
                except asyncio.QueueFull:
                    self.listeners.discard(listener)
                    listener.close(CLOSE_TOO_FAR_BEHIND, "too far behind: reconnect")


router = APIRouter()


@router.websocket("/api/v1/events")
async def events(websocket: WebSocket) -> None:
    """Changes that concern this employee, as {"type": "changed", "resource": ..., "id": ...}:
    the app refetches that resource. Authenticate with `Authorization: Bearer <access token>`
    (never in the URL, where proxies and logs keep it). Close codes: 4401 the session has ended
    (refresh or log in again), 1013 the app fell too far behind (reconnect and refetch)."""
    hub: EventHub = websocket.app.state.events
    header = websocket.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    try:
        actor, _ = await asyncio.to_thread(logins.authenticate, hub.pbx, token)
    except Unauthenticated:
        await websocket.close(code=CLOSE_SESSION_ENDED, reason="log in first")
        return
    await websocket.accept()
    listener = Listener(actor.employee_id, logins.session_key(token))
    hub.listeners.add(listener)
    receiver = asyncio.create_task(websocket.receive_text())  # only to notice the close
    try:
        await websocket.send_json({"type": "hello", "employee_id": actor.employee_id})
        while True:
            getter = asyncio.create_task(listener.queue.get())
            done, _ = await asyncio.wait({getter, receiver, listener.closed}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                break
            if listener.closed in done:
                getter.cancel()
                code, reason = listener.closed.result()
                await websocket.close(code=code, reason=reason)
                break
            await websocket.send_json(getter.result())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.listeners.discard(listener)
        receiver.cancel()
        if receiver.done() and not receiver.cancelled():
            receiver.exception()  # a disconnect is expected here, not an error to report
