"""Corrections at the desk, end to end: a real Mosquitto, `hub run`, and the real gate daemon
at a desk, an entry and an exit gate, each with nfcpy's stack reading the project's emulated
NTAG (`tests/gate_rig.py`); staff tap their badge on the desk's reader, then correct through the
desk's control socket (`gatectl replace|unbind|reissue`).

- A child's lost band: replaced at the desk, the family leaves with no false alarm, the lost
  band is refused, the hub's report lists the correction and writes the lost band off.
- A child's band bound as an adult's: unbound, bound again as a child's; it cannot leave alone;
  bound again after entry, it goes in again by the record it carries.
- Bands returned by mistake: re-issued, back in, no longer counted as returned.
- `hub revoke` / `hub restore` reach the exit gate as a delta within seconds, and the daily
  report's desk actions say who typed them, when and why (with no hub running too).
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_rig import ADULT, CHILD, CHILD_2, STAFF, GateRig, link_section, wait_for
from venue_rig import Venue

DELTA_WITHIN_S = 10.0  # a revocation at the hub, refused at the exit gate within this


@pytest.fixture
def venue(tmp_path: Path, fresh_broker: Any) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


def lanes(venue: Venue, rigs: list[GateRig], tmp_path: Path) -> dict[str, GateRig]:
    """The hub, then a desk, an entry and an exit gate on its broker, reading its venue."""
    venue.start_hub()
    made = {}
    for gate, role in (("D1", "desk"), ("E1", "entry"), ("X1", "exit")):
        extra = link_section(venue.broker, gate, tmp_path / "secrets")
        rig = GateRig(tmp_path, gate, role, scanner=False, extra=extra)
        rigs.append(rig)
        made[gate] = rig.start().linked()  # hears the desk from its first binding on
    return made


def bind(desk: GateRig, ticket: str, *bands: str) -> dict[str, bytes]:
    opened = desk.ask("scan", kind="barcode", value=ticket)["decision"]
    assert opened["code"] == "OK_BIND", opened
    memories = {}
    for band in bands:
        bound = desk.tap(band)
        assert bound["code"] == "OK_BIND", bound
        memories[band] = bound["memory"]
    return memories


def passes(rig: GateRig, band: str, bands: dict[str, bytes]) -> dict[str, Any]:
    """Tap `band` holding `bands[band]`; the band then holds what the gate wrote (its passage)."""
    decision = rig.tap(band, bands[band])
    bands[band] = decision["memory"]
    return decision


def knows(rig: GateRig, band: str, state: str | None = None) -> None:
    def held() -> bool:
        member = rig.ask("allowlist", lookup=band)["lookup"].get("member")
        return member is not None and (state is None or member["state"] == state)

    def said() -> str:  # what the gate holds of the band, and what it refused or skipped
        lookup = rig.ask("allowlist", lookup=band)["lookup"]
        return f"lookup {lookup}; counters {rig.status().get('counters')}"

    # a deadline, not a speed test: a loaded machine is slow, never wrong
    wait_for(held, timeout=120, what=f"{rig.gate_id} holds {band} {state or ''}", log=said)


def correct(desk: GateRig, command: str, **args: str) -> dict[str, Any]:
    """Staff tap their badge on the desk's reader, then correct (as `gatectl` asks)."""
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    answer = desk.ask(command, **args)
    assert answer.get("ok"), answer
    return answer


def hub_report(venue: Venue, gates: dict[str, GateRig]) -> dict[str, Any]:
    """The hub's daily report, once it holds every entry of the gates (acknowledged)."""

    def acknowledged() -> bool:
        journals = [rig.status()["journal"] for rig in gates.values()]
        return all(j["acked"] == j["last_seq"] for j in journals)

    wait_for(acknowledged, timeout=60, what="every gate's journal acknowledged by the hub")
    venue.wait_settled(timeout=60)
    report: dict[str, Any] = venue.api("/api/reports/daily")
    return report


