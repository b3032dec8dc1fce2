"""A blocking client of the app's control channel (`talker --callto`, the native host).

Standard library only, and cheap to import: it sits on the `talker --callto` path. It speaks to
`_socket` directly: `socket` imports `enum` and `selectors`, which cost a short-lived command
more than connecting, asking and reading the answer.
"""

from __future__ import annotations

import _socket
import itertools
import os
import time

from common import locations
from common.protocol import JsonLines, ProtocolError, loads, request

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs milliseconds
if TYPE_CHECKING:
    from typing import Any


def _tr(key: str, **params: object) -> str:
    # The texts load only when something went wrong: a dial that goes through never needs them.
    from common.i18n import tr

    return tr(key, **params)


class ControlError(Exception):
    """The app answered with an error, or could not be reached. str() is one sentence."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class AppNotRunning(ControlError):
    def __init__(self) -> None:
        super().__init__("app_not_running", _tr("app.not_running"))


class UnsafeChannel(ControlError):
    """The channel's folder, socket or port file, or the process listening on it, is not this
    user's alone: nothing was sent, and nothing will be until that is put right."""

    def __init__(self, problem: locations.UnsafeDirectory):
        super().__init__("unsafe_channel", str(problem))


def _open_socket(timeout: float) -> tuple[_socket.socket, str | None]:
    sock = None
    try:
        # Whoever could create the folder or the file could be the one listening (issue 11):
        # nothing is sent before they are found to be ours.
        if locations.control_transport() == "unix":
            path = locations.control_socket_path()
            locations.check_private(os.path.dirname(path), "dir")
            locations.check_private(path, "socket")
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            sock.settimeout(timeout)
            locations.with_socket_name(path, sock.connect)
            # The listener itself, in case the socket was swapped between the checks and connect.
            uid = locations.peer_uid(sock)
            if uid is not None and uid != os.getuid():
                raise locations.UnsafeDirectory(path, "owner")
            return sock, None
        port_file = locations.control_port_file()
        locations.check_private(os.path.dirname(port_file), "dir")
        locations.check_private(port_file, "file")
        with open(port_file, encoding="utf-8") as f:
            info = loads(f.read())
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", int(info["port"])))
        return sock, str(info["secret"])
    except locations.UnsafeDirectory as e:
        if sock is not None:
            sock.close()
        raise UnsafeChannel(e) from None
    except (OSError, ValueError, KeyError, TypeError):
        # No socket, nobody listening, or a stale port file: the app is not running.
        if sock is not None:
            sock.close()
        raise AppNotRunning() from None


def open_socket(timeout: float = 5.0) -> tuple[_socket.socket, str | None]:
    """A socket connected to the app and the secret its hello must carry (None on a Unix
    socket); AppNotRunning if nobody listens, UnsafeChannel if the channel is not this user's
    alone. For clients that run their own protocol loop (the native host)."""
    return _open_socket(timeout)


class ControlClient:
    def __init__(self, sock: _socket.socket, secret: str | None, client: str):
        self._sock = sock
        self._proto = JsonLines()
        self._ids = itertools.count(1)
        self._inbox: list[dict[str, Any]] = []
        self._hello = request("0", "hello", client=client, **({"secret": secret} if secret else {}))

    @classmethod
    def connect(cls, *, client: str = "cli", timeout: float = 5.0) -> ControlClient:
        sock, secret = _open_socket(timeout)
        self = cls(sock, secret, client)
        # The hello is sent with the first request, saving a round trip.
        self._proto.send(self._hello)
        return self

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, action: str, **fields: object) -> str:
        rid = str(next(self._ids))
        self._proto.send(request(rid, action, **fields))
        try:
            self._sock.sendall(self._proto.data_to_send())
        except OSError:
            raise AppNotRunning() from None
        return rid

    def request(self, action: str, *, timeout: float = 10.0, **fields: object) -> dict[str, Any]:
        """Send one request and wait for its reply; the result, or ControlError."""
        rid = self.send(action, **fields)
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self._inbox):
                if message.get("id") == "0" and not message.get("ok"):
                    raise _error(message)  # the hello was refused
                if message.get("id") == rid:
                    del self._inbox[i]
                    if message.get("ok"):
                        return message.get("result") or {}
                    raise _error(message)
            self._receive(deadline)

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event after a subscribe, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self._inbox):
                if "event" in message:
                    return self._inbox.pop(i)
            try:
                self._receive(deadline)
            except ControlError as e:
                if e.code == "timeout":
                    return None
                raise

    def _receive(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ControlError("timeout", _tr("app.no_reply"))
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(65536)
        except TimeoutError:
            raise ControlError("timeout", _tr("app.no_reply")) from None
        except OSError:
            raise AppNotRunning() from None
        if not data:
            self._proto.receive_eof()
        else:
            self._proto.receive_data(data)
        for item in self._proto.events_received():
            if isinstance(item, ProtocolError):
                raise ControlError("internal", _tr("app.bad_message", detail=item.detail))
            self._inbox.append(item)
        if not data:
            raise ControlError("app_not_running", _tr("app.refused"))


def _error(message: dict[str, Any]) -> ControlError:
    err = message.get("error") or {}
    return ControlError(str(err.get("code", "internal")), str(err.get("message", _tr("app.internal"))))
