"""The closing sweep and the lost-child lookup, over the example day at the hub and small venues.

The example day ends (expected-summary.json) with 7 children inside, 2 of them in a family whose
only adult went out at 17:43 to fetch the car: the sweep must list exactly those children,
the 3 first.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from day_store import DAY_DIR, ROOT, Day, example_hub
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    ADULT_3,
    CHILD_1,
    CHILD_2,
    CHILD_3,
    CHILD_4,
    DUO,
    E1,
    FAMILY,
    GUARDIAN_PHONE,
    SOLO,
    X1,
    Venue,
    at,
)

from gate.core import MemberState, Role, State
from hub.fold.reconcile import VenueState
from hub.store.events import EventStore
from hub.views.sweep import closing_sweep, lookup, unaccompanied_groups

TZ = ZoneInfo("Asia/Shanghai")
FLAGGED = "YP202661941"  # the family whose only adult went for the car (an annual pass)


@pytest.fixture(scope="module")
def day() -> Day:
    return example_hub()[0]


@pytest.fixture(scope="module")
def hub_toml() -> Path:
    return example_hub()[1]


@pytest.fixture(scope="module")
def hub_state(hub_toml: Path, day: Day) -> Iterator[State]:
    with EventStore(hub_toml.parent / "state" / "events.db") as store:
        venue = VenueState(store, allowlist=day.allowlist)
        with venue.reading() as state:
            yield state


def children_inside(state: State) -> set[str]:
    return {
        m.uid for m in state.members.values() if m.role.is_child and m.state is MemberState.INSIDE
    }


# --- the example day, folded at the hub ---------------------------------------------------------


def test_the_sweep_lists_exactly_the_children_inside_unaccompanied_first(
    hub_state: State, day: Day
) -> None:
    expected = json.loads((DAY_DIR / "expected-summary.json").read_text())
    rows = closing_sweep(hub_state, staff=False)
    assert len(rows) == expected["children"] == 7
    assert {r.uid for r in rows} == children_inside(day.state) == children_inside(hub_state)
    flags = [r.children_unaccompanied for r in rows]
    assert flags == [True] * expected["unaccompanied_children"] + [False] * 5
    first = rows[:2]
    assert {r.group for r in first} == {FLAGGED}
    for row in first:
        assert row.alone and not row.adult_inside
        assert [(a.state, a.last_gate) for a in row.adults] == [(MemberState.TEMP_OUT, "X1")]
        assert row.adults[0].last_at.astimezone(TZ).strftime("%H:%M") == "17:43"
    for row in rows[2:]:
        assert row.adult_inside and not row.alone
        assert any(a.state is MemberState.INSIDE for a in row.adults)
    assert [r.group for r in rows[2:]] == sorted(r.group for r in rows[2:])


def test_unaccompanied_groups_at_the_end_of_the_day(hub_state: State) -> None:
    groups = unaccompanied_groups(hub_state, TZ)
    assert [g["group"] for g in groups] == [FLAGGED]
    assert len(groups[0]["children"]) == 2
    assert [(a["state"], a["last_at"][11:16]) for a in groups[0]["adults"]] == [
        ("temp_out", "17:43")
    ]


def test_lookup_by_band_in_any_spelling_and_by_ticket(hub_state: State) -> None:
    child = closing_sweep(hub_state, staff=False)[0].uid
    spelled = ":".join(child[i : i + 2] for i in range(0, len(child), 2)).lower()
    by_band = lookup(hub_state, spelled, staff=False, tz=TZ)
    assert by_band is not None
    assert by_band["match"] == {"kind": "band", "value": child}
    assert by_band["group"] == FLAGGED
    assert by_band["children_unaccompanied"] is True
    assert by_band["inside"] == 2
    roles = sorted((m["role"], m["state"]) for m in by_band["members"])
    assert roles == [("adult", "temp_out")] + [("child", "inside")] * 2
    assert by_band["ticket"]["product"] == "annual-family"
    assert (by_band["ticket"]["valid_from"], by_band["ticket"]["valid_to"]) == (
        "2026-01-01",
        "2026-12-31",
    )
    by_ticket = lookup(hub_state, FLAGGED.lower(), staff=False, tz=TZ)
    assert by_ticket is not None
    assert by_ticket["match"] == {"kind": "ticket", "value": FLAGGED}
    assert by_ticket["members"] == by_band["members"]


def test_lookup_of_a_solo_child_masks_the_guardian_phone_unless_staff(
    hub_state: State, day: Day
) -> None:
    solo = next(t for t in day.allowlist.tickets.values() if t.guardian_phone)
    masked = lookup(hub_state, solo.code, staff=False)
    shown = lookup(hub_state, solo.code, staff=True)
    assert masked is not None and shown is not None
    assert masked["guardian_phone"] == "*" * 7 + solo.guardian_phone[-4:]
    assert shown["guardian_phone"] == solo.guardian_phone
    assert [m["role"] for m in shown["members"]] == ["solo_child"]
    assert shown["members"][0]["state"] == "exited", "picked up by the guardian"


def test_lookup_of_what_is_not_known(hub_state: State, day: Day) -> None:
    assert lookup(hub_state, "04FFFFFFFFFFFF", staff=True) is None
    assert lookup(hub_state, "no such thing", staff=True) is None
    assert lookup(hub_state, "", staff=True) is None
    unbound = next(uid for uid in day.allowlist.bands if uid not in hub_state.members)
    assert lookup(hub_state, unbound, staff=True) is None, "a band in stock, never bound"
    never_came = next(c for c in day.allowlist.tickets if c not in hub_state.groups)
    found = lookup(hub_state, never_came, staff=True)
    assert found is not None
    assert (found["bound"], found["members"], found["inside"]) == (False, [], 0)
    refunded = lookup(hub_state, "T2607180558", staff=False)
    assert refunded is not None
    assert "refunded" in refunded["revoked"]["T2607180558"]


# --- a small venue: order and masking -----------------------------------------------------------


def small_venue() -> Venue:
    """A family inside with its adults, a duo whose adult stepped out, a child who came alone."""
    v = Venue()
    v.bind(FAMILY, ADULT_1, ADULT_2, CHILD_1, CHILD_2).admit(ADULT_1, CHILD_1, CHILD_2)
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    v.bind(SOLO, CHILD_4).admit(CHILD_4)
    assert v.step_out(ADULT_3, at(11), gate=X1).granted
    return v


def test_the_sweep_order_flagged_then_solo_then_families() -> None:
    v = small_venue()
    rows = closing_sweep(v.state, staff=False)
    assert [(r.uid, r.role) for r in rows] == [
        (CHILD_3, Role.CHILD),
        (CHILD_4, Role.SOLO_CHILD),
        (CHILD_1, Role.CHILD),
        (CHILD_2, Role.CHILD),
    ]
    assert rows[0].children_unaccompanied and not rows[1].children_unaccompanied
    assert not rows[1].adult_inside and rows[1].adults == ()
    assert [(a.uid, a.state) for a in rows[2].adults] == [
        (ADULT_1, MemberState.INSIDE),
        (ADULT_2, MemberState.BOUND),
    ]
    assert rows[2].last_gate == E1


def test_the_sweep_masks_the_guardian_phone_unless_staff() -> None:
    v = small_venue()
    solo = [r for r in closing_sweep(v.state, staff=False) if r.role is Role.SOLO_CHILD]
    assert solo[0].guardian_phone == "*******8000"
    assert GUARDIAN_PHONE not in json.dumps(
        [r.as_dict() for r in closing_sweep(v.state, staff=False)]
    )
    staff = [r for r in closing_sweep(v.state, staff=True) if r.role is Role.SOLO_CHILD]
    assert staff[0].guardian_phone == GUARDIAN_PHONE
    family = [r for r in closing_sweep(v.state, staff=True) if r.group == FAMILY]
    assert {r.guardian_phone for r in family} == {""}


def test_children_whose_adult_just_left_come_first_before_the_flag() -> None:
    v = small_venue()
    assert v.leave(ADULT_1, at(12), gate=X1).granted  # its window is open: not flagged yet
    rows = closing_sweep(v.state, staff=False)
    assert [r.group for r in rows] == [DUO, FAMILY, FAMILY, SOLO]
    assert all(r.alone for r in rows[:3])
    assert [r.children_unaccompanied for r in rows[:3]] == [True, False, False]


# --- the CLI, against a hub state directory -------------------------------------------------------


def hub(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hub_sweep_json_and_text(hub_toml: Path) -> None:
    run = hub(hub_toml, "sweep", "--json")
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["headcount"]["children"] == 7
    assert [c["children_unaccompanied"] for c in answer["children"]][:4] == [True] * 2 + [False] * 2
    assert answer["children"][0]["last_at"].endswith("+08:00")
    assert [g["group"] for g in answer["unaccompanied_groups"]] == [FLAGGED]
    text = hub(hub_toml, "sweep")
    assert text.returncode == 0, text.stderr
    said = len(answer["closing"])  # the closings on now (from 17:30 in Shanghai) come first
    head, header, *rows = text.stdout.splitlines()[said:]
    assert head.startswith("7 children inside, 2 with no adult")
    assert head.endswith("(times in Asia/Shanghai)")
    assert header.split()[:3] == ["BAND", "ROLE", "GROUP"]
    assert [line[0] for line in rows] == ["!"] * 2 + [" "] * 5
    first = answer["children"][0]
    shown = first["last_at"][:19].replace("T", " ")  # another day: the date shown too
    assert rows[0].split()[4:7] == [first["last_gate"], *shown.split()]  # the venue's clock


def test_hub_lookup_finds_a_family_and_masks_unless_staff(hub_toml: Path, day: Day) -> None:
    solo = next(t for t in day.allowlist.tickets.values() if t.guardian_phone)
    band = next(m.uid for m in day.state.members.values() if m.group == solo.code)
    masked = hub(hub_toml, "lookup", band.lower(), "--json")
    assert masked.returncode == 0, masked.stderr
    assert json.loads(masked.stdout)["guardian_phone"] == "*******" + solo.guardian_phone[-4:]
    assert solo.guardian_phone not in masked.stdout
    shown = hub(hub_toml, "lookup", band, "--staff")
    assert shown.returncode == 0
    assert f"guardian phone: {solo.guardian_phone}" in shown.stdout
    assert f"ticket {solo.code}: day-child-alone" in shown.stdout
    missing = hub(hub_toml, "lookup", "04FFFFFFFFFFFF")
    assert missing.returncode == 1
    assert "04FFFFFFFFFFFF" in missing.stderr


def test_the_commands_read_while_the_hub_holds_a_write_open(hub_toml: Path) -> None:
    """`hub run` keeps the store open and writes in transactions: WAL lets the commands read."""
    path = hub_toml.parent / "state" / "events.db"
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE gates SET last_seen_ms = last_seen_ms + 1")
        for args in (("sweep", "--json"), ("lookup", FLAGGED), ("report", "daily")):
            run = hub(hub_toml, *args)
            assert run.returncode == 0, (args, run.stderr)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    assert hub(tmp_path / "absent.toml", "sweep").returncode == 2
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nstate_dir = "{tmp_path}"\npolicy = "{tmp_path / "none.toml"}"\n')
    run = hub(config, "lookup", FLAGGED)
    assert run.returncode == 2
    assert "none.toml" in run.stderr
