"""The daily report as people open it: a workbook of one sheet per table, a directory of one CSV
per table, a printed page with its headcount chart and no raw code, in English and Chinese; the
API's formats; today's curve; and `hub report daily`'s outputs. On the example day's real store
(tests/day_store.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from day_store import ROOT, Day, example_hub
from test_hub_view import StillView

from gate.core import Code, MemberState, Role
from gate.i18n import words
from hub.fold.findings import CRITICAL
from hub.fold.reconcile import VenueState
from hub.store.events import EventStore
from hub.views.labels import CODES, FINDINGS, ROLES, STATES, known, label
from hub.views.reports.csvdir import report_csv_files
from hub.views.reports.daily import DailyReport, daily_report
from hub.views.reports.render import report_html, report_text
from hub.views.reports.sections import sections
from hub.views.reports.today import curve
from hub.views.reports.workbook import MIME, SHEET_NAME_MAX, report_xlsx, sheet_names
from hub.views.web.server import STAFF, route

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 7, 18)
HEADCOUNT_ZH = "《每日人数统计表》 Daily headcount"
MATERIALS_ZH = "《每日物资领用记录表》 Daily materials"
RAW = re.compile(r"\b(DENY|OK)_[A-Z_]+\b|\bsolo_child\b|\btemp_out\b|child_released_by_override")


@pytest.fixture(scope="module")
def day() -> Day:
    return example_hub()[0]


@pytest.fixture(scope="module")
def hub_toml() -> Path:
    return example_hub()[1]


@pytest.fixture(scope="module")
def store(hub_toml: Path) -> Iterator[EventStore]:
    with EventStore(hub_toml.parent / "state" / "events.db") as s:
        yield s


@pytest.fixture(scope="module")
def report(store: EventStore, day: Day) -> DailyReport:
    venue = VenueState(store, allowlist=day.allowlist)
    return daily_report(store, DAY, TZ, findings=venue.findings(), allowlist=day.allowlist)


# --- labels -------------------------------------------------------------------------------------


def test_every_reason_code_role_state_and_finding_has_a_label_in_both_languages() -> None:
    chinese = words("zh-CN")
    for code in [*Code, *Role, *MemberState, *CRITICAL, *FINDINGS]:
        assert known(code), f"{code} has no label"
        english = label(code, "en")
        assert english != code and not RAW.search(english)
        assert label(code, "zh-CN") != english, f"{code}: no Chinese for {english!r}"
        assert re.search(r"[\u4e00-\u9fff]", label(code, "zh-CN"))
    for table in (CODES, ROLES, STATES, FINDINGS):
        assert all(chinese(text) != text for text in table.values())
    assert label("a_newer_kind") == "a newer kind"


# --- the workbook ---------------------------------------------------------------------------------


def workbook(report: DailyReport, language: str = "en") -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(report_xlsx(report, staff=False, language=language)))


def test_the_workbook_has_a_sheet_per_table_with_styled_headers_and_typed_cells(
    report: DailyReport,
) -> None:
    book = workbook(report)
    tables = sections(report, staff=False)
    assert book.sheetnames == [t.title for t in tables]
    hours = book["Headcount by hour"]
    assert [c.value for c in hours[1]][:4] == [
        "hour from",
        "entries: adults",
        "entries: children",
        "entries: all",
    ]
    assert all(c.font.bold for c in hours[1])
    assert hours.freeze_panes == "A2"
    assert hours["A2"].value == time(9, 0) and hours["A2"].number_format == "hh:mm"
    total = hours[hours.max_row]
    assert total[0].value == "total" and total[3].value == 973 and isinstance(total[3].value, int)
    summary = {r[0].value: r[1].value for r in book["Daily headcount"].iter_rows(min_row=2)}
    assert summary["peak inside"] == 738
    peak = summary["peak reached at"]
    assert isinstance(peak, datetime) and peak == datetime(2026, 7, 18, 13, 19, 8)  # venue time
    overrides = book["Staff overrides"]
    assert isinstance(overrides["A2"].value, datetime)
    assert overrides["A2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert overrides["E2"].value == "Child alone: guardian pickup at the desk"
    assert overrides["G2"].value == "Child admitted alone"
    wide = book["Children inside at closing"].column_dimensions["F"].width
    assert wide > book["Children inside at closing"].column_dimensions["B"].width
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            assert not [v for v in row if isinstance(v, str) and RAW.search(v)], sheet.title


def test_the_manuals_sheet_names_in_chinese_with_the_english_beside(report: DailyReport) -> None:
    book = workbook(report, "zh-CN")
    assert HEADCOUNT_ZH in book.sheetnames and MATERIALS_ZH in book.sheetnames
    assert all(len(name) <= SHEET_NAME_MAX for name in book.sheetnames)
    assert book[HEADCOUNT_ZH]["A1"].value == "项目"
    assert book[HEADCOUNT_ZH]["B5"].value == 973  # 入园总人数: still a number
    assert sheet_names(["a" * 40, "a" * 40, "x:y/z?", "w " * 20]) == [
        "a" * 31,
        "a" * 29 + " 2",
        "x y z",
        "w " * 15 + "w",
    ]


# --- one CSV per table --------------------------------------------------------------------------


def test_one_csv_per_table_named_by_the_table_with_a_bom(report: DailyReport) -> None:
    files = report_csv_files(report, staff=False, language="zh-CN")
    assert len(files) == len(sections(report, staff=False))
    assert f"2026-07-18 02 {HEADCOUNT_ZH}.csv" in files
    assert f"2026-07-18 05 {MATERIALS_ZH}.csv" in files
    for name, data in files.items():
        assert data.startswith(b"\xef\xbb\xbf"), name
    hours = next(v for k, v in files.items() if "每小时人数" in k)
    rows = list(csv.reader(io.StringIO(hours.decode("utf-8-sig"))))
    assert rows[0][0] == "时段起" and rows[1][0] == "09:00"
    assert rows[-1][0] == "合计" and rows[-1][3] == "973"
    assert all(len(r) == len(rows[0]) for r in rows), "one table: one header, same columns"


# --- the page -----------------------------------------------------------------------------------


def test_the_page_has_the_headcount_chart_and_no_raw_code(report: DailyReport) -> None:
    page = report_html(report, staff=False)
    svg = re.search(r"<svg class=\"chart\".*?</svg>", page, re.S)
    assert svg, "the headcount chart, inline"
    line = re.search(r'<polyline class="line" points="([^"]+)"', svg.group(0))
    assert line and len(line.group(1).split()) == len(report.hours) + 1
    assert svg.group(0).count("<circle") == len(report.hours) + 1
    assert page.index("<svg") < page.index("<th>hour from</th>")
    assert not RAW.search(re.sub(r"<style>.*?</style>", "", page, flags=re.S))
    assert "Child alone: guardian pickup at the desk" in page
    assert "@page { size: A4" in page and "table-layout: fixed" in page
    chinese = report_html(report, staff=False, language="zh-CN")
    assert '<html lang="zh-CN">' in chinese
    assert f"<h2>{HEADCOUNT_ZH}</h2>" in chinese and f"<h2>{MATERIALS_ZH}</h2>" in chinese
    assert "单独入园儿童" in chinese


def test_the_terminal_gets_aligned_tables(report: DailyReport) -> None:
    text = report_text(report, staff=False)
    assert "Daily headcount\n===============\n" in text
    assert re.search(r"^admitted in all +973$", text, re.M)


# --- the API and today's curve ------------------------------------------------------------------


class ExampleView(StillView):
    """The example day's report served as a hub serves it, the example day being 'today'."""

    def __init__(self, report: DailyReport) -> None:
        self._report, self.reports = report, 0

    def today(self) -> date:
        return DAY

    def report(self, day: date) -> Any:
        self.reports += 1
        return self._report


