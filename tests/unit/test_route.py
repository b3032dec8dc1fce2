"""Which local address the app listens on for a PBX: the one the routing table sends packets to
it from; none while the PBX cannot be reached at all."""

from __future__ import annotations

import pytest

from tests.support.processes import has_ipv6_loopback
from tray.sip.network import local_address_for


@pytest.mark.parametrize("server", ["127.0.0.1", "127.0.0.1:5060", "127.0.0.53:15060"])
def test_a_pbx_on_this_machine_is_reached_over_loopback(server):
    assert local_address_for(server) == "127.0.0.1"


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("server", ["::1", "[::1]", "[::1]:5060"])
def test_an_ipv6_pbx_address_with_or_without_a_port(server):
    assert local_address_for(server) == "::1"


@pytest.mark.parametrize("server", ["no-such-pbx.invalid", "no-such-pbx.invalid:5060", "bad..name", "x" * 300])
def test_a_name_that_does_not_resolve_gives_no_address_yet(server):
    assert local_address_for(server) is None
