"""Attacks with tags held to real gates: the real daemon, nfcpy's stack over its `udp:` driver
against the project's NTAG emulator, and, where gates must hear of each other, a real Mosquitto.

- A band a gate knows was trusted on its UID alone: a blank NTAG213, a MIFARE Ultralight or an
  ISO-DEP card (a phone) answering with an adult's UID passed as that adult, and a child followed.
- A band outside the stock took the adult slot at the desk before the family's own band.
- A band returned at a final exit kept its token: a gate that never heard of the exit took it.
- A clone of UID and token without NXP's signature (here: the emulator's test key) passed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from gate_rig import ADULT, CHILD, STAFF, GateRig, link_section, wait_for

from gate.devices.nfc.emulated_tag import memory_with_ndef
from gate.devices.nfc.emulator import signature_of

FOREIGN = "04F00000000077"  # a visitor's own NTAG213: not in the venue's stock


def start(
    rigs: list[GateRig], tmp_path: Path, gate_id: str, role: str, broker: Any = None, **options: Any
) -> GateRig:
    extra = link_section(broker, gate_id, tmp_path / "secrets") if broker else ""
    rig = GateRig(tmp_path, gate_id, role, scanner=False, extra=extra, **options)
    rigs.append(rig)
    rig.start()
    return rig.linked() if broker else rig  # a linked gate hears its peers from the first entry


def bind_family(desk: GateRig) -> tuple[bytes, bytes]:
    """Ticket T1 (one adult, one child) bound at the desk: the two bands, tokens written."""
    assert desk.ask("scan", kind="barcode", value="T1")["decision"]["code"] == "OK_BIND"
    adult, child = desk.tap(ADULT), desk.tap(CHILD)
    assert (adult["code"], child["code"]) == ("OK_BIND", "OK_BIND"), (adult, child)
    return adult["memory"], child["memory"]


def knows(rig: GateRig, *bands: str) -> None:
    for band in bands:
        wait_for(
            lambda b=band: "member" in rig.ask("allowlist", lookup=b)["lookup"],
            timeout=30,  # the peer hears over the broker; a loaded machine can take a while
            what=f"{rig.gate_id} hears of {band}",
        )


@pytest.fixture
def linked(rigs, tmp_path, fresh_broker) -> dict[str, Any]:
    """Desk, entry and exit gates on one broker; the family bound, the gates told of it."""
    broker = fresh_broker()
    gates = {
        g: start(rigs, tmp_path, g, role, broker)
        for g, role in (("D1", "desk"), ("E1", "entry"), ("X1", "exit"))
    }
    adult, child = bind_family(gates["D1"])
    knows(gates["E1"], ADULT, CHILD)
    knows(gates["X1"], ADULT, CHILD)
    return {**gates, "adult": adult, "child": child, "broker": broker}


def family_inside(linked: dict[str, Any]) -> GateRig:
    """The family let in at E1; `linked`'s bands become what they hold after (their passage)."""
    entry, exit_gate = linked["E1"], linked["X1"]
    for band, uid in (("adult", ADULT), ("child", CHILD)):
        entered = entry.tap(uid, linked[band])
        assert entered["code"] == "OK_ENTRY", entered
        linked[band] = entered["memory"]
    wait_for(lambda: exit_gate.status()["headcount"]["inside"] == 2, what="presence")
    return exit_gate


# Tags answering with the adult's UID. Each gets the adult's real memory (its token) where the
# tag could hold it: only what the tag is or answers to READ_SIG gives it away.
IMPOSTORS = [
    pytest.param({}, "no wristband data", id="blank NTAG213, no token"),
    pytest.param(
        {"kind": "ULTRALIGHT", "copy": 64}, "not a wristband", id="Ultralight, token copied"
    ),
    pytest.param({"kind": "ISO_DEP"}, "not a wristband", id="ISO-DEP card or phone"),
    pytest.param(
        {"copy": 180, "signature": None},
        "no originality signature",
        id="NTAG clone of UID and token, silent to READ_SIG",
    ),
    pytest.param(
        {"copy": 180, "signature": bytes(32)},
        "signature does not match",
        id="NTAG clone of UID and token, wrong signature",
    ),
    pytest.param(
        {"copy": 180, "signature": "child"},
        "signature does not match",
        id="NTAG clone, signature of another band",
    ),
]


