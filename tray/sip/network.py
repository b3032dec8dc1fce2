"""Which local address the SIP engine binds to."""

from __future__ import annotations

import ipaddress
import socket


def local_address_for(server: str) -> str:
    """The local address that packets to `server` (host[:port]) leave from: loopback for a PBX
    on this machine, so that nothing listens beyond it; the LAN address for a remote PBX."""
    host = server.rsplit(":", 1)[0] if server.count(":") == 1 else server
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, 5060, type=socket.SOCK_DGRAM)
    except socket.gaierror:
        return "127.0.0.1"
    family, _, _, _, sockaddr = infos[0]
    if ipaddress.ip_address(sockaddr[0]).is_loopback:
        return "::1" if family == socket.AF_INET6 else "127.0.0.1"
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect(sockaddr)  # no packet is sent: this only asks the routing table
        return s.getsockname()[0]
