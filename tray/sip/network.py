"""Which local address the SIP engine binds to, and when to look again."""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import sys
import time

log = logging.getLogger(__name__)


def local_address_for(server: str) -> str | None:
    """The local address that packets to `server` (host[:port]) leave from: loopback for a PBX
    on this machine, so that nothing listens beyond it; the LAN address for a remote PBX. None
    while the name does not resolve or no route leads there (no network yet)."""
    if server.startswith("["):             # [v6]:port
        host = server[1:].split("]", 1)[0]
    elif server.count(":") == 1:           # host:port
        host = server.rsplit(":", 1)[0]
    else:                                  # host, or a bare v6 address
        host = server
    try:
        # An ASCII name goes as bytes: given a str, socket encodes it with the "idna" codec,
        # which loads stringprep's tables into the app for nothing.
        infos = socket.getaddrinfo(host.encode() if host.isascii() else host, 5060, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError):
        return None
    family, _, _, _, sockaddr = infos[0]
    if ipaddress.ip_address(sockaddr[0]).is_loopback:
        return "::1" if family == socket.AF_INET6 else "127.0.0.1"
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(sockaddr)  # no packet is sent: this only asks the routing table
            return s.getsockname()[0]
    except OSError:
        return None  # no route


# Linux rtnetlink multicast groups: links, IPv4/IPv6 addresses and routes (linux/rtnetlink.h).
_RTMGRP = 0x1 | 0x10 | 0x40 | 0x100 | 0x400
_AF_UNSPEC = 0


def _change_socket() -> socket.socket | None:
    """A socket that becomes readable when the OS's addresses or routes change: rtnetlink on
    Linux, the routing socket (PF_ROUTE) on macOS and the BSDs. None where there is neither."""
    if sys.platform.startswith("linux"):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            sock.bind((0, _RTMGRP))
        except OSError:
            sock.close()
            raise
    elif sys.platform == "darwin" or "bsd" in sys.platform:
        # Every process may open one; it carries RTM_NEWADDR/DELADDR/ADD/DELETE/IFINFO.
        sock = socket.socket(socket.AF_ROUTE, socket.SOCK_RAW, _AF_UNSPEC)
    else:
        return None
    sock.setblocking(False)
    return sock


class _WindowsNotifications:
    """NotifyIpInterfaceChange and NotifyRouteChange2 (iphlpapi): Windows calls `on_change`
    on a thread of its own for each interface, address or route change."""

    def __init__(self, on_change) -> None:
        import ctypes

        iphlpapi = ctypes.windll.iphlpapi  # type: ignore[attr-defined]
        callback_type = ctypes.WINFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)  # type: ignore[attr-defined]
        # Kept referenced: Windows calls it until it is cancelled.
        self._callback = callback_type(lambda context, row, kind: on_change())
        self._cancel = iphlpapi.CancelMibChangeNotify2
        self._handles: list = []
        for register in (iphlpapi.NotifyIpInterfaceChange, iphlpapi.NotifyRouteChange2):
            handle = ctypes.c_void_p()
            error = register(_AF_UNSPEC, self._callback, None, False, ctypes.byref(handle))
            if error:
                self.close()
                raise OSError(error, f"{register.__name__} failed")
            self._handles.append(handle)

    def close(self) -> None:
        for handle in self._handles:
            self._cancel(handle)
        self._handles.clear()


class RouteChanges:
    """Wakes a waiter when the OS's addresses or routes change, or when poked.

    The OS says so — rtnetlink on Linux, the routing socket on macOS and the BSDs, iphlpapi's
    change notifications on Windows — so a waiter sleeps until something really changed (an
    idle app wakes for nothing). Where this process cannot be told, `wait` also returns every
    `fallback_s`: a slow poll; a caller that cannot reach its server asks for that poll too (a
    route can change in ways no notification covers, such as a name that resolves elsewhere
    now). What changed is not parsed: any change means "look at the route again", which is
    cheap."""

    def __init__(self, fallback_s: float = 5.0):
        self.fallback_s = fallback_s
        # A socket pair, not a pipe: Windows selects on sockets only.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._closed = False
        self._changes: socket.socket | None = None
        self._windows: _WindowsNotifications | None = None
        try:
            if sys.platform == "win32":
                self._windows = _WindowsNotifications(self._changed)
            else:
                self._changes = _change_socket()
        except (OSError, AttributeError) as e:
            log.info("no notifications of route changes (%s): looking every %g s", e, fallback_s)

    @property
    def notified(self) -> bool:
        """Whether the OS tells of changes here (else only the slow poll finds them)."""
        return self._changes is not None or self._windows is not None

    def poke(self) -> None:
        """Wake the waiter now (any thread)."""
        if self._closed:
            return  # nobody waits
        try:
            self._wake_w.send(b"!")
        except OSError:
            pass  # a wake-up is pending already

    def _changed(self) -> None:
        # Changes come in bursts (an address, then its routes): a pending wake-up covers them all.
        self.poke()

    def wait(self, poll: bool = False) -> None:
        """Until a change, a poke, or fallback_s when `poll` or without notifications."""
        fds: list = [self._wake_r] + ([self._changes] if self._changes is not None else [])
        ready, _, _ = select.select(fds, [], [], self.fallback_s if poll or not self.notified else None)
        if self._changes is not None and self._changes in ready:
            # Changes come in bursts (an address, then its routes): take the burst as one.
            time.sleep(0.1)
            while True:
                try:
                    self._changes.recv(65536)
                except (BlockingIOError, OSError):
                    break
        elif self._windows is not None and self._wake_r in ready:
            time.sleep(0.1)   # the same burst, told through the socket pair
        while True:
            try:
                if not self._wake_r.recv(4096):
                    break
            except OSError:
                break

    def close(self) -> None:
        self._closed = True
        if self._windows is not None:
            self._windows.close()
        for sock in (self._wake_r, self._wake_w, self._changes):
            if sock is not None:
                sock.close()
