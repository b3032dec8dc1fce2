"""Which local address the SIP engine binds to."""

from __future__ import annotations

import ipaddress
import socket


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
