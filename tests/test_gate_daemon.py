"""The gate daemon on its (emulated) hardware: real nfcpy over `udp:`, a pty scanner, mock pins.

The family's day across three gates that share nothing but the wristbands: bound at the desk
(tokens written and read back), let in at an entry gate, let out adult-first at an exit gate
that has never seen them — reading only the tokens.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from gate_rig import ADULT, CHILD, STAFF, GateRig, wait_for

from gate.daemon.answers import AllowlistImports, RunningGate, Scans
from gate.devices.nfc.token import TokenFault


def rig(rigs: list[GateRig], tmp_path: Path, gate_id: str, role: str, **options: object) -> GateRig:
    made = GateRig(tmp_path, gate_id, role, **options)  # type: ignore[arg-type]
    rigs.append(made)
    return made.start()


def test_a_family_bound_at_the_desk_leaves_through_a_gate_that_never_saw_it(rigs, tmp_path):
    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    assert desk.barcode("T1")["code"] == "OK_BIND"
    adult_at_desk = desk.tap(ADULT)
    child_at_desk = desk.tap(CHILD)
    assert (adult_at_desk["code"], adult_at_desk["role"]) == ("OK_BIND", "adult")
    assert (child_at_desk["code"], child_at_desk["role"]) == ("OK_BIND", "child")
    adult_band, child_band = adult_at_desk["memory"], child_at_desk["memory"]
    assert desk.token_on(adult_band, ADULT).group == "T1"
    assert desk.token_on(child_band, CHILD).role.value == "child"
    with pytest.raises(TokenFault):
        desk.token_on(adult_band, CHILD)  # a token copied to another band does not verify

    entry = rig(rigs, tmp_path, "E1", "entry", scanner=False)
    assert entry.tap(CHILD, child_band)["code"] == "DENY_CHILD_NEEDS_ADULT"
    assert entry.tap(ADULT, adult_band)["code"] == "OK_ENTRY"
    assert entry.tap(CHILD, child_band)["code"] == "OK_ENTRY"
    assert entry.status()["headcount"]["inside"] == 2
    assert True in entry.relay_states()

    exit_gate = rig(rigs, tmp_path, "X1", "exit", scanner=False)
    assert exit_gate.tap(CHILD, child_band)["code"] == "DENY_CHILD_NEEDS_ADULT"
    assert exit_gate.tap(ADULT, adult_band)["code"] == "OK_EXIT"
    assert exit_gate.tap(CHILD, child_band)["code"] == "OK_EXIT"
    wait_for(lambda: exit_gate.relay_states().count(True) == 2, what="two relay pulses")
    wait_for(lambda: exit_gate.relay_states()[-1] is False, what="the relay released")
    time.sleep(0.6)  # a window for a pulse too many to show (absence has no event to wait on)
    assert exit_gate.relay_states().count(True) == 2  # and no more


def test_the_daemon_offers_its_control_service_all_the_service_reads(rigs, tmp_path):
    gate = rig(rigs, tmp_path, "E1", "entry", scanner=False).gate
    assert isinstance(gate, RunningGate)
    assert isinstance(gate.scans, Scans)
    assert isinstance(gate.allowlists, AllowlistImports)


def test_a_band_pulled_away_mid_write_is_not_bound_and_binds_when_scanned_again(rigs, tmp_path):
    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    desk.barcode("T1")
    first = desk.tap(ADULT, pulled_after_writes=1)
    assert first["code"] == "DENY_BINDING"
    assert "removed" in first["message"]
    lookup = desk.ask("allowlist", lookup=ADULT)["lookup"]
    assert "member" not in lookup  # never half-bound
    again = desk.tap(ADULT, first["memory"])
    assert again["code"] == "OK_BIND"
    assert desk.token_on(again["memory"], ADULT).group == "T1"


def test_a_band_with_a_forged_token_is_refused(rigs, tmp_path):
    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    desk.barcode("T1")
    band = desk.tap(ADULT)["memory"]
    forged = bytearray(band)
    forged[24] ^= 0x01  # one bit inside the token's signed bytes
    exit_gate = rig(rigs, tmp_path, "X1", "exit", scanner=False)
    decision = exit_gate.tap(ADULT, bytes(forged))
    assert decision["code"] == "DENY_BAD_TOKEN"
    assert True not in exit_gate.relay_states()


def test_scanner_garbage_is_rejected_counted_and_the_next_code_still_works(rigs, tmp_path):
    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    os.write(desk.master, b"\x07\x00garbage\r" + b"X" * 300 + b"\r")
    wait_for(lambda: desk.status()["counters"].get("scanner_rejected", 0) >= 2)
    assert desk.barcode("T1")["code"] == "OK_BIND"
    stats = desk.ask("diag")["checks"]["scanner"]["stats"]
    assert sum(stats["rejected"].values()) >= 2


def test_a_grant_with_no_passage_is_journalled_as_not_passed_and_undone(rigs, tmp_path):
    pins = {"relay": 17, "green": 22, "red": 27, "passage": 5}
    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    desk.barcode("T1")
    band = desk.tap(ADULT)["memory"]
    # The rotation contact closes a few status questions after the grant: a timeout of several
    # seconds leaves a loaded machine room for them (the first grant waits it out, once).
    entry = rig(rigs, tmp_path, "E1", "entry", scanner=False, pins=pins, passage_timeout_s=6.0)
    first = entry.tap(ADULT, band)
    assert first["code"] == "OK_ENTRY", first
    band = first["memory"]  # its passage written on it: undone in the journal, still on the band
    wait_for(lambda: entry.status()["counters"].get("not_passed") == 1, what="passage timeout")
    assert entry.status()["headcount"]["inside"] == 0
    kinds = [e["kind"] for e in entry.ask("journal", tail=5)["entries"]]
    assert "passage" in kinds
    # the next time the visitor walks through: the sensor sees the passage
    assert entry.tap(ADULT, band)["code"] == "OK_ENTRY"
    entry.factory.pin(5).drive_low()  # rotation contact closes
    entry.factory.pin(5).drive_high()

    def passages() -> list[bool]:
        entries = entry.ask("journal", tail=10)["entries"]
        return [e["body"]["passed"] for e in entries if e["kind"] == "passage"]

    wait_for(lambda: len(passages()) == 2, what="the second grant's passage journalled")
    assert passages() == [False, True]
    assert entry.status()["headcount"]["inside"] == 1


def test_a_staff_badge_releases_a_solo_child_by_override(rigs, tmp_path):
    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    desk.barcode("TSOLO")
    from gate_rig import SOLO_CHILD

    band = desk.tap(SOLO_CHILD)["memory"]
    entry = rig(rigs, tmp_path, "E1", "entry", scanner=False)
    assert entry.tap(SOLO_CHILD, band)["code"] == "OK_ENTRY"
    exit_gate = rig(rigs, tmp_path, "X1", "exit", scanner=False)
    assert exit_gate.tap(SOLO_CHILD, band)["code"] == "DENY_GUARDIAN_PICKUP"
    assert exit_gate.tap(STAFF)["code"] == "OK_STAFF"
    released = exit_gate.tap(SOLO_CHILD, band)
    assert (released["code"], released["forced"]) == ("OK_OVERRIDE", True)
    assert released["overrode"] == "DENY_GUARDIAN_PICKUP"


def test_the_fire_alarm_frees_the_exit_and_is_journalled(rigs, tmp_path):
    pins = {"relay": 17, "green": 22, "red": 27, "fire_alarm": 13}
    exit_gate = rig(rigs, tmp_path, "X1", "exit", scanner=False, pins=pins)
    exit_gate.factory.pin(13).drive_low()  # the fire panel's contact closes
    wait_for(lambda: exit_gate.status()["fire_alarm"], what="fire alarm seen")
    assert exit_gate.relay_states()[-1] is True  # held open
    exit_gate.factory.pin(13).drive_high()
    wait_for(lambda: not exit_gate.status()["fire_alarm"], what="fire alarm cleared")
    wait_for(lambda: exit_gate.relay_states()[-1] is False, what="relay released")
    alarms = [e["body"] for e in exit_gate.ask("journal", tail=10)["entries"]]
    assert [a["on"] for a in alarms if "on" in a] == [True, False]


def test_the_staff_key_makes_the_next_exit_temporary(rigs, tmp_path):
    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    desk.barcode("T1")
    band = desk.tap(ADULT)["memory"]
    pins = {"relay": 17, "green": 22, "red": 27, "staff_button": 6}
    exit_gate = rig(rigs, tmp_path, "X1", "exit", scanner=False, pins=pins)
    exit_gate.factory.pin(6).drive_low()
    exit_gate.factory.pin(6).drive_high()  # the press is in the gate's inbox, before any question
    assert exit_gate.tap(ADULT, band)["code"] == "OK_TEMP_EXIT"
    assert exit_gate.ask("allowlist", lookup=ADULT)["lookup"]["member"]["state"] == "temp_out"


def test_a_restarted_gate_knows_who_is_inside_and_the_bands_counters_from_its_journal(
    rigs, tmp_path
):
    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    desk.barcode("T1")
    desk_copy, child = desk.tap(ADULT)["memory"], desk.tap(CHILD)["memory"]
    entry = rig(rigs, tmp_path, "E1", "entry", scanner=False)
    adult = entry.tap(ADULT, desk_copy)["memory"]  # the band as it left: its passage on it
    entry.tap(CHILD, child)
    entry.stop()
    entry.start()
    assert entry.status()["headcount"]["inside"] == 2
    assert entry.tap(ADULT, adult)["code"] == "DENY_ALREADY_INSIDE"
    copied = entry.tap(ADULT, desk_copy)  # the band as the desk wrote it: the journal is ahead
    assert copied["code"] == "DENY_BAD_TOKEN" and "rolled back" in copied["message"], copied


def test_a_journal_that_cannot_write_lets_nobody_through_and_the_gate_keeps_running(
    rigs, tmp_path, monkeypatch
):
    """A full or failing SD card: what cannot be journalled never moves the relay."""
    from gate.store.journal_file import JournalError

    desk = rig(rigs, tmp_path, "D1", "desk", pins={"green": 22, "red": 27})
    desk.barcode("T1")
    band = desk.tap(ADULT)["memory"]
    entry = rig(rigs, tmp_path, "E1", "entry", scanner=False)
    journal = entry.gate.journal

    def disk_full(kind, body):
        raise JournalError(journal.path, "database or disk is full")

    monkeypatch.setattr(journal, "append", disk_full)
    entry.field.present(ADULT, band)
    wait_for(lambda: entry.status()["counters"].get("journal_failed", 0) >= 1)
    entry.field.remove()
    assert True not in entry.relay_states()
    assert entry.status()["headcount"]["inside"] == 0
