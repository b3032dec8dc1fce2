"""Who a person means when they type a name instead of a number: the colleagues of the PBX's
directory and the contacts of both address books (the company's and the user's own), as the
PBX client's copy holds them. Pure: lists in, people out; no I/O, no GUI.

Two questions, two rules:
* `complete(query)` — what to offer while typing: every word typed is the beginning of a
  different word of the name ("бор пе" → «Борис Петров»), or the digits typed begin the number.
* `resolve(text)` — whom to call when the user presses Call (or runs `talker --callto NAME`):
  only an exact, unique answer. Each word typed must be a whole word of the name («Борис»
  is «Борис Петров»); a name typed in full wins over names that merely contain it; one person
  found under several books with the same number is one person. Anything else is refused with
  the candidates (those whose name begins so, when nothing matches whole words), never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SOURCES = ("directory", "company", "personal")
_WORD_RE = re.compile(r"[^\W\d_]+")  # letters only: digits are a number's
MAX_LISTED = 5  # candidates named in a refusal; the rest are counted


@dataclass(frozen=True)
class Person:
    name: str
    number: str
    source: str                      # one of SOURCES
    employee_id: int | None = None   # a colleague (directory) only
    contact_id: int | None = None    # an address-book entry only

    def label(self) -> str:
        return f"{self.name} ({self.number})"


class NameNotFound(LookupError):
    pass


class NameAmbiguous(LookupError):
    def __init__(self, candidates: list[Person]):
        super().__init__(", ".join(p.label() for p in candidates))
        self.candidates = candidates


def fold(text: str) -> str:
    # «Ёлкин» and «Елкин» are one name to a Russian reader; case never matters.
    return text.casefold().replace("ё", "е")


def words(text: str) -> list[str]:
    return _WORD_RE.findall(fold(text))


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def from_snapshot(snapshot: dict) -> list[Person]:
    """Everyone a name may stand for, from the PBX client's copy (tray/pbx_client.py): the
    directory first (a colleague is called on their extension: the PBX rings their scheme),
    then the company book, then the user's own."""
    people = []
    for e in snapshot.get("directory") or []:
        people.append(Person(e["name"], e["extension"], "directory", employee_id=e.get("id")))
    for book in ("company", "personal"):
        for c in snapshot.get(book) or []:
            people.append(Person(c["name"], c["number"], book, contact_id=c.get("id")))
    return people


def _distinct(people: list[Person]) -> list[Person]:
    """One entry per (name, number): the first book that has it (SOURCES order) speaks for it."""
    seen, out = set(), []
    for p in people:
        key = (tuple(words(p.name)), p.number)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _prefix_match(query_words: list[str], name_words: list[str]) -> bool:
    free = list(name_words)
    for q in query_words:
        for i, w in enumerate(free):
            if w.startswith(q):
                del free[i]
                break
        else:
            return False
    return True


def complete(people: list[Person], query: str, limit: int = 10) -> list[Person]:
    """What to offer for a partly typed name or number, best first: names that begin with what
    was typed before names that only contain a word beginning so; colleagues before contacts."""
    q_words = words(query)
    q_digits = _digits(query)
    found = []
    for p in _distinct(people):
        n_words = words(p.name)
        if q_words and _prefix_match(q_words, n_words):
            starts = n_words[:1] and n_words[0].startswith(q_words[0])
            found.append(((0 if starts else 1), SOURCES.index(p.source), fold(p.name), p))
        elif q_digits and not q_words and _digits(p.number).startswith(q_digits):
            found.append((2, SOURCES.index(p.source), fold(p.name), p))
    found.sort(key=lambda t: t[:3])
    return [t[3] for t in found[:limit]]


def resolve(people: list[Person], text: str) -> Person:
    """The one person `text` names exactly, or NameNotFound / NameAmbiguous."""
    q_words = words(text)
    if not q_words:
        raise NameNotFound(text)
    candidates = []
    for p in _distinct(people):
        n_words = words(p.name)
        if all(q in n_words for q in q_words) and len(set(q_words)) == len(q_words):
            candidates.append(p)
    whole = [p for p in candidates if words(p.name) == q_words]
    if whole:
        candidates = whole
    if not candidates:
        # Only the start of a name: never dialed, but the refusal says whom it may mean.
        partial = complete(people, text, limit=MAX_LISTED + 1)
        if partial:
            raise NameAmbiguous(partial)
        raise NameNotFound(text)
    numbers = {p.number for p in candidates}
    if len(numbers) > 1:
        raise NameAmbiguous(candidates)
    return candidates[0]


def listed(candidates: list[Person]) -> tuple[str, int]:
    """The candidates a refusal names, and how many more there are."""
    return ", ".join(p.label() for p in candidates[:MAX_LISTED]), max(0, len(candidates) - MAX_LISTED)
