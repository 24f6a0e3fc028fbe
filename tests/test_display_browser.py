"""The duty manager's live display (`GET /` on the hub) in a real headless Chromium.

First against a venue of real processes: the numbers follow scans at the gates, and a group whose
adult left first shows up in red, all without a reload. Then against a stand-in for the hub's
HTTP side (tests/browser.py), for what a venue cannot show on demand: capacity colours, the
closing sweep, a dropped stream and a hub that does not answer, a phone's screen.

Skipped, with the reason, where Chromium or chromedriver is missing; CI installs both through
scripts/bootstrap. `WRISTGATE_UPDATE_SCREENSHOT=1` copies the venue's screenshot to
docs/display.png.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, FixtureHub, missing, sample_display
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2
from venue_rig import Venue

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))

DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "display.png"
RED_PANEL = "rgb(153, 27, 27)"
AMBER, RED, GREEN = "rgb(245, 158, 11)", "rgb(220, 38, 38)", "rgb(34, 197, 94)"


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


@pytest.fixture
def fixture_hub() -> Iterator[FixtureHub]:
    hub = FixtureHub().start()
    yield hub
    hub.close()


def link(b: Browser) -> str:
    return str(b.js("return document.body.dataset.link || ''"))


def numbers(b: Browser) -> tuple[str, str, str]:
    return b.text("inside"), b.text("adults"), b.text("children")


def reloads_marker(b: Browser) -> dict[str, Any]:
    return dict(
        b.js("return {loads: window.__loads, updates: window.__updates, probe: window.__probe}")
    )


def open_live(b: Browser, url: str) -> None:
    b.open(url)
    b.wait(lambda: link(b) == "live" and b.js("return window.__updates") > 0, what="the page live")
    b.js("window.__probe = 'set before any update'")  # gone if the page ever reloads


# --- a venue of real processes -------------------------------------------------------------------


def test_the_display_follows_the_venue_live_and_flags_children_left_without_an_adult(
    tmp_path: Path, fresh_broker, browser: Browser
) -> None:
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        for gate in ("D1", "E1", "X1"):
            venue.start_gate(gate)
        open_live(browser, f"http://127.0.0.1:{venue.http_port}/")
        assert numbers(browser) == ("0", "0", "0")
        assert not browser.visible("unaccompanied")

        for ticket, bands in (("T1", (ADULT, CHILD)), ("T2", (ADULT_2, CHILD_2))):
            assert venue.scan("D1", ticket, "barcode") == "OK_BIND"
            for band in bands:
                assert venue.scan("D1", band) == "OK_BIND"
        venue.wait_bound(("E1", "X1"), (ADULT, CHILD, ADULT_2, CHILD_2))
        for band in (ADULT, CHILD, ADULT_2, CHILD_2):
            assert venue.scan("E1", band) == "OK_ENTRY"
        browser.wait(lambda: numbers(browser) == ("4", "2", "2"), 20, "four inside on the page")
        gates = browser.text("gates-list")
        assert all(g in gates for g in ("D1", "E1", "X1")) and "Offline" not in gates

        # T1's adult leaves first; the child stays past the pairing window (5 s)
        assert venue.scan("X1", ADULT) == "OK_EXIT"
        browser.wait(lambda: numbers(browser) == ("3", "1", "2"), 20, "the adult out")
        try:
            browser.wait(lambda: browser.visible("unaccompanied"), 25, "the red list")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; /api/display: {_raw(venue, '/api/display')}") from None
        red = browser.text("unaccompanied")
        assert "Group T1" in red and "temporarily out" in red
        assert "Child 1" in red and "Adult 1" in red  # by role and number, not by band
        assert CHILD not in red and ADULT not in red
        assert "T2" not in red
        assert browser.style("unaccompanied", "backgroundColor") == RED_PANEL
        assert "with no adult" in browser.text("unaccompanied-count")
        assert "T1" in browser.text("alerts-list")

        shot = browser.screenshot(tmp_path / "display.png")
        if os.environ.get("WRISTGATE_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(shot, DOCS_SCREENSHOT)

        # the adult comes back for the child: the flag clears, live as well
        assert venue.scan("E1", ADULT) in ("OK_ENTRY", "OK_REENTRY")
        browser.wait(lambda: not browser.visible("unaccompanied"), 20, "the red list cleared")
        assert numbers(browser) == ("4", "2", "2")

        marker = reloads_marker(browser)
        assert marker["loads"] == 1 and marker["probe"] == "set before any update", marker
        assert marker["updates"] >= 4, marker
        assert not browser.console_errors()
    finally:
        venue.close()


def _raw(v: Venue, path: str) -> str:
    """What the hub answers at `path`, error or not (for a failure's message)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{v.http_port}{path}", timeout=5) as r:
            return r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}: {exc.read().decode(errors='replace')}"


