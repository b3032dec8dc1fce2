"""The app's side of the control channel: an asyncio server on its own thread.

Unreachable from web pages by construction: on Linux and macOS a Unix socket in a user-only
directory, and the peer's uid is checked (SO_PEERCRED / getpeereid); on Windows a loopback port
whose clients must say hello with the per-run secret from a user-only file. Any connection whose
first byte is not "{" (every HTTP request, WebSocket handshake or browser fetch) is closed at once.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from common import locations
from common.i18n import tr
from tray.threadnames import name_this_thread
from common.protocol import (
    JsonLines, ProtocolError, allowed_clients, error_reply, ok_reply, protocol_version, validate_request,
)

log = logging.getLogger(__name__)


class RequestFailed(Exception):
    """Raised by a handler: the reply is an error with this code and sentence."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Connection:
    _ids = itertools.count(1)

    def __init__(self, writer: asyncio.StreamWriter, needs_secret: bool):
        self.id = next(self._ids)
        self.writer = writer
        self.proto = JsonLines()
        self.greeted = not needs_secret
        self.client = "unknown"
        self.subscribed = False

    def send(self, message: dict) -> None:
        if self.writer.is_closing():
            return
        self.proto.send(message)
        self.writer.write(self.proto.data_to_send())


Handler = Callable[[Connection, dict], Awaitable[dict]]


class ControlServer:
    def __init__(self, handler: Handler, *, transport: str | None = None, run_dir: Path | None = None):
        self._handler = handler
        self.transport = transport or locations.control_transport()
        self.run_dir = run_dir or locations.runtime_dir()
        # os.urandom, not the secrets module: the same bytes, without importing random at start.
        self._secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode() if self.transport == "tcp" else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._connections: set[Connection] = set()
        self.address: str = ""

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def call_soon(self, fn: Callable, *args) -> None:
        """Run `fn` on the server's loop (from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def broadcast(self, event: dict) -> None:
        """Send an event to every subscribed connection (from any thread)."""
        self.call_soon(self._broadcast, event)

    def run_coroutine(self, coro) -> bool:
        """Run `coro` on the server's loop (from any thread), without waiting; False (and the
        coroutine closed, never run) when the loop is not running."""
        if self._loop is None or self._loop.is_closed():
            coro.close()
            return False
        asyncio.run_coroutine_threadsafe(coro, self._loop)
        return True

    def _broadcast(self, event: dict) -> None:
        for conn in list(self._connections):
            if conn.subscribed:
                conn.send(event)

    def _run(self) -> None:
        name_this_thread("control")
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
        except BaseException as e:
            self._error = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _listen(self) -> None:
        locations.ensure_private_dir(self.run_dir)
        if self.transport == "unix":
            path = self.run_dir / locations.CONTROL_SOCKET
            # Only the lock holder gets here (tray/single_instance.py), so a socket file left
            # behind is stale.
            path.unlink(missing_ok=True)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old_umask = os.umask(0o177)
            try:
                locations.with_socket_name(str(path), sock.bind)
            except BaseException:
                sock.close()
                raise
            finally:
                os.umask(old_umask)
            self._server = await asyncio.start_unix_server(self._serve, sock=sock)
            self.address = str(path)
        else:
            self._server = await asyncio.start_server(self._serve, host="127.0.0.1", port=0)
            port = self._server.sockets[0].getsockname()[1]
            self._write_port_file(port)
            self.address = f"127.0.0.1:{port}"
        log.info("control channel on %s (%s)", self.address, self.transport)

    def _write_port_file(self, port: int) -> None:
        path = self.run_dir / locations.CONTROL_PORT_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"port": port, "secret": self._secret, "pid": os.getpid()}, f)
        tmp.replace(path)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.writer.close()
        if self.transport == "unix":
            (self.run_dir / locations.CONTROL_SOCKET).unlink(missing_ok=True)
        else:
            (self.run_dir / locations.CONTROL_PORT_FILE).unlink(missing_ok=True)

    # --- one connection -------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.transport == "unix" and not _same_user(writer.get_extra_info("socket")):
            log.warning("control channel: refused a client of another user")
            writer.close()
            return
        conn = Connection(writer, needs_secret=self.transport == "tcp")
        self._connections.add(conn)
        tasks: set[asyncio.Task] = set()
        try:
            while not conn.proto.closed:
                data = await reader.read(65536)
                if data:
                    conn.proto.receive_data(data)
                else:
                    conn.proto.receive_eof()
                for item in conn.proto.events_received():
                    if isinstance(item, ProtocolError):
                        conn.send(error_reply(item.request_id, item.code, tr("app.bad_message", detail=item.detail)))
                        if item.fatal:
                            log.warning("control channel: closing client %d: %s", conn.id, item.detail)
                        continue
                    if not conn.greeted and item.get("action") != "hello":
                        conn.send(error_reply(_rid(item), "unauthorized", tr("app.refused")))
                        conn.proto.closed = True
                        break
                    task = asyncio.create_task(self._dispatch(conn, item))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    if item.get("action") == "hello":
                        await task  # nothing else runs before the hello is settled
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(conn)
            for task in tasks:
                task.cancel()
            writer.close()

    async def _dispatch(self, conn: Connection, message: dict) -> None:
        rid = _rid(message)
        problem = validate_request(message)
        if problem is not None:
            conn.send(error_reply(rid, problem.code, tr("app.bad_message", detail=problem.detail)))
            if message.get("action") == "hello" and not conn.greeted:
                conn.proto.closed = True
            return
        if message["action"] == "hello":
            self._hello(conn, message)
            return
        allowed = allowed_clients(message["action"])
        if allowed is not None and conn.client not in allowed:
            # The browser's native host, for one, may never log in or out, quit the app or
            # reach the PBX API in the user's name.
            conn.send(error_reply(rid, "forbidden", tr("app.forbidden_client", client=conn.client)))
            return
        try:
            result = await self._handler(conn, message)
        except RequestFailed as e:
            conn.send(error_reply(rid, e.code, str(e)))
        except Exception:
            log.exception("control request %s failed", message.get("action"))
            conn.send(error_reply(rid, "internal", tr("app.internal")))
        else:
            conn.send(ok_reply(rid, result))

    def _hello(self, conn: Connection, message: dict) -> None:
        rid = message["id"]
        if self._secret is not None:
            given = message.get("secret", "")
            import hmac

            if not hmac.compare_digest(given.encode(), self._secret.encode()):
                log.warning("control channel: client %d gave a wrong secret", conn.id)
                conn.send(error_reply(rid, "unauthorized", tr("app.refused")))
                conn.proto.closed = True
                return
        conn.greeted = True
        conn.client = message["client"]
        conn.send(ok_reply(rid, {"app": "talker", "protocol": protocol_version(), "pid": os.getpid()}))


def _rid(message: dict) -> str | None:
    rid = message.get("id")
    return rid if isinstance(rid, str) else None


def _same_user(sock: socket.socket | None) -> bool:
    if sock is None:
        return False
    uid = locations.peer_uid(sock)
    return uid is None or uid == os.getuid()  # None: the user-only directory is the gate
