"""Whom a typed name means (tray/people.py): what completion offers and what a call may dial.
The same rules reach the user through the dial window, the popup and `talker --callto`
(tests/integration/test_dial_by_name.py, tests/windows/, tests/e2e/)."""

from __future__ import annotations

import pytest

from tray import people
from tray.people import NameAmbiguous, NameNotFound, Person, complete, resolve

SNAPSHOT = {
    "directory": [{"id": 1, "name": "Борис Петров", "extension": "102", "mobile": None},
                  {"id": 2, "name": "Анна Иванова", "extension": "101", "mobile": "+79160001122"},
                  {"id": 3, "name": "Пётр Ёлкин", "extension": "105", "mobile": None}],
    "company": [{"id": 7, "name": "Reception", "number": "+74951112233"},
                {"id": 8, "name": "Борис Петров", "number": "102"}],   # the same person, filed again
    "personal": [{"id": 9, "name": "Борис Сидоров", "number": "+79161234567"}],
}
PEOPLE = people.from_snapshot(SNAPSHOT)


def names(found: list[Person]) -> list[str]:
    return [p.label() for p in found]


def test_completion_offers_each_name_whose_words_begin_so_colleagues_first():
    assert names(complete(PEOPLE, "бор")) == ["Борис Петров (102)", "Борис Сидоров (+79161234567)"]
    assert names(complete(PEOPLE, "БОР пе")) == ["Борис Петров (102)"]
    assert names(complete(PEOPLE, "петров")) == ["Борис Петров (102)"]
    assert names(complete(PEOPLE, "елк")) == ["Пётр Ёлкин (105)"]   # ё as е
    assert names(complete(PEOPLE, "+7 495")) == ["Reception (+74951112233)"]
    assert names(complete(PEOPLE, "10")) == ["Анна Иванова (101)", "Борис Петров (102)", "Пётр Ёлкин (105)"]
    assert complete(PEOPLE, "зина") == []


def test_a_call_by_name_needs_whole_words_of_one_person():
    assert resolve(PEOPLE, "Анна").number == "101"
    assert resolve(PEOPLE, "петров борис").number == "102"        # the company's copy is the same person
    assert resolve(PEOPLE, "reception").number == "+74951112233"
    assert resolve(PEOPLE, "Ёлкин").number == "105"


def test_a_name_of_two_people_or_only_its_start_is_refused_with_the_candidates():
    with pytest.raises(NameAmbiguous) as two:
        resolve(PEOPLE, "Борис")
    assert str(two.value) == "Борис Петров (102), Борис Сидоров (+79161234567)"
    with pytest.raises(NameAmbiguous) as partial:
        resolve(PEOPLE, "Бор Пе")
    assert names(partial.value.candidates) == ["Борис Петров (102)"]
    with pytest.raises(NameNotFound):
        resolve(PEOPLE, "Зинаида")


def test_a_name_typed_in_full_wins_over_longer_names_that_contain_it():
    more = PEOPLE + [Person("Борис", "+74950000000", "personal")]
    assert resolve(more, "борис").number == "+74950000000"