# --- the page against a stand-in hub ------------------------------------------------------------


def test_capacity_turns_amber_then_red_and_the_sweep_lists_the_children_inside(
    fixture_hub: FixtureHub, browser: Browser
) -> None:
    open_live(browser, fixture_hub.url)
    display = sample_display()
    assert browser.text("capacity-percent") == "53%"
    assert browser.style("capacity-fill", "backgroundColor") == GREEN

    display["headcount"]["inside"] = 360  # 90% of 400
    fixture_hub.set(display)
    browser.wait(lambda: browser.text("capacity-percent") == "90%", what="90%")
    browser.wait(lambda: browser.style("capacity-fill", "backgroundColor") == AMBER, what="amber")
    assert "Nearly full" in browser.text("capacity-note")

    display["headcount"]["inside"] = 401
    fixture_hub.set(display)
    browser.wait(lambda: browser.style("capacity-fill", "backgroundColor") == RED, what="red")
    assert browser.text("capacity-percent") == "100%"
    assert "Over capacity: 1" in browser.text("capacity-note")
    assert browser.js("return document.getElementById('capacity-bar').ariaValueNow") == "100"

    now = datetime.fromisoformat(display["venue"]["now"])
    display["sweep"] = {
        "closes_at": (now + timedelta(minutes=25)).isoformat(),
        "minutes_left": 25,
        "children": [
            {"member": "child 1", "group": "T7", "role": "child", "adult_inside": True},
            {"member": "child 1", "group": "T3", "role": "child", "adult_inside": False},
            {"member": "child 2", "group": "T9", "role": "solo_child", "adult_inside": False},
        ],
    }
    display["sweep"]["children"][1]["unaccompanied"] = True
    display["alerts"] = [
        {"level": "info", "kind": "closing", "text": "closing in 25 min: 3 children inside"},
        {"level": "critical", "kind": "gate_offline", "text": "gate X1 offline"},
        {"level": "warning", "kind": "capacity", "text": "401 inside of 400"},
    ]
    fixture_hub.set(display)
    browser.wait(lambda: browser.visible("sweep"), what="the sweep panel")
    assert "25 min left" in browser.text("sweep-summary")
    assert "3 children still inside" in browser.text("sweep-summary")
    rows = browser.js(
        "return [...document.querySelectorAll('#sweep-rows tr')]"
        ".map(r => [r.className, r.cells[0].textContent, r.cells[3].textContent])"
    )
    assert [r[1] for r in rows] == ["T3", "T9", "T7"]  # unaccompanied, no adult, with an adult
    assert rows[0] == ["alone", "T3", "No — unaccompanied"]
    assert rows[1] == ["", "T9", "Came alone: guardian pickup"] and rows[2][0] == ""
    members = browser.js(
        "return [...document.querySelectorAll('#sweep-rows tr')].map(r => r.cells[1].textContent)"
    )
    assert members == ["Child 1", "Child 2", "Child 1"]  # by role and number, never by band
    levels = browser.js(
        "return [...document.querySelectorAll('#alerts-list .alert-level')].map(e => e.textContent)"
    )
    assert levels == ["critical", "warning", "info"]

    display["sweep"] = None
    fixture_hub.set(display)
    browser.wait(lambda: not browser.visible("sweep"), what="the sweep panel gone")
    assert reloads_marker(browser)["loads"] == 1 and fixture_hub.pages == 1


