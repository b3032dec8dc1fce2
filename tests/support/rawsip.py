"""SIP by hand, for tests that must send what no real user agent would (forged tags, borrowed
Routes, bytes that are not UTF-8) or stand in for a phone or a trunk and see exactly what
reaches it: one UDP socket on loopback, messages as text."""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import time


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # RFC 2617 digest: MD5 is the protocol's


def digest_authorization(challenge: str, method: str, uri: str, username: str, password: str,
                         header: str = "Authorization") -> str:
    """The header line that answers a 401/407 `challenge` (qop=auth)."""
    realm = re.search(r'realm="([^"]+)"', challenge).group(1)
    nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
    cnonce = secrets.token_hex(4)
    response = _md5(f"{_md5(f'{username}:{realm}:{password}')}:{nonce}:00000001:{cnonce}:auth:"
                    f"{_md5(f'{method}:{uri}')}")
    return (f'{header}: Digest username="{username}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{response}", qop=auth, nc=00000001, cnonce="{cnonce}", '
            f'algorithm=MD5\r\n')


def header(message: str, name: str) -> str | None:
    """The first value of a header (case-insensitive; compact forms are not needed here)."""
    m = re.search(rf"^{re.escape(name)}:[ \t]*(.*?)\r?$", message, re.IGNORECASE | re.MULTILINE)
    return m.group(1) if m else None


def headers(message: str, name: str) -> list[str]:
    return re.findall(rf"^{re.escape(name)}:[ \t]*(.*?)\r?$", message, re.IGNORECASE | re.MULTILINE)


def status(message: str) -> int | None:
    m = re.match(r"SIP/2\.0 (\d{3})", message)
    return int(m.group(1)) if m else None


