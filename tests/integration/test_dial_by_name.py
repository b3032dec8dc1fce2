"""`talker --callto NAME`: the real CLI, the real app logged in to the PBX, a real Kamailio and a
real phone. A name dials only when it is a whole name of exactly one colleague or contact;
otherwise the CLI exits 2 with one sentence, in the app's language, that names the candidates
or says there are none."""

from __future__ import annotations

import pytest

from tests.support.app import App, talker
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

SAID = {
    "en": {"two": "talker: “Борис” may be Борис Петров (102), Борис Сидоров (+79161234567): "
                  "type the full name or the number.\n",
           "start": "talker: “Бор Пет” may be Борис Петров (102): type the full name or the number.\n",
           "none": "talker: Nobody called “Зинаида” is in the company directory or your address books.\n"},
    "ru": {"two": "talker: «Борис» — это может быть Борис Петров (102), Борис Сидоров (+79161234567): "
                  "введите полное имя или номер.\n",
           "start": "talker: «Бор Пет» — это может быть Борис Петров (102): введите полное имя или номер.\n",
           "none": "talker: «Зинаида» нет ни в справочнике компании, ни в ваших адресных книгах.\n"},
}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_callto_dials_a_whole_unique_name_and_names_the_candidates_otherwise(kamailio, pbx_api, peers, tmp_path,
                                                                             lang):
    boris = peers(kamailio, "102", "Борис Петров")
    anna = pbx_api.add_employee("101", "Анна Иванова")
    with pbx_api.as_(anna) as api:
        r = api.post("/contacts/personal", json={"name": "Борис Сидоров", "number": "8 916 123-45-67"})
        assert r.status_code == 201, r.text
    done = talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n")
    assert done.returncode == 0, done.stderr
    app = App(tmp_path, extra_env={"TALKER_LANG": lang})
    try:
        app.wait_registered()
        with app.client() as c:
            wait_until(lambda: not c.request("pbx_state")["stale"], 15, 0.1, "the PBX state")

        for typed, said in (("Борис", "two"), ("Бор Пет", "start"), ("Зинаида", "none")):
            refused = talker("--callto", typed)
            assert (refused.returncode, refused.stderr) == (2, SAID[lang][said])
        assert app.status()["calls"] == []

        done = talker("--callto=петров борис")
        assert done.returncode == 0, done.stderr
        assert boris.wait_call("incoming")["remote_number"] == "101"
        with app.client() as c:
            c.request("hangup")
        boris.wait_call("ended")
    finally:
        app.quit()
