"""The daily report as one CSV file per table, in a directory: each file named by its day, its
place in the report and its table ("2026-07-18 02 每日人数统计表 Daily headcount.csv"), in UTF-8
with a byte-order mark so a spreadsheet opens the Chinese right, one header row, then rows."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

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


def write_csv_dir(directory: Path, files: dict[str, bytes], *, private: bool) -> list[Path]:
    """The files written into `directory` (made if need be); mode 0600 when they show phones."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        written.append(path)
    return written
