"""A gate whose storage fails: a full disk refuses scans with a reason and loses nothing, and a
gate that missed bindings (partitioned, or its disk full) still starts and serves."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2, GateRig, link_section, wait_for

from gate.core import MemberMoved, MemberState
from gate.link.codec import event_to_dict
from gate.store.presence import PresenceError, PresenceLog
from venue.faults import SmallDisk


def test_a_full_presence_file_raises_its_own_error_naming_the_file(tmp_path):
    presence = PresenceLog(tmp_path / "presence.db")
    presence.add("E1", 1, "0" * 16, {"events": []})
    db = presence._db
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    with pytest.raises(PresenceError, match=r"presence\.db: cannot keep E1/2: .*full"):
        presence.add("E1", 2, "1" * 16, {"events": [], "pad": "x" * 100_000})
    presence.close()


def test_a_gate_starts_past_remembered_moves_of_bands_whose_binding_it_never_heard(rigs, tmp_path):
    state = tmp_path / "X1" / "state"
    state.mkdir(parents=True)
    presence = PresenceLog(state / "presence.db")
    moved = MemberMoved("E1", datetime.now(UTC), ADULT, "T1", MemberState.INSIDE)
    presence.add("E1", 7, "0" * 16, {"events": [event_to_dict(moved)]})
    presence.close()
    rig = GateRig(tmp_path, "X1", "exit", scanner=False)
    rigs.append(rig.start())
    assert rig.status()["counters"]["rebuild_skipped"] == 1
    assert rig.ask("scan", kind="nfc", value=ADULT)["decision"]["code"] == "DENY_UNKNOWN"


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_gate_whose_disk_fills_refuses_scans_with_a_reason_and_carries_on_when_freed(
    rigs, tmp_path, fresh_broker
):
    broker = fresh_broker()  # of its own: no session of an earlier test's X1 to pick up
    disk = SmallDisk(tmp_path / "X1" / "state", size_mb=8)
    if why := disk.mount():  # as root: a container whose kernel does not let it mount
        pytest.skip(f"the kernel refused the small disk: {why}")
    try:
        desk = GateRig(tmp_path, "D1", "desk", scanner=False, extra=_link(broker, tmp_path, "D1"))
        gate = GateRig(tmp_path, "X1", "exit", scanner=False, extra=_link(broker, tmp_path, "X1"))
        rigs += [desk.start(), gate.start()]
        gate.linked()  # following the desk
        for value, kind in (("T1", "barcode"), (ADULT, "nfc"), (CHILD, "nfc")):
            assert _scan(desk, value, kind) == "OK_BIND"
        wait_for(lambda: "member" in gate.ask("allowlist", lookup=CHILD)["lookup"])
        before = gate.seq()

        disk.fill()
        refused = gate.ask("scan", kind="nfc", value=ADULT)
        assert not refused["ok"] and "journal" in refused["error"]
        assert refused["refused"] == "disk_full" and "internal_error" not in refused
        assert gate.status()["counters"]["journal_failed"] >= 1
        for value, kind in (("T2", "barcode"), (ADULT_2, "nfc"), (CHILD_2, "nfc")):
            assert _scan(desk, value, kind) == "OK_BIND"  # X1 cannot keep these
        wait_for(lambda: gate.status()["counters"].get("presence_failed", 0) >= 1)
        assert gate.seq() == before  # nothing half-written

        disk.free()
        assert _scan(gate, ADULT) == "DENY_NOT_INSIDE"  # decided and journalled again
        assert gate.seq() == before + 1
        gate.stop()
        gate.start()  # the presence file lacks T2's bindings: the gate starts all the same
        assert _scan(gate, CHILD_2) == "DENY_UNKNOWN"  # its binding never reached X1
    finally:
        for rig in rigs:
            rig.stop()
        disk.unmount()


def _link(broker, tmp_path, gate_id: str) -> str:
    return link_section(broker, gate_id, tmp_path / "secrets")


def _scan(rig: GateRig, value: str, kind: str = "nfc") -> str:
    return str(rig.ask("scan", kind=kind, value=value)["decision"]["code"])