def window_closed(rig: GateRig, group: str) -> bool:
    """The gate journalled the closing of the group's exit window (5 s after the adult)."""
    entries = rig.ask("journal", tail=20)["entries"]
    return any(
        e["type"] == "PairingClosed" and e["group"] == group
        for entry in entries
        if entry["kind"] == "expiry"
        for e in entry["body"]["events"]
    )


def critical(venue: Venue) -> list[dict[str, Any]]:
    return [f for f in venue.api("/api/findings") if f["severity"] == "critical"]


def test_a_lost_band_is_replaced_and_the_family_leaves_with_no_false_alarm(
    venue: Venue, rigs: list[GateRig], tmp_path: Path
) -> None:
    g = lanes(venue, rigs, tmp_path)
    bands = bind(g["D1"], "T1", ADULT, CHILD)
    for band in (ADULT, CHILD):
        assert passes(g["E1"], band, bands)["code"] == "OK_ENTRY"
    knows(g["X1"], CHILD, "inside")

    no_badge = g["D1"].ask("replace", old=CHILD, new=CHILD_2)
    assert (no_badge["granted"], no_badge["decision"]["code"]) == (False, "DENY_BINDING")
    assert "tap a staff badge" in no_badge["decision"]["message"]
    replaced = correct(g["D1"], "replace", old=CHILD, new=CHILD_2)
    assert replaced["granted"] and replaced["decision"]["staff"] == STAFF, replaced
    written = g["D1"].tap(CHILD_2)  # the new, blank band on the desk's reader
    assert (written["code"], written["role"]) == ("OK_CORRECTED", "child"), written
    assert g["D1"].token_on(written["memory"], CHILD_2).group == "T1"

    knows(g["X1"], CHILD_2, "inside")
    assert g["X1"].tap(CHILD, bands[CHILD])["code"] == "DENY_REVOKED"  # the lost one, found
    assert passes(g["X1"], ADULT, bands)["code"] == "OK_EXIT"
    assert g["X1"].tap(CHILD_2, written["memory"])["code"] == "OK_EXIT"
    wait_for(lambda: window_closed(g["X1"], "T1"), timeout=60, what="T1's exit window closed")
    assert g["X1"].ask("allowlist", lookup=ADULT)["lookup"]["member"]["state"] == "exited"

    report = hub_report(venue, g)
    assert int(venue.api("/api/headcount")["inside"]) == 0
    assert int(venue.api("/api/headcount")["unaccompanied_children"]) == 0
    assert not critical(venue)
    [row] = report["corrections"]
    assert (row["kind"], row["band"], row["new_band"], row["staff"]) == (
        "replaced",
        CHILD,
        CHILD_2,
        STAFF,
    )
    assert CHILD in [w["uid"] for w in report["wristbands"]["written_off"]]


def test_a_childs_band_bound_as_an_adults_is_unbound_bound_again_and_cannot_leave_alone(
    venue: Venue, rigs: list[GateRig], tmp_path: Path
) -> None:
    stock = venue.venue / "allowlist" / "wristbands.csv"
    stock.write_text("uid,role\n")  # no stock list: the desk gives the first band the adult slot
    g = lanes(venue, rigs, tmp_path)
    mistaken = bind(g["D1"], "T1", CHILD)
    assert g["D1"].last_decision()["role"] == "adult"
    unbound = correct(g["D1"], "unbind", uid=CHILD)
    assert unbound["granted"], unbound
    assert g["E1"].tap(CHILD, mistaken[CHILD])["code"] == "DENY_UNKNOWN"  # its token is void
    adult = g["D1"].tap(ADULT)  # the binding of T1 is open again at the desk
    child = g["D1"].tap(CHILD)
    assert (adult["role"], child["role"]) == ("adult", "child"), (adult, child)
    bands = {ADULT: adult["memory"], CHILD: child["memory"]}
    for band in (ADULT, CHILD):
        assert passes(g["E1"], band, bands)["code"] == "OK_ENTRY"
    knows(g["X1"], CHILD, "inside")
    assert passes(g["X1"], CHILD, bands)["code"] == "DENY_CHILD_NEEDS_ADULT"
    assert passes(g["X1"], ADULT, bands)["code"] == "OK_EXIT"
    assert passes(g["X1"], CHILD, bands)["code"] == "OK_EXIT"
    report = hub_report(venue, g)
    assert [r["kind"] for r in report["corrections"]] == ["unbound"]
    assert report["wristbands"]["issued"] == {"adult": 1, "child": 1}
    assert not critical(venue)