def impostor(rig: GateRig, linked: dict[str, Any], how: dict[str, Any]) -> dict[str, Any]:
    """Hold a tag with the adult's UID to `rig`'s reader; the decision."""
    before = rig.seq()
    memory = linked["adult"][: how["copy"]] if "copy" in how else None
    options: dict[str, Any] = {}
    if "kind" in how:
        options["kind"] = how["kind"]
    if "signature" in how:
        sig = how["signature"]
        options["signature"] = signature_of(CHILD) if sig == "child" else sig
    rig.field.present(ADULT, memory, **options)
    wait_for(lambda: int(rig.last_decision().get("seq") or 0) > before, what="a decision")
    decision = rig.last_decision()
    rig.field.remove()
    wait_for(lambda: rig.status()["reader"]["state"] == "searching", what="reader free")
    return decision


@pytest.mark.parametrize(("how", "says"), IMPOSTORS)
def test_a_tag_answering_with_an_adults_uid_cannot_let_the_child_out(linked, how, says):
    exit_gate = family_inside(linked)
    decision = impostor(exit_gate, linked, how)
    assert decision["code"] == "DENY_BAD_TOKEN", decision
    assert says in decision["message"] and "desk" in decision["message"]
    assert exit_gate.tap(CHILD, linked["child"])["code"] == "DENY_CHILD_NEEDS_ADULT"
    assert exit_gate.status()["headcount"]["inside"] == 2


@pytest.mark.parametrize(("how", "says"), IMPOSTORS[:3])
def test_a_tag_answering_with_an_adults_uid_cannot_bring_the_child_in(linked, how, says):
    entry = linked["E1"]
    decision = impostor(entry, linked, how)
    assert (decision["code"], says in decision["message"]) == ("DENY_BAD_TOKEN", True), decision
    assert entry.tap(CHILD, linked["child"])["code"] == "DENY_CHILD_NEEDS_ADULT"
    assert entry.tap(ADULT, linked["adult"])["code"] == "OK_ENTRY"  # the real band still works


def test_a_valid_token_copied_from_another_band_is_refused(linked):
    exit_gate = family_inside(linked)
    decision = exit_gate.tap(ADULT, linked["child"])  # the adult's UID, the child's whole memory
    assert decision["code"] == "DENY_BAD_TOKEN", decision
    assert "token rejected" in decision["message"]  # signed for the child's UID, not this one
    assert exit_gate.tap(CHILD, linked["child"])["code"] == "DENY_CHILD_NEEDS_ADULT"


def test_a_band_outside_the_stock_cannot_take_the_adult_slot_at_the_desk(rigs, tmp_path):
    desk = start(rigs, tmp_path, "D1", "desk")
    assert desk.ask("scan", kind="barcode", value="T1")["decision"]["code"] == "OK_BIND"
    foreign = desk.tap(FOREIGN)
    assert foreign["code"] == "DENY_BINDING", foreign
    assert "not in stock" in foreign["message"]
    assert foreign["memory"] == memory_with_ndef(FOREIGN, b"")  # nothing written to it
    adult = desk.tap(ADULT)
    assert (adult["code"], adult["role"]) == ("OK_BIND", "adult"), adult
    assert desk.token_on(adult["memory"], ADULT).group == "T1"
    child = desk.tap(CHILD)
    assert child["code"] == "OK_BIND", child


def test_a_returned_band_is_refused_at_a_gate_that_never_heard_of_the_return(rigs, tmp_path):
    """Gates alone (no broker): X1 lets the adult out for good; X2 never hears of it."""
    desk = start(rigs, tmp_path, "D1", "desk")
    adult, child = bind_family(desk)
    x1, x2 = start(rigs, tmp_path, "X1", "exit"), start(rigs, tmp_path, "X2", "exit")
    out = x1.tap(ADULT, adult)
    assert out["code"] == "OK_EXIT", out
    assert x1.status()["counters"].get("token_voided") == 1
    with pytest.raises(ValueError):  # the token is gone from the band
        x1.token_on(out["memory"], ADULT)
    kept = out["memory"]  # the band was not handed in after all
    decision = x2.tap(ADULT, kept)
    assert decision["code"] == "DENY_BAD_TOKEN", decision
    assert "returned at an exit" in decision["message"]
    assert x2.tap(CHILD, child)["code"] == "DENY_CHILD_NEEDS_ADULT"
    assert x1.tap(ADULT, kept)["code"] == "DENY_BAD_TOKEN"  # at X1 too, which knows it left


