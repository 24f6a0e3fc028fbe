"""Today's headcount curve on the wall display (`static/curve.js`), in a real headless Chromium,
served by the hub's own web server (`hub.views.web.server.make_server`): from the example day's
real store, and from a venue of real processes whose family has just come in.

Skipped, with the reason, where Chromium or chromedriver is missing (scripts/bootstrap installs
both)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, missing, sample_display
from test_report_outputs import ExampleView, day, hub_toml, report, store  # noqa: F401

from hub.views.reports.daily import DailyReport
from hub.views.web.server import Access, make_server

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home = tmp_path_factory.mktemp("chromium")
    browser = Browser(home / "profile", log=home / "chromedriver.log")
    yield browser
    browser.close()


class DayOnTheWall(ExampleView):
    """The example day as 'today', with a display object for the rest of the page."""

    def display(self) -> dict[str, Any]:
        return sample_display()


def path_points(b: Browser) -> list[tuple[float, float]]:
    d = b.js("const p = document.getElementById('curve-line'); return p && p.getAttribute('d');")
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([\d.]+),([\d.]+)", d or "")]


def test_the_display_draws_todays_headcount_curve(
    chromium: Browser,
    report: DailyReport,  # noqa: F811
    tmp_path: Path,
) -> None:
    server = make_server(DayOnTheWall(report), "127.0.0.1", 0, Access(None, None))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        chromium.open(f"http://127.0.0.1:{port}/")
        chromium.wait(lambda: path_points(chromium), what="the curve drawn")
        points = path_points(chromium)
        assert len(points) == len(report.hours) + 1
        assert chromium.visible("curve")
        xs = [x for x, _ in points]
        assert xs == sorted(xs), "left to right through the day"
        peak_y = min(y for _, y in points)  # the highest point is the peak hour's end
        peak_hour = max(range(len(report.hours)), key=lambda i: report.hours[i].inside_at_end)
        assert points[peak_hour + 1][1] == peak_y
        labels = chromium.js(
            "return [...document.querySelectorAll('#curve-svg text')].map(t => t.textContent)"
        )
        assert {"09:00", "19:00", str(max(h.inside_at_end for h in report.hours))} <= set(labels)
        assert not [e for e in chromium.console_errors() if "curve.js" in e]
        chromium.screenshot(tmp_path / "curve.png")
    finally:
        server.shutdown()
        server.server_close()
