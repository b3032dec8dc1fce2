"""The contacts window against the real app, a real PBX and real phones, on a private X display:
search, presence from Kamailio's registrations, edit and delete one's own contacts (delete asks
first), a contact added in the add-contact window showing up, the company book read-only for
someone outside Administrators, and a call."""

from __future__ import annotations

import pytest

from tests.windows.driver import WindowDriver

pytestmark = pytest.mark.slow

WORDS = {
    "en": {"colleague": "colleague", "company": "company address book", "mine": "my contact",
           "on": "● available", "off": "○ not available",
           "saved": "Saved: Борис Сидоров (+79167654321).", "ask": "Delete Борис Сидоров (+79167654321)? "
           "Press “Yes, delete” to confirm.", "deleted": "Deleted: Борис Сидоров (+79167654321).",
           "read_only": "Only members of Administrators may change the company address book."},
    "ru": {"colleague": "сотрудник", "company": "адресная книга компании", "mine": "мой контакт",
           "on": "● в сети", "off": "○ недоступен",
           "saved": "Сохранено: Борис Сидоров (+79167654321).", "ask": "Удалить Борис Сидоров (+79167654321)? "
           "Нажмите «Да, удалить», чтобы подтвердить.", "deleted": "Удалён: Борис Сидоров (+79167654321).",
           "read_only": "Изменять адресную книгу компании могут только члены группы «Администраторы»."},
}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_search_presence_edit_delete_and_call(windowed_app, pbx_api, kamailio, peers, lang):
    said = WORDS[lang]
    vera = pbx_api.add_employee("103", "Вера Орлова", admin=True)   # no phone: not available
    anna = pbx_api.add_employee("101", "Анна Иванова")
    boris = peers(kamailio, "102", "Борис Петров")
    with pbx_api.as_(vera) as admin:
        assert admin.post("/contacts/company", json={"name": "Reception", "number": "84951112233"}).status_code == 201
    with pbx_api.as_(anna) as api:
        assert api.post("/contacts/personal", json={"name": "Борис Сидоров", "number": "89161234567"}).status_code == 201
    app = windowed_app(anna, lang=lang)
    w = app.open("contacts")

    rows = w.settled(lambda s: len(s["people"]) == 5 and all(r[3] for r in s["people"][:3]))["people"]
    assert sorted(rows) == sorted([
        ["Анна Иванова", "101", said["colleague"], said["on"]],
        ["Борис Петров", "102", said["colleague"], said["on"]],
        ["Вера Орлова", "103", said["colleague"], said["off"]],
        ["Reception", "+74951112233", said["company"], ""],
        ["Борис Сидоров", "+79161234567", said["mine"], ""],
    ])

    w.set("search", "бор")
    assert [r[0] for r in w.settled()["people"]] == ["Борис Петров", "Борис Сидоров"]
    w.select("people", 1)
    assert w.read()["number"] == "+79161234567"
    w.set("number", "8 916 765-43-21")
    w.invoke("save")
    assert w.settled(lambda s: s["message"]["text"] == said["saved"])
    with pbx_api.as_(anna) as api:
        assert [c["number"] for c in api.get("/contacts/personal").json()] == ["+79167654321"]

    w.select("people", 1)
    w.invoke("delete")
    assert w.read()["message"]["text"] == said["ask"]
    with pbx_api.as_(anna) as api:
        assert len(api.get("/contacts/personal").json()) == 1   # nothing deleted on one click
    # The list refreshes under the question (here: an administrator adds to the company book):
    # the question and the row it is about stay.
    with pbx_api.as_(vera) as admin:
        added = admin.post("/contacts/company", json={"name": "Борис, склад", "number": "84951112244"})
        assert added.status_code == 201
    state = w.settled(lambda s: "Борис, склад" in [r[0] for r in s["people"]])
    assert state["message"]["text"] == said["ask"], "a refresh of the list wiped the question"
    w.invoke("delete")
    w.settled(lambda s: s["message"]["text"] == said["deleted"] and len(s["people"]) == 2)
    with pbx_api.as_(anna) as api:
        assert api.get("/contacts/personal").json() == []
    with pbx_api.as_(vera) as admin:
        assert admin.delete(f"/contacts/company/{added.json()['id']}").status_code == 204
    w.settled(lambda s: [r[0] for r in s["people"]] == ["Борис Петров"])

    # Added in the add-contact window that this window opens: listed here once the PBX says so.
    w.set("search", "")
    known = {str(p) for p in app.hook_dir.glob("contact-*.sock")}
    w.invoke("add")
    add = WindowDriver.wait_for(app.hook_dir, "contact", known=known)
    add.set("name", "Зинаида Лукина")
    add.set("number", "89160000001")
    add.invoke("save")
    w.settled(lambda s: ["Зинаида Лукина", "+79160000001", said["mine"], ""] in s["people"])
    add.close()

    w.set("search", "recep")
    w.settled(lambda s: [r[0] for r in s["people"]] == ["Reception"])
    w.select("people", 0)
    state = w.read()
    assert state["save"]["state"] == "disabled" and state["delete"]["state"] == "disabled"
    assert state["message"]["text"] == said["read_only"]

    w.set("search", "петров")
    w.settled(lambda s: [r[0] for r in s["people"]] == ["Борис Петров"])
    w.select("people", 0)
    w.invoke("call")
    assert boris.wait_call("incoming")["remote_number"] == "101"
    app.request("hangup")
    boris.wait_call("ended")
