"""The wall display in Chinese and in English, in a real headless Chromium.

The page is served as the hub serves it (`hub.views.web.page`) by the stand-in of tests/browser.py,
with a display object of a busy afternoon whose alerts the hub's own code wrote in the language
asked. In Chinese every fixed word is Chinese (headings with their English beside them), and no
English-only label is left; asked through `?lang=` or through the browser's Accept-Language. In
English no Chinese character shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, FixtureHub, busy_afternoon, missing

from gate.i18n import words
from hub.views.web.page import STATIC, page_words

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))

CJK = re.compile(r"[\u4e00-\u9fff]")
HEADINGS = [text for text, how in page_words((STATIC / "index.html").read_text()) if how]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home = tmp_path_factory.mktemp("chromium")
    browser = Browser(home / "profile", log=home / "chromedriver.log", accept_language="en-GB,en")
    yield browser
    browser.close()


def shown(b: Browser, url: str) -> str:
    """The page's visible text once the display object is drawn."""
    b.open(url)
    b.wait(lambda: b.js("return window.__updates") > 0, what="the display drawn")
    b.wait(lambda: b.js("return document.body.dataset.link") == "live", what="the stream open")
    return str(b.js("return document.body.innerText"))


def assert_all_chinese(b: Browser, text: str) -> None:
    assert b.js("return document.documentElement.lang") == "zh-CN"
    _ = words("zh-CN")
    for heading in HEADINGS:  # Chinese with the English beside it
        if heading in ("Venue time", "Headcount"):
            continue  # aria-labels: read out, not shown
        both = _.both(heading).lower()  # the tiles' labels are set in capitals
        assert both in text.lower(), f"{heading!r} not shown as {both!r}"
        text = re.sub(re.escape(both), "", text, flags=re.I)
    for fixed in ("成人 1", "儿童 1", "团组 T1042", "在线", "离线", "实时", "严重"):
        assert fixed in text, f"{fixed!r} missing"
    assert (
        "剩余 25 分钟" in text and "单独入园" in text and "最后已知：3" in text  # noqa: RUF001
    )  # X1 is offline: its last known backlog
    english = sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - {"Asia", "Shanghai"})
    assert not english, f"English left on the Chinese display: {english}"
    assert "在馆" in str(b.js("return document.title"))


def test_the_display_in_chinese_by_its_link(chromium: Browser) -> None:
    hub = FixtureHub(busy_afternoon("zh-CN")).start()
    try:
        text = shown(chromium, hub.url + "?lang=zh-CN")  # the browser asks for English
        assert_all_chinese(chromium, text)
        assert chromium.console_errors() == []
    finally:
        hub.close()


def test_the_display_in_chinese_by_the_browsers_language(tmp_path: Path) -> None:
    hub = FixtureHub(busy_afternoon("zh-CN")).start()
    browser = Browser(tmp_path / "profile", accept_language="zh-CN,zh;q=0.9,en;q=0.5")
    try:
        assert_all_chinese(browser, shown(browser, hub.url))
    finally:
        browser.close()
        hub.close()


def test_the_display_in_the_hubs_language_when_the_browser_asks_for_none_it_speaks(
    tmp_path: Path,
) -> None:
    hub = FixtureHub(busy_afternoon("zh-CN"), language="zh-CN").start()
    browser = Browser(tmp_path / "profile", accept_language="fr-FR,fr")
    try:
        assert_all_chinese(browser, shown(browser, hub.url + "?lang=xx"))
    finally:
        browser.close()
        hub.close()


def test_the_display_in_english_shows_no_chinese(chromium: Browser) -> None:
    hub = FixtureHub(busy_afternoon("en"), language="zh-CN").start()
    try:
        text = shown(chromium, hub.url + "?lang=en")
        assert chromium.js("return document.documentElement.lang") == "en"
        assert not CJK.search(text), CJK.findall(text)
        for label in ("Inside now", "Adults", "Children", "Capacity", "Alerts", "Gates"):
            assert label.lower() in text.lower()
        assert "Closing sweep" in text and "Adult 1" in text and "last known: 3" in text
    finally:
        hub.close()


def test_on_a_phone_the_chinese_display_fits_with_its_english_headings(chromium: Browser) -> None:
    hub = FixtureHub(busy_afternoon("zh-CN")).start()
    chromium.resize(390, 844)
    try:
        text = shown(chromium, hub.url + "?lang=zh-CN")
        assert "在馆人数" in text
        widths = chromium.js(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], widths  # nothing wider than the screen
        clipped = chromium.js(
            "return [...document.querySelectorAll('h2, th, dt, dd, .pill, .alert-text')]"
            ".filter(e => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.textContent)"
        )
        assert clipped == [], clipped
    finally:
        chromium.resize(1280, 900)
        hub.close()