def test_a_family_leaving_together_returns_the_childs_band_and_the_adult_keeps_its_own(linked):
    """Adult first: the adult may yet have to come back for the child (the window closing with
    the child inside makes the adult temporarily out), so the adult's band keeps its token; the
    child's band is collected and voided."""
    exit_gate = family_inside(linked)
    adult = exit_gate.tap(ADULT, linked["adult"])
    child = exit_gate.tap(CHILD, linked["child"])
    assert (adult["code"], child["code"]) == ("OK_EXIT", "OK_EXIT")
    assert exit_gate.token_on(adult["memory"], ADULT).group == "T1"
    with pytest.raises(ValueError):
        exit_gate.token_on(child["memory"], CHILD)
    assert exit_gate.status()["counters"].get("token_voided") == 1
    assert linked["E1"].tap(CHILD, child["memory"])["code"] == "DENY_BAD_TOKEN"


def test_a_failed_void_at_the_exit_holds_nobody_back_and_is_counted(rigs, tmp_path):
    desk = start(rigs, tmp_path, "D1", "desk")
    adult, _ = bind_family(desk)
    x1 = start(rigs, tmp_path, "X1", "exit")
    out = x1.tap(ADULT, adult, pulled_after_writes=0)  # pulled away as the void write starts
    assert out["code"] == "OK_EXIT", out
    counters = x1.status()["counters"]
    assert counters.get("token_void_failed") == 1 and "token_voided" not in counters
    assert x1.relay_states().count(True) >= 1  # the relay moved


def test_a_test_scan_of_an_adult_opens_no_pairing_window_for_a_child(rigs, tmp_path, fresh_broker):
    broker = fresh_broker()
    desk = start(rigs, tmp_path, "D1", "desk", broker)
    entry = start(rigs, tmp_path, "E1", "entry", broker)
    exit_gate = start(rigs, tmp_path, "X1", "exit", broker, test_scans_open_pairing=False)
    adult, child = bind_family(desk)
    knows(entry, ADULT, CHILD)
    assert entry.tap(ADULT, adult)["code"] == "OK_ENTRY"
    entered = entry.tap(CHILD, child)
    assert entered["code"] == "OK_ENTRY", entered
    child = entered["memory"]  # its passage on it
    wait_for(lambda: exit_gate.status()["headcount"]["inside"] == 2, what="presence")
    test = exit_gate.ask("scan", kind="nfc", value=ADULT)["decision"]
    assert test["code"] == "OK_EXIT"  # the technician's tool still works ...
    assert exit_gate.tap(CHILD, child)["code"] == "DENY_CHILD_NEEDS_ADULT"  # ... but pairs nobody
    entries = exit_gate.ask("journal", tail=5)["entries"]
    scanned = [e["body"]["scan"] for e in entries if e["kind"] == "decision"]
    assert {"value": ADULT, "tag": False, "token": False}.items() <= scanned[-2].items()
    member = exit_gate.ask("allowlist", lookup=CHILD)["lookup"]["member"]
    assert member["children_unaccompanied"]  # the child is inside with no adult: flagged now


@pytest.mark.parametrize(
    ("how", "code"),
    [
        pytest.param({}, "OK_STAFF", id="the badge"),
        pytest.param({"kind": "ISO_DEP"}, "DENY_BAD_TOKEN", id="ISO-DEP with the badge's UID"),
        pytest.param({"signature": bytes(32)}, "DENY_BAD_TOKEN", id="NTAG clone of the badge"),
    ],
)
def test_a_staff_badge_counts_only_on_an_original_ntag(rigs, tmp_path, how, code):
    exit_gate = start(rigs, tmp_path, "X1", "exit")
    before = exit_gate.seq()
    exit_gate.field.present(STAFF, **how)
    wait_for(lambda: int(exit_gate.last_decision().get("seq") or 0) > before, what="decision")
    assert exit_gate.last_decision()["code"] == code
    exit_gate.field.remove()


def test_a_handheld_check_refuses_a_blank_band_with_a_known_uid(linked, rigs, tmp_path):
    handheld = start(rigs, tmp_path, "X2", "handheld", linked["broker"])
    knows(handheld, ADULT)
    handheld.field.present(ADULT)  # blank NTAG213, the adult's UID
    check = wait_for(lambda: (handheld.status()["last"] or {}).get("check"), what="a check")
    assert (check["known"], check.get("code")) == (False, "DENY_BAD_TOKEN"), check
    handheld.field.remove()
    wait_for(lambda: handheld.status()["reader"]["state"] == "searching", what="reader free")
    time.sleep(0.4)  # the same UID again: past the reader's debounce (0.3 s) from its leaving
    handheld.field.present(ADULT, linked["adult"])
    wait_for(
        lambda: (handheld.status()["last"] or {}).get("check", {}).get("known"), what="the band"
    )
