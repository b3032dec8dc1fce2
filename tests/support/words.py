"""What a person may be shown: a sentence in their language, never a raw exception text, a
protocol's status line or English inside the Russian interface."""

from __future__ import annotations

import re

# Raw texts that leaked through before (issue 14) and the shapes they share.
_RAW = [
    (re.compile(r"Errno|Traceback|Exception|Error:|\w+Error\b"), "an exception's text"),
    (re.compile(r"\b[1-6]\d\d [A-Z][a-z]+"), "a status line (“503 No Trunk Configured”)"),
    (re.compile(r"\bHTTP/?\s?\d{3}\b|\bHTTP/\d"), "an HTTP status"),
    (re.compile(r"missing an 'http"), "httpx's complaint about a URL"),
    (re.compile(r"\{[a-z_]+\}"), "an unfilled placeholder"),
]
# Latin words that belong in a Russian sentence: names of things, not English.
LATIN_IN_RUSSIAN = {"Talker", "SIP", "E-mail", "e-mail"}


def assert_sentence(text: str, lang: str, *, allowed: tuple[str, ...] = ()) -> None:
    """`text` is one or more sentences a person can read in `lang` ("en" or "ru"). `allowed` are
    values the sentence may quote as they are (a URL, a name, a number)."""
    assert text and text.strip(), "nothing was said"
    stripped = text
    for value in sorted(allowed, key=len, reverse=True):
        stripped = stripped.replace(value, " ")
    for pattern, what in _RAW:
        found = pattern.search(stripped)
        assert found is None, f"{what} in {text!r}: {found.group(0)!r}"
    if lang == "ru":
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]+", stripped) if w not in LATIN_IN_RUSSIAN]
        assert not words, f"English in the Russian interface: {words} in {text!r}"
        assert re.search(r"[а-яё]", stripped, re.IGNORECASE), f"not Russian: {text!r}"
    else:
        assert not re.search(r"[а-яё]", stripped, re.IGNORECASE), f"Russian in the English interface: {text!r}"
