"""The daily report, from a hub store of a real day and from a small store of two days.

The real day is the example day (examples/children-city/) journalled by its gates and stored at
the hub (tests/day_store.py); its ground truth is the gates' own decisions and shared state, and
`gate simulate` run over the same scans.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from day_store import DAY_DIR, ROOT, Day, example_hub
from rules_helpers import (
    ADULT_3,
    ADULT_4,
    CHILD_3,
    DUO,
    E1,
    NEXT_DAY,
    STRANGER,
    X1,
    Venue,
    at,
    ticket,
)

from gate.core import Code, Decision, MemberMoved, MemberState, Role, fold
from gate.core.hlc import Timestamp
from gate.link.codec import decision_to_dict, event_to_dict
from gate.link.protocol import Entry
from hub.fold.reconcile import Finding, VenueState
from hub.store.events import EventStore
from hub.views.reports.daily import DailyReport, daily_report
from hub.views.reports.render import report_csv, report_html
from hub.views.reports.sections import sections

TZ = ZoneInfo("Asia/Shanghai")
EXAMPLE_DAY = date(2026, 7, 18)


# --- the example day ----------------------------------------------------------------------------


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
def venue(store: EventStore, day: Day) -> VenueState:
    return VenueState(store, allowlist=day.allowlist)


@pytest.fixture(scope="module")
def report(store: EventStore, venue: VenueState, day: Day) -> DailyReport:
    return daily_report(store, EXAMPLE_DAY, TZ, findings=venue.findings(), allowlist=day.allowlist)


def codes(day: Day) -> Counter[Code]:
    return Counter(d.code for _, _, d in day.decisions)


def guardian_phones(day: Day) -> list[str]:
    return [t.guardian_phone for t in day.allowlist.tickets.values() if t.guardian_phone]


def test_entries_per_hour_add_up_to_the_admitted_total(report: DailyReport, day: Day) -> None:
    granted = [d for _, _, d in day.decisions if d.code is Code.OK_ENTRY]
    assert report.admitted == sum(h.entries for h in report.hours) == len(granted) == 973
    assert report.admitted_adults == sum(d.role is Role.ADULT for d in granted)
    assert report.admitted_children == sum(d.role is not Role.ADULT for d in granted)
    assert (
        sum(h.reentries_adults + h.reentries_children for h in report.hours)
        == codes(day)[Code.OK_REENTRY] + codes(day)[Code.OK_COLLECT]  # back in, to collect too
    )
    exits = codes(day)[Code.OK_EXIT] + codes(day)[Code.OK_TEMP_EXIT] + codes(day)[Code.OK_OVERRIDE]
    assert sum(h.exits_adults + h.exits_children for h in report.hours) == exits
    hours = [h.start.strftime("%H:%M") for h in report.hours]
    assert hours[0] == "09:00" and hours[-1] == "18:00"
    assert len(hours) == 10, "every hour from the first entry to the last, none missing"
    # each hour's first entries are the OK_ENTRY decisions of that local hour
    by_hour = Counter(now.astimezone(TZ).hour for _, now, d in day.decisions if d in granted)
    assert {h.start.hour: h.entries for h in report.hours if h.entries} == dict(by_hour)


def test_peak_occupancy_is_the_most_inside_at_once(report: DailyReport, day: Day) -> None:
    assert report.inside_at_start == 0
    assert (
        (report.peak, report.peak_at)
        == (day.peak, day.peak_at)
        == (
            738,
            datetime(2026, 7, 18, 13, 19, 8, tzinfo=TZ),
        )
    )
    assert max(h.inside_at_end for h in report.hours) <= report.peak


def test_the_day_ends_as_the_expected_summary_says(report: DailyReport) -> None:
    expected = json.loads((DAY_DIR / "expected-summary.json").read_text())
    assert report.closing.as_dict() == expected
    assert report.hours[-1].inside_at_end == expected["inside"]
    children = [row.uid for row in report.children_inside]
    assert len(children) == expected["children"] == 7
    assert sum(row.children_unaccompanied for row in report.children_inside) == 2


def test_wristband_stock(report: DailyReport, day: Day) -> None:
    bands_bound = [d for _, _, d in day.decisions if d.code is Code.OK_BIND and d.role]
    b = report.bands
    assert b.issued_total == len(bands_bound) == 978
    assert b.issued == dict(sorted(Counter(d.role.value for d in bands_bound).items()))
    exited = {m.uid for m in day.state.members.values() if m.state is MemberState.EXITED}
    assert b.returned == len(exited) == 957
    assert {r.uid for r in b.still_out} == set(day.state.members) - exited
    assert b.returned + len(b.still_out) == b.issued_total
    # the family bound at 17:56 never got in, nor did the morning-session family at the gate at
    # 14:01; the adult who went for the car still has a band, and so have the two teachers
    # recalled when the class's line stopped at the exit
    assert Counter(r.state for r in b.still_out) == {
        MemberState.INSIDE: 13,
        MemberState.BOUND: 5,
        MemberState.TEMP_OUT: 3,
    }
    lost = {v for v, reason in day.allowlist.revoked.items() if "lost" in reason}
    assert {w.uid for w in b.written_off} == lost
    assert len(lost) == 3
    assert "T2607180558" not in {w.uid for w in b.written_off}, "a refunded ticket is no band"


def test_overrides_are_listed_with_the_staff_badge_and_the_code_set_aside(
    report: DailyReport, day: Day
) -> None:
    forced = [d for _, _, d in day.decisions if d.code is Code.OK_OVERRIDE]
    assert len(report.overrides) == len(forced) == 10
    assert [(o.gate, o.staff, o.overrode, o.uid, o.group) for o in report.overrides] == [
        (d.gate, d.staff, str(d.overrode), d.value, d.group) for d in forced
    ]
    for o in report.overrides:
        assert o.overrode == "DENY_GUARDIAN_PICKUP"
        assert o.staff_name == day.allowlist.staff[o.staff]
        assert o.role == "solo_child"
        assert o.guardian_phone == day.allowlist.tickets[o.group].guardian_phone


def test_denials_by_code_are_those_of_gate_simulate(report: DailyReport) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gate",
            "simulate",
            "--allowlist",
            str(DAY_DIR),
            "--scans",
            str(DAY_DIR / "scans.jsonl"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    denied = Counter(d["code"] for d in lines if d.get("code", "").startswith("DENY_"))
    assert {d.code: d.count for d in report.denials} == dict(denied)
    assert sum(denied.values()) == 21


def test_the_days_findings_are_kept(report: DailyReport, venue: VenueState) -> None:
    found = venue.findings()
    assert report.findings == tuple(found)
    # the solo children let out by override, no pickup code read: unverified pickups (each
    # one finding, not a child_released_by_override too)
    assert Counter(f.kind for f in report.findings) == {"unverified_pickup": 10}


def test_the_csv_reads_back_section_by_section(report: DailyReport, day: Day) -> None:
    rows = list(csv.reader(io.StringIO(report_csv(report, staff=False))))
    titles = [s.title for s in sections(report, staff=False)]
    found = [r[0] for i, r in enumerate(rows) if r and (i == 0 or not rows[i - 1])]
    assert found == titles
    table = _section(rows, "Headcount by hour")
    assert table[0][0] == "hour from"
    body, total = table[1:-1], table[-1]
    assert total[0] == "total"
    assert int(total[3]) == sum(int(r[3]) for r in body) == report.admitted
    summary = dict(_section(rows, "Daily headcount")[1:])
    assert summary["peak inside"] == "738"
    assert summary["peak reached at"] == "2026-07-18 13:19:08"
    assert summary["admitted in all"] == "973"
    overrides = _section(rows, "Staff overrides")
    assert len(overrides) == 1 + 10
    text = report_csv(report, staff=False)
    phones = guardian_phones(day)
    assert not [p for p in phones if p in text]
    assert "*******5020" in text
    staff_text = report_csv(report, staff=True)
    shown = [p for p in phones if p in staff_text]
    assert len(shown) == 10, "the solo children's guardians, beside their overrides"


def _section(rows: list[list[str]], title: str) -> list[list[str]]:
    start = next(i for i, r in enumerate(rows) if r and r[0] == title)
    end = next(i for i in range(start, len(rows)) if not rows[i])
    return rows[start + 1 : end]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]


def test_the_html_page_is_printable_and_self_contained(report: DailyReport, day: Day) -> None:
    page = report_html(report, staff=False)
    assert not re.search(r"(src|href)\s*=|https?://|@import|url\(", page, re.IGNORECASE)
    parser = _Tags()
    parser.feed(page)
    assert parser.links == []
    assert not {"script", "link", "img", "iframe"} & set(parser.tags)
    assert parser.tags["table"] == len(sections(report, staff=False))
    assert "@media print" in page
    assert "<title>Daily report 2026-07-18</title>" in page
    assert "Sun Hao (exit X2)" in page
    phones = guardian_phones(day)
    assert not [p for p in phones if p in page]
    assert len([p for p in phones if p in report_html(report, staff=True)]) == 10


def test_the_report_as_data_masks_phones_unless_staff(report: DailyReport, day: Day) -> None:
    masked = json.dumps(report.as_dict(staff=False))
    assert not [p for p in guardian_phones(day) if p in masked]
    data = report.as_dict(staff=True)
    assert data["closing"]["inside"] == 13
    assert data["peak"] == {"inside": 738, "at": "2026-07-18T13:19:08+08:00"}
    assert data["overrides"][0]["guardian_phone"] in guardian_phones(day)


def test_days_before_and_after_the_example_day(store: EventStore, day: Day) -> None:
    before = daily_report(store, date(2026, 7, 17), TZ, allowlist=day.allowlist)
    assert (before.entries, before.admitted, before.peak, before.closing.inside) == (0, 0, 0, 0)
    assert before.hours == ()
    after = daily_report(store, date(2026, 7, 19), TZ, allowlist=day.allowlist)
    assert after.entries == 0
    assert after.inside_at_start == after.peak == after.closing.inside == 13
    assert after.peak_at == datetime(2026, 7, 19, tzinfo=TZ)
    assert report_csv(after, staff=False).count("(none)") >= 3


# --- the CLI --------------------------------------------------------------------------------------


def hub(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hub_report_daily_writes_csv_to_stdout(hub_toml: Path, day: Day) -> None:
    run = hub(hub_toml, "report", "daily", "--date", "2026-07-18", "--csv", "-")
    assert run.returncode == 0, run.stderr
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert dict(_section(rows, "Daily headcount")[1:])["admitted in all"] == "973"
    findings = _section(rows, "Reconciliation findings")
    assert len(findings) == 1 + 10  # each override of a solo child: one unverified pickup
    assert not [p for p in guardian_phones(day) if p in run.stdout]


def test_hub_report_daily_writes_files_for_staff(hub_toml: Path, tmp_path: Path, day: Day) -> None:
    out_csv, out_html = tmp_path / "day.csv", tmp_path / "day.html"
    run = hub(
        hub_toml,
        "report",
        "daily",
        "--date",
        "2026-07-18",
        "--csv",
        str(out_csv),
        "--html",
        str(out_html),
        "--staff",
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    text = out_csv.read_text(encoding="utf-8-sig")  # with a BOM, for spreadsheets
    assert out_csv.read_bytes().startswith(b"\xef\xbb\xbf")
    assert next(csv.reader(io.StringIO(text))) == ["Daily report"]
    page = out_html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert [p for p in guardian_phones(day) if p in page]
    for path in (out_csv, out_html):
        assert path.stat().st_mode & 0o077 == 0, "guardians' phones: owner only"


def test_hub_report_daily_refuses_a_bad_date_and_a_missing_store(
    hub_toml: Path, tmp_path: Path
) -> None:
    bad = hub(hub_toml, "report", "daily", "--date", "18/07/2026")
    assert bad.returncode == 2
    assert "YYYY-MM-DD" in bad.stderr
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[hub]\nstate_dir = "{tmp_path / "nothing"}"\npolicy = "{DAY_DIR / "policy.toml"}"\n'
    )
    missing = hub(config, "report", "daily", "--date", "2026-07-18")
    assert missing.returncode == 2
    assert "no event store" in missing.stderr
    assert not (tmp_path / "nothing").exists(), "a report creates nothing"


# --- two days in a small store: the day before, a passage undone, the day after --------------


class Recorder:
    """Journal entries as gates write them, straight into a hub store."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.seqs: Counter[str] = Counter()
        self.last = Timestamp(0)

    def put(self, gate: str, now: datetime, kind: str, body: dict[str, object]) -> None:
        ms = int(now.timestamp() * 1000)
        self.last = max(self.last.successor(), Timestamp(ms))
        self.seqs[gate] += 1
        entry = Entry(
            seq=self.seqs[gate],
            nonce=f"{gate}-{self.seqs[gate]:08d}",
            wall_ms=ms,
            hlc=str(self.last),
            kind=kind,
            body=body,
        )
        self.store.add(gate, [entry], received_ms=ms + 100)

    def scan(self, venue: Venue, decision: Decision, now: datetime) -> Decision:
        body = {
            "decision": decision_to_dict(decision),
            "events": [event_to_dict(e) for e in venue.events],
        }
        self.put(decision.gate, now, "decision", body)
        return decision


