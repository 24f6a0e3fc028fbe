"""The chaos campaign's bands (`bench/chaos/bands.py`): what a band holds after a gate's answer
was lost is what the gate's journal says it wrote, or what it held."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from nfc_fixtures import BAND_UID, FAMILY_CHILD

from bench.chaos.bands import Bands
from gate.core import MemberMoved, MemberState
from gate.devices.nfc.emulated_tag import memory_with_ndef
from gate.devices.nfc.passage import read_slots
from gate.devices.nfc.t2t import PAGE
from gate.devices.nfc.token import Keyring, encode_token
from gate.link.codec import event_to_dict
from gate.store.journal import Journal

GROUP = FAMILY_CHILD.group
AT = datetime(2026, 7, 18, 10, 0, tzinfo=UTC)


def newest(bands: Bands, keys: Keyring) -> object:
    memory = bands.memory(BAND_UID)
    assert memory is not None
    read = read_slots(
        lambda p: (memory + bytes(64))[p * PAGE : p * PAGE + 16], BAND_UID, GROUP, keys
    )
    assert read is not None
    return read.newest


def test_a_lost_answer_leaves_the_band_as_the_gate_s_journal_says(
    tmp_path: Path, site_keys: Keyring
) -> None:
    journal = Journal(tmp_path / "E1.db", "E1")
    bands = Bands(lambda gate: tmp_path / f"{gate}.db", site_keys, frozenset({"04EE0000000001"}))
    bound = memory_with_ndef(BAND_UID, encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    bands.answered(BAND_UID, bound.hex())  # the desk wrote its token
    assert newest(bands, site_keys) is None

    bands.lost("E1", BAND_UID, "never-journalled")  # died before it wrote: as it was
    assert newest(bands, site_keys) is None

    moved = MemberMoved("E1", AT, BAND_UID, GROUP, MemberState.INSIDE, counter=1)
    body = {"request": "q1", "events": [event_to_dict(moved)]}
    entry = journal.append("decision", body)
    journal.close()
    bands.lost("E1", BAND_UID, "q1")  # journalled: the record was on the band before it
    record = newest(bands, site_keys)
    assert record is not None
    assert (record.counter, record.gate, record.state, record.hlc) == (  # type: ignore[attr-defined]
        1,
        "E1",
        MemberState.INSIDE,
        entry.hlc,
    )
    assert record.with_adult  # type: ignore[attr-defined]  # a child let in at an entry
    assert bands.recovered == 1
    assert bands.memory("04EE0000000001") is None  # a staff badge is held as no band
