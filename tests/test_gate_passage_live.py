"""The band's passage record through the real gate daemon, its nfcpy reader and the emulated NTAG:
gates that cannot hear each other (no link at all) go by what the band carries."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gate_rig import ADULT, ADULT_2, TODAY, GateRig, rigs  # noqa: F401  (rigs: the fixture)

from gate.core import BandToken, MemberState, Role
from gate.core.hlc import Timestamp
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


def test_a_gate_whose_clock_is_behind_journals_after_the_bands_last_passage(
    tmp_path: Path,
    rigs: list[GateRig],  # noqa: F811
) -> None:
    """A band's record stamped by a gate whose clock runs ahead: the next gate follows it, so
    the day folds in the order the band went; a stamp too far ahead is counted, not followed."""
    e1 = GateRig(tmp_path, "E1", "entry").start()
    x1 = GateRig(tmp_path, "X1", "exit").start()
    rigs += [e1, x1]
    assert e1.gate is not None and x1.gate is not None
    now_ms = int(time.time() * 1000)

    def exit_entry(uid: str, ahead_s: int) -> tuple[Any, Any]:
        assert e1.gate is not None and x1.gate is not None
        reached, target = now_ms, now_ms + ahead_s * 1000  # E1's clock runs ahead, by steps
        while reached < target:  # a clock follows a peer at most 5 min ahead at a time
            reached = e1.gate.journal.observe(Timestamp(min(target, reached + 240_000))).wall_ms
        entered = e1.tap(uid, band(e1, uid, "T1" if uid == ADULT else "T2"))
        assert entered["code"] == "OK_ENTRY", entered
        written = record_on(e1, entered["memory"], uid, "T1" if uid == ADULT else "T2")
        left = x1.tap(uid, entered["memory"])
        with Journal.open_readonly(x1.gate.journal.path) as journal:
            (entry,) = journal.entries_after(left["seq"] - 1, 1)
        return written, entry

    written, entry = exit_entry(ADULT, 120)  # two minutes: within what a clock follows
    assert written.hlc is not None and entry.hlc > written.hlc, (entry.hlc, written.hlc)
    assert x1.status()["counters"].get("band_clock_ahead", 0) == 0

    written, entry = exit_entry(ADULT_2, 3600)  # an hour: a clock gone wrong, not followed
    assert written.hlc is not None and entry.hlc < written.hlc
    assert x1.status()["counters"].get("band_clock_ahead") == 1
