"""What a SIP attacker tries against a PBX with a trunk, on loopback, and what reaches whom.

The attacker is a raw UDP socket (tests/support/rawsip.py): it sends what no real phone would.
The trunk gateway and the phones it targets are raw sockets too, so that the test sees exactly
what reached them - nothing, for every attack here. Real phones (pjsua2) make the calls whose
Route an attacker borrows, and show that the dialogs themselves still work.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from tests.support import rawsip
from tests.support.rawsip import status

pytestmark = pytest.mark.slow

NUMBER = "+74991234567"


@pytest.fixture
def db_url():
    """These rules do not depend on the database: SQLite is enough."""
    return None


@pytest.fixture
def sockets():
    opened: list[rawsip.Endpoint] = []

    def open_one() -> rawsip.Endpoint:
        opened.append(rawsip.Endpoint())
        return opened[-1]

    try:
        yield open_one
    finally:
        for s in opened:
            s.close()


def _pbx(kamailio) -> tuple[str, int]:
    return ("127.0.0.1", kamailio.port)


def _requests(endpoint: rawsip.Endpoint, seconds: float = 1.5) -> list[str]:
    """The requests (not replies) that reach `endpoint` within `seconds`."""
    return [m for m in endpoint.drain(seconds) if status(m) is None]


def test_an_invite_with_a_made_up_to_tag_never_reaches_the_trunk(kamailio, sockets):
    """The open relay: To-tag forged, the PBX in Route, the trunk in the R-URI."""
    trunk, attacker = sockets(), sockets()
    kamailio.set_trunk(trunk.address)
    kamailio.add_employee("201", "Anna Ivanova")
    call_id = attacker.request(
        "INVITE", f"sip:{NUMBER}@{trunk.address}", to=_pbx(kamailio),
        from_uri=f"sip:201@{kamailio.domain}", to_uri=f"sip:{NUMBER}@{trunk.address}",
        to_tag="forged", extra=f"Route: <sip:{kamailio.server};lr>\r\n")
    reply = attacker.final_reply(call_id, 5)
    assert reply is not None and status(reply) in (403, 407), reply
    assert _requests(trunk) == []


def test_an_employee_with_a_password_cannot_make_up_a_dialog_to_the_trunk(kamailio, sockets):
    """The same with a colleague's credentials: authenticated, but still no dialog to the trunk."""
    trunk, attacker = sockets(), sockets()
    kamailio.set_trunk(trunk.address)
    creds = kamailio.add_employee("201", "Anna Ivanova")
    ruri = f"sip:{NUMBER}@{trunk.address}"

    def send(cseq: int, call_id: str | None = None, auth: str = "") -> str:
        return attacker.request("INVITE", ruri, to=_pbx(kamailio), from_uri=f"sip:201@{kamailio.domain}",
                                to_uri=ruri, from_tag="a1", to_tag="forged", call_id=call_id, cseq=cseq,
                                extra=f"Route: <sip:{kamailio.server};lr>\r\n{auth}")

    call_id = send(1)
    challenge = attacker.final_reply(call_id, 5)
    assert challenge is not None and status(challenge) == 407, challenge
    attacker.received.clear()
    send(2, call_id, rawsip.digest_authorization(challenge, "INVITE", ruri, "201", creds.password,
                                                 "Proxy-Authorization"))
    reply = attacker.final_reply(call_id, 5)
    assert reply is not None and status(reply) == 403, reply
    assert _requests(trunk) == []


def test_a_route_to_another_host_is_not_followed(kamailio, sockets):
    elsewhere, target, attacker = sockets(), sockets(), sockets()
    kamailio.add_employee("201", "Anna Ivanova")
    call_id = attacker.request(
        "INVITE", f"sip:victim@{target.address}", to=_pbx(kamailio),
        from_uri=f"sip:201@{kamailio.domain}", to_uri=f"sip:victim@{target.address}", to_tag="forged",
        extra=f"Route: <sip:{kamailio.server};lr>, <sip:{elsewhere.address};lr>\r\n")
    reply = attacker.final_reply(call_id, 5)
    assert reply is not None and status(reply) in (403, 407), reply
    assert _requests(elsewhere, 1.0) == [] and _requests(target, 0.5) == []