class Endpoint:
    """A UDP socket that sends SIP text and keeps every message it receives."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()
        self.received: list[str] = []

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def send(self, text: str | bytes, to: tuple[str, int]) -> None:
        self.sock.sendto(text.encode() if isinstance(text, str) else text, to)

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65535)
        except TimeoutError:
            return None
        text = data.decode("utf-8", errors="replace")
        self.received.append(text)
        return text

    def wait_for(self, predicate, timeout: float = 10.0) -> str | None:
        """The first message (already received or arriving within `timeout`) that matches."""
        for message in self.received:
            if predicate(message):
                return message
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            message = self.receive(remaining)
            if message is not None and predicate(message):
                return message
        return None

    def final_reply(self, call_id: str, timeout: float = 10.0) -> str | None:
        return self.wait_for(lambda m: (status(m) or 0) >= 200 and f"Call-ID: {call_id}" in m, timeout)

    def drain(self, seconds: float) -> list[str]:
        """Everything that arrives within `seconds`."""
        start = len(self.received)
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self.receive(remaining)
        return self.received[start:]

    def request(self, method: str, ruri: str, *, to: tuple[str, int], from_uri: str, to_uri: str,
                from_tag: str | None = None, to_tag: str | None = None, call_id: str | None = None,
                cseq: int = 1, contact: str | None = None, extra: str = "", body: str = "") -> str:
        """Send a request; its Call-ID."""
        call_id = call_id or secrets.token_hex(8)
        text = (f"{method} {ruri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.address};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
                f"Max-Forwards: 70\r\n"
                f"From: <{from_uri}>;tag={from_tag or secrets.token_hex(4)}\r\n"
                f"To: <{to_uri}>{f';tag={to_tag}' if to_tag else ''}\r\n"
                f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: {contact or f'<sip:talker-test@{self.address}>'}\r\n"
                f"{extra}Content-Length: {len(body.encode())}\r\n\r\n{body}")
        self.send(text, to)
        return call_id

    def reply(self, request: str, code: int, reason: str, *, to_tag: str | None = None,
              extra: str = "", sdp: str = "") -> None:
        """Answer `request` from this endpoint (Via, Record-Route, From, To, Call-ID, CSeq copied)."""
        lines = []
        for name in ("Via", "Record-Route"):
            lines += [f"{name}: {v}" for v in headers(request, name)]
        to = header(request, "To") or ""
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines += [f"From: {header(request, 'From')}", f"To: {to}",
                  f"Call-ID: {header(request, 'Call-ID')}", f"CSeq: {header(request, 'CSeq')}",
                  f"Contact: <sip:phone@{self.address}>"]
        via = headers(request, "Via")[0]
        m = re.search(r"SIP/2\.0/UDP ([^;:\s]+):(\d+)", via)
        received = re.search(r";received=([^;\s]+)", via)
        rport = re.search(r";rport=(\d+)", via)
        target = (received.group(1) if received else m.group(1),
                  int(rport.group(1)) if rport else int(m.group(2)))
        if sdp:
            extra += "Content-Type: application/sdp\r\n"
        self.send(f"SIP/2.0 {code} {reason}\r\n" + "\r\n".join(lines) + "\r\n"
                  + extra + f"Content-Length: {len(sdp.encode())}\r\n\r\n{sdp}", target)


def audio_answer(port: int) -> str:
    """An SDP answer with PCMU on `port` of loopback (nothing needs to listen there)."""
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def register(pbx_port: int, domain: str, username: str, password: str, contact_port: int,
             *, timeout: float = 3.0) -> None:
    """REGISTER `username` at the PBX on 127.0.0.1:`pbx_port` with a contact at 127.0.0.1:
    `contact_port` (a sipp scenario or an Endpoint stands for that phone)."""
    with Endpoint() as s:
        call_id = secrets.token_hex(8)

        def send(cseq: int, auth: str = "") -> str:
            # Retransmitted as a phone does over UDP (RFC 3261 timer E: 0.5 s, doubling to 4 s).
            deadline, interval = time.monotonic() + timeout, 0.5
            while (remaining := deadline - time.monotonic()) > 0:
                s.request("REGISTER", f"sip:{domain}", to=("127.0.0.1", pbx_port),
                          from_uri=f"sip:{username}@{domain}", to_uri=f"sip:{username}@{domain}",
                          from_tag=call_id[:8], call_id=call_id, cseq=cseq,
                          contact=f"<sip:{username}@127.0.0.1:{contact_port}>",
                          extra=auth + "Expires: 3600\r\n")
                reply = s.wait_for(lambda m: (status(m) or 0) >= 200 and f"CSeq: {cseq} " in m,
                                   min(interval, remaining))
                if reply is not None:
                    return reply
                interval = min(interval * 2, 4.0)
            return ""

        challenge = send(1)
        if status(challenge) not in (401, 407):
            raise RuntimeError(f"REGISTER {username}: no challenge within {timeout} s")
        s.received.clear()
        reply = send(2, digest_authorization(challenge, "REGISTER", f"sip:{domain}", username, password))
        if not reply.startswith("SIP/2.0 200"):
            raise RuntimeError(f"REGISTER {username} failed: {reply.splitlines()[:1]}")


class TrunkCall:
    """A call the trunk gateway brings in, by hand: INVITE `number` from `caller`, then `ack()`
    once answered and `bye()`. Where a scenario tool cannot follow the dialog (sipp puts the
    callee's display name into the ACK's request URI when its Contact has one), this reads the
    remote target and the route set from the 200 itself (RFC 3261 12.1.2)."""

    def __init__(self, endpoint: Endpoint, pbx: tuple[str, int], number: str, caller: str):
        self.endpoint, self.pbx, self.caller = endpoint, pbx, caller
        self.tag = secrets.token_hex(4)
        self.call_id = endpoint.request(
            "INVITE", f"sip:{number}@{pbx[0]}:{pbx[1]}", to=pbx, from_uri=f"sip:{caller}@{endpoint.address}",
            to_uri=f"sip:{number}@{pbx[0]}", from_tag=self.tag, contact=f"<sip:{caller}@{endpoint.address}>",
            extra="Content-Type: application/sdp\r\n", body=audio_answer(4998))
        self._ok: str | None = None

    def answered(self, timeout: float = 20.0) -> str:
        """The 200 to the INVITE (AssertionError when another final reply or none came)."""
        reply = self.endpoint.final_reply(self.call_id, timeout)
        if status(reply or "") != 200:
            raise AssertionError(f"the call was not answered: {(reply or 'no reply').splitlines()[0]}")
        self._ok = reply
        return reply

    def final(self, timeout: float = 20.0) -> int | None:
        reply = self.endpoint.final_reply(self.call_id, timeout)
        return status(reply or "")

    def _in_dialog(self, method: str, cseq: int) -> None:
        ok = self._ok or self.answered()
        target = re.search(r"<([^>]+)>", header(ok, "Contact") or "").group(1)
        routes = list(reversed(headers(ok, "Record-Route")))   # the caller's side: in reverse
        to_tag = re.search(r";tag=([^;>\s]+)", header(ok, "To") or "").group(1)
        first = re.search(r"<sip:([^;>]+)", routes[0]).group(1) if routes else target.split("@", 1)[-1]
        host, port = first.rsplit(":", 1)
        self.endpoint.request(method, target, to=(host, int(port)), from_uri=f"sip:{self.caller}@{self.endpoint.address}",
                              to_uri=re.search(r"<([^>]+)>", header(ok, "To")).group(1), from_tag=self.tag,
                              to_tag=to_tag, call_id=self.call_id, cseq=cseq,
                              extra="".join(f"Route: {r}\r\n" for r in routes))

    def ack(self) -> None:
        self._in_dialog("ACK", 1)

    def bye(self) -> None:
        self._in_dialog("BYE", 2)
