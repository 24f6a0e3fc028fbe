"""Offline mode on the duty manager's wall display, in a real headless Chromium, against a venue
of real processes: the broker stops, the page says offline mode since when and which gates are
cut off, and marks the headcount provisional; the broker is back, and both go.

Skipped, with the reason, where Chromium or chromedriver is missing (scripts/bootstrap installs
both).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, missing
from gate_rig import wait_for
from venue_rig import Venue

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    b = Browser(tmp_path / "profile", log=tmp_path / "chromedriver.log")
    b.resize(1280, 900)
    yield b
    b.close()


def test_the_display_marks_the_headcount_provisional_while_the_broker_is_down(
    tmp_path: Path, fresh_broker, browser: Browser
) -> None:
    venue = Venue(tmp_path / "venue", fresh_broker())
    try:
        venue.start_hub()
        for gate in ("D1", "E1"):
            venue.start_gate(gate)
        browser.open(f"http://127.0.0.1:{venue.http_port}/")
        browser.wait(lambda: browser.js("return window.__updates") > 0, what="the page drawn")
        assert not browser.visible("offline-mode")

        wait_for(
            lambda: all(venue.api("/api/gates")[g]["online"] for g in ("D1", "E1")),
            timeout=30,
            what="both gates online at the hub",
        )
        venue.broker.stop()
        browser.wait(
            lambda: browser.js("return document.body.dataset.offline") == "provisional",
            20,
            "the page in offline mode",
        )
        banner = browser.text("offline-mode")
        assert "Offline mode since" in banner and "E1" in banner and "provisional" in banner
        assert browser.visible("inside-provisional")
        assert browser.text("inside-provisional") == "provisional"

        venue.broker.restart()
        browser.wait(lambda: not browser.visible("offline-mode"), 30, "the banner gone")
        assert not browser.visible("inside-provisional")
        assert not browser.console_errors()
    finally:
        venue.close()
