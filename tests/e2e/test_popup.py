"""The popup, opened as a tab of the real extension in real Chromium, with the real native host
and app: what it says when Talker is missing or not running, the current call with hang up, the
dial field, and the PBX part (receive mode, outgoing number) going to the PBX through the app."""

from __future__ import annotations

import time

import pytest

from common.i18n import LANGUAGES
from common.i18n_app import APP_MESSAGES as TEXTS
from pbx.ringplan import Mode
from tests.e2e.browser import POPUP_URL, ExtensionBrowser, click_text, page, wait_for_note, wait_for_numbers
from tests.support.app import App, talker
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

MODES = [m.value for m in Mode]


def wait_text(locator, predicate, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = locator.inner_text() if locator.count() else ""
        if predicate(text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{locator} says {text!r}")
        time.sleep(0.05)




def test_the_popup_explains_that_talker_is_not_running_and_connects_once_it_runs(browser, kamailio, talker_app):
    popup = browser.open_popup()
    assert wait_text(popup.locator("#problem-title"), bool) == "Talker is not running."
    assert "Start Talker" in popup.locator("#problem-help").inner_text()
    assert popup.locator("#problem-command").inner_text() == "talker"
    assert popup.locator("#app").is_hidden()

    talker_app(kamailio)
    wait_text(popup.locator("#registration-text"), lambda t: t == f"Online as 101@{kamailio.domain}")
    assert popup.locator("#problem").is_hidden()
    assert popup.locator("#connection-state").inner_text() == "Online"


def test_the_popup_explains_that_talker_is_not_installed(browser):
    manifest = browser.profile / "NativeMessagingHosts" / "org.talker.host.json"
    saved = manifest.read_bytes()
    manifest.unlink()
    try:
        popup = browser.open_popup()
        assert wait_text(popup.locator("#problem-title"), bool) == "Talker is not installed on this computer."
        assert "Install Talker" in popup.locator("#problem-help").inner_text()
        # The browser it runs in: Chromium here, not Chrome.
        assert popup.locator("#problem-command").inner_text() == "python -m native_host.install --browser chromium"
    finally:
        manifest.write_bytes(saved)


def test_a_host_installed_for_the_user_is_found_under_XDG_CONFIG_HOME(extension_dir, playwright_driver, tmp_path,
                                                                      kamailio, talker_app, monkeypatch):
    """`native_host.install --browser chromium` puts the manifest where the user's Chromium reads
    it: $XDG_CONFIG_HOME/chromium, here a folder that is not ~/.config."""
    own = ExtensionBrowser(tmp_path / "xdg", runtime_dir=tmp_path / "xdg" / "run", extension=extension_dir,
                           playwright=playwright_driver, default_profile=True)
    try:
        assert (own.profile / "NativeMessagingHosts" / "org.talker.host.json").exists()
        monkeypatch.setenv("TALKER_RUNTIME_DIR", str(own.runtime_dir))
        talker_app(kamailio)
        popup = own.open_popup()
        wait_text(popup.locator("#registration-text"), lambda t: t == f"Online as 101@{kamailio.domain}")
    finally:
        own.close()


def admin_logged_in(pbx_api, tmp_path):
    """Anna, an administrator, logged in to the PBX from a running app; her API session."""
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    done = talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n")
    assert done.returncode == 0, done.stderr
    return anna, App(tmp_path)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_popup_names_receiving_and_numbers_as_the_tray_menu_does(lang, request, kamailio, pbx_api, tmp_path,
                                                                     monkeypatch):
    browser = request.getfixturevalue("browser" if lang == "en" else "russian_browser")
    monkeypatch.setenv("TALKER_RUNTIME_DIR", str(browser.runtime_dir))
    anna, app = admin_logged_in(pbx_api, tmp_path)
    i = LANGUAGES.index(lang)
    try:
        app.wait_registered()
        popup = browser.open_popup()
        wait_text(popup.locator("#pbx-note"), lambda t: "Anna Ivanova" in t)
        assert popup.locator("#modes legend").inner_text() == TEXTS["menu.receive_calls"][i]
        assert [popup.locator(f'input[name="mode"][value="{m}"] + span').inner_text() for m in MODES] == \
            [TEXTS[f"mode.{m}"][i] for m in MODES]
        assert popup.locator("#devices-fieldset legend").inner_text() == TEXTS["menu.my_numbers"][i]
        assert popup.locator("#outgoing-row > span").inner_text() == TEXTS["menu.outgoing_number"][i]
        assert popup.locator("#outgoing option").first.inner_text() == TEXTS["menu.pbx_default_number"][i]
    finally:
        app.quit()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_with_no_account_the_popup_says_not_logged_in_as_the_tray_does(lang, request, tmp_path, monkeypatch):
    browser = request.getfixturevalue("browser" if lang == "en" else "russian_browser")
    monkeypatch.setenv("TALKER_RUNTIME_DIR", str(browser.runtime_dir))
    app = App(tmp_path)
    try:
        app.client().close()
        popup = browser.open_popup()
        wait_text(popup.locator("#registration-text"), bool)
        assert popup.locator("#connection-state").inner_text() == TEXTS["reg.not_logged_in"][LANGUAGES.index(lang)]
    finally:
        app.quit()


def test_the_popup_shows_the_call_and_hangs_it_up_and_its_dial_field_calls(browser, kamailio, peers, talker_app):
    peer = peers(kamailio, "102", "Boris Petrov")
    talker_app(kamailio)
    popup = browser.open_popup()
    wait_text(popup.locator("#registration-text"), lambda t: t.startswith("Online"))

    popup.fill("#dial-input", "102")
    popup.click("#dial-button")
    assert peer.wait_call("incoming")["remote_number"] == "101"
    wait_text(popup.locator("#dial-result"), lambda t: t == "Calling 102 — Talker is placing the call.")
    call = popup.locator("#calls li")
    wait_text(call, lambda t: "102" in t and "ringing" in t)

    popup.click("#calls li button")  # Hang up
    peer.wait_call("ended")
    deadline = time.monotonic() + 10
    while popup.locator("#calls li").count():
        assert time.monotonic() < deadline, "the ended call stays in the popup"
        time.sleep(0.05)
    assert popup.locator("#calls-section").is_hidden()


def test_the_dial_field_offers_colleagues_and_contacts_by_name_and_calls_the_one_picked(browser, kamailio, peers,
                                                                                         pbx_api, tmp_path):
    boris = peers(kamailio, "102", "Борис Петров")
    anna = pbx_api.add_employee("101", "Anna Ivanova")
    with pbx_api.as_(anna) as api:
        assert api.post("/contacts/personal", json={"name": "Борис Сидоров", "number": "89161234567"}).status_code == 201
    done = talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n")
    assert done.returncode == 0, done.stderr
    app = App(tmp_path)
    try:
        app.wait_registered()
        popup = browser.open_popup()
        wait_text(popup.locator("#pbx-note"), lambda t: "Anna Ivanova" in t, timeout=30)
        assert popup.get_attribute("#dial-input", "placeholder") == "Number or name"

        # The directory and the address books reach the app a moment after the account's name; a
        # person who sees no completion yet types again.
        offered = popup.locator("#dial-suggestions li")

        def both_offered() -> bool:
            popup.fill("#dial-input", "")
            popup.fill("#dial-input", "бор")
            deadline = time.monotonic() + 2
            while offered.count() != 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            return offered.count() == 2

        wait_until(both_offered, 30, message="the completion offering both people")
        assert offered.all_inner_texts() == ["Борис Петров (102)", "Борис Сидоров (+79161234567)"]

        popup.fill("#dial-input", "Борис")
        popup.click("#dial-button")
        wait_text(popup.locator("#dial-result"), lambda t: t == (
            "“Борис” may be Борис Петров (102), Борис Сидоров (+79161234567): type the full name or the number."),
                  timeout=30)

        popup.fill("#dial-input", "бор")
        wait_text(popup.locator("#dial-suggestions"), lambda t: offered.count() == 2, timeout=30)
        offered.nth(0).click()
        assert popup.input_value("#dial-input") == "Борис Петров"
        assert popup.locator("#dial-suggestions").is_hidden()
        popup.click("#dial-button")
        assert boris.wait_call("incoming")["remote_number"] == "101"
        popup.click("#calls li button")  # Hang up
        boris.wait_call("ended")
    finally:
        app.quit()


def test_without_a_talker_pbx_the_pbx_part_says_it_is_unavailable(browser, kamailio, talker_app):
    talker_app(kamailio)  # a plain SIP account: no PBX login
    popup = browser.open_popup()
    note = wait_text(popup.locator("#pbx-note"), bool)
    assert note.startswith("Unavailable: ")
    assert popup.locator("#pbx-controls").is_hidden()


def test_the_popup_switches_the_receive_mode_and_the_outgoing_number_at_the_pbx(browser, kamailio, pbx_api,
                                                                                tmp_path):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    done = talker("--login", "101", "--pbx", pbx_api.url, stdin=anna.communicator_password + "\n")
    assert done.returncode == 0, done.stderr
    app = App(tmp_path)
    admin = pbx_api.as_(anna)
    try:
        app.wait_registered()
        popup = browser.open_popup()
        wait_text(popup.locator("#pbx-note"), lambda t: "Anna Ivanova" in t)
        # The scheme may arrive a moment after the account's name: wait for it as a person would.
        wait_until(lambda: popup.locator('input[name="mode"][value="all_at_once"]').is_checked(), 15,
                   message="the PBX's receive mode in the popup")
        assert popup.locator("#devices input").count() >= 1

        popup.check('input[name="mode"][value="in_turn"]')
        wait_text(popup.locator("#pbx-result"), lambda t: t == "Saved.")
        assert admin.get(f"/employees/{anna.employee.id}/scheme").json()["mode"] == "in_turn"

        # A device's active toggle. Switching off the only device would leave callers nobody: the
        # popup warns first, and the same choice again does it.
        device = '#devices input[data-device-id="sip-101"]'
        warned = []

        def switched_off_at_the_pbx() -> bool:
            if "leaves no device to ring" in popup.locator("#pbx-result").inner_text():
                warned.append(True)
                if popup.locator(device).is_checked():
                    popup.uncheck(device)        # the same choice again, as the warning asks
            scheme = admin.get(f"/employees/{anna.employee.id}/scheme").json()
            return [d["active"] for d in scheme["devices"] if d["id"] == "sip-101"] == [False]

        wait_until(lambda: not popup.locator("#pbx-controls").evaluate("e => e.inert"), 10,
                   message="the popup showing the saved mode")
        popup.uncheck(device)
        wait_until(switched_off_at_the_pbx, 20, 0.2, "the device switched off at the PBX")
        wait_text(popup.locator("#pbx-result"), lambda t: t == "Saved.")

        # A number added at the PBX reaches the popup live, and choosing it goes back to the PBX.
        number = admin.post("/numbers", json={"number": "+7 495 111-22-33", "label": "Office"}).json()
        option = popup.locator(f'#outgoing option[value="{number["id"]}"]')
        deadline = time.monotonic() + 10
        while option.count() == 0:
            assert time.monotonic() < deadline, "the new number did not reach the popup"
            time.sleep(0.1)
        popup.select_option("#outgoing", str(number["id"]))
        wait_text(popup.locator("#pbx-result"), lambda t: t == "Saved.")
        assert admin.get("/me").json()["outgoing_number"]["number"] == "+74951112233"
    finally:
        admin.close()
        app.quit()


@pytest.fixture(scope="module")
def russian_browser(extension_dir, playwright_driver, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("chromium-ru")
    browser = ExtensionBrowser(workdir, runtime_dir=workdir / "run", extension=extension_dir, lang="ru",
                               playwright=playwright_driver)
    try:
        yield browser
    finally:
        browser.close()


def test_russian_from_the_browsers_language(russian_browser, pages):
    popup = russian_browser.context.new_page()
    popup.goto(POPUP_URL)
    assert wait_text(popup.locator("#problem-title"), bool) == "Talker не запущен."
    assert popup.locator("#dial-button").inner_text() == "Позвонить"
    assert popup.get_attribute("#dial-input", "placeholder") == "Номер или имя"
    tab = russian_browser.open(pages.add("/ru.html", page("<p>Звоните: 8 800 555-35-35</p>")))
    wait_for_numbers(tab, 1)
    click_text(tab, "8 800 555-35-35")
    assert wait_for_note(tab, lambda t: "не запущен" in t) == \
        "Talker не запущен. Запустите Talker и щёлкните номер ещё раз."
