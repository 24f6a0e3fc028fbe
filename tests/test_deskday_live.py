"""The entry desk's day at the hub, on a venue of real processes (Mosquitto, `hub run`, `gate
run` per gate): a lost child's incident opened with `hub incident open` on the running hub is on
the wall display at once — in a real Chromium, in English and in Chinese — with its family,
their last gate and how long it has been open, the desk's API takes and refuses what it is sent,
the incident closes when the child is found and the daily report lists it with its times; the
desks' band stock is issued, returned and written off with `hub stock`, and balances per shift
in the report's materials sheet (a band handed back is the desk's: tests/test_desk_stock_live.py).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, missing
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2
from venue_rig import Venue


def hub_command(v: Venue, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "hub", "-c", str(v.root / "hub" / "hub.toml"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)


def hub_json(v: Venue, *args: str) -> Any:
    done = hub_command(v, *args, "--json")
    assert done.returncode == 0, f"hub {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def post(
    v: Venue,
    path: str,
    body: bytes | dict[str, Any],
    who: str | None = "desk",
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{v.http_port}{path}", data=data, method="POST"
    )
    request.add_header("Content-Type", content_type)
    if who is not None:
        request.add_header("Authorization", f"Bearer {v.tokens[who]}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def bind_and_enter(v: Venue, families: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    for ticket, bands in families:
        assert v.scan("D1", ticket, "barcode") == "OK_BIND"
        for band in bands:
            assert v.scan("D1", band) == "OK_BIND"
    bands = tuple(b for _, family in families for b in family)
    v.wait_bound(("E1",), bands)


@pytest.fixture
def venue(tmp_path: Path, fresh_broker) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if missing() is not None:
        pytest.skip(str(missing()))
    b = Browser(tmp_path / "profile", log=tmp_path / "chromedriver.log")
    b.resize(1280, 900)
    yield b
    b.close()


def test_a_lost_child_is_on_the_display_until_found_and_in_the_report(
    venue: Venue, browser: Browser, tmp_path: Path
) -> None:
    venue.start_hub()
    for gate in ("D1", "E1"):
        venue.start_gate(gate)
    bind_and_enter(venue, (("T1", (ADULT, CHILD)),))
    assert [venue.scan("E1", b) for b in (ADULT, CHILD)] == ["OK_ENTRY", "OK_ENTRY"]
    venue.wait_settled()
    browser.open(f"http://127.0.0.1:{venue.http_port}/")
    browser.wait(lambda: browser.js("return window.__updates") > 0, what="the page drawn")
    assert not browser.visible("lost-children")

    spaced = ":".join(CHILD[i : i + 2] for i in range(0, len(CHILD), 2)).lower()
    opened = hub_command(venue, "incident", "open", "lost-child", "--band", spaced,
                         "--note", "red cap", "--lang", "en")  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    said = opened.stdout
    assert "incident 1: lost child, group T1, open 0 min" in said, said
    assert "last seen at E1" in said and f"{CHILD} *" in said and ADULT in said
    assert "note: red cap" in said

    shown = venue.api("/api/display?lang=en", who=None)
    (lost,) = shown["lost_children"]
    assert (lost["group"], lost["kind"], lost["last_gate"], lost["minutes_open"]) == (
        "T1",
        "lost_child",
        "E1",
        0,
    )
    assert [(m["member"], m["state"], m["last_gate"]) for m in lost["members"]] == [
        ("adult 1", "inside", "E1"),
        ("child 1", "inside", "E1"),
    ]
    assert "red cap" not in json.dumps(shown) and CHILD not in json.dumps(shown)  # open page
    alert = shown["alerts"][0]
    assert alert["level"] == "critical" and alert["kind"] == "lost_child"
    assert alert["text"].startswith("lost child: group T1, open 0 min, last seen at E1")

    browser.wait(lambda: browser.visible("lost-children"), 20, "the lost-children panel")
    panel = browser.text("lost-children")
    assert "Lost children and separated families" in panel
    assert "lost child: group T1" in panel and "last seen at E1" in panel
    assert "Adult 1" in panel and "Child 1" in panel and "inside" in panel
    assert browser.js("return document.body.dataset.lost") == "1"
    browser.open(f"http://127.0.0.1:{venue.http_port}/?lang=zh-CN")
    browser.wait(lambda: browser.visible("lost-children"), 20, "the panel in Chinese")
    panel = browser.text("lost-children")
    assert "家长与孩子走失" in panel and "儿童走失：团组 T1" in panel, panel  # noqa: RUF001
    assert "最后出现于 E1" in panel and "成人 1" in panel

    # a handheld that reads a band of the family learns of the incident
    looked = venue.api(f"/api/lookup/{ADULT}", who="desk")
    assert looked["incident"]["id"] == 1 and looked["incident"]["kind"] == "lost_child"

    # the desk's API: the family has its incident open already; what it is sent, checked
    asked = {"kind": "lost-child", "group": "T1", "desk": "D1"}
    status, answer = post(venue, "/api/incidents", asked)
    assert (status, answer["incident"]) == (409, 1)
    listed = venue.api("/api/incidents", who="desk")["incidents"]
    assert [(i["id"], i["group"], i["note"], i["opened_by"]) for i in listed] == [
        (1, "T1", "red cap", listed[0]["opened_by"])
    ]
    assert "uid" in listed[0]["opened_by"]  # the kernel's name of who asked
    hostile = [
        ({"kind": "lost-child", "band": CHILD}, None, "application/json", 401),
        (b"{not json", "desk", "application/json", 400),
        (b"[" * 3000 + b"]" * 3000, "desk", "application/json", 413),
        (b"[" * 1500 + b"]" * 1500, "desk", "application/json", 400),
        (b"\xff\xfe", "desk", "application/json", 400),
        ({"kind": "lost-child", "band": CHILD}, "desk", "text/plain", 415),
        ({"kind": "lost-child", "band": "04FFFFFFFFFFFF"}, "desk", "application/json", 400),
        ({"kind": "lost-child", "band": 12}, "desk", "application/json", 400),
        ({"kind": "kidnap", "group": "T2"}, "desk", "application/json", 400),
        ({"kind": "lost-child"}, "desk", "application/json", 400),
        ({"kind": "lost-child", "group": "T2", "band": CHILD}, "desk", "application/json", 400),
        ({"kind": "lost-child", "group": "T2"}, "desk", "application/json", 400),  # not bound
        ({"kind": "lost-child", "group": "T1\nX"}, "desk", "application/json", 400),
        ({"kind": "lost-child", "group": "T1", "note": "x" * 201}, "desk", "application/json", 400),
        (
            {"kind": "lost-child", "group": "T1", "note": "a\x1b[2J"},
            "desk",
            "application/json",
            400,
        ),
        ({"kind": "lost-child", "group": "T1", "desk": "D1; rm"}, "desk", "application/json", 400),
    ]
    for body, who, kind, expected in hostile:
        if isinstance(body, dict) and who == "desk":  # checked before the desk is asked
            body = {"desk": "D1", **body}
        status, answer = post(venue, "/api/incidents", body, who, kind)
        assert status == expected, (body[:60], status, answer)
        assert answer.get("error"), answer
    for path, body, expected in (
        ("/api/incidents/7/close", {"desk": "D1"}, 404),
        ("/api/incidents/1/close", {"outcome": "vanished", "desk": "D1"}, 400),
        ("/api/incidents/1/close", {"outcome": "found"}, 400),  # whose badge? no desk named
        ("/api/incidents/x/close", {}, 405),
        ("/api/headcount", {}, 405),
    ):
        assert post(venue, path, body)[0] == expected, path
    hub_status = json.loads(hub_command(venue, "status", "--json").stdout)
    assert sum(hub_status["desk_refused"].values()) >= 10

    done = hub_json(venue, "incident", "close", "1", "--found", "--note", "at the slide")
    assert done["incident"]["outcome"] == "found" and done["incident"]["note"] == (
        "red cap; at the slide"
    )
    browser.wait(lambda: not browser.visible("lost-children"), 20, "the panel gone")
    assert not venue.api("/api/display", who=None)["lost_children"]
    assert hub_json(venue, "incident", "list")["incidents"] == []
    assert not browser.console_errors()

    # a supervisor's program opens one over the API with the staff token, by a band of the
    # family (with the desk token it is the desk's action: tests/test_desk_records_live.py)
    status, answer = post(
        venue,
        "/api/incidents",
        {"kind": "separated-family", "band": ADULT, "desk": "D1"},
        who="staff",
    )
    assert status == 201, answer
    second = answer["incident"]
    assert (second["id"], second["group"], second["opened_by"]) == (2, "T1", "staff token at D1")
    status, answer = post(venue, "/api/incidents/2/close", {"outcome": "found"}, who="staff")
    assert status == 200 and answer["incident"]["closed_by"] == "staff token"

    report = hub_json(venue, "report", "daily", "--staff")
    rows = [(i["id"], i["kind"], i["group"], i["outcome"]) for i in report["family_incidents"]]
    assert rows == [(1, "lost_child", "T1", "found"), (2, "separated_family", "T1", "found")]
    assert all(i["opened_ms"] <= i["closed_ms"] for i in report["family_incidents"])
    sheets = tmp_path / "sheets"
    done = hub_command(venue, "report", "daily", "--csv-dir", str(sheets), "--lang", "zh-CN")
    assert done.returncode == 0, done.stderr
    (sheet,) = [p for p in sheets.iterdir() if "家长与孩子走失 Lost children" in p.name]
    table = list(csv.reader(sheet.read_text("utf-8-sig").splitlines()))
    kinds = [row[1] for row in table if row and row[0] in ("1", "2")]
    assert kinds == ["儿童走失", "家庭走散"], table
    assert all("已找到" in row for row in table if row and row[0] in ("1", "2"))


def test_band_stock_balances_per_desk_and_shift(
    venue: Venue,
) -> None:
    venue.start_hub()
    for gate in ("D1", "E1", "X1"):
        venue.start_gate(gate)
    issued = hub_command(venue, "stock", "issue", "--desk", "D1", "--count", "50",
                         "--shift", "AM", "--lang", "en")  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    assert "desk D1, shift AM: taken 50" in issued.stdout

    bind_and_enter(venue, (("T1", (ADULT, CHILD)), ("T2", (ADULT_2, CHILD_2))))
    assert [venue.scan("E1", b) for b in (ADULT, CHILD, ADULT_2)] == ["OK_ENTRY"] * 3
    venue.wait_state("X1", (ADULT_2,))
    assert venue.scan("X1", ADULT_2, intent="temporary") == "OK_TEMP_EXIT"
    venue.wait_settled()

    refused = {
        ("issue", "--desk", "E1", "--count", "5"): "an entry gate",
        ("issue", "--desk", "Z9", "--count", "5"): "not in hub.toml's [gates]",
        ("return", "--desk", "D1", "--band", ADULT_2): "taken back at the desk, with a staff badge",
        ("write-off", "--desk", "D1", "--count", "1", "--reason", " "): "reason: text is needed",
    }
    for args, says in refused.items():
        done = hub_command(venue, "stock", *args)
        assert done.returncode == 1 and says in done.stderr, (args, done.stderr)
    assert hub_command(venue, "stock", "issue", "--desk", "D1", "--count", "0").returncode == 2

    back = hub_json(venue, "stock", "return", "--desk", "D1", "--count", "1")
    assert back["record"]["count"] == 1 and back["record"]["shift"] == "AM"  # the desk's last
    hub_json(venue, "stock", "write-off", "--desk", "D1", "--count", "2", "--reason", "damaged")

    balance = hub_json(venue, "stock")
    assert balance["shifts"] == [
        {
            "desk": "D1",
            "shift": "AM",
            "started_ms": balance["shifts"][0]["started_ms"],
            "taken": 50,
            "issued": 4,
            "returned": 1,
            "written_off": 2,
            "on_hand": 45,
        }
    ]
    assert balance["handed_back"] == []  # one band handed back: tests/test_desk_stock_live.py
    shown = hub_command(venue, "stock", "--lang", "zh-CN")
    assert shown.returncode == 0, shown.stderr
    assert "结存" in shown.stdout and "D1" in shown.stdout and "45" in shown.stdout

    report = hub_json(venue, "report", "daily")
    bands = report["wristbands"]
    assert {b["uid"] for b in bands["still_out"]} == {ADULT, CHILD, ADULT_2, CHILD_2}
    assert bands["shifts"][0]["on_hand"] == 45
    text = hub_command(venue, "report", "daily", "--csv", "-", "--lang", "en").stdout
    assert "Band stock by desk and shift" in text
    assert "desks: taken from the store,50" in text and "desks: on hand,45" in text
    row = next(r for r in csv.reader(text.splitlines()) if r[:2] == ["D1", "AM"])
    assert row[3:] == ["50", "4", "1", "2", "45"], row

    assert venue.hub is not None
    venue.hub.stop()  # no hub: the command records in its store, and says so
    done = hub_command(venue, "stock", "issue", "--desk", "D1", "--count", "10", "--json")
    assert done.returncode == 0 and "not running" in done.stderr, done.stderr
    assert json.loads(done.stdout)["shifts"][0]["taken"] == 60
