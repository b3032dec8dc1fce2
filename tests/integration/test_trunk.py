"""The trunk: calls to numbers outside the PBX leave through the trunk gateway with the caller's
outgoing number, and calls the gateway brings in reach the employee a number is routed to.

The gateway is sipp (tests/support/sipp.py) on a free loopback port; setting "trunk" points at
it. What the gateway received is read back from sipp's message log.
"""

from __future__ import annotations

import re

import pytest

from pbx import directory
from pbx.audit import Actor
from tests.support import sipp
from tests.support.processes import free_port
from tests.support.ringing import device, first, rang

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sipp.available(), reason="sipp is not installed (sip-tester)")]

CONSOLE = Actor.console()
MOBILE = "+79161234567"




def _number(pbx, number: str, employee_id: int | None = None) -> int:
    return directory.add_number(pbx.instance, CONSOLE, number, inbound_employee_id=employee_id).id


def _uri_user(header: str | None) -> str | None:
    m = re.search(r"<?sips?:([^@;>]+)@", header or "")
    return m.group(1) if m else None


def _outgoing_call(pbx, caller, gateway: sipp.Sipp, number: str = MOBILE) -> sipp.SipMessage:
    """Call `number` from `caller`, let the gateway answer, hang up; the INVITE it received."""
    mark = caller.mark()
    caller.command("call", number=number)
    invite = gateway.wait_received("INVITE")
    caller.wait_call("connected", timeout=10, after=mark)
    # A person talks before hanging up; a BYE sent the same millisecond as the ACK may overtake
    # it in the proxy's other worker, which the gateway's scenario would count as unexpected.
    gateway.wait_received("ACK")
    caller.command("hangup")
    assert gateway.wait(15) == 0, gateway.output()  # the BYE reached the gateway, too
    return invite


@pytest.mark.both_databases
def test_an_outgoing_call_carries_the_callers_outgoing_number(kamailio, phones, tmp_path):
    anna = phones.employee(kamailio, "101")
    _number(kamailio, "+74951234567")
    chosen = _number(kamailio, "+74957654321")
    directory.set_outgoing_number(kamailio.instance, CONSOLE, anna.employee_id, chosen, None)
    with sipp.Sipp("uas_answer.xml", tmp_path, pause_ms=300) as gateway:
        kamailio.set_trunk(gateway.address)
        invite = _outgoing_call(kamailio, anna.phones["101"], gateway)
    assert invite.first_line.startswith(f"INVITE sip:{MOBILE}@{gateway.address}"), invite.first_line
    assert _uri_user(invite.header("From")) == "+74957654321", invite.header("From")
    assert _uri_user(invite.header("P-Asserted-Identity")) == "+74957654321"
    assert len([m for m in invite.text.splitlines() if m.lower().startswith("p-asserted-identity:")]) == 1


def test_without_a_chosen_number_the_pbx_first_number_then_the_extension_is_shown(kamailio, phones, tmp_path):
    anna = phones.employee(kamailio, "101")
    first_id = _number(kamailio, "+74951234567")
    second_id = _number(kamailio, "+74957654321")
    port = free_port()
    kamailio.set_trunk(f"127.0.0.1:{port}")
    with sipp.Sipp("uas_answer.xml", tmp_path / "first", port=port, pause_ms=300) as gateway:
        invite = _outgoing_call(kamailio, anna.phones["101"], gateway)
    assert _uri_user(invite.header("From")) == "+74951234567"
    assert _uri_user(invite.header("P-Asserted-Identity")) == "+74951234567"

    for number_id in (first_id, second_id):
        directory.delete_number(kamailio.instance, CONSOLE, number_id)
    with sipp.Sipp("uas_answer.xml", tmp_path / "none", port=port, pause_ms=300) as gateway:
        invite = _outgoing_call(kamailio, anna.phones["101"], gateway)
    assert _uri_user(invite.header("From")) == "101"
    assert _uri_user(invite.header("P-Asserted-Identity")) == "101"


def test_without_a_trunk_an_outgoing_call_gets_503_saying_so(kamailio, phones):
    anna = phones.employee(kamailio, "101").phones["101"]
    kamailio.set_trunk("")
    anna.command("call", number=MOBILE)
    ended = anna.wait_call("ended", timeout=5)
    assert ended["code"] == 503, ended
    assert "trunk" in (ended["reason"] or "").lower(), ended


