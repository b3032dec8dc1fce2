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
    "\uff18 (\uff14\uff19\uff15) \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17",   # full-width digits
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
    # A context adds nothing to a number that is global already.
    assert parse("tel:+74951234567;phone-context=+44").number == "+74951234567"


@pytest.mark.parametrize("text, expected", [
    ("tel:1234567;phone-context=+44", "+441234567"),
    ("tel:7946-0958;phone-context=+44-20", "+442079460958"),      # RFC 3966's own form
    ("tel:2079460958;phone-context=+44", "+442079460958"),
    ("sip:2079460958;phone-context=+44@pbx.local", "+442079460958"),
])
def test_a_global_phone_context_is_the_prefix_of_its_local_number(text, expected):
    assert parse(text).number == expected
    assert normalise(parse(text), "RU") == expected


@pytest.mark.parametrize("text", [
    "tel:7042;phone-context=example.com",
    "tel:7042;phone-context=pbx.example.com.",
    "tel:*43;phone-context=+44",            # a service code is the PBX's, whatever the context
    "tel:1234;phone-context=+",
    "tel:1234;phone-context=+44a",
])
def test_a_local_number_in_a_context_talker_cannot_resolve_is_refused_with_a_sentence(text):
    with pytest.raises(InvalidTarget) as err:
        parse(text)
    assert err.value.key == "target.context"
    assert str(err.value).endswith("cannot dial.")


@pytest.mark.parametrize("text", ["1+2", "*1+2", "+7+495", "tel:*21*+74991234567#", "sip:1+2@host", "++7"])
def test_a_plus_inside_a_number_is_refused_with_a_sentence(text):
    with pytest.raises(InvalidTarget) as err:
        parse(text)
    assert err.value.key == "target.plus_inside"
    assert str(err.value).endswith("may only begin it.")


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
    ("102\x7f", "target.control"),           # DEL
    ("\x1b[2J102", "target.control"),         # a terminal escape
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


# Pieces of what dial strings are made of: arbitrary text rarely puts a "+" between two digits,
# which is how "1+2" once escaped as StopIteration.
_PIECES = st.sampled_from(["tel:", "sip:", "callto:", "//", "+", "*", "#", "1", "23", "0", "-", " ", "(", ")", ".",
                           ";", "=", "ext", "phone-context", "example.com", "@", "host", ":", "?", "%2B", "%",
                           "a", "echo", "\u00a0", "\u0662", "\u202e"])


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_PIECES, max_size=16).map("".join)),
       st.sampled_from(["RU", "US", "GB", "DE"]))
def test_parse_and_normalise_refuse_with_their_documented_error_or_give_a_dial_string(text, region):
    try:
        dial = normalise(parse(text), region)
    except InvalidTarget as e:
        assert e.key and str(e).endswith(".")
        return
    assert dial and set(dial) <= set("+0123456789*#abcdefghijklmnopqrstuvwxyz_.-")
    assert "+" not in dial[1:]


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
