"""The daily report rendered as text: a printable, self-contained HTML page (with the
headcount-by-hour chart), aligned tables for the terminal, and the one-file CSV of every table
stacked (for scripts; people get a workbook, `hub.views.reports.workbook`, or one CSV per table,
`hub.views.reports.csvdir`). The same sections (`hub.views.reports.sections`) in each."""

from __future__ import annotations

import csv
import html
import io

from gate.i18n import words
from hub.views.reports.cells import csv_safe, text, width
from hub.views.reports.chart import CSS as CHART_CSS
from hub.views.reports.chart import headcount_svg
from hub.views.reports.daily import DailyReport
from hub.views.reports.hours import HOURS_TITLE, curve_points
from hub.views.reports.sections import sections


def report_csv(report: DailyReport, *, staff: bool, language: str = "en") -> str:
    """Every table in one CSV file: each a title row, a header row and its rows, then a blank
    row. Guardian phones masked unless `staff`."""
    out = io.StringIO()
    writer = csv.writer(out)
    _ = words(language)
    for section in sections(report, staff=staff, language=language):
        writer.writerow([section.title] + ([section.note] if section.note else []))
        writer.writerow(section.header)
        for row in section.rows:
            writer.writerow([csv_safe(v) for v in row])
        if not section.rows:
            writer.writerow([_("(none)")])
        writer.writerow([])
    return out.getvalue()


def report_text(report: DailyReport, *, staff: bool, language: str = "en") -> str:
    """Every table aligned for a terminal, Chinese characters counted two columns wide."""
    lines: list[str] = []
    _ = words(language)
    for section in sections(report, staff=staff, language=language):
        table = [list(section.header)] + [[text(v) for v in row] for row in section.rows]
        widths = [max(width(r[i]) for r in table) for i in range(len(section.header))]
        lines += ["", section.title, "=" * width(section.title)]
        for n, row in enumerate(table):
            cells = [
                " " * (widths[i] - width(v)) + v
                if n and isinstance(section.rows[n - 1][i], int)
                else v + " " * (widths[i] - width(v))
                for i, v in enumerate(row)
            ]
            lines.append("  ".join(cells).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        if not section.rows:
            lines.append(_("(none)"))
    return "\n".join(lines[1:]) + "\n"


_CSS = """
body { font: 10.5pt/1.35 system-ui, "Segoe UI", "Noto Sans", "Noto Sans CJK SC",
       "PingFang SC", "Microsoft YaHei", sans-serif; color: #111; margin: 2em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
h2 { font-size: 12.5pt; margin: 1.4em 0 .3em; }
p.note { margin: 0 0 .3em; color: #444; font-size: 9.5pt; }
table { border-collapse: collapse; margin-bottom: .8em; max-width: 100%; }
th, td { border: 1px solid #888; padding: .15em .5em; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.t { white-space: nowrap; }
tr.total td { font-weight: bold; }
td.none { color: #666; font-style: italic; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { margin: 0; font-size: 8.5pt; }
  h2 { break-after: avoid; }
  tr, svg.chart { break-inside: avoid; }
  thead { display: table-header-group; }
  table { width: 100%; table-layout: fixed; }
  th, td { padding: .1em .3em; }
  td.t { white-space: normal; }
  th { background: none; }
}
"""


def report_html(report: DailyReport, *, staff: bool, language: str = "en") -> str:
    """The report as a printable, self-contained HTML page (no external assets, no script),
    fitting an A4 page in print. Guardian phones masked unless `staff`."""
    e = html.escape
    _ = words(language)
    title = _("Daily report {day}", day=report.day.isoformat())
    chart = headcount_svg(curve_points(report), language)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(_.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}{CHART_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)} ({e(report.timezone)})</h1>",
    ]
    for i, section in enumerate(sections(report, staff=staff, language=language)):
        if i:
            parts.append(f"<h2>{e(section.title)}</h2>")
        if section.note:
            parts.append(f'<p class="note">{e(section.note)}</p>')
        if section.title == _(HOURS_TITLE) and chart:  # the chart above its table
            parts.append(chart)
        parts.append("<table>")
        parts.append("<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in section.header))
        parts.append("</tr></thead><tbody>")
        for n, row in enumerate(section.rows, 1):
            total = ' class="total"' if section.total and n == len(section.rows) else ""
            cells = "".join(
                f'<td class="n">{v}</td>'
                if isinstance(v, int)
                else f'<td class="t">{e(text(v))}</td>'
                if v is not None and not isinstance(v, str)
                else f"<td>{e(text(v))}</td>"
                for v in row
            )
            parts.append(f"<tr{total}>{cells}</tr>")
        if not section.rows:
            none = e(_("(none)"))
            parts.append(f'<tr><td class="none" colspan="{len(section.header)}">{none}</td></tr>')
        parts.append("</tbody></table>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
