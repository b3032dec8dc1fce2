"""Every user-facing sentence exists in English and Russian, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from common import i18n, i18n_app

ALL = {**i18n.MESSAGES, **i18n_app.APP_MESSAGES}


def test_each_text_is_defined_once():
    assert not set(i18n.MESSAGES) & set(i18n_app.APP_MESSAGES)


@pytest.mark.parametrize("key", sorted(ALL))
def test_both_languages_have_the_same_placeholders(key):
    en, ru = ALL[key]
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    assert en.strip() and ru.strip()
    assert fields(en) == fields(ru)
    assert any("\u0400" <= c <= "\u04ff" for c in ru) or en == ru, "the Russian text is not Russian"


@pytest.mark.parametrize("env, expected", [
    ({"LANG": "ru_RU.UTF-8"}, "ru"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANGUAGE": "ru:en", "LANG": "en_US.UTF-8"}, "ru"),
    ({"LC_ALL": "de_DE.UTF-8", "LANG": "ru_RU.UTF-8"}, "en"),
    ({"LC_MESSAGES": "ru_RU.UTF-8"}, "ru"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "ru_RU.UTF-8", "TALKER_LANG": "en"}, "en"),
    ({}, "en"),
])
def test_the_language_follows_the_locale(env, expected):
    assert i18n.detect_language(env) == expected
