"""In a real headless Chromium: today's headcount curve on the wall display (`static/curve.js`),
served by the hub's own web server (`hub.views.web.server.make_server`) from the example day's
real store; and the printed daily report, laid out as for an A4 page, in both languages.

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
from hub.views.reports.render import report_html
from hub.views.reports.sections import sections
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


A4_CONTENT_PX = round((210 - 2 * 12) / 25.4 * 96)  # A4 less the page's 12 mm margins, at 96 dpi


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_printed_report_fits_the_width_of_an_a4_page(
    chromium: Browser,
    report: DailyReport,  # noqa: F811
    tmp_path: Path,
    language: str,
) -> None:
    page = tmp_path / "day.html"
    page.write_text(report_html(report, staff=True, language=language), encoding="utf-8")
    driver = chromium.driver
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": A4_CONTENT_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        chromium.open(page.as_uri())
        widest = chromium.js(
            "return Math.max(...[...document.querySelectorAll('table, svg, h1, h2, p')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= A4_CONTENT_PX + 0.5, "something runs off the page"
        assert chromium.js("return document.documentElement.scrollWidth") <= A4_CONTENT_PX
        tables = chromium.js("return document.querySelectorAll('table').length")
        assert tables == len(sections(report, staff=True))
        points = chromium.js(
            "return document.querySelector('svg.chart polyline').points.numberOfItems"
        )
        assert points == len(report.hours) + 1
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
