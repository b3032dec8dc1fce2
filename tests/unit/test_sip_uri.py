from __future__ import annotations

import pytest

from tray.sip.uri import parse_name_addr


@pytest.mark.parametrize("value, expected", [
    ('"Anna Ivanova" <sip:101@pbx.local>', ("sip:101@pbx.local", "101", "Anna Ivanova")),
    ('"Anna \\"A\\"" <sip:101@pbx.local>;tag=1', ("sip:101@pbx.local", "101", 'Anna "A"')),
    ("Boris <sip:102@pbx.local:5060;transport=udp>", ("sip:102@pbx.local:5060;transport=udp", "102", "Boris")),
    ("<sip:+74951234567@pbx.local;user=phone>", ("sip:+74951234567@pbx.local;user=phone", "+74951234567", "")),
    ("sip:103@pbx.local;tag=abc", ("sip:103@pbx.local", "103", "")),
    ("<sip:104:secret@pbx.local>", ("sip:104:secret@pbx.local", "104", "")),
    ("<tel:%2B7495>", ("tel:%2B7495", "+7495", "")),
    ("garbage", ("garbage", "", "")),
])
def test_parties_are_read_out_of_name_addr(value, expected):
    assert parse_name_addr(value) == expected
