"""The daily report as a workbook (openpyxl): one sheet per table, named as the table is (the
manuals' sheets 《每日人数统计表》 and 《每日物资领用记录表》 among them), its header row styled
and frozen, its columns fitted, moments as real spreadsheet times in the venue's zone and
numbers as numbers, so a duty manager can sort, filter and sum."""

from __future__ import annotations

import io
import re
from datetime import datetime, time

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from hub.views.reports.cells import text, width
from hub.views.reports.daily import DailyReport
from hub.views.reports.sections import sections
from hub.views.reports.table import Cell

SHEET_NAME_MAX = 31  # Excel's limit
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MOMENT, HOUR = "yyyy-mm-dd hh:mm:ss", "hh:mm"
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F5FA8")
_HEADER_EDGE = Border(bottom=Side(style="thin", color="333333"))
_WIDEST = 60  # columns wider than this wrap their text


def sheet_names(titles: list[str]) -> list[str]:
    """Names a spreadsheet takes: none of []:*?/\\, at most 31 characters, each its own."""
    names: list[str] = []
    for title in titles:
        name = _NOT_IN_SHEET_NAMES.sub(" ", title).strip().strip("'")
        if len(name) > SHEET_NAME_MAX:  # cut at a word, where one is near
            cut = name[: SHEET_NAME_MAX + 1].rfind(" ")
            name = name[: cut if cut > SHEET_NAME_MAX // 2 else SHEET_NAME_MAX].rstrip()
        base, n = name, 2
        while name.lower() in (m.lower() for m in names):
            suffix = f" {n}"
            name, n = base[: SHEET_NAME_MAX - len(suffix)].rstrip() + suffix, n + 1
        names.append(name or f"Sheet {len(names) + 1}")
    return names


def report_xlsx(report: DailyReport, *, staff: bool, language: str = "en") -> bytes:
    """The workbook's bytes. Guardian phones masked unless `staff`."""
    book = Workbook()
    tables = sections(report, staff=staff, language=language)
    first = True
    for section, name in zip(tables, sheet_names([s.title for s in tables]), strict=True):
        sheet = book.active if first else book.create_sheet()
        first = False
        assert sheet is not None
        sheet.title = name
        sheet.append(list(section.header))
        for row in section.rows:
            sheet.append([_value(v) for v in row])
        for column, heading in enumerate(section.header, 1):
            cell = sheet.cell(row=1, column=column)
            cell.font, cell.fill, cell.border = _HEADER_FONT, _HEADER_FILL, _HEADER_EDGE
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            values = [r[column - 1] for r in section.rows]
            for offset, value in enumerate(values, 2):
                if isinstance(value, datetime):
                    sheet.cell(row=offset, column=column).number_format = MOMENT
                elif isinstance(value, time):
                    sheet.cell(row=offset, column=column).number_format = HOUR
            widest = max([width(heading), *(width(text(v)) for v in values)])
            letter = get_column_letter(column)
            sheet.column_dimensions[letter].width = min(widest + 2, _WIDEST)
            if widest > _WIDEST:
                for offset in range(2, len(values) + 2):
                    sheet.cell(row=offset, column=column).alignment = Alignment(wrap_text=True)
        if section.total and section.rows:
            for cell in sheet[len(section.rows) + 1]:
                cell.font = Font(bold=True)
        if section.note:
            sheet.cell(row=1, column=1).comment = Comment(section.note, "wristgate")
        sheet.freeze_panes = "A2"
        if section.rows:
            sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _value(value: Cell) -> str | int | datetime | time | None:
    """A spreadsheet holds no time zone: a moment is written as the venue's wall time."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and value[:1] == "=":
        return "'" + value  # text, never a formula
    return value
