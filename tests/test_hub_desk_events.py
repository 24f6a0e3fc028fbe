"""What the hub does with a desk's revocations, incidents and band stock when it stores them
(`hub.service.desk_events`): its allowlist changed the same way, one version up, as a delta at
once; an incident or a stock record kept at the desk's time by the desk and its staff, once,
whatever is replayed; what cannot be done counted, never raised."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from gate_rig import ADULT, CHILD, STAFF, write_venue

from gate.core import (
    Event,
    IncidentClosed,
    IncidentOpened,
    StockRecorded,
    ValueRestored,
    ValueRevoked,
)
from gate.link.codec import event_to_dict
from hub.ingest.allowlist import HubAllowlist, ImportResult
from hub.service.desk_events import DeskEvents
from hub.store.band_stock import BandStockLog
from hub.store.family_incidents import FamilyIncidents
from hub.store.records import StoredEntry

AT = datetime(2026, 7, 18, 10, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))  # the venue's day: 17:00 on 07-18 there too


class Hub:
    def __init__(self, tmp_path: Path) -> None:
        venue = write_venue(tmp_path / "venue")
        self.allowlist = HubAllowlist(tmp_path / "hub")
        assert self.allowlist.import_dir(venue / "allowlist").applied
        self.incidents = FamilyIncidents(tmp_path / "events.db")
        self.published: list[ImportResult] = []
        self.refused: Counter[str] = Counter()
        self.stock = BandStockLog(tmp_path / "events.db")
        self.events = DeskEvents(
            self.allowlist,
            self.incidents,
            self.published.append,
            self.refused,
            stock=self.stock,
            tz=SHANGHAI,
        )
        self.seq = 0

    def stored(self, *events: Event, gate: str = "D1", **body: Any) -> None:
        self.seq += 1
        entry = StoredEntry(
            gate,
            self.seq,
            f"n{self.seq}",
            "0",
            0,
            "decision",
            {"staff": STAFF, "events": [event_to_dict(e) for e in events], **body},
            0,
        )
        self.events.stored([entry])


@pytest.fixture
def hub(tmp_path: Path) -> Any:
    made = Hub(tmp_path)
    yield made
    made.incidents.close_store()
    made.stock.close()
    made.allowlist.close()


def test_a_desks_revocation_is_the_hubs_allowlist_as_a_delta_and_its_restoration(hub: Hub) -> None:
    base = hub.allowlist.version
    hub.stored(ValueRevoked("D1", AT, ADULT, "band reported stolen", STAFF))
    assert hub.allowlist.current.revoked == {ADULT: "band reported stolen"}
    [made] = hub.published
    assert made.version == base + 1 and made.change is not None
    assert made.change.revoked == {ADULT: "band reported stolen"}
    hub.stored(ValueRevoked("D1", AT, ADULT, "band reported stolen", STAFF))  # said twice
    assert len(hub.published) == 1 and hub.allowlist.version == base + 1
    hub.stored(ValueRestored("D1", AT, ADULT, "band reported stolen", STAFF))
    assert hub.allowlist.current.revoked == {} and hub.published[-1].version == base + 2
    hub.stored(ValueRestored("D1", AT, ADULT, "band reported stolen", STAFF))  # nothing to lift
    assert len(hub.published) == 2 and not hub.refused


def test_a_revocation_the_hub_cannot_file_is_counted_not_raised(hub: Hub) -> None:
    hub.stored(ValueRevoked("D1", AT, "NO-SUCH-TICKET", "refund", STAFF))
    assert hub.published == [] and hub.refused == {"ValueRevoked: ValueError": 1}


def test_an_incident_is_recorded_once_at_the_desks_time_by_its_staff(hub: Hub) -> None:
    opened = IncidentOpened("D1", AT, "lost_child", "T1", CHILD, "red cap", STAFF)
    hub.stored(opened)
    [made] = hub.incidents.open_ones()
    assert (made.group, made.band, made.note) == ("T1", CHILD, "red cap")
    assert made.opened_ms == int(AT.timestamp() * 1000)
    assert made.opened_by == "D1 (staff Duty Manager)"
    hub.stored(opened)  # the same entry's events again (a replay the store let through)
    assert len(hub.incidents.open_ones()) == 1 and not hub.refused
    other = IncidentOpened("H1", AT + timedelta(seconds=5), "lost_child", "T1", "", "", STAFF)
    hub.stored(other, gate="H1")  # another gate, the same family: its one incident kept
    assert len(hub.incidents.open_ones()) == 1
    assert hub.refused == {"IncidentOpened: AlreadyOpen": 1}

    hub.stored(IncidentClosed("H1", AT + timedelta(minutes=9), "T1", "found", STAFF), gate="H1")
    done = hub.incidents.get(made.id)
    assert done is not None and (done.outcome, done.closed_by) == (
        "found",
        "H1 (staff Duty Manager)",
    )
    assert done.minutes_open(0) == 9
    hub.stored(IncidentClosed("D1", AT + timedelta(minutes=10), "T1", "found", STAFF))
    assert hub.refused["IncidentClosed: ValueError"] == 1  # none open: counted


def test_a_close_older_than_the_open_incident_closes_nothing(hub: Hub) -> None:
    hub.stored(IncidentOpened("D1", AT, "lost_child", "T1", CHILD, "", STAFF))
    hub.stored(IncidentClosed("D1", AT - timedelta(minutes=1), "T1", "found", STAFF))
    assert len(hub.incidents.open_ones()) == 1


def test_only_a_desks_decisions_are_looked_at(hub: Hub) -> None:
    event = event_to_dict(ValueRevoked("D1", AT, ADULT, "lost", STAFF))
    entry = StoredEntry("D1", 1, "n", "0", 0, "decision", {"events": [event]}, 0)  # no staff
    hub.events.stored([entry])
    hub.events.stored([entry._replace(kind="expiry", body={"staff": STAFF, "events": [event]})])
    assert hub.published == []


def test_a_desks_stock_is_kept_once_in_the_venues_day_by_its_staff(hub: Hub) -> None:
    late = AT + timedelta(hours=15)  # 01:00 on 07-19 at the venue
    taken = StockRecorded("D1", late, "taken", 200, "AM", "", "", "", STAFF)
    back = StockRecorded("D1", late, "returned", 1, "AM", "", ADULT, "T1", STAFF)
    hub.stored(taken)
    hub.stored(back)
    hub.stored(taken)  # the same entry folded again: kept once
    (first, second) = hub.stock.day("2026-07-19")
    assert (first.kind, first.count, first.shift, first.by) == (
        "taken",
        200,
        "AM",
        "D1 (staff Duty Manager)",
    )
    assert (second.kind, second.band) == ("returned", ADULT) and hub.stock.day("2026-07-18") == []
    bound_again = late + timedelta(hours=1)  # the band bound to the next family, handed back
    hub.stored(StockRecorded("D1", bound_again, "returned", 1, "AM", "", ADULT, "T2", STAFF))
    assert [r.band for r in hub.stock.day("2026-07-19")] == ["", ADULT, ADULT] and not hub.refused
