"""The wall display in a real headless Chromium when the hub's figures are not live: no "Live"
badge, never "All clear", the figures greyed with their age, and each gate's last known backlog.

First against a venue of real processes (a hub refused by its broker; a broker killed under a
running venue), then against the stand-in hub of tests/browser.py for what the venue cannot show
on demand (no alerts at all while not live, a long critical line on a phone).

Skipped, with the reason, where Chromium or chromedriver is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, FixtureHub, missing, sample_display
from gate_rig import ADULT, CHILD, wait_for
from venue_rig import Venue

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))

AGE = re.compile(r"^Figures \d+ (s|min) old$")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home = tmp_path_factory.mktemp("chromium")
    browser = Browser(home / "profile", log=home / "chromedriver.log")
    yield browser
    browser.close()


@pytest.fixture
def browser(chromium: Browser) -> Browser:
    chromium.resize(1280, 900)
    return chromium


def figures(b: Browser) -> str:
    return str(b.js("return document.body.dataset.figures || ''"))


def alert_kinds(b: Browser) -> list[str]:
    return list(
        b.js(
            "return [...document.querySelectorAll('#alerts-list .alert')].map(a => a.dataset.kind)"
        )
    )


def overflowing(b: Browser, selector: str) -> list[str]:
    """The texts of `selector`'s elements wider than their box."""
    return list(
        b.js(
            "return [...document.querySelectorAll(arguments[0])]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)",
            selector,
        )
    )


def open_page(b: Browser, url: str) -> None:
    b.open("about:blank")
    b.console_errors()  # read and so dropped: what an earlier test's page said
    b.open(url)
    b.wait(
        lambda: (
            b.js("return document.body.dataset.link") == "live"
            and b.js("return window.__updates") > 0
        ),
        what="the page's stream open",
    )


def assert_not_live(b: Browser) -> None:
    """What a duty manager must see while the figures are not live."""
    assert b.text("link-text") == "Not live"
    assert "Live" not in b.text("link-text")
    assert "All clear" not in b.text("alerts-list")
    assert b.visible("figures-stale")
    b.wait(lambda: AGE.match(b.text("figures-age")), what="the figures' age")
    assert "not-live" in str(b.js("return document.getElementById('numbers').className"))
    assert not overflowing(b, "#alerts-list .alert"), overflowing(b, "#alerts-list .alert")


def test_a_hub_refused_by_its_broker_shows_no_live_badge_and_no_all_clear(
    tmp_path: Path, fresh_broker: Any, browser: Browser
) -> None:
    venue = Venue(tmp_path, fresh_broker(), passwords={"hub": "not-the-hub-password"})
    try:
        venue.start_hub()
        open_page(browser, f"http://127.0.0.1:{venue.http_port}/")
        assert figures(browser) == "stale"
        browser.wait(
            lambda: "hub_broker_refused" in alert_kinds(browser), 30, "the refused login shown"
        )
        assert_not_live(browser)
        text = browser.text("alerts-list")
        assert "login as hub (since" in text and "not authorised — check" in text
        assert "hub.password" in text
        assert re.search(r"since \d\d:\d\d, \d+ (s|min)", text), text  # a human time
        assert not re.search(r"\d{4}-\d\d-\d\dT", text), text  # no raw ISO time
        browser.screenshot(tmp_path / "display-refused.png")
        assert not browser.console_errors()
    finally:
        venue.close()


def test_a_killed_broker_greys_the_figures_and_each_gate_keeps_its_last_backlog(
    tmp_path: Path, fresh_broker: Any, browser: Browser
) -> None:
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        for gate in ("D1", "E1", "X1"):
            venue.start_gate(gate)
        assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
        for band in (ADULT, CHILD):
            assert venue.scan("D1", band) == "OK_BIND"
        venue.wait_bound(("E1",), (ADULT, CHILD))
        assert venue.scan("E1", ADULT) == "OK_ENTRY"
        open_page(browser, f"http://127.0.0.1:{venue.http_port}/")
        browser.wait(lambda: browser.text("inside") == "1", 20, "one inside")
        browser.wait(lambda: figures(browser) == "live", 20, "live figures")
        assert browser.text("link-text") == "Live" and not browser.visible("figures-stale")

        venue.broker.kill()  # no last wills: the hub last knew every gate online
        assert venue.scan("E1", CHILD) == "OK_ENTRY"  # journalled at the gate, unheard
        wait_for(lambda: venue.gate_status("E1")["journal"]["backlog"] >= 1, what="E1 holds it")
        browser.wait(lambda: "hub_broker_down" in alert_kinds(browser), 30, "the broker down")
        assert_not_live(browser)
        kinds = alert_kinds(browser)
        assert kinds.count("gates_unreachable") == 1 and "gate_offline" not in kinds, kinds
        assert browser.text("inside") == "1"  # the last figure, greyed, not a live one
        pills = browser.js(
            "return [...document.querySelectorAll('#gates-list .pill')].map(p => p.textContent)"
        )
        assert pills == ["Not heard"] * 3, pills
        backlogs = browser.js(
            "return [...document.querySelectorAll('[data-backlog=last-known]')]"
            ".map(d => d.textContent)"
        )
        assert len(backlogs) == 3 and all("last known" in b for b in backlogs), backlogs
        assert all(re.fullmatch(r"last known: \d+ at \d\d:\d\d", b) for b in backlogs), backlogs
        e1 = browser.js(
            "return document.querySelector('[data-gate=E1] dd[data-backlog]').innerText"
        )
        assert e1.startswith("last known: 0 ")  # what the hub last heard; the gate holds 1 now
        browser.screenshot(tmp_path / "display-broker-down.png")

        venue.broker.restart()
        browser.wait(lambda: figures(browser) == "live", 45, "live again")
        assert browser.text("link-text") == "Live"
        browser.wait(lambda: browser.text("inside") == "2", 20, "the child's entry counted")
        assert not browser.console_errors()
    finally:
        venue.close()


@pytest.fixture
def fixture_hub() -> Iterator[FixtureHub]:
    hub = FixtureHub().start()
    yield hub
    hub.close()


def test_no_alerts_while_not_live_is_not_all_clear_and_long_lines_fit_a_phone(
    fixture_hub: FixtureHub, browser: Browser
) -> None:
    display = sample_display()
    open_page(browser, fixture_hub.url)
    browser.wait(lambda: browser.text("alerts-list") == "All clear: no alerts", what="all clear")

    display["headcount"]["live"] = False
    display["headcount"]["stale_since"] = display["venue"]["now"]
    fixture_hub.set(display)
    browser.wait(lambda: figures(browser) == "stale", what="not live")
    assert browser.text("alerts-list") == "No alerts, but the figures are not live"
    assert_not_live(browser)

    browser.resize(390, 844)
    path = "/etc/wristgate/passwords/" + "a-very-long-broker-user-name" * 3 + ".password"
    display["alerts"] = [
        {
            "level": "critical",
            "kind": "hub_broker_refused",
            "text": f"The broker refuses the hub's login (since 14:11, 3 min): broker refused the "
            f"login for hub: not authorised — check {path}. No gate can be heard",
        }
    ]
    fixture_hub.set(display)
    browser.wait(lambda: "hub_broker_refused" in alert_kinds(browser), what="the long line")
    assert not overflowing(browser, "#alerts-list .alert, #alerts-list .alert-text")
    widths = browser.js(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