def test_the_api_answers_json_by_default_and_serves_the_workbook(report: DailyReport) -> None:
    view: Any = ExampleView(report)
    plain = route(view, "/api/reports/daily", {}, STAFF)
    assert plain.status == 200 and plain.content_type == "application/json"
    assert json.loads(plain.body)["peak"]["inside"] == 738
    book = route(view, "/api/reports/daily", {"format": "xlsx", "lang": "zh-CN"}, STAFF)
    assert (
        book.content_type
        == MIME
        == ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    assert HEADCOUNT_ZH in openpyxl.load_workbook(io.BytesIO(book.body)).sheetnames
    with pytest.raises(ValueError, match="json, xlsx, html, csv"):
        route(view, "/api/reports/daily", {"format": "pdf"}, STAFF)


def test_todays_curve_is_open_and_folded_once_a_minute(report: DailyReport) -> None:
    view: Any = ExampleView(report)
    first = route(view, "/api/headcount/today", {}, 0)
    data = json.loads(first.body)
    assert first.status == 200 and data["day"] == "2026-07-18" and data["peak"] == 738
    assert len(data["points"]) == len(report.hours) + 1
    assert data["points"][0] == {"at": "2026-07-18T09:00:00+08:00", "inside": 0}
    assert data["points"][-1]["inside"] == report.closing.inside
    route(view, "/api/headcount/today", {}, 0)
    assert view.reports == 1, "kept a minute"
    assert data["points"][-1]["at"] == "2026-07-18T19:00:00+08:00"  # the day is over
    during = curve(report, datetime(2026, 7, 18, 18, 30, tzinfo=TZ))  # the hour under way
    assert during["points"][-1]["at"] == "2026-07-18T18:30:00+08:00"
    assert during["points"][-2]["at"] == "2026-07-18T18:00:00+08:00"


# --- the command --------------------------------------------------------------------------------


def hub(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_hub_report_daily_writes_a_workbook_and_a_csv_directory(
    hub_toml: Path, tmp_path: Path
) -> None:
    out, folder = tmp_path / "day.xlsx", tmp_path / "day"
    run = hub(
        hub_toml,
        "report",
        "daily",
        "--date",
        "2026-07-18",
        "--xlsx",
        str(out),
        "--csv-dir",
        str(folder),
        "--lang",
        "zh-CN",
    )
    assert run.returncode == 0, run.stderr
    sheets = openpyxl.load_workbook(out).sheetnames
    assert HEADCOUNT_ZH in sheets
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == len(sheets) and f"2026-07-18 05 {MATERIALS_ZH}.csv" in names
    assert run.stdout.splitlines() == [str(folder / n) for n in names]
    screen = hub(hub_toml, "report", "daily", "--date", "2026-07-18")
    assert screen.returncode == 0, screen.stderr
    assert "Headcount by hour" in screen.stdout and "," not in screen.stdout.splitlines()[0]
    wrong = hub(hub_toml, "report", "daily", "--lang", "fr")
    assert wrong.returncode == 2 and "zh-CN" in wrong.stderr


def test_report_files_with_phones_are_the_owners_and_a_bad_place_is_named(
    hub_toml: Path, tmp_path: Path
) -> None:
    out, folder = tmp_path / "day.xlsx", tmp_path / "day"
    out.write_bytes(b"an older file others could read")
    out.chmod(0o644)
    run = hub(
        hub_toml,
        "report",
        "daily",
        "--date",
        "2026-07-18",
        "--staff",
        "--xlsx",
        str(out),
        "--csv-dir",
        str(folder),
    )
    assert run.returncode == 0, run.stderr
    for path in (out, *folder.iterdir()):
        assert path.stat().st_mode & 0o077 == 0, f"{path.name}: guardians' phones, owner only"
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    bad = hub(
        hub_toml, "report", "daily", "--date", "2026-07-18", "--xlsx", str(blocked / "day.xlsx")
    )
    assert bad.returncode == 2
    assert f"{blocked / 'day.xlsx'}: cannot write the report there" in bad.stderr
    assert "Traceback" not in bad.stderr
