"""What a gate may say: `gate.core.authority` through `gate.link.vetting`, table-driven.

Every accepted entry below is what the real rules core produced for a gate of that role (the
daemon journals `decide`'s decision and events, `expire`'s closings, a passage's undo); every
refused one is such an entry with one thing forged, and asserts the stable reason code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_3,
    CHILD_1,
    CHILD_3,
    CHILD_4,
    DUO,
    FAMILY,
    FAMILY_BANDS,
    SOLO,
    SPARE_1,
    STAFF,
    T0,
    Venue,
    badge,
    family_inside,
    later,
    solo_inside,
)

from gate.core import (
    BandBound,
    BandToken,
    BindingOpened,
    Event,
    Intent,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    OverrideArmed,
    PairingOpened,
    Role,
    Scan,
    advance,
    decide,
    fold,
)
from gate.core.authority import MAX_BODY, PastDecision, Reason, Refused, check_clock, check_seq
from gate.link.codec import decision_to_dict, event_to_dict
from gate.link.vetting import Knowledge, check_peer_entry, past_decision

ROSTER = {"D1": "desk", "E1": "entry", "X1": "exit", "H1": "handheld"}
Body = dict[str, Any]


def journalled(v: Venue, scan: Scan, now: datetime = T0) -> Body:
    """The decision entry's body a gate journals for `scan` (as `ScanPath.scan` writes it)."""
    advance(v.state, now, v.policy)
    decision, events = decide(v.state, scan, now, v.policy)
    for event in events:
        fold(v.state, event)
    scanned = {
        "kind": scan.kind.value,
        "value": scan.value,
        "mode": scan.mode.value,
        "intent": scan.intent.value,
        "token": scan.token is not None,
        "tag": scan.tag,
        "offline": scan.offline,
    }
    body = {
        "scan": scanned,
        "decision": decision_to_dict(decision),
        "events": [event_to_dict(e) for e in events],
    }
    held = journal(v)
    held[scan.gate, len([g for g, _ in held if g == scan.gate]) + 1] = body
    return body


def journal(v: Venue) -> dict[tuple[str, int], Body]:
    """The decision entries `journalled` for the venue's gates, by (gate, seq): what a consumer
    holds when a passage record names one."""
    held: dict[tuple[str, int], Body] = v.__dict__.setdefault("journal", {})
    return held


def with_events(body: Body, *events: Event) -> Body:
    return {**body, "events": [event_to_dict(e) for e in events]}


def knowledge(v: Venue) -> Knowledge:
    held = journal(v)

    def decision_of(gate: str, seq: int) -> PastDecision | None:
        body = held.get((gate, seq))
        return None if body is None else past_decision("decision", body)

    return Knowledge(v.state.allowlist, v.state.members, decision_of)


def check(v: Venue, gate: str, kind: str, body: Body, roster: Any = ROSTER) -> list[Event]:
    """As a consumer checks `gate`'s next entry, after every decision `journalled` for it."""
    seq = len([g for g, _ in journal(v) if g == gate]) + 1
    return check_peer_entry(gate, roster, kind, body, knowledge(v), seq=seq)


def nfc(gate: str, mode: Mode, uid: str, intent: Intent = Intent.FINAL, **kw: Any) -> Scan:
    return Scan(gate, mode, Kind.NFC, uid, intent, **kw)


# --- what real gates journal is accepted -------------------------------------------------------


def _desk_ticket(v: Venue) -> tuple[str, str, Body]:
    return "D1", "decision", journalled(v, Scan("D1", Mode.BIND, Kind.BARCODE, DUO))


def _handheld_band(v: Venue) -> tuple[str, str, Body]:
    journalled(v, Scan("H1", Mode.BIND, Kind.BARCODE, DUO))
    return "H1", "decision", journalled(v, nfc("H1", Mode.BIND, CHILD_3))


def _staff_at_exit(v: Venue) -> tuple[str, str, Body]:
    return "X1", "decision", journalled(v, badge("X1", Mode.EXIT))


