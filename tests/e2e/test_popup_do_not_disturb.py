"""Do not disturb from the browser popup, for an employee who is no administrator: real Chromium
with the real extension, native host and app, the real PBX; in English and Russian."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.test_popup import russian_browser, wait_text  # noqa: F401  (a fixture, shared)
from tests.support.app import App, talker
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


def _quiet_until(api, employee_id: int) -> str | None:
    return api.get(f"/employees/{employee_id}/scheme").json().get("do_not_disturb_until")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_popup_turns_do_not_disturb_on_and_off(lang, request, pbx_api, kamailio, tmp_path, monkeypatch):
    browser = request.getfixturevalue("browser" if lang == "en" else "russian_browser")
    monkeypatch.setenv("TALKER_RUNTIME_DIR", str(browser.runtime_dir))
    browser.reset()
    vera = pbx_api.add_employee("103", "Vera Sidorova")
    done = talker("--login", "103", "--pbx", pbx_api.url, stdin=vera.communicator_password + "\n")
    assert done.returncode == 0, done.stderr
    app = App(tmp_path)
    words = {"en": ("Do not disturb", "for 1 hour", "Turn on", "Do not disturb until ", "Ring again now"),
             "ru": ("Не беспокоить", "на 1 час", "Включить", "Не беспокоить до ", "Снова принимать звонки")}[lang]
    try:
        app.wait_registered()
        popup = browser.open_popup()
        wait_text(popup.locator("#pbx-note"), lambda t: "Vera Sidorova" in t, timeout=30)
        assert popup.locator("#dnd legend").inner_text() == words[0]
        assert popup.locator("#dnd-on").inner_text() == words[2]
        # No administrator needed; the popup keeps its controls inert until they show the
        # PBX's state, which may come a moment after the account's name.
        wait_until(lambda: popup.locator("#dnd-on").is_enabled(), 15, 0.1, "the popup's Turn on to be usable")

        popup.select_option("#dnd-minutes", label=words[1])
        popup.click("#dnd-on")
        with pbx_api.as_(vera) as api:
            until = wait_until(lambda: _quiet_until(api, vera.employee.id), 10, 0.1, "the PBX to keep it")
            # The time as the browser's language writes it (08:31 PM, 20:31).
            when = popup.evaluate("(at) => new Intl.DateTimeFormat(chrome.i18n.getUILanguage(), "
                                  "{hour: '2-digit', minute: '2-digit'}).format(new Date(at))", until)
            legend = wait_text(popup.locator("#dnd legend"), lambda t: t.startswith(words[3]))
            assert when in legend and dt.datetime.fromisoformat(until) > dt.datetime.now(dt.UTC)
            assert popup.locator("#dnd-off").inner_text() == words[4] and popup.locator("#dnd-on").is_hidden()

            popup.click("#dnd-off")
            wait_until(lambda: _quiet_until(api, vera.employee.id) is None, 10, 0.1, "the PBX to end it")
        wait_text(popup.locator("#dnd legend"), lambda t: t == words[0])
        assert popup.locator("#dnd-on").is_visible()
    finally:
        app.quit()
