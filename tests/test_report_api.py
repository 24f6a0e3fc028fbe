"""The daily report and today's curve from a running hub (`hub run` and real gates on a real
broker): JSON by default, the workbook with its content type, and the curve of the family that
just came in."""

from __future__ import annotations

import io
import urllib.request
from email.message import Message
from pathlib import Path

import openpyxl
import pytest
from gate_rig import ADULT, CHILD, wait_for
from test_hub_api import family_inside
from venue_rig import Venue

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def venue(tmp_path: Path, fresh_broker):
    v = Venue(tmp_path, fresh_broker())
    v.start_hub()
    yield v
    v.close()


def fetch(v: Venue, path: str) -> tuple[Message, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{v.http_port}{path}")
    request.add_header("Authorization", f"Bearer {v.tokens['staff']}")
    with urllib.request.urlopen(request, timeout=20) as r:
        return r.headers, r.read()


def test_the_running_hub_reports_today_as_json_a_workbook_and_a_curve(venue):
    family_inside(venue)
    report = venue.api("/api/reports/daily")  # no format: JSON
    assert report["admitted"] == {"adults": 1, "children": 1}
    assert report["closing"]["inside"] == 2
    headers, body = fetch(venue, "/api/reports/daily?format=xlsx&lang=zh-CN")
    assert headers["Content-Type"] == XLSX
    day = report["day"]
    assert headers["Content-Disposition"] == f'attachment; filename="daily-report-{day}.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert "《每日人数统计表》 Daily headcount" in book.sheetnames
    sheet = book["《每日人数统计表》 Daily headcount"]
    figures = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert figures["入园总人数"] == 2
    headers, page = fetch(venue, "/api/reports/daily?format=html")
    assert page.startswith(b"<!DOCTYPE html>") and b"<svg" in page
    policies = headers.get_all("Content-Security-Policy")
    assert len(policies) == 1 and "style-src 'unsafe-inline'" in policies[0], "its style applies"
    assert "script-src" not in policies[0] and "default-src 'none'" in policies[0]
    assert len(fetch(venue, "/")[0].get_all("Content-Security-Policy")) == 1
    curve = wait_for(
        lambda: (c := venue.api("/api/headcount/today", None))["points"] and c,
        timeout=10,
        what="today's curve",
    )
    assert [p["inside"] for p in curve["points"]] == [0, 2]
    assert curve["day"] == report["day"]
    assert ADULT not in str(curve) and CHILD not in str(curve), "counts only, no band"
