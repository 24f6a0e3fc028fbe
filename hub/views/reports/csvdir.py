"""The daily report as one CSV file per table, in a directory: each file named by its day, its
place in the report and its table ("2026-07-18 02 每日人数统计表 Daily headcount.csv"), in UTF-8
with a byte-order mark so a spreadsheet opens the Chinese right, one header row, then rows."""

from __future__ import annotations

import csv
import io
import re

from hub.views.reports.cells import csv_safe
from hub.views.reports.daily import DailyReport
from hub.views.reports.sections import sections

_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def report_csv_files(report: DailyReport, *, staff: bool, language: str = "en") -> dict[str, bytes]:
    """{file name: its bytes}, in the report's order. Guardian phones masked unless `staff`."""
    files: dict[str, bytes] = {}
    for n, section in enumerate(sections(report, staff=staff, language=language), 1):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(section.header)
        for row in section.rows:
            writer.writerow([csv_safe(v) for v in row])
        title = _NOT_IN_FILE_NAMES.sub(" ", section.title).strip()
        files[f"{report.day.isoformat()} {n:02d} {title}.csv"] = out.getvalue().encode("utf-8-sig")
    return files