def test_a_band_unbound_after_entry_and_bound_again_to_its_family_enters_again(
    venue: Venue, rigs: list[GateRig], tmp_path: Path
) -> None:
    """The child's band bound as an adult's goes in, is unbound and bound again as the child's:
    its passage record (counter 1, inside, written by E1) is of the earlier binding, so E1 lets
    the child in again; a copy of the band from before that entry is still caught."""
    stock = venue.venue / "allowlist" / "wristbands.csv"
    stock.write_text("uid,role\n")
    g = lanes(venue, rigs, tmp_path)
    bands = bind(g["D1"], "T1", CHILD)
    assert passes(g["E1"], CHILD, bands)["code"] == "OK_ENTRY"
    knows(g["D1"], CHILD, "inside")
    assert correct(g["D1"], "unbind", uid=CHILD)["granted"]
    adult = g["D1"].tap(ADULT)
    child = g["D1"].tap(CHILD, bands[CHILD])  # the band as it left E1: its record on it
    assert (adult["role"], child["role"]) == ("adult", "child"), (adult, child)
    bands = {ADULT: adult["memory"], CHILD: child["memory"]}
    copy = bands[CHILD]  # someone keeps a copy of the band as the desk bound it
    knows(g["E1"], CHILD, "bound")
    assert passes(g["E1"], ADULT, bands)["code"] == "OK_ENTRY"
    again = passes(g["E1"], CHILD, bands)
    assert again["code"] == "OK_ENTRY", again
    out = g["X1"]
    knows(out, CHILD, "inside")
    assert passes(out, ADULT, bands)["code"] == "OK_EXIT"
    copied = out.tap(CHILD, copy)
    assert copied["code"] == "DENY_BAD_TOKEN" and "rolled back" in copied["message"], copied
    assert passes(out, CHILD, bands)["code"] == "OK_EXIT"
    assert not [f for f in critical(venue) if f["kind"] != "band_cloned"]


def test_bands_returned_by_mistake_are_reissued_and_come_back_in(
    venue: Venue, rigs: list[GateRig], tmp_path: Path
) -> None:
    g = lanes(venue, rigs, tmp_path)
    bands = bind(g["D1"], "T1", ADULT, CHILD)
    for band in (ADULT, CHILD):
        assert passes(g["E1"], band, bands)["code"] == "OK_ENTRY"
    knows(g["X1"], CHILD, "inside")
    assert passes(g["X1"], ADULT, bands)["code"] == "OK_EXIT"
    out = passes(g["X1"], CHILD, bands)
    assert out["code"] == "OK_EXIT"  # collected: its token voided
    knows(g["D1"], CHILD, "exited")

    for band in (ADULT, CHILD):
        assert correct(g["D1"], "reissue", uid=band)["granted"]
    rewritten = g["D1"].tap(CHILD, out["memory"])  # blank since its exit: the desk writes it
    assert rewritten["code"] == "OK_CORRECTED", rewritten
    knows(g["E1"], CHILD, "bound")
    assert passes(g["E1"], ADULT, bands)["code"] == "OK_REENTRY"
    assert g["E1"].tap(CHILD, rewritten["memory"])["code"] == "OK_ENTRY"
    report = hub_report(venue, g)
    assert report["wristbands"]["returned"] == 0
    assert {b["uid"] for b in report["wristbands"]["still_out"]} == {ADULT, CHILD}
    assert [r["kind"] for r in report["corrections"]] == ["reissued", "reissued"]
    assert not critical(venue)


