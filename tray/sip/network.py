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
        infos = socket.getaddrinfo(host, 5060, type=socket.SOCK_DGRAM)
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


class RouteChanges:
    """Wakes a waiter when the OS's addresses or routes change, or when poked.

    On Linux the kernel says so on a netlink socket, so a waiter sleeps until something really
    changed (an idle app wakes for nothing). Where this process cannot be told (other OS, or no
    netlink here), `wait` also returns every `fallback_s`: a slow poll; a caller that cannot
    reach its server asks for that poll too (a route can change in ways no notification
    covers, such as a name that resolves elsewhere now). What changed is not parsed: any
    change means "look at the route again", which is cheap."""

    def __init__(self, fallback_s: float = 5.0):
        self.fallback_s = fallback_s
        # A socket pair, not a pipe: Windows selects on sockets only.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._closed = False
        self._netlink: socket.socket | None = None
        if sys.platform.startswith("linux"):
            try:
                sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
                sock.bind((0, _RTMGRP))
                sock.setblocking(False)
                self._netlink = sock
            except OSError as e:
                log.info("no netlink notifications of route changes (%s): looking every %g s", e, fallback_s)

    def poke(self) -> None:
        """Wake the waiter now (any thread)."""
        if self._closed:
            return  # nobody waits
        try:
            self._wake_w.send(b"!")
        except OSError:
            pass  # a wake-up is pending already

    def wait(self, poll: bool = False) -> None:
        """Until a change, a poke, or fallback_s when `poll` or without notifications."""
        fds: list = [self._wake_r] + ([self._netlink] if self._netlink is not None else [])
        ready, _, _ = select.select(fds, [], [], self.fallback_s if poll or self._netlink is None else None)
        if self._netlink in ready:
            # Changes come in bursts (an address, then its routes): take the burst as one.
            time.sleep(0.1)
            while True:
                try:
                    self._netlink.recv(65536)
                except (BlockingIOError, OSError):
                    break
        while True:
            try:
                if not self._wake_r.recv(4096):
                    break
            except OSError:
                break

    def close(self) -> None:
        self._closed = True
        for sock in (self._wake_r, self._wake_w, self._netlink):
            if sock is not None:
                sock.close()