@pytest.mark.both_databases
@pytest.mark.parametrize("dialled", ["+74951112233", "74951112233"])
def test_a_call_from_the_trunk_to_a_number_rings_its_employee(kamailio, phones, tmp_path, dialled):
    boris = phones.employee(kamailio, "102", options={"102": ("--auto-answer", "0.5")})
    _number(kamailio, "+74951112233", boris.employee_id)
    port = free_port()
    kamailio.set_trunk(f"127.0.0.1:{port}")
    # No digest: the gateway cannot answer challenges, and its address is the trunk's.
    with sipp.Sipp("uac_call.xml", tmp_path, port=port, remote=kamailio.server, service=dialled,
                   pause_ms=1000) as gateway:
        assert gateway.wait(20) == 0, gateway.output()
    phone = boris.phones["102"]
    incoming = phone.wait_call("incoming", timeout=1)
    assert incoming["remote_number"] == "+79990001122", incoming
    phone.wait_call("connected", timeout=1)
    phone.wait_call("ended", timeout=5)  # the gateway's BYE reached the phone


def test_a_call_from_anywhere_else_must_authenticate(kamailio, phones, tmp_path):
    boris = phones.employee(kamailio, "102")
    _number(kamailio, "+74951112233", boris.employee_id)
    kamailio.set_trunk(f"127.0.0.1:{free_port()}")
    with sipp.Sipp("uac_challenged.xml", tmp_path, remote=kamailio.server,
                   service="+74951112233") as stranger:
        assert stranger.wait(10) == 0, stranger.output()
    assert not rang(boris.phones["102"])


def test_the_trunk_cannot_call_out_through_the_trunk(kamailio, phones, tmp_path):
    port = free_port()
    kamailio.set_trunk(f"127.0.0.1:{port}")
    with sipp.Sipp("uac_call.xml", tmp_path, port=port, remote=kamailio.server,
                   service=MOBILE) as gateway:
        assert gateway.wait(10) != 0
    replies = [m.status for m in gateway.messages() if m.direction == "received"]
    assert 404 in replies, replies


@pytest.mark.both_databases
def test_an_external_device_of_a_scheme_rings_through_the_trunk_with_a_pbx_number(kamailio, phones, tmp_path):
    anna = phones.employee(kamailio, "101").phones["101"]
    boris = phones.employee(kamailio, "102")
    number = _number(kamailio, "+74951112233", boris.employee_id)
    directory.set_outgoing_number(kamailio.instance, CONSOLE, boris.employee_id, number, None)
    boris.set_scheme(kamailio, "all_at_once", [device("102", 1, 30),
                                                device(MOBILE, 2, 20, kind="external")])
    with sipp.Sipp("uas_answer.xml", tmp_path, pause_ms=1500) as gateway:
        kamailio.set_trunk(gateway.address)
        anna.command("call", number="102")
        invite = gateway.wait_received("INVITE")
        assert invite.first_line.startswith(f"INVITE sip:{MOBILE}@"), invite.first_line
        # The mobile shows the employee's PBX number, not the colleague's extension.
        assert _uri_user(invite.header("From")) == "+74951112233", invite.header("From")
        assert _uri_user(invite.header("P-Asserted-Identity")) == "+74951112233"
        anna.wait_call("connected", timeout=10)
        desk = boris.phones["102"]
        assert desk.wait_call("ended", timeout=5) and first(desk, "connected") is None
        anna.command("hangup")
        assert gateway.wait(15) == 0, gateway.output()  # the BYE found its way to the gateway


def test_an_incoming_call_from_a_number_in_the_company_book_shows_its_name_in_the_app(kamailio, talker_app,
                                                                                     tmp_path):
    """The caller's name comes from the PBX's company address book (the gateway sends a bare number)."""
    from pbx import contacts
    from tests.support.api import ApiServer
    from tests.support.app import talker

    api = ApiServer.for_kamailio(kamailio, tmp_path / "api.log")
    try:
        anna = directory.add_employee(kamailio.instance, CONSOLE, name="Anna Ivanova", extension="101", admin=True)
        contacts.add_contact(kamailio.instance, CONSOLE, contacts.COMPANY, name="ООО «Ромашка»",
                             number="+7 999 000-11-22")
        _number(kamailio, "+74951112233", anna.employee.id)
        assert talker("--login", "101@pbx.local", "--pbx", api.url,
                      stdin=anna.communicator_password + "\n").returncode == 0
        from tests.support.app import App
        from tests.support.processes import wait_until

        app = App(tmp_path)
        try:
            app.wait_registered()
            wait_until(lambda: not app.client().request("pbx_state")["stale"], 10, 0.1, "the PBX state")
            port = free_port()
            kamailio.set_trunk(f"127.0.0.1:{port}")
            with app.client() as c:
                c.request("subscribe")
                with sipp.Sipp("uac_call.xml", tmp_path, port=port, remote=kamailio.server,
                               service="+74951112233", pause_ms=500):
                    while True:
                        ev = c.next_event(15)
                        assert ev is not None, "the app saw no incoming call"
                        if ev.get("event") == "call" and ev["call"]["state"] == "incoming":
                            break
            assert ev["call"]["number"] == "+79990001122"
            assert ev["call"]["name"] == "ООО «Ромашка»"
        finally:
            app.quit()
    finally:
        api.stop()