def hub_cli(venue: Venue, *argv: str) -> subprocess.CompletedProcess[str]:
    config = venue.root / "hub" / "hub.toml"
    return subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(config), "--lang", "en", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )


def allowlist_entries(rig: GateRig) -> list[dict[str, Any]]:
    entries = rig.ask("journal", tail=50)["entries"]
    return [e["body"] for e in entries if e["kind"] == "allowlist"]


def test_hub_revoke_and_restore_reach_the_exit_gate_as_a_delta_within_seconds(
    venue: Venue, rigs: list[GateRig], tmp_path: Path
) -> None:
    g = lanes(venue, rigs, tmp_path)
    bands = bind(g["D1"], "T1", ADULT, CHILD)
    for band in (ADULT, CHILD):
        assert passes(g["E1"], band, bands)["code"] == "OK_ENTRY"
    knows(g["X1"], ADULT, "inside")
    wait_for(lambda: g["X1"].status()["allowlist_version"] >= 1, what="X1 has the hub's list")
    base = g["X1"].status()["allowlist_version"]

    started = time.monotonic()
    revoked = hub_cli(venue, "revoke", ADULT, "--reason", "lost band reported")
    assert revoked.returncode == 0, revoked.stderr
    assert "1 revoked, 0 restored" in revoked.stdout, revoked.stdout
    wait_for(
        lambda: g["X1"].status()["allowlist_version"] == base + 1,
        timeout=DELTA_WITHIN_S,
        what="the revocation at X1",
    )
    assert time.monotonic() - started < DELTA_WITHIN_S
    assert {"version": base + 1, "source": "delta"}.items() <= allowlist_entries(g["X1"])[
        -1
    ].items()
    refused = passes(g["X1"], ADULT, bands)
    assert refused["code"] == "DENY_REVOKED", refused

    restored = hub_cli(venue, "restore", ADULT)
    assert restored.returncode == 0 and "0 revoked, 1 restored" in restored.stdout, restored
    wait_for(
        lambda: g["X1"].status()["allowlist_version"] == base + 2,
        timeout=DELTA_WITHIN_S,
        what="the restoration at X1",
    )
    assert allowlist_entries(g["X1"])[-1]["source"] == "delta"
    assert passes(g["X1"], ADULT, bands)["code"] == "OK_EXIT"
    refused = hub_cli(venue, "restore", ADULT)
    assert refused.returncode == 1 and "is not revoked" in refused.stderr, refused
    # the report says who revoked and restored it at the hub, when, and why
    rows = hub_report(venue, g)["desk_actions"]
    me = f"{getpass.getuser()} (uid {os.getuid()})"
    at_hub = [
        (r["gate"], r["code"], r["staff_name"], r["message"]) for r in rows if r["gate"] == "hub"
    ]
    assert at_hub == [
        ("hub", "hub_revoke", me, f"{ADULT} revoked (lost band reported)"),
        ("hub", "hub_restore", me, f"{ADULT} restored"),
    ], rows
    assert all(r["at"] for r in rows)


def test_hub_revoke_with_no_hub_running_is_in_the_report_too(venue: Venue) -> None:
    venue.start_hub().stop()  # its store made, then no hub running
    revoked = hub_cli(venue, "revoke", "T1", "--reason", "refund")
    assert revoked.returncode == 0 and "stored only" in revoked.stdout, revoked
    assert hub_cli(venue, "restore", "T2").returncode == 1  # not revoked: nothing recorded
    done = hub_cli(venue, "report", "daily", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["desk_actions"]
    me = f"{getpass.getuser()} (uid {os.getuid()})"
    assert [(r["gate"], r["code"], r["staff_name"], r["message"]) for r in rows] == [
        ("hub", "hub_revoke", me, "T1 revoked (refund)")
    ], rows
    text = hub_cli(venue, "report", "daily", "--lang", "zh-CN")
    assert "在中控作废" in text.stdout and "T1 revoked (refund)" in text.stdout, text.stdout
