"""The installers' browser facts extend the one shared list (common/browser_bridge.json)."""

from common import browser_bridge
from installers.browsers import FACTS, browsers


def test_every_shared_browser_has_install_facts_and_no_other():
    assert set(FACTS) == set(browser_bridge.BROWSERS)
    assert [b.id for b, _ in browsers()] == list(browser_bridge.BROWSERS)


def test_the_facts_are_plausible():
    for browser, facts in browsers():
        assert facts.commands and all("/" not in c for c in facts.commands), browser
        assert facts.mac_app.endswith(".app"), browser
        assert facts.flatpak is None or facts.flatpak.count(".") >= 2, browser
