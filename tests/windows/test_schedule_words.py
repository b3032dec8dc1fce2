"""A device's schedule in the settings window with the seed's words (issue 14), in English and
Russian, in the real window of the real app on a real PBX under Xvfb: the schedule in words
beside «Указать» ("Set") while the device has none and «Изменить» ("Change") once it has one;
either opens its rules, and «Когда» lists every rule."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

WORDS = {
    "en": {"set": "Set", "change": "Change", "always": "always", "office": "Working days, 09:00–18:00",
           "both": "Working days, 09:00–18:00; Sat, 10:00–14:00", "saved": "Saved", "more": "+{n} more"},
    "ru": {"set": "Указать", "change": "Изменить", "always": "всегда", "office": "Рабочие дни, 09:00–18:00",
           "both": "Рабочие дни, 09:00–18:00; Сб, 10:00–14:00", "saved": "Сохранено", "more": "ещё {n}"},
}


def _scheme(api, person) -> dict:
    with api.as_(person) as c:
        return c.get(f"/employees/{person.employee.id}/scheme").json()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_schedule_is_set_then_changed_then_removed_with_the_seeds_words(lang, windowed_app, pbx_api):
    said = WORDS[lang]
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    app = windowed_app(anna, lang=lang, wait_registered=False)
    w = app.open("settings")
    state = w.settled(lambda s: s.get("devices"))
    assert state["schedule_summary"]["text"] == said["always"]
    assert state["schedule_button"]["text"] == said["set"]
    assert not state["no_schedule"]["mapped"]  # no rules to edit until asked

    w.invoke("schedule_button")
    state = w.read()
    assert state["schedule_button"]["text"] == said["change"]
    assert state["schedule_summary"]["text"] == said["office"] and state["no_schedule"]["mapped"]
    w.invoke("add_rule")
    w.set("rule_kind", "weekdays")
    w.set("day_sat", True)
    w.set("hours", "10:00-14:00")
    state = w.read()
    assert state["schedule_summary"]["text"] == said["both"]
    assert state["devices"][0][4] == said["both"]  # «Когда»: every rule, whole
    w.invoke("save")
    w.settled(lambda s: s["message"]["text"].startswith(said["saved"]))
    assert len(_scheme(pbx_api, anna)["devices"][0]["schedule"]["rules"]) == 2

    # More rules than «Когда» has room for: whole rules and how many more, never one cut in half;
    # the tooltip and the detail beside the list say every rule.
    for day in ("sun", "mon", "tue"):
        w.invoke("add_rule")
        w.set("rule_kind", "weekdays")
        w.set(f"day_{day}", True)
        w.set("hours", "22:00-23:30")
    state = w.read()
    whole = state["schedule_summary"]["text"]
    assert whole.count(";") == 4
    cell = state["devices"][0][4]
    shown, _, more = cell.rpartition("; ")
    assert more == said["more"].format(n=5 - len(shown.split("; "))) and whole.startswith(shown + "; "), cell
    assert state["devices:widths"]["when"] <= 360 and state["devices:widths"]["device"] >= 190
    w.hover("devices", 0, "when")
    state = w.read()
    assert state["when_tip"]["text"] == whole and state["when_tip"]["mapped"]
    w.invoke("remove_rule")
    w.invoke("remove_rule")
    w.invoke("remove_rule")
    w.close()

    # Opened again, the device has a schedule: «Изменить» opens it, and it can go back to always.
    w = app.open("settings")
    state = w.settled(lambda s: s.get("devices"))
    assert state["schedule_button"]["text"] == said["change"]
    assert state["schedule_summary"]["text"] == said["both"] and not state["no_schedule"]["mapped"]
    w.invoke("schedule_button")
    assert w.read()["rules"] and w.read()["no_schedule"]["mapped"]
    w.invoke("no_schedule")
    state = w.read()
    assert state["schedule_button"]["text"] == said["set"] and state["schedule_summary"]["text"] == said["always"]
    w.invoke("save")
    wait_until(lambda: _scheme(pbx_api, anna)["devices"][0]["schedule"] is None, 10, 0.1, "the schedule removed")