def _adult_in(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3)
    return "E1", "decision", journalled(v, nfc("E1", Mode.ENTRY, ADULT_3))


def _child_out_with_adult(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    journalled(v, nfc("X1", Mode.EXIT, ADULT_3))
    return "X1", "decision", journalled(v, nfc("X1", Mode.EXIT, CHILD_3))


def _adult_steps_out_leaving_children(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    return "X1", "decision", journalled(v, nfc("X1", Mode.EXIT, ADULT_3, Intent.TEMPORARY))


def _solo_child_released_by_override(v: Venue) -> tuple[str, str, Body]:
    solo = solo_inside()
    v.state = solo.state
    journalled(v, badge("X1", Mode.EXIT))
    return "X1", "decision", journalled(v, nfc("X1", Mode.EXIT, CHILD_4))


def _band_learned_from_its_token(v: Venue) -> tuple[str, str, Body]:
    token = BandToken(DUO, Role.ADULT, T0.date(), T0.date(), 1, 1)
    return "X1", "decision", journalled(v, nfc("X1", Mode.EXIT, ADULT_3, token=token))


def _exit_window_closes(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    journalled(v, nfc("X1", Mode.EXIT, ADULT_3))
    events = advance(v.state, later(T0, 120), v.policy, "X1")
    assert {type(e).__name__ for e in events} == {"PairingClosed", "MemberMoved", "GroupFlagged"}
    return "X1", "expiry", {"events": [event_to_dict(e) for e in events]}


def _nobody_went_through(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3)
    journalled(v, nfc("E1", Mode.ENTRY, ADULT_3))  # E1's decision 1
    undo = MemberMoved("E1", T0, ADULT_3, DUO, MemberState.BOUND)
    return "E1", "passage", with_events({"decision_seq": 1, "passed": False}, undo)


def _nobody_went_out(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    journalled(v, nfc("X1", Mode.EXIT, ADULT_3))  # X1's decision 1: the adult out
    undo = MemberMoved("X1", T0, ADULT_3, DUO, MemberState.INSIDE)
    return "X1", "passage", with_events({"decision_seq": 1, "passed": False}, undo)


def _adult_temp_exit_not_taken(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    journalled(v, nfc("X1", Mode.EXIT, ADULT_3, Intent.TEMPORARY))
    undo = MemberMoved("X1", T0, ADULT_3, DUO, MemberState.INSIDE)
    return "X1", "passage", with_events({"decision_seq": 1, "passed": False}, undo)


def _fire_alarm(v: Venue) -> tuple[str, str, Body]:
    return "X1", "fire_alarm", {"on": True}


def _allowlist(v: Venue) -> tuple[str, str, Body]:
    return "D1", "allowlist", {"version": 2, "source": "snapshot"}


REAL = [
    _desk_ticket,
    _handheld_band,
    _staff_at_exit,
    _adult_in,
    _child_out_with_adult,
    _adult_steps_out_leaving_children,
    _solo_child_released_by_override,
    _band_learned_from_its_token,
    _exit_window_closes,
    _nobody_went_through,
    _nobody_went_out,
    _adult_temp_exit_not_taken,
    _fire_alarm,
    _allowlist,
]


@pytest.mark.parametrize("made", REAL, ids=[f.__name__.strip("_") for f in REAL])
def test_what_a_real_gate_journals_is_accepted(made: Callable[[Venue], tuple[str, str, Body]]):
    v = Venue()
    gate, kind, body = made(v)
    assert check(v, gate, kind, body) == check(v, gate, kind, body, roster={})


# --- forged entries are refused, each with its reason ------------------------------------------


def _pairing_from_a_handheld(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3)
    body = journalled(v, Scan("H1", Mode.BIND, Kind.BARCODE, DUO))
    return "H1", "decision", with_events(body, PairingOpened("H1", T0, DUO, Mode.EXIT, ADULT_3))


def _override_armed_at_another_gate(v: Venue) -> tuple[str, str, Body]:
    body = journalled(v, badge("H1", Mode.BIND))
    return "H1", "decision", with_events(body, OverrideArmed("X1", T0, STAFF))


def _child_band_bound_as_adult(v: Venue) -> tuple[str, str, Body]:
    journalled(v, Scan("H1", Mode.BIND, Kind.BARCODE, DUO))
    body = journalled(v, nfc("H1", Mode.BIND, CHILD_3))
    body["decision"]["role"] = "adult"
    return "H1", "decision", with_events(body, BandBound("H1", T0, CHILD_3, DUO, Role.ADULT))


def _child_removed_by_a_handheld_expiry(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    moved = MemberMoved("H1", T0, CHILD_3, DUO, MemberState.EXITED)
    return "H1", "expiry", with_events({}, moved)


def _child_removed_by_an_exit_expiry(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    moved = MemberMoved("X1", T0, CHILD_3, DUO, MemberState.EXITED)
    return "X1", "expiry", with_events({}, moved)


def _adult_recalled_by_an_entry_window(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    moved = MemberMoved("E1", T0, ADULT_3, DUO, MemberState.TEMP_OUT)
    return "E1", "expiry", with_events({}, moved)


def _child_recalled_to_temp_out(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    moved = MemberMoved("X1", T0, CHILD_3, DUO, MemberState.TEMP_OUT)
    return "X1", "expiry", with_events({}, moved)


def _lone_child_let_out_with_a_pairing(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    body = journalled(v, nfc("X1", Mode.EXIT, CHILD_3))  # denied: no adult
    body["decision"].update(code="OK_EXIT", message="goodbye")
    moved = MemberMoved("X1", T0, CHILD_3, DUO, MemberState.EXITED)
    opened = PairingOpened("X1", T0, DUO, Mode.EXIT, ADULT_3)
    return "X1", "decision", with_events(body, opened, moved)


def _override_of_a_badge_nobody_holds(v: Venue) -> tuple[str, str, Body]:
    body = journalled(v, badge("X1", Mode.EXIT))
    body["decision"]["value"] = body["scan"]["value"] = "04DEADBEEF"
    return "X1", "decision", with_events(body, OverrideArmed("X1", T0, "04DEADBEEF"))


def _another_band_moved(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3)
    body = journalled(v, nfc("E1", Mode.ENTRY, ADULT_3))
    other = MemberMoved("E1", T0, CHILD_3, DUO, MemberState.INSIDE)
    return "E1", "decision", with_events(body, other, *[])


def _forced_without_an_override(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3)
    body = journalled(v, nfc("E1", Mode.ENTRY, ADULT_3))
    forced = MemberMoved("E1", T0, ADULT_3, DUO, MemberState.INSIDE, True, STAFF)
    return "E1", "decision", with_events(body, forced)


def _denial_that_moves(v: Venue) -> tuple[str, str, Body]:
    body = journalled(v, nfc("E1", Mode.ENTRY, SPARE_1))  # DENY_UNKNOWN
    return (
        "E1",
        "decision",
        with_events(body, MemberMoved("E1", T0, SPARE_1, DUO, MemberState.INSIDE)),
    )


def _entry_gate_letting_out(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3)
    body = journalled(v, nfc("X1", Mode.EXIT, ADULT_3))
    body["scan"]["mode"] = "exit"
    body["decision"]["gate"] = "E1"
    events = [replace(e, gate="E1") for e in v_events(body)]
    return "E1", "decision", with_events(body, *events)


def _desk_moving_members(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3)
    body = journalled(v, Scan("D1", Mode.BIND, Kind.BARCODE, DUO))
    return (
        "D1",
        "decision",
        with_events(body, MemberMoved("D1", T0, ADULT_3, DUO, MemberState.INSIDE)),
    )


def _passage_that_forces(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3)
    undo = MemberMoved("X1", T0, CHILD_3, DUO, MemberState.EXITED, True, STAFF)
    return "X1", "passage", with_events({"decision_seq": 3, "passed": False}, undo)


def _undo_of_a_decision_never_made(v: Venue) -> tuple[str, str, Body]:
    """An exit's password takes a child out of the headcount by 'undoing' a decision that
    does not exist."""
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    undo = MemberMoved("X1", T0, CHILD_3, DUO, MemberState.BOUND)
    return "X1", "passage", with_events({"decision_seq": 99999, "passed": False}, undo)


def _undo_to_exited(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    undo = MemberMoved("X1", T0, CHILD_3, DUO, MemberState.EXITED)
    return "X1", "passage", with_events({"decision_seq": 99999, "passed": False}, undo)


def _entry_undoes_a_child_it_never_let_in(v: Venue) -> tuple[str, str, Body]:
    """An entry's password sends a child back to `bound`, naming the entry of its adult."""
    v.bind(DUO, ADULT_3, CHILD_3)
    journalled(v, nfc("E1", Mode.ENTRY, ADULT_3))  # E1's decision 1: the adult in
    journalled(v, nfc("E1", Mode.ENTRY, CHILD_3))  # 2: the child in
    undo = MemberMoved("E1", T0, CHILD_3, DUO, MemberState.BOUND)
    return "E1", "passage", with_events({"decision_seq": 1, "passed": False}, undo)


def _undo_naming_a_later_decision(v: Venue) -> tuple[str, str, Body]:
    """The passage's own seq is 2: decision 1 only may be named, never one after it."""
    v.bind(DUO, ADULT_3, CHILD_3)
    journalled(v, nfc("E1", Mode.ENTRY, ADULT_3))
    undo = MemberMoved("E1", T0, ADULT_3, DUO, MemberState.BOUND)
    return "E1", "passage", with_events({"decision_seq": 2, "passed": False}, undo)


def _undo_of_a_denial(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    journalled(v, nfc("X1", Mode.EXIT, CHILD_3))  # denied: no adult scanned first
    undo = MemberMoved("X1", T0, CHILD_3, DUO, MemberState.BOUND)
    return "X1", "passage", with_events({"decision_seq": 1, "passed": False}, undo)


def _child_undone_to_temp_out(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3)
    journalled(v, nfc("E1", Mode.ENTRY, CHILD_3))
    undo = MemberMoved("E1", T0, CHILD_3, DUO, MemberState.TEMP_OUT)
    return "E1", "passage", with_events({"decision_seq": 1, "passed": False}, undo)


def _exit_decision_with_480_pairings(v: Venue) -> tuple[str, str, Body]:
    """Each PairingOpened folds in time linear in the pairing's adults: 480 in one entry, and
    a hundred such entries took seconds to fold."""
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    body = journalled(v, nfc("X1", Mode.EXIT, ADULT_3))
    events = v_events(body)
    opened = [e for e in events if isinstance(e, PairingOpened)]
    assert len(opened) == 1
    return "X1", "decision", with_events(body, *events, *opened * 479)


def _fire_alarm_with_events(v: Venue) -> tuple[str, str, Body]:
    v.bind(DUO, ADULT_3, CHILD_3)
    return (
        "X1",
        "fire_alarm",
        with_events({"on": True}, MemberMoved("X1", T0, CHILD_3, DUO, MemberState.EXITED)),
    )


def _unknown_kind(v: Venue) -> tuple[str, str, Body]:
    return "X1", "teleport", {}


def _unexpected_keys(v: Venue) -> tuple[str, str, Body]:
    return "E1", "fire_alarm", {"on": True, "padding": "x"}


def _too_large(v: Venue) -> tuple[str, str, Body]:
    body = journalled(v, badge("X1", Mode.EXIT))
    body["decision"]["message"] = "x" * (MAX_BODY["decision"] + 1)
    return "X1", "decision", body


def _events_that_are_not_events(v: Venue) -> tuple[str, str, Body]:
    return "X1", "expiry", {"events": [{"type": "Teleported", "gate": "X1"}]}


def _not_on_the_roster(v: Venue) -> tuple[str, str, Body]:
    return "Z9", "fire_alarm", {"on": True}


def v_events(body: Body) -> list[Event]:
    from gate.link.codec import events_of

    return events_of(body)


FORGED = [
    (_pairing_from_a_handheld, Reason.ROLE_CANNOT),
    (_override_armed_at_another_gate, Reason.FOREIGN_GATE),
    (_child_band_bound_as_adult, Reason.STOCK_ROLE),
    (_child_removed_by_a_handheld_expiry, Reason.ROLE_CANNOT),
    (_child_removed_by_an_exit_expiry, Reason.KIND_CANNOT),
    (_child_recalled_to_temp_out, Reason.KIND_CANNOT),
    (_adult_recalled_by_an_entry_window, Reason.ROLE_CANNOT),
    (_lone_child_let_out_with_a_pairing, Reason.DECISION_MISMATCH),
    (_override_of_a_badge_nobody_holds, Reason.DECISION_MISMATCH),
    (_another_band_moved, Reason.DECISION_MISMATCH),
    (_forced_without_an_override, Reason.DECISION_MISMATCH),
    (_denial_that_moves, Reason.DECISION_MISMATCH),
    (_entry_gate_letting_out, Reason.ROLE_CANNOT),
    (_desk_moving_members, Reason.ROLE_CANNOT),
    (_passage_that_forces, Reason.KIND_CANNOT),
    (_undo_of_a_decision_never_made, Reason.DECISION_MISMATCH),
    (_undo_to_exited, Reason.KIND_CANNOT),
    (_entry_undoes_a_child_it_never_let_in, Reason.DECISION_MISMATCH),
    (_undo_naming_a_later_decision, Reason.DECISION_MISMATCH),
    (_undo_of_a_denial, Reason.DECISION_MISMATCH),
    (_child_undone_to_temp_out, Reason.DECISION_MISMATCH),
    (_exit_decision_with_480_pairings, Reason.DECISION_MISMATCH),
    (_fire_alarm_with_events, Reason.SCHEMA),
    (_unknown_kind, Reason.SCHEMA),
    (_unexpected_keys, Reason.SCHEMA),
    (_too_large, Reason.SCHEMA),
    (_events_that_are_not_events, Reason.SCHEMA),
    (_not_on_the_roster, Reason.UNKNOWN_GATE),
]


@pytest.mark.parametrize(("made", "reason"), FORGED, ids=[f.__name__.strip("_") for f, _ in FORGED])
def test_a_forged_entry_is_refused_with_its_reason(
    made: Callable[[Venue], tuple[str, str, Body]], reason: Reason
):
    v = Venue()
    gate, kind, body = made(v)
    with pytest.raises(Refused) as refused:
        check(v, gate, kind, body)
    assert refused.value.reason is reason, refused.value


def test_without_a_roster_what_needs_no_role_is_still_checked():
    v = Venue()
    gate, kind, body = _lone_child_let_out_with_a_pairing(v)
    with pytest.raises(Refused) as refused:
        check(v, gate, kind, body, roster={})
    assert refused.value.reason is Reason.DECISION_MISMATCH
    v = Venue().bind(DUO, ADULT_3, CHILD_3)
    recalled = with_events({}, MemberMoved("H1", T0, ADULT_3, DUO, MemberState.TEMP_OUT))
    check(v, "H1", "expiry", recalled, roster={})  # that H1 is a handheld: only a roster says
    with pytest.raises(Refused) as refused:
        check(v, "H1", "expiry", recalled)
    assert refused.value.reason is Reason.ROLE_CANNOT


def test_a_revoked_badge_arms_nothing():
    v = Venue()
    gate, kind, body = _staff_at_exit(v)
    v.revoke(STAFF)
    with pytest.raises(Refused) as refused:
        check(v, gate, kind, body)
    assert refused.value.reason is Reason.DECISION_MISMATCH


def test_a_family_let_in_and_out_by_real_gates_passes_entry_by_entry():
    v = family_inside()
    for uid in (ADULT_1, *[b for b in FAMILY_BANDS if b != ADULT_1]):
        body = journalled(v, nfc("X1", Mode.EXIT, uid))
        assert body["decision"]["code"] == "OK_EXIT", body["decision"]
        check(v, "X1", "decision", body)
    assert CHILD_1 in FAMILY_BANDS and FAMILY in v.state.groups and SOLO not in v.state.groups


@pytest.mark.parametrize(("seq", "refused"), [(2001, False), (100_000, False), (100_001, True)])
def test_a_seq_far_beyond_the_watermark_is_a_jump(seq: int, refused: bool):
    if refused:
        with pytest.raises(Refused) as jumped:
            check_seq(seq, 0, 100_000)
        assert jumped.value.reason is Reason.SEQ_JUMP
    else:
        check_seq(seq, 0, 100_000)


def test_a_whole_day_of_twenty_gates_passes_entry_by_entry_as_the_hub_folds_it():
    """bench.reconcile's day (6 desks, 7 entries, 7 exits, the real rules core per gate, with
    staff overrides, solo children, tokens and closing windows): no entry refused."""
    from bench.reconcile import make_day
    from gate.core import State
    from gate.link.codec import events_of
    from hub.store.records import StoredEntry

    day = make_day(families=150)
    roles = {"bind": "desk", "entry": "entry", "exit": "exit"}
    roster = {gate: roles[sim.mode.value] for gate, sim in day.gates.items()}
    history = sorted(
        (StoredEntry(g, e.seq, e.nonce, e.hlc, e.wall_ms, e.kind, e.body, 0) for g, sim in
         day.gates.items() for e in sim.entries),
        key=lambda e: e.key,
    )  # fmt: skip
    state = State(allowlist=day.allowlist)
    kinds: set[tuple[str, str]] = set()
    held = {(e.gate, e.seq): e for e in history}

    def decision_of(gate: str, seq: int) -> PastDecision | None:
        stored = held.get((gate, seq))
        return None if stored is None else past_decision(stored.kind, stored.body)

    for entry in history:
        knows = Knowledge(state.allowlist, state.members, decision_of)
        events = check_peer_entry(entry.gate, roster, entry.kind, entry.body, knows, seq=entry.seq)
        assert events == events_of(entry.body)
        kinds.add((roster[entry.gate], entry.kind))
        for event in events:
            fold(state, event)
    assert {
        ("desk", "decision"),
        ("entry", "expiry"),
        ("exit", "expiry"),
        ("exit", "passage"),
    } <= kinds


@pytest.mark.parametrize(("ahead_s", "refused"), [(0, False), (299, False), (301, True)])
def test_an_entry_whose_clock_runs_past_the_drift_is_refused_as_clock_ahead(
    ahead_s: int, refused: bool
):
    now_ms = 1_800_000_000_000
    if refused:
        with pytest.raises(Refused) as ahead:
            check_clock(now_ms + ahead_s * 1000, now_ms, 300_000)
        assert ahead.value.reason is Reason.CLOCK_AHEAD
    else:
        check_clock(now_ms + ahead_s * 1000, now_ms, 300_000)


def test_a_desk_binding_stays_accepted_when_the_ticket_was_amended_since():
    """The desk opened the binding with the ticket as it then stood (2 adults, 2 children);
    the hub's allowlist has it amended since: the binding is still the desk's to journal."""
    v = Venue()
    gate, kind, body = _desk_ticket(v)
    opened = v_events(body)[0]
    assert isinstance(opened, BindingOpened)
    ticket = v.state.allowlist.tickets[DUO]
    v.state.allowlist.tickets[DUO] = replace(ticket, children=ticket.children + 1)
    assert check(v, gate, kind, body) == [opened]
    forged = with_events(body, replace(opened, group=FAMILY))  # not the ticket scanned
    with pytest.raises(Refused) as refused:
        check(v, gate, kind, forged)
    assert refused.value.reason is Reason.DECISION_MISMATCH


def test_an_adult_opening_a_pairing_again_is_folded_once():
    from gate.core import State

    state = State()
    opened = PairingOpened("X1", T0, DUO, Mode.EXIT, ADULT_3)
    for at in range(100):
        fold(state, replace(opened, at=later(T0, at)))
    pairing = state.pairings["X1", DUO, Mode.EXIT]
    assert pairing.adults == (ADULT_3,) and pairing.opened_at == later(T0, 99)
