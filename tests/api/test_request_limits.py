"""A request body larger than any the PBX has use for is refused before the API holds it: the
client gets 413 with a machine-readable reason, and the server's memory stays where it was —
whether the body announces its size (Content-Length) or streams in chunks without one."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from pbx import prodcalendar
from pbx.api.app import MAX_JSON_BODY_BYTES, MAX_XML_BODY_BYTES
from tests.api.helpers import error_of

ATTACK_BYTES = 50 * 1024 * 1024
PIECE = b"[" * 65536  # what a JSON parser would have to descend into, had it the chance
MEMORY_SLACK_KB = 4 * 1024


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class PeakMemory:
    """The server's resident memory, sampled every few milliseconds while a request runs."""

    def __init__(self, pid: int):
        self.pid, self.before = pid, rss_kb(pid)
        self.peak, self._done = self.before, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, rss_kb(self.pid))

    def stop(self) -> int:
        """Growth in kB from before the request to the highest point seen."""
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kb(self.pid))
        return self.peak - self.before


def post_streaming(port: int, path: str, *, chunked: bool, total: int = ATTACK_BYTES):
    """POST `total` bytes of junk from a raw socket, sending on one thread while the answer is
    read on this one, as an attacker's client would: (response, body, seconds to the answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"{framing}\r\n\r\n".encode())

    def send() -> None:
        try:
            for _ in range(total // len(PIECE)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(PIECE), PIECE) if chunked else PIECE)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may stop listening once it has answered

    sender = threading.Thread(target=send, daemon=True)
    started = time.monotonic()
    sender.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        took = time.monotonic() - started
        sender.join(60)
        return response, body, took
    finally:
        sock.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_50_mb_login_body_gets_413_at_once_and_costs_the_server_no_memory(api_process, chunked):
    # `talker-pbx serve` in its own process: only there is the memory measured the server's alone.
    api = api_process
    memory = PeakMemory(api.proc.pid)
    response, body, took = post_streaming(api.port, "/api/v1/auth/login", chunked=chunked)
    growth_kb = memory.stop()
    assert response.status == 413, body[:300]
    error = json.loads(body)["error"]
    assert error["code"] == "body_too_large" and error["max_bytes"] == MAX_JSON_BODY_BYTES, error
    assert took < 10, f"the answer took {took:.1f} s"
    assert growth_kb < MEMORY_SLACK_KB, f"the server grew by {growth_kb} kB"
    # The server is still there for everyone else.
    with api.client() as c:
        assert c.get("/health").status_code == 200


def test_json_gets_room_for_the_largest_scheme_and_xml_for_the_largest_calendar(api, company):
    """JSON, which the API parses before it checks any token, is held to what the largest
    receive scheme needs; a production calendar (XML) gets room up to what the importer takes,
    so an administrator's oversized file is told what is wrong with it, not just "too large"."""
    assert MAX_XML_BODY_BYTES > prodcalendar.MAX_XML_BYTES
    with api.as_(company["admin"]) as admin:
        me = admin.get("/me").json()
        scheme = admin.get(f"/employees/{me['id']}/scheme").json()
        # 32 devices (the most a scheme has), each with a schedule of 40 rules: far beyond any office.
        rule = {"type": "weekdays", "days": ["mon", "tue", "wed", "thu", "fri"],
                "windows": [{"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}]}
        devices = [{"id": f"ext-{n}", "kind": "external", "address": f"+7495000{n:04d}", "active": True,
                    "position": n, "ring_timeout_s": 20, "schedule": {"rules": [rule] * 40}} for n in range(32)]
        body = json.dumps({"mode": scheme["mode"], "timezone": scheme["timezone"], "devices": devices})
        assert 64 * 1024 < len(body) < MAX_JSON_BODY_BYTES
        r = admin.put(f"/employees/{me['id']}/scheme", content=body,
                      headers={"Content-Type": "application/json", "If-Match": "*"})
        assert r.status_code == 200, r.text[:500]

        r = admin.post("/contacts/personal", content=b" " * (MAX_JSON_BODY_BYTES + 1),
                       headers={"Content-Type": "application/json"})
        assert error_of(r, 413)["max_bytes"] == MAX_JSON_BODY_BYTES
        # Calling JSON XML buys no room: a JSON route does not parse it.
        r = admin.post("/contacts/personal", content=b'{"name": "' + b"x" * 500_000 + b'"}',
                       headers={"Content-Type": "application/xml"})
        assert error_of(r, 422)["code"] == "invalid_input"

        headers = {"Content-Type": "application/xml", "If-Match": "*"}
        big = b"<calendar year='2026'><days>" + b" " * prodcalendar.MAX_XML_BYTES + b"</days></calendar>"
        r = admin.post("/calendar/import", content=big, headers=headers)
        assert "calendar is far smaller" in error_of(r, 422)["message"], r.text
        r = admin.post("/calendar/import", content=b" " * (MAX_XML_BODY_BYTES + 1), headers=headers)
        assert error_of(r, 413)["max_bytes"] == MAX_XML_BODY_BYTES
        r = admin.post("/calendar/import", headers=headers,
                       content=b'<calendar year="2026"><days><day d="01.02" t="1"/></days></calendar>')
        assert r.status_code == 200, r.text
