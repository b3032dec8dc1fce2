"""The dial window offers colleagues and contacts while a name is typed, and calls the one picked;
a name of two people is refused with both named; the call given up while it rang is listed so. The real app logged in to a real PBX, a real
phone, on a private X display, in both languages."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

SAID = {
    "en": (["Борис Петров (102) — colleague", "Борис Сидоров (+79161234567) — my contact"],
           "“Борис” may be Борис Петров (102), Борис Сидоров (+79161234567): type the full name or the number.",
           ["↗ not answered", "Борис Петров (102)"]),
    "ru": (["Борис Петров (102) — сотрудник", "Борис Сидоров (+79161234567) — мой контакт"],
           "«Борис» — это может быть Борис Петров (102), Борис Сидоров (+79161234567): введите полное имя или номер.",
           ["↗ без ответа", "Борис Петров (102)"]),
}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_typing_a_name_offers_the_people_it_may_mean_and_calls_the_one_picked(windowed_app, pbx_api, kamailio,
                                                                              peers, lang):
    offered, ambiguous, recent = SAID[lang]
    boris = peers(kamailio, "102", "Борис Петров")
    anna = pbx_api.add_employee("101", "Анна Иванова")
    with pbx_api.as_(anna) as api:
        assert api.post("/contacts/personal", json={"name": "Борис Сидоров", "number": "89161234567"}).status_code == 201
    app = windowed_app(anna, lang=lang)
    w = app.open("dial")
    w.settled()

    w.set("number", "Борис")
    assert w.settled(lambda s: s["suggestions"])["suggestions"] == offered
    w.invoke("call")
    w.settled(lambda s: s["error"]["text"] == ambiguous)

    w.set("number", "бор п")
    assert w.settled(lambda s: s["suggestions"] == offered[:1])
    w.select("suggestions", 0)
    w.invoke("call")
    assert boris.wait_call("incoming")["remote_number"] == "101"
    state = w.settled(lambda s: s["call_party"]["text"])
    assert state["number"] == "Борис Петров" and state["call_party"]["text"] == "Борис Петров (102)"
    assert not state["suggestions"]
    w.settled(lambda s: s["hangup"]["mapped"])
    w.invoke("hangup")
    boris.wait_call("ended")
    # Hung up while it rang: the recent calls say so (tests/tray/test_call_outcomes.py has the rest).
    w.settled(lambda s: s["recent"] and s["recent"][0][:2] == recent)
