"""The band's passage record through the real gate daemon, its nfcpy reader and the emulated NTAG:
gates that cannot hear each other (no link at all) go by what the band carries."""

from __future__ import annotations

from pathlib import Path

from gate_rig import ADULT, ADULT_2, TODAY, GateRig, rigs  # noqa: F401  (rigs: the fixture)

from gate.core import BandToken, MemberState, Role
from gate.devices.nfc.emulated_tag import memory_with_ndef
from gate.devices.nfc.passage import read_slots
from gate.devices.nfc.token import encode_token
from gate.store.journal import Journal


def band(rig: GateRig, uid: str, group: str = "T1") -> bytes:
    """A band bound at a desk earlier: its token, no passage yet."""
    token = BandToken(group, Role.ADULT, TODAY, TODAY, 1, 1)
    return memory_with_ndef(uid, encode_token(token, uid, rig.keyring))


def record_on(rig: GateRig, memory: bytes, uid: str, group: str = "T1") -> object:
    slots = read_slots(
        lambda page: (memory + bytes(64))[page * 4 : page * 4 + 16], uid, group, rig.keyring
    )
    assert slots is not None
    return slots.newest


def test_two_entries_cut_off_from_each_other_let_a_band_in_once_and_refuse_its_copy(
    tmp_path: Path,
    rigs: list[GateRig],  # noqa: F811
) -> None:
    e1 = GateRig(tmp_path, "E1", "entry").start()
    e2 = GateRig(tmp_path, "E2", "entry").start()
    rigs += [e1, e2]
    copy = band(e1, ADULT)  # what the band holds before the entry: someone keeps a copy of it

    entered = e1.tap(ADULT, copy)
    assert entered["code"] == "OK_ENTRY", entered
    written = record_on(e1, entered["memory"], ADULT)
    assert written is not None
    assert (written.counter, written.gate, written.state) == (1, "E1", MemberState.INSIDE)
    assert e1.status()["counters"].get("passage_written") == 1
    assert e1.gate is not None
    with Journal.open_readonly(e1.gate.journal.path) as journal:
        (entry,) = journal.entries_after(entered["seq"] - 1, 1)
    assert written.hlc == entry.hlc  # the record's time: its decision's, as journalled

    again = e2.tap(ADULT, entered["memory"])  # E2 never heard of the entry at E1
    assert again["code"] == "DENY_ALREADY_INSIDE", again
    assert "entered at E1" in again["message"]
    assert True not in e2.relay_states()  # the turnstile never moved

    copied = e1.tap(ADULT, copy)  # the copy, at the gate that journalled passage 1
    assert copied["code"] == "DENY_BAD_TOKEN", copied
    assert "band copied or rolled back" in copied["message"]


def test_an_entry_stands_only_once_the_band_holds_its_record(
    tmp_path: Path,
    rigs: list[GateRig],  # noqa: F811
) -> None:
    e1 = GateRig(tmp_path, "E1", "entry").start()
    rigs.append(e1)
    pulled = e1.tap(ADULT_2, band(e1, ADULT_2, "T2"), pulled_after_writes=3)
    assert pulled["code"] == "DENY_BAD_TOKEN", pulled
    assert "hold the band still" in pulled["message"]
    assert record_on(e1, pulled["memory"], ADULT_2, "T2") is None  # the torn slot: no record

    held = e1.tap(ADULT_2, pulled["memory"])
    assert held["code"] == "OK_ENTRY", held
    written = record_on(e1, held["memory"], ADULT_2, "T2")
    assert written is not None and written.counter == 1


def test_a_band_held_through_the_control_socket_is_read_and_written_as_on_the_reader(
    tmp_path: Path,
    rigs: list[GateRig],  # noqa: F811
) -> None:
    e1 = GateRig(tmp_path, "E1", "entry").start()
    e2 = GateRig(tmp_path, "E2", "entry").start()  # cut off from E1: no broker
    rigs += [e1, e2]
    held = band(e1, ADULT)

    entered = e1.ask("scan", kind="nfc", value=ADULT, memory=held.hex(), request="r1")
    assert entered["decision"]["code"] == "OK_ENTRY", entered
    memory = bytes.fromhex(entered["decision"]["memory"])
    written = record_on(e1, memory, ADULT)
    assert written is not None and (written.counter, written.gate) == (1, "E1")
    assert e1.status()["counters"].get("passage_written") == 1

    again = e2.ask("scan", kind="nfc", value=ADULT, memory=memory.hex(), request="r2")
    assert again["decision"]["code"] == "DENY_ALREADY_INSIDE", again  # the band says so
    copied = e1.ask("scan", kind="nfc", value=ADULT, memory=held.hex(), request="r3")
    assert copied["decision"]["code"] == "DENY_BAD_TOKEN", copied  # the copy from before

    for bad in ("zz", "00" * 10, 5):
        refused = e1.ask("scan", kind="nfc", value=ADULT, memory=bad)
        assert refused["ok"] is False and "memory" in str(refused["error"]), refused
