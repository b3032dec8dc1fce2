"""Numbers on real pages in real Chromium: found where they are (text, tables, lists, text that
arrives later), not found where they must not be, and the page itself left exactly as it was.
No app is needed here: this is the content script alone."""

from __future__ import annotations

import time

import pytest

from tests.e2e.browser import click_text, note_text, numbers, page, wait_for_note, wait_for_numbers

pytestmark = pytest.mark.slow

CONTACTS = page("""
<h1>Контакты</h1>
<p>Звоните: +7 (495) 123-45-67 доб. 12, или бесплатно 8 800 555-35-35.</p>
<p>International: +44 20 7946 0958, US office +1 (415) 555-2671 ext. 12</p>
<table>
  <tr><th>Город</th><th>Телефон</th></tr>
  <tr><td>Санкт-Петербург</td><td>8 (812) 234-56-78</td></tr>
  <tr><td>Казань</td><td><span>8 (843)</span> <b>267-89-01</b></td></tr>
</table>
<ul><li>Отдел продаж: 8-912-345-67-89</li><li>Поддержка: +7 916 765 43 21</li></ul>
<p>Дата 12.05.2024, цена 1 234 567 ₽, заказ № 84951234567, IP 192.168.100.200,
   координаты 55.751244, 37.618423, карта 4276 1234 5678 9012, ID 84951234567890123, 10:30,
   ИНН 7707083893, год 1990–2024, ISBN 978-5-699-12014-7, внутренний 102</p>
<input value="+7 495 111-11-11"><textarea>8 495 222 22 22</textarea>
<div contenteditable="true">+7 495 333-33-33</div>
<div contenteditable="true"><p>Текст <b>+7 495 333-33-34</b></p></div>
<pre>+7 495 444-44-44</pre><p><code>+7 495 555-55-55</code></p>
<script>/* +7 495 666-66-66 */</script><style>/* +7 495 777-77-77 */</style>
<noscript>+7 495 888-88-88</noscript>
<p><a href="/contacts">+7 495 999-99-99</a></p>
<select><option>+7 495 100-00-00</option></select>
<button>+7 495 100-00-01</button>
""")

FOUND_ON_CONTACTS = [
    "+7 (495) 123-45-67 доб. 12",
    "8 800 555-35-35",
    "+44 20 7946 0958",
    "+1 (415) 555-2671 ext. 12",
    "8 (812) 234-56-78",
    "8 (843) 267-89-01",
    "8-912-345-67-89",
    "+7 916 765 43 21",
]


def test_numbers_in_text_tables_and_lists_are_found_and_nothing_else(browser, pages):
    tab = browser.open(pages.add("/contacts.html", CONTACTS))
    assert wait_for_numbers(tab, len(FOUND_ON_CONTACTS)) == FOUND_ON_CONTACTS
    time.sleep(0.5)  # nothing more turns up later
    assert numbers(tab) == FOUND_ON_CONTACTS


def test_the_page_is_left_exactly_as_it_was(browser, pages):
    # The page records its own markup and the position of every element before the content
    # script runs (document_idle comes after this inline script).
    url = pages.add("/layout.html", page(CONTACTS.split("<body>")[1].split("</body>")[0], script="""
        window.before = {html: document.documentElement.outerHTML,
                         rects: [...document.querySelectorAll('body *')].map(e => JSON.stringify(e.getBoundingClientRect()))}
    """))
    tab = browser.open(url, wait_numbers=len(FOUND_ON_CONTACTS))
    tab.mouse.move(0, 0)
    same = tab.evaluate("""() => ({
        html: document.documentElement.outerHTML === window.before.html,
        rects: [...document.querySelectorAll('body *')].map(e => JSON.stringify(e.getBoundingClientRect()))
               .every((r, i) => r === window.before.rects[i]),
    })""")
    assert same == {"html": True, "rects": True}


