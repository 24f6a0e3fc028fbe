"""The daily report rendered: one CSV file, or a printable, self-contained HTML page, with
the same sections (`hub.views.reports.sections`)."""

from __future__ import annotations

import csv
import html
import io

from hub.views.reports.daily import DailyReport
from hub.views.reports.sections import sections


def report_csv(report: DailyReport, *, staff: bool) -> str:
    """The report as one CSV file: each section a title row, a header row and its rows, then a
    blank row. Guardian phones masked unless `staff`."""
    out = io.StringIO()
    writer = csv.writer(out)
    for section in sections(report, staff=staff):
        writer.writerow([section.title] + ([section.note] if section.note else []))
        writer.writerow(section.header)
        for row in section.rows:
            writer.writerow([_cell(v) for v in row])
        if not section.rows:
            writer.writerow(["(none)"])
        writer.writerow([])
    return out.getvalue()


def _cell(value: str | int) -> str | int:
    """A text cell a spreadsheet would run as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


_CSS = """
body { font: 10.5pt/1.35 system-ui, "Segoe UI", "Noto Sans", "PingFang SC", sans-serif;
       color: #111; margin: 2em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
h2 { font-size: 12.5pt; margin: 1.4em 0 .3em; }
p.note { margin: 0 0 .3em; color: #444; font-size: 9.5pt; }
table { border-collapse: collapse; margin-bottom: .8em; }
th, td { border: 1px solid #888; padding: .15em .5em; text-align: left; vertical-align: top; }
th { background: #eee; }
td:first-child { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; }
td.none { color: #666; font-style: italic; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { margin: 0; font-size: 9pt; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
  thead { display: table-header-group; }
  th { background: none; }
}
"""


def report_html(report: DailyReport, *, staff: bool) -> str:
    """The report as a printable, self-contained HTML page (no external assets). Guardian
    phones masked unless `staff`."""
    e = html.escape
    title = f"Daily report {report.day.isoformat()}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)} ({e(report.timezone)})</h1>",
    ]
    for i, section in enumerate(sections(report, staff=staff)):
        if i:
            parts.append(f"<h2>{e(section.title)}</h2>")
        if section.note:
            parts.append(f'<p class="note">{e(section.note)}</p>')
        parts.append("<table>")
        parts.append("<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in section.header))
        parts.append("</tr></thead><tbody>")
        for n, row in enumerate(section.rows, 1):
            total = ' class="total"' if section.total and n == len(section.rows) else ""
            cells = "".join(
                f'<td class="n">{v}</td>' if isinstance(v, int) else f"<td>{e(v)}</td>" for v in row
            )
            parts.append(f"<tr{total}>{cells}</tr>")
        if not section.rows:
            parts.append(f'<tr><td class="none" colspan="{len(section.header)}">none</td></tr>')
        parts.append("</tbody></table>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
