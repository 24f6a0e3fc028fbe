"""The entry desk's records at the hub, in its store: lost-child and separated-family incidents
(hub/store/family_incidents.py), the desks' band stock (hub/store/band_stock.py), the store's
schema 4 taken up by a store of schema 3, and each desk's balance by shift
(hub/views/reports/stock.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.store.band_stock import BandStockLog, StockRecord
from hub.store.events import EventStore
from hub.store.family_incidents import AlreadyOpen, FamilyIncidents, NotOpen
from hub.store.incidents import IncidentLog
from hub.store.schema import SCHEMA_VERSION, open_database
from hub.views.reports.stock import shift_balances

DAY = "2026-07-18"
MINUTE = 60_000


def test_a_store_of_schema_3_gets_the_desk_tables_and_keeps_what_it_held(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    db = open_database(path)
    db.execute("DROP TABLE family_incidents")
    db.execute("DROP TABLE band_stock")
    db.execute("INSERT INTO entries VALUES ('D1', 1, 'n', '0001', 1000, 'decision', '{}', 1000)")
    db.execute(
        "INSERT INTO incidents (class, what, source, gates, started_ms, offline, detail)"
        " VALUES ('broker', 'broker_down', 'broker', '[]', 500, 1, '')"
    )
    db.execute("PRAGMA user_version = 3")
    db.close()

    with FamilyIncidents(path) as incidents, BandStockLog(path) as stock:
        assert incidents.open("lost_child", "T1", "", 2000, "desk token").id == 1
        assert stock.add(DAY, "D1", "AM", "taken", 100, 2000, by="uid 0").count == 100
    with EventStore(path) as events:
        assert events.get("D1", 1) is not None
    with IncidentLog(path) as log:
        assert [i.what for i in log.between(0, 10_000)] == ["broker_down"]
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    tables = {r[0] for r in check.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    assert {"entries", "incidents", "drills", "family_incidents", "band_stock"} <= tables


def test_a_family_has_one_incident_open_at_a_time_and_it_closes_once(tmp_path: Path) -> None:
    with FamilyIncidents(tmp_path / "events.db") as log:
        first = log.open("lost_child", "T1", "04C10000000001", 0, "desk token at D1", "red cap")
        with pytest.raises(AlreadyOpen, match="group T1 already has incident 1 open") as again:
            log.open("separated_family", "T1", "", MINUTE, "uid 0")
        assert again.value.incident == first.id
        other = log.open("separated_family", "T2", "", MINUTE, "uid 0")
        assert [i.group for i in log.open_ones()] == ["T1", "T2"]

        closed = log.close(first.id, "found", 12 * MINUTE + 5000, "uid 0", "at the slide")
        assert (closed.outcome, closed.closed_by, closed.note) == (
            "found",
            "uid 0",
            "red cap; at the slide",
        )
        assert closed.minutes_open(10**12) == 12 and not closed.open
        with pytest.raises(NotOpen, match="closed already"):
            log.close(first.id, "found", 13 * MINUTE, "uid 0")
        with pytest.raises(NotOpen, match="no incident 99"):
            log.close(99, "found", 13 * MINUTE, "uid 0")
        with pytest.raises(ValueError, match="not one of"):
            log.close(other.id, "gone home", 13 * MINUTE, "uid 0")
        assert log.open("lost_child", "T1", "", 20 * MINUTE, "uid 0").id == 3  # open again
        assert [i.id for i in log.between(13 * MINUTE, 14 * MINUTE)] == [other.id]
        assert [i.id for i in log.between(0, MINUTE + 1)] == [1, 2]


def test_stock_records_are_bounded_and_each_hand_back_is_kept(tmp_path: Path) -> None:
    with BandStockLog(tmp_path / "events.db") as stock:
        assert stock.current_shift(DAY, "D1") is None
        stock.add(DAY, "D1", "AM", "taken", 200, 1000, by="uid 0")
        stock.add(DAY, "D1", "PM", "taken", 100, 2000, by="uid 0")
        assert stock.current_shift(DAY, "D1") == "PM"
        stock.add(DAY, "D1", "PM", "returned", 1, 3000, by="uid 0", band="04A10000000002")
        # bound again to the next family and handed back again: the desk's rules decide that
        stock.add(DAY, "D1", "PM", "returned", 1, 4000, by="uid 0", band="04A10000000002")
        assert [r.band for r in stock.day(DAY)].count("04A10000000002") == 2
        assert stock.recorded_so(DAY, "D1", "PM", "returned", 1, 4000, band="04A10000000002")
        for count in (0, -3, 100_001):
            with pytest.raises(ValueError, match="from 1 to 100000"):
                stock.add(DAY, "D1", "PM", "taken", count, 5000, by="uid 0")
        with pytest.raises(ValueError, match="not one of"):
            stock.add(DAY, "D1", "PM", "sold", 1, 5000, by="uid 0")
        assert [r.kind for r in stock.day(DAY)] == ["taken", "taken", "returned", "returned"]
        assert stock.day("2026-07-19") == []


def record(n: int, at_ms: int, desk: str, shift: str, kind: str, count: int) -> StockRecord:
    return StockRecord(n, at_ms, DAY, desk, shift, kind, count, "", "", "uid 0")


def test_each_shift_balances_taken_issued_returned_and_written_off() -> None:
    records = [
        record(1, 1000, "D1", "AM", "taken", 50),
        record(2, 5000, "D1", "AM", "written_off", 2),
        record(3, 10_000, "D1", "PM", "taken", 30),
        record(4, 12_000, "D1", "PM", "returned", 1),
        record(5, 2000, "D2", "AM", "taken", 10),
    ]
    bound = [("D1", 500), ("D1", 2000), ("D1", 3000), ("D1", 11_000), ("D2", 2500)]
    rows = {(b.desk, b.shift): b.as_dict() for b in shift_balances(records, bound)}
    assert rows[("D1", "")]["issued"] == 1 and rows[("D1", "")]["on_hand"] == -1  # before any
    assert rows[("D1", "AM")] | {} == {
        "desk": "D1",
        "shift": "AM",
        "started_ms": 1000,
        "taken": 50,
        "issued": 2,
        "returned": 0,
        "written_off": 2,
        "on_hand": 46,
    }
    assert (rows[("D1", "PM")]["issued"], rows[("D1", "PM")]["on_hand"]) == (1, 30)
    assert (rows[("D2", "AM")]["issued"], rows[("D2", "AM")]["on_hand"]) == (1, 9)
    order = [(b.desk, b.shift) for b in shift_balances(records, bound)]
    assert order == [("D1", ""), ("D1", "AM"), ("D1", "PM"), ("D2", "AM")]


def test_the_reports_incident_notes_withhold_bands_and_phones_but_for_staff() -> None:
    from datetime import datetime

    from gate.i18n import words
    from hub.store.family_incidents import FamilyIncident
    from hub.views.reports.deskday import deskday_sections
    from hub.views.reports.materials import BandStock

    note = "mother 13800138000 says band 04A10000000001"
    incident = FamilyIncident(
        1, "lost_child", "T1", "", 0, "desk token", note, 90_000, "uid 0", "found"
    )
    bands = BandStock(issued={}, returned=0, still_out=(), written_off=())

    def t(at: datetime | None) -> datetime | None:
        return at

    for staff, shown in ((True, note), (False, "mother [withheld] says band [withheld]")):
        _stock, _records, lost = deskday_sections(
            (incident,), bands, t, words("en"), staff=staff, now_ms=0
        )
        (row,) = lost.rows
        assert row[-1] == shown and row[6] == 1 and row[7] == "found"
