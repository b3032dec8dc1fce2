"""What may be dialed: every form a user or a link may give, and everything that must be refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from common import dialstring
from common.dialstring import DialTarget, InvalidTarget, normalise, parse


@pytest.mark.parametrize("text", [
    "8 (495) 123-45-67",
    "+7 495 123 45 67",
    "84951234567",
    "tel:+7-495-123-45-67",
    "tel:+74951234567",
    "callto:+7(495)1234567",
    "sip:+74951234567@pbx.local",
    "+7\u00a0495\u00a0123\u201145\u201167",   # no-break spaces, non-breaking hyphens
    "8.495.123.45.67",
    "tel:%2B7-495-123-45-67",
])
def test_every_form_of_one_number_gives_one_dial_string(text):
    assert normalise(parse(text), "RU") == "+74951234567"


@pytest.mark.parametrize("text, expected", [
    ("102", "102"),
    ("callto:102", "102"),
    ("callto://102", "102"),
    ("sip:102@host", "102"),
    ("sips:102@pbx.local:5061", "102"),
    ("tel:102", "102"),
    ("1-0-2", "102"),
    ("*43", "*43"),
    ("*21#", "*21#"),
    ("8 800 555 55 22", "+78005555522"),
    ("+44 20 7946 0958", "+442079460958"),
])
def test_extensions_stay_short_and_numbers_become_e164(text, expected):
    assert normalise(parse(text), "RU") == expected


def test_the_region_decides_national_numbers():
    assert normalise(parse("(030) 1234567"), "DE") == "+49301234567"
    assert normalise(parse("415 555 2671"), "US") == "+14155552671"


def test_rfc3966_extension_and_phone_context_are_kept_apart():
    target = parse("tel:+7-495-123-45-67;ext=123")
    assert target == DialTarget("+74951234567", extension="123")
    assert parse("tel:1234;phone-context=+7495").number == "1234"


def test_a_name_is_a_name_and_only_the_app_decides_whether_it_exists():
    assert parse("echo") == DialTarget("echo", is_name=True)
    assert parse("Echo") == DialTarget("echo", is_name=True)
    assert parse("sip:echo@pbx.local").is_name


@pytest.mark.parametrize("text, key", [
    ("", "target.empty"),
    ("   ", "target.empty"),
    ("tel:", "target.empty"),
    ("-rf", "target.option"),
    ("--help", "target.option"),
    ("1" * 500, "target.too_long"),
    ("1" * 33, "target.too_many_digits"),
    ("+" + "1" * 33, "target.too_many_digits"),
    ("sip:102@host;method=BYE", "target.parameter"),
    ("sip:102@host;transport=tcp", "target.parameter"),
    ("sip:102;method=BYE@host", "target.parameter"),
    ("tel:102;foo=bar", "target.parameter"),
    ("tel:102;ext=1;ext=2", "target.parameter"),
    ("tel:102;ext=abc", "target.parameter"),
    ("callto:102?Subject=x", "target.headers"),
    ("sip:102@host?X-Evil=1", "target.headers"),
    ("tel:102%3FSubject=x", "target.headers"),
    ("tel:10\x072", "target.control"),
    ("tel:%00102", "target.control"),
    ("102\n103", "target.control"),
    ("tel:102\u202e", "target.control"),      # right-to-left override hides text
    ("102\u200b", "target.control"),          # zero-width space
    ("1O2", "target.bad_characters"),         # a letter O, not a zero
    ("+7 495 abc 45 67", "target.bad_characters"),
    ("---", "target.option"),
    ("()", "target.empty"),
    ("+", "target.no_digits"),
])
def test_what_is_refused_and_why(text, key):
    with pytest.raises(InvalidTarget) as err:
        parse(text)
    assert err.value.key == key
    assert err.value.code == "invalid_number"
    assert str(err.value).endswith(".")


def test_numbers_that_cannot_exist_are_refused_by_normalise():
    with pytest.raises(InvalidTarget) as err:
        normalise(parse("+7 123"), "RU")
    assert err.value.key == "target.impossible"


def test_a_sip_password_never_reaches_the_dial_string():
    assert parse("sip:102:secret@host").number == "102"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_a_safe_number_or_a_refusal(text):
    try:
        target = parse(text)
    except InvalidTarget as e:
        assert str(e)
        return
    if target.is_name:
        assert target.number.isascii() and target.number[0].isalpha()
        return
    assert set(target.number) <= set("+0123456789*#")
    assert "+" not in target.number[1:]
    assert 1 <= sum(c.isdigit() for c in target.number) <= dialstring.MAX_DIGITS
    assert target.extension is None or target.extension.isdigit()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["tel:", "sip:", "sips:", "callto:", ""]),
       st.from_regex(r"\+?[0-9]{3,12}", fullmatch=True),
       st.text(alphabet=";?&=:@%", min_size=1, max_size=6))
def test_links_with_smuggled_syntax_never_change_the_number(scheme, number, extra):
    try:
        target = parse(f"{scheme}{number}{extra}")
    except InvalidTarget:
        return
    assert target.number == number