def test_a_day_counts_from_where_the_day_before_left_off(tmp_path: Path) -> None:
    venue = Venue()
    venue.state.allowlist.tickets["T-NEXT"] = ticket("T-NEXT", 1, 0, NEXT_DAY, NEXT_DAY)
    with EventStore(tmp_path / "events.db") as store:
        rec = Recorder(store)

        def scan(decision: Decision, now: datetime) -> Decision:
            return rec.scan(venue, decision, now)

        # the day before: a duo comes in and is still inside at midnight
        scan(venue.ticket(DUO, at(10)), at(10))
        for uid in (ADULT_3, CHILD_3):
            scan(venue.band(uid, at(10)), at(10))
        scan(venue.enter(ADULT_3, at(10, 1)), at(10, 1))
        scan(venue.enter(CHILD_3, at(10, 1, 5)), at(10, 1, 5))
        # the day: a new adult, whose first passage nobody went through
        day = NEXT_DAY
        scan(venue.ticket("T-NEXT", at(10, day=day)), at(10, day=day))
        scan(venue.band(ADULT_4, at(10, day=day)), at(10, day=day))
        first = scan(venue.enter(ADULT_4, at(10, 5, day=day)), at(10, 5, day=day))
        assert first.code is Code.OK_ENTRY
        undo = MemberMoved(E1, at(10, 5, 8, day=day), ADULT_4, "T-NEXT", MemberState.BOUND)
        fold(venue.state, undo)
        rec.put(
            E1,
            at(10, 5, 8, day=day),
            "passage",
            {"decision_seq": rec.seqs[E1], "passed": False, "events": [event_to_dict(undo)]},
        )
        assert scan(venue.enter(ADULT_4, at(10, 6, day=day)), at(10, 6, day=day)).granted
        scan(venue.enter(STRANGER, at(10, 30, day=day)), at(10, 30, day=day))
        assert scan(venue.step_out(ADULT_3, at(11, day=day)), at(11, day=day)).granted
        assert scan(venue.enter(ADULT_3, at(11, 30, day=day)), at(11, 30, day=day)).granted
        # the day after
        later = at(10, day=date(2026, 7, 3))
        scan(venue.enter(STRANGER, later, gate=E1), later)
        scan(venue.leave(ADULT_4, later, gate=X1), later)

        elsewhere = Finding("clock", ("E1",), datetime(1970, 1, 1, tzinfo=UTC), "unset", None)
        on_day = Finding("fire_alarm", ("X1",), at(12, day=day), "exits free")
        next_day = Finding("fire_alarm", ("X1",), later, "exits free")
        anchored = Finding(
            "clock", ("E1",), datetime(1970, 1, 1, tzinfo=UTC), "unset", entries=(("E1", 3),)
        )
        report = daily_report(
            store,
            day,
            TZ,
            allowlist=venue.state.allowlist,
            findings=[elsewhere, on_day, next_day, anchored],
        )
    assert report.inside_at_start == 2
    assert (report.admitted_adults, report.admitted_children) == (1, 0)
    rows = {h.start.hour: h for h in report.hours}
    assert rows[10].entries_adults == 1, "the passage nobody went through is not counted"
    assert (rows[11].reentries_adults, rows[11].exits_adults) == (1, 1)
    assert (report.peak, report.peak_at) == (3, at(10, 6, day=day)), "not the undone grant"
    assert report.closing.inside == 3
    assert {d.code: d.count for d in report.denials} == {"DENY_UNKNOWN": 1}
    assert report.bands.issued == {"adult": 1}
    assert report.bands.returned == 0
    assert {b.uid for b in report.bands.still_out} == {ADULT_3, CHILD_3, ADULT_4}
    assert report.findings == (on_day, anchored)
    assert [w.uid for w in report.bands.written_off] == ["04A1DEAD"]


def test_the_report_breaks_the_day_down_by_session(report: DailyReport, day: Day) -> None:
    """The example day's AM and PM tickets (examples/make_day.py): first entries, the parents
    let in after the AM session and after closing to collect, nobody of a session left."""
    rows = {r.session: r for r in report.sessions}
    assert list(rows) == ["", "AM", "PM"]
    assert (rows["AM"].admitted_adults, rows["AM"].admitted_children) == (2, 3)
    assert (rows["PM"].admitted_adults, rows["PM"].admitted_children) == (2, 1)
    assert (rows["AM"].collections, rows[""].collections) == (1, 1)
    assert rows["AM"].children_inside == rows["PM"].children_inside == 0
    assert rows[""].children_inside == 7
    whole = sum(r.admitted_adults + r.admitted_children for r in report.sessions)
    assert whole == report.admitted
    data = report.as_dict(staff=False)["sessions"]
    assert data[1] == {
        "session": "AM",
        "admitted": {"adults": 2, "children": 3},
        "collections": 1,
        "children_inside": 0,
    }