def test_text_that_arrives_later_is_found_and_changed_text_is_followed(browser, pages):
    url = pages.add("/spa.html", page("""
        <p id="status">Номер появится позже.</p>
        <ul id="feed"></ul>
        <p id="card">Менеджер: 8 (495) 987-65-43</p>
    """, script="""
        window.addMore = (n) => {
            const feed = document.getElementById('feed')
            for (let i = 0; i < n; i++) {
                const li = document.createElement('li')
                li.textContent = `Объявление ${feed.children.length + 1}: звоните 8 (383) 222-33-${String(10 + feed.children.length).padStart(2, '0')}`
                feed.append(li)
            }
        }
    """))
    tab = browser.open(url, wait_numbers=1)
    # A search result, an infinite scroll, a single-page app re-rendering one text node:
    tab.evaluate("document.getElementById('status').textContent = 'Найдено: 8 (812) 765-43-21'")
    tab.evaluate("addMore(20)")
    tab.evaluate("document.getElementById('card').firstChild.data = 'Менеджер: 8 (499) 111-22-33'")
    found = wait_for_numbers(tab, 22)
    assert "8 (812) 765-43-21" in found and "8 (499) 111-22-33" in found
    assert "8 (495) 987-65-43" not in found  # the old text is gone, and its mark with it
    assert sum(n.startswith("8 (383) 222-33-") for n in found) == 20
    # Items that scroll out of a virtual list are dropped with them.
    tab.evaluate("document.getElementById('feed').replaceChildren()")
    deadline = time.monotonic() + 5
    while len(numbers(tab)) != 2:
        assert time.monotonic() < deadline, numbers(tab)
        time.sleep(0.05)


def test_a_large_page_is_scanned_in_many_short_slices(browser, pages):
    rows = "".join(f"<tr><td>Клиент {i}</td><td>8 (495) {100 + i % 900:03d}-{i % 100:02d}-{(i * 7) % 100:02d}</td>"
                   f"<td>{i * 37 % 100000} ₽</td><td>12.{1 + i % 12:02d}.2024</td></tr>" for i in range(3000))
    tab = browser.open(pages.add("/big.html", page(f"<table>{rows}</table>")))
    wait_for_numbers(tab, 3000, timeout=60)
    # The page reports its scan to the worker after the last slice: a message that may still be
    # on its way when the highlights are all there.
    read = "(url) => [...talker.stats.values()].find(s => s.url === url) ?? null"
    assert _eventually(lambda: (browser.sw(read, tab.url) or {}).get("found") == 3000), browser.sw(read, tab.url)
    stats = browser.sw(read, tab.url)
    # Split into idle-time slices rather than one long task. How long each takes is for
    # bench/page_scan.py to print: on a loaded machine any time limit here would be flaky.
    assert stats["slices"] >= 5, stats


def test_the_region_setting_decides_national_formats(browser, pages):
    tab = browser.open(pages.add("/us.html", page("<p>New York office: (212) 736-5000, Moscow: 8 (495) 123-45-67</p>")),
                       wait_numbers=1)
    assert numbers(tab) == ["8 (495) 123-45-67"]
    popup = browser.open_popup(for_page=tab)
    popup.select_option("#region", "US")
    assert wait_for_numbers(tab, 1) and _eventually(lambda: numbers(tab) == ["(212) 736-5000"])


def test_detection_can_be_turned_off_for_one_site(browser, pages):
    url = pages.add("/off.html", page('<p>Звоните 8 800 555-35-35</p><p><a href="tel:102">tel</a></p>'))
    tab = browser.open(url, wait_numbers=1)
    popup = browser.open_popup(for_page=tab)
    site = popup.locator("#site-enabled")
    assert site.is_checked()
    assert popup.locator("#site-label").inner_text() == "Find numbers on 127.0.0.1"
    site.uncheck()
    assert _eventually(lambda: numbers(tab) == [])
    tab.reload()
    time.sleep(1.0)
    assert numbers(tab) == []
    click_text(tab, "8 800 555-35-35")
    time.sleep(0.3)
    assert note_text(tab) is None, "a call was offered on a site where Talker is off"
    # Another site still works.
    other = browser.open(url.replace("127.0.0.1", "localhost"), wait_numbers=1)
    assert numbers(other) == ["8 800 555-35-35"]


def test_a_click_that_selects_text_is_not_a_call(browser, pages):
    tab = browser.open(pages.add("/select.html", page("<p>Звоните: 8 800 555-35-35 круглосуточно</p>")),
                       wait_numbers=1)
    start = tab.evaluate("""() => { const t = document.querySelector('p').firstChild; const r = document.createRange();
        r.setStart(t, 9); r.setEnd(t, 10); const b = r.getBoundingClientRect(); return {x: b.left, y: b.top + b.height / 2} }""")
    tab.mouse.move(start["x"] - 30, start["y"])
    tab.mouse.down()
    tab.mouse.move(start["x"] + 40, start["y"], steps=5)
    tab.mouse.up()
    time.sleep(0.3)
    assert note_text(tab) is None


def test_a_click_with_no_app_says_that_talker_is_not_running(browser, pages):
    tab = browser.open(pages.add("/noapp.html", page("<p>Звоните: 8 800 555-35-35</p>")), wait_numbers=1)
    click_text(tab, "8 800 555-35-35")
    assert wait_for_note(tab, lambda t: "not running" in t) == \
        "Talker is not running. Start Talker, then click the number again."


def _eventually(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