def test_a_message_in_a_made_up_dialog_does_not_reach_a_colleagues_phone(kamailio, sockets):
    phone, attacker = sockets(), sockets()
    kamailio.add_employee("201", "Anna Ivanova")
    boris = kamailio.add_employee("202", "Boris Petrov")
    rawsip.register(kamailio.port, kamailio.domain, "202", boris.password, phone.port)
    call_id = attacker.request(
        "MESSAGE", f"sip:202@{phone.address}", to=_pbx(kamailio),
        from_uri=f"sip:201@{kamailio.domain}", to_uri=f"sip:202@{kamailio.domain}", to_tag="forged",
        extra=f"Route: <sip:{kamailio.server};lr>\r\nContent-Type: text/plain\r\n", body="Transfer the money")
    reply = attacker.final_reply(call_id, 5)
    assert reply is not None and status(reply) in (403, 407), reply
    assert _requests(phone) == []


def test_the_route_of_a_real_call_takes_its_requests_only_to_the_other_end(kamailio, peers, sockets):
    """Boris's "phone" is a raw socket: it answers Anna's real call, then, as an attacker holding
    the call's signed Route, tries to send a request to the trunk and to another host. Only the
    request to Anna arrives: her phone hangs up when Boris's BYE comes."""
    trunk, elsewhere, phone = sockets(), sockets(), sockets()
    kamailio.set_trunk(trunk.address)
    boris = kamailio.add_employee("202", "Boris Petrov")
    rawsip.register(kamailio.port, kamailio.domain, "202", boris.password, phone.port)
    anna = peers(kamailio, "201", "Anna Ivanova")

    anna.command("call", number="202")
    invite = phone.wait_for(lambda m: m.startswith("INVITE "), 10)
    assert invite is not None, "Anna's call did not reach Boris's phone"
    route = ", ".join(rawsip.headers(invite, "Record-Route"))
    assert "talker-dlg=" in route, route
    phone.reply(invite, 200, "OK", to_tag="boris", sdp=rawsip.audio_answer(40000))
    anna.wait_call("connected", timeout=10)

    call_id = rawsip.header(invite, "Call-ID")
    anna_tag = rawsip.header(invite, "From").split("tag=")[1].split(";")[0]
    anna_contact = re.search(r"<([^>]+)>", rawsip.header(invite, "Contact")).group(1)

    def in_dialog(method: str, ruri: str, cseq: int, extra_route: str = "") -> str:
        phone.received.clear()
        phone.request(method, ruri, to=_pbx(kamailio), from_uri=f"sip:202@{kamailio.domain}",
                      to_uri=f"sip:201@{kamailio.domain}", from_tag="boris", to_tag=anna_tag,
                      call_id=call_id, cseq=cseq, extra=f"Route: {route}{extra_route}\r\n")
        return phone.final_reply(call_id, 5) or ""

    assert status(in_dialog("INVITE", f"sip:{NUMBER}@{trunk.address}", 10)) == 403
    assert status(in_dialog("MESSAGE", f"sip:x@{elsewhere.address}", 11,
                            f", <sip:{trunk.address};lr>")) == 403
    assert _requests(trunk, 1.0) == [] and _requests(elsewhere, 0.5) == []

    assert status(in_dialog("BYE", anna_contact, 12)) == 200
    anna.wait_call("ended", timeout=10)


