"""The band's passage record in a venue of real processes (broker, hub, `gate run` per gate),
bands held to the gates' emulated readers: a partition no longer lets a band in twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_rig import ADULT, wait_for
from venue_rig import Venue

from gate.devices.nfc.emulator import TagEmulator


@pytest.fixture
def venue(tmp_path: Path, fresh_broker: Any) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


def hold(venue: Venue, gate: str, reader: TagEmulator, uid: str, memory: bytes | None) -> tuple:
    """The band (holding `memory`) held to `gate`'s reader until the gate decided: the decision
    and what the band then holds."""
    before = int(venue.gate_status(gate)["journal"]["last_seq"])
    reader.present(uid, memory)
    try:
        wait_for(
            lambda: int((venue.gate_status(gate)["last"] or {}).get("seq") or 0) > before,
            what=f"{gate} decides on {uid}: {venue.gates[gate].tail()}",
        )
    finally:
        reader.remove()
    wait_for(
        lambda: venue.gate_status(gate)["reader"]["state"] == "searching", what="the band left"
    )
    return dict(venue.gate_status(gate)["last"]), reader.memory


def test_a_band_let_in_at_one_entry_is_refused_at_another_cut_off_from_it(venue: Venue) -> None:
    readers = {g: TagEmulator("127.0.0.1", 0).start() for g in ("D1", "E1", "E2")}
    try:
        venue.start_hub()
        for gate, reader in readers.items():
            venue.start_gate(gate, reader=reader.path)
        assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
        bound, band = hold(venue, "D1", readers["D1"], ADULT, None)  # the desk writes its token
        assert bound["code"] == "OK_BIND", bound
        venue.gates["E2"].stop()
        venue.start_gate("E2", broker_port=9, reader=readers["E2"].path)  # E2 is cut off

        entered, band = hold(venue, "E1", readers["E1"], ADULT, band)
        assert entered["code"] == "OK_ENTRY", entered
        again, band = hold(venue, "E2", readers["E2"], ADULT, band)
        assert again["code"] == "DENY_ALREADY_INSIDE", again  # the band says where it is
        assert "entered at E1" in again["message"]

        venue.gates["E2"].stop()
        venue.start_gate("E2", reader=readers["E2"].path)  # the partition heals
        venue.wait_settled()
        findings = venue.api("/api/findings")
        assert not [f for f in findings if f["kind"] in ("double_entry", "band_cloned")], findings
        assert int(venue.api("/api/headcount")["inside"]) == 1
    finally:
        for reader in readers.values():
            reader.stop()