def test_a_dropped_stream_says_connection_lost_and_the_poll_keeps_the_numbers_fresh(
    fixture_hub: FixtureHub, browser: Browser
) -> None:
    open_live(browser, fixture_hub.url)
    assert not browser.visible("connection-lost")
    display = sample_display()

    fixture_hub.cut_stream()
    browser.wait(lambda: browser.visible("connection-lost"), what="the banner")
    assert "Connection lost — reconnecting" in browser.text("connection-lost")
    browser.wait(lambda: link(browser) == "polling", what="polling")

    display["headcount"]["inside"] = 250  # only the poll can bring this
    fixture_hub.set(display)
    browser.wait(lambda: browser.text("inside") == "250", what="the poll's figure")

    fixture_hub.api_down()
    browser.wait(lambda: link(browser) == "lost", what="the hub unreachable")
    assert "does not answer" in browser.text("connection-lost")
    assert "stale" in str(browser.js("return document.getElementById('main').className"))

    display["headcount"]["inside"] = 251
    fixture_hub.set(display)
    fixture_hub.restore()
    browser.wait(lambda: link(browser) == "live", what="live again")
    browser.wait(lambda: browser.text("inside") == "251", what="the stream's figure")
    assert not browser.visible("connection-lost")
    assert reloads_marker(browser)["loads"] == 1 and fixture_hub.pages == 1


def test_on_a_phone_the_display_is_one_column_with_nothing_cut_off(
    tmp_path: Path, fixture_hub: FixtureHub, browser: Browser
) -> None:
    display = sample_display()
    display["gates"]["X1"]["online"] = False
    display["unaccompanied"] = [
        {
            "group": "T1",
            "children": [
                {"member": "child 1", "role": "child", "last_gate": "E1", "last_at": None}
            ],
            "adults": [
                {
                    "member": "adult 1",
                    "role": "adult",
                    "state": "temp_out",
                    "last_gate": "X1",
                    "last_at": None,
                }
            ],
        }
    ]
    fixture_hub.set(display)
    browser.resize(390, 844)
    open_live(browser, fixture_hub.url)
    lefts = browser.js(
        "return ['unaccompanied', 'numbers', 'alerts', 'gates']"
        ".map(id => Math.round(document.getElementById(id).getBoundingClientRect().left))"
    )
    assert len(set(lefts)) == 1, lefts
    tiles = browser.js(
        "return [...document.querySelectorAll('#numbers .tile')]"
        ".map(t => Math.round(t.getBoundingClientRect().left))"
    )
    assert len(set(tiles)) == 1, tiles
    widths = browser.js(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    assert "Offline" in browser.text("gates-list")
    browser.screenshot(tmp_path / "display-phone.png")


def test_what_the_hub_sends_is_shown_as_text_never_run_as_html(
    fixture_hub: FixtureHub, browser: Browser
) -> None:
    display = sample_display()
    hostile = '<img src=x onerror="window.__ran = 1">'
    display["venue"]["name"] = hostile
    display["alerts"] = [{"level": "warning", "kind": "conflict", "text": hostile}]
    display["unaccompanied"] = [{"group": hostile, "children": [], "adults": []}]
    fixture_hub.set(display)
    open_live(browser, fixture_hub.url)
    browser.wait(lambda: browser.visible("unaccompanied"), what="the red list")
    assert browser.text("venue-name") == hostile
    assert hostile in browser.text("alerts-list") and hostile in browser.text("unaccompanied")
    assert browser.js("return window.__ran") is None
    assert browser.js("return document.querySelectorAll('main img, header img').length") == 0