def test_a_request_uri_that_is_not_utf8_gets_400_and_kamailio_keeps_routing(kamailio, peers, sockets):
    attacker = sockets()
    kamailio.add_employee("201", "Anna Ivanova")
    call_id = "not-utf8-1"
    attacker.send(("OPTIONS sip:\xff\xfe@%s SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP %s;branch=z9hG4bKbad1;rport\r\nMax-Forwards: 70\r\n"
                   "From: <sip:x@example.org>;tag=1\r\nTo: <sip:y@%s>\r\nCall-ID: %s\r\n"
                   "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                   % (kamailio.server, attacker.address, kamailio.domain, call_id)).encode("latin-1"),
                  _pbx(kamailio))
    reply = attacker.final_reply(call_id, 5)
    assert reply is not None and status(reply) == 400, reply
    # The worker that refused it still routes: a real phone registers and is called.
    callee = peers(kamailio, "202", "Boris Petrov")
    caller = peers(kamailio, "203", "Vera Sidorova")
    caller.command("call", number="202")
    callee.wait_call("incoming", timeout=10)


def test_a_colleague_cannot_pass_for_someone_else(kamailio, sockets):
    """P-Asserted-Identity, P-Preferred-Identity and Remote-Party-ID from a phone never reach
    another phone: the PBX asserts the authenticated account instead."""
    phone, anna = sockets(), sockets()
    boris = kamailio.add_employee("202", "Boris Petrov")
    creds = kamailio.add_employee("201", "Anna Ivanova")
    rawsip.register(kamailio.port, kamailio.domain, "202", boris.password, phone.port)
    ruri = f"sip:202@{kamailio.domain}"
    forged = ("P-Asserted-Identity: <sip:100@pbx.local>\r\n"
              "P-Preferred-Identity: <sip:100@pbx.local>\r\n"
              'Remote-Party-ID: "Director" <sip:100@pbx.local>;party=calling\r\n')

    def send(cseq: int, call_id: str | None = None, auth: str = "") -> str:
        return anna.request("INVITE", ruri, to=_pbx(kamailio), from_uri=f"sip:201@{kamailio.domain}",
                            to_uri=ruri, from_tag="a1", call_id=call_id, cseq=cseq, extra=forged + auth,
                            contact=f"<sip:201@{anna.address}>")

    call_id = send(1)
    challenge = anna.final_reply(call_id, 5)
    assert challenge is not None and status(challenge) == 407, challenge
    send(2, call_id, rawsip.digest_authorization(challenge, "INVITE", ruri, "201", creds.password,
                                                 "Proxy-Authorization"))
    invite = phone.wait_for(lambda m: m.startswith("INVITE "), 10)
    assert invite is not None
    assert rawsip.headers(invite, "P-Asserted-Identity") == [f"<sip:201@{kamailio.domain}>"]
    assert rawsip.headers(invite, "P-Preferred-Identity") == []
    assert rawsip.headers(invite, "Remote-Party-ID") == []


def _register_within(kamailio, username: str, password: str, timeout: float) -> bool:
    """A fresh phone registers (a new address and port each time) within `timeout`."""
    with rawsip.Endpoint() as phone:
        try:
            rawsip.register(kamailio.port, kamailio.domain, username, password, phone.port,
                            timeout=timeout)
        except RuntimeError:
            return False
    return True


class Flood:
    """OPTIONS from `flooder` at 1,000 a second, on a thread of its own, for as long as the
    `with` block lasts; it enters once the flood has run a second (pike finds the address hot)."""

    def __init__(self, kamailio, flooder: rawsip.Endpoint):
        self.kamailio, self.flooder = kamailio, flooder
        self.sent = self.replies = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Flood:
        self.flooder.sock.setblocking(False)
        self._thread.start()
        time.sleep(1.0)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        self.flooder.sock.setblocking(True)
        self.replies += len(self.flooder.drain(1.0))

    def _run(self) -> None:
        domain = self.kamailio.domain
        message = (f"OPTIONS sip:202@{domain} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {self.flooder.address};branch=z9hG4bKflood;rport\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:flood@example.org>;tag=f\r\n"
                   f"To: <sip:202@{domain}>\r\nCall-ID: flood\r\nCSeq: 1 OPTIONS\r\n"
                   f"Content-Length: 0\r\n\r\n").encode()
        start = time.monotonic()
        while not self._stop.is_set():
            self.flooder.sock.sendto(message, _pbx(self.kamailio))
            self.sent += 1
            if self.sent % 100 == 0:
                time.sleep(max(0.0, start + self.sent / 1000 - time.monotonic()))
            try:
                while self.flooder.sock.recv(65535):
                    self.replies += 1
            except BlockingIOError:
                pass


def test_a_flooding_address_is_ignored_while_phones_elsewhere_register_and_call(kamailio, peers):
    """1,000 OPTIONS a second from 127.0.0.2: the PBX stops answering that address after a few
    hundred, and meanwhile fresh phones register and a registered phone gets its call."""
    vera = kamailio.add_employee("203", "Vera Sidorova")
    boris = peers(kamailio, "202", "Boris Petrov")
    anna = peers(kamailio, "201", "Anna Ivanova")
    with rawsip.Endpoint(host="127.0.0.2") as flooder, Flood(kamailio, flooder) as flood:
        registered = [_register_within(kamailio, "203", vera.password, 5.0) for _ in range(3)]
        anna.command("call", number="202")
        boris.wait_call("incoming", timeout=10)
    assert flood.replies < flood.sent / 3, f"the PBX answered {flood.replies} of the flood's {flood.sent} requests"
    assert all(registered), registered


def test_a_flood_from_the_phones_own_address_does_not_cut_the_registered_phones_off(kamailio, peers):
    """A program on the phones' own computer (their address, another port) floods, and goes on
    flooding: the PBX ignores that address, but the registered phones, known by address and
    port, still call each other."""
    boris = peers(kamailio, "202", "Boris Petrov")
    anna = peers(kamailio, "201", "Anna Ivanova")
    with rawsip.Endpoint(host="127.0.0.1") as flooder, Flood(kamailio, flooder) as flood:
        anna.command("call", number="202")
        boris.wait_call("incoming", timeout=10)
    assert flood.replies < flood.sent / 3, f"the PBX answered {flood.replies} of the flood's {flood.sent} requests"


def test_a_password_guesser_is_ignored_after_ten_wrong_guesses(kamailio, sockets):
    vera = kamailio.add_employee("203", "Vera Sidorova")
    with rawsip.Endpoint(host="127.0.0.3") as guesser:
        def guess(password: str) -> int | None:
            call_id = guesser.request("REGISTER", f"sip:{kamailio.domain}", to=_pbx(kamailio),
                                      from_uri=f"sip:203@{kamailio.domain}",
                                      to_uri=f"sip:203@{kamailio.domain}")
            challenge = guesser.final_reply(call_id, 3)
            if challenge is None:
                return None
            guesser.request("REGISTER", f"sip:{kamailio.domain}", to=_pbx(kamailio),
                            from_uri=f"sip:203@{kamailio.domain}", to_uri=f"sip:203@{kamailio.domain}",
                            call_id=call_id, cseq=2,
                            extra=rawsip.digest_authorization(challenge, "REGISTER",
                                                              f"sip:{kamailio.domain}", "203", password))
            guesser.received.clear()
            reply = guesser.final_reply(call_id, 3)
            return status(reply) if reply else None

        answers = [guess(f"guess-{i}") for i in range(10)]
        assert answers == [401] * 10, answers
        # From now on this address hears nothing, even with the right password...
        assert guess(vera.password) is None
    # ...while the same account registers from anywhere else.
    assert _register_within(kamailio, "203", vera.password, 3.0)


@pytest.mark.parametrize("method", ["INVITE", "MESSAGE", "SUBSCRIBE", "OPTIONS", "REGISTER"])
def test_an_outsider_cannot_tell_which_extensions_exist(kamailio, sockets, method):
    """Enumeration (what svwar does): an unauthenticated request for an extension that exists
    and one for an extension that does not get the same answer."""
    attacker = sockets()
    kamailio.add_employee("201", "Anna Ivanova")

    def answer(extension: str) -> int | None:
        uri = f"sip:{extension}@{kamailio.domain}"
        call_id = attacker.request(method, f"sip:{kamailio.domain}" if method == "REGISTER" else uri,
                                   to=_pbx(kamailio), from_uri=uri if method == "REGISTER" else
                                   f"sip:{extension}@{kamailio.domain}", to_uri=uri,
                                   extra="Event: presence\r\n" if method == "SUBSCRIBE" else "")
        reply = attacker.final_reply(call_id, 5)
        return status(reply) if reply else None

    existing, missing = answer("201"), answer("299")
    assert existing == missing and existing in (401, 403, 407), (existing, missing)


def test_garbled_requests_get_no_crash_and_the_pbx_keeps_routing(kamailio, peers):
    """2,000 mutations of real requests (bytes flipped, cut short, lines doubled or dropped,
    non-UTF-8 and overlong values), a few at a time: every Kamailio worker survives, and real
    phones still register and call afterwards."""
    import random

    attacker = rawsip.Endpoint(host="127.0.0.4")  # its own address: pike may stop hearing it
    kamailio.add_employee("201", "Anna Ivanova")
    rng = random.Random(20261204)
    base = [
        f"INVITE sip:201@{kamailio.domain} SIP/2.0\r\nVia: SIP/2.0/UDP {attacker.address};"
        "branch=z9hG4bK{b};rport\r\nMax-Forwards: 70\r\nFrom: <sip:201@pbx.local>;tag=1\r\n"
        "To: <sip:201@pbx.local>;tag=2\r\nCall-ID: {b}\r\nCSeq: 1 INVITE\r\n"
        f"Route: <sip:{kamailio.server};lr;talker-dlg=p.t.{'0' * 32}>\r\n"
        "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n",
        f"REGISTER sip:{kamailio.domain} SIP/2.0\r\nVia: SIP/2.0/UDP {attacker.address};"
        "branch=z9hG4bK{b}\r\nFrom: <sip:201@pbx.local>;tag=1\r\nTo: <sip:201@pbx.local>\r\n"
        "Call-ID: {b}\r\nCSeq: 1 REGISTER\r\nContact: <sip:201@127.0.0.1:9>\r\n"
        'Authorization: Digest username="201", realm="pbx.local", nonce="x", uri="sip:pbx.local", '
        'response="00"\r\nContent-Length: 0\r\n\r\n',
    ]

    def mutate(text: str) -> bytes:
        data = bytearray(text.replace("{b}", "%08x" % rng.getrandbits(32)).encode())
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(5)
            if op == 0 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif op == 1:
                del data[rng.randrange(len(data) + 1):]
            elif op == 2:
                lines = bytes(data).split(b"\r\n")
                i = rng.randrange(len(lines))
                lines.insert(i, lines[i] * rng.choice((1, 2, 50)))
                data = bytearray(b"\r\n".join(lines))
            elif op == 3:
                lines = bytes(data).split(b"\r\n")
                del lines[rng.randrange(len(lines))]
                data = bytearray(b"\r\n".join(lines))
            else:
                at = rng.randrange(len(data) + 1)
                data[at:at] = rng.choice((b"\xff\xfe", b"%00", b";" * 300, b"\x00", b"<" * 40))
        return bytes(data[:60000])

    for i in range(2000):
        attacker.send(mutate(rng.choice(base)), _pbx(kamailio))
        if i % 40 == 39:
            attacker.drain(0.05)
    attacker.close()
    assert kamailio.kamailio.running(), "Kamailio died"
    callee = peers(kamailio, "202", "Boris Petrov")
    caller = peers(kamailio, "203", "Vera Sidorova")
    caller.command("call", number="202")
    callee.wait_call("incoming", timeout=10)
