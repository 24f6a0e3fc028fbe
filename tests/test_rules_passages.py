"""The band's passage record in the decisions (`gate.core.passages`), as tables through the core.

Each gate here has its own state: E2 and X2 never heard what E1 and X1 did (cut off from them);
what they know of the band's moves is what the band carries.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    CHILD_1,
    DESK,
    E1,
    E2,
    FAMILY,
    FAMILY_BANDS,
    STAFF,
    T0,
    X1,
    X2,
    Venue,
    family_bound,
    later,
)

from gate.core import (
    BandBound,
    BandPassage,
    BandReissued,
    BandReplaced,
    BandToken,
    Code,
    Intent,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    Role,
    Scan,
    advance,
    decide,
    fold,
    replace_band,
    unbind_band,
)
from gate.core.passages import carried, record_of

ADULT_TOKEN = BandToken(FAMILY, Role.ADULT, T0.date(), T0.date(), 2, 2)
CHILD_TOKEN = replace(ADULT_TOKEN, role=Role.CHILD)
OTHER_GROUP = replace(ADULT_TOKEN, group="T-DUO")  # the band bound again, this gate not told


def band(
    gate: str,
    uid: str,
    passage: BandPassage | None = None,
    intent: Intent = Intent.FINAL,
    tag: bool = True,
) -> Scan:
    mode = Mode.ENTRY if gate.startswith("E") else Mode.EXIT
    token = ADULT_TOKEN if uid.startswith("04A") else CHILD_TOKEN
    return Scan(gate, mode, Kind.NFC, uid, intent, token, tag=tag, passage=passage)


def record(
    counter: int, state: MemberState, gate: str = E1, at: datetime = T0, **flags: bool
) -> BandPassage:
    return BandPassage(counter, gate, state, at, **flags)


def cut_off(venue: Venue) -> Venue:
    """Another gate's view of the venue, from now on hearing nothing of it."""
    return Venue(state=copy.deepcopy(venue.state))


@pytest.mark.parametrize(
    ("carried", "gate", "code", "says"),
    [
        pytest.param(
            record(1, MemberState.INSIDE),
            E2,
            Code.DENY_ALREADY_INSIDE,
            "entered at E1",
            id="let in at E1, then at E2",
        ),
        pytest.param(
            record(2, MemberState.EXITED, X1), X2, Code.DENY_ALREADY_EXITED, "returned", id="left"
        ),
        pytest.param(
            record(2, MemberState.EXITED, X1), E2, Code.DENY_ALREADY_EXITED, "returned", id="back"
        ),
        pytest.param(
            record(2, MemberState.TEMP_OUT, X1), E2, Code.OK_REENTRY, "welcome back", id="temp"
        ),
        pytest.param(
            record(2, MemberState.EXITED, X1, kept=True),
            E2,
            Code.OK_REENTRY,
            "welcome back",
            id="an adult who left ahead of the children comes back for them",
        ),
        pytest.param(None, E2, Code.OK_ENTRY, "welcome", id="no record: as the gate knows"),
    ],
)
def test_a_gate_that_heard_nothing_goes_by_the_bands_newer_record(
    carried: BandPassage | None, gate: str, code: Code, says: str
) -> None:
    venue = family_bound()  # this gate saw the binding, then nothing more
    decision = venue.scan(band(gate, ADULT_1, carried), later(T0, 600))
    assert (decision.code, says in decision.message) == (code, True), decision


def test_a_record_no_newer_than_what_the_gate_heard_changes_nothing() -> None:
    venue = family_bound().admit(ADULT_1)  # counter 0: a test scan wrote nothing
    venue.state.members[ADULT_1] = replace(venue.state.members[ADULT_1], counter=3)
    stale = record(3, MemberState.TEMP_OUT, X1)
    decision = venue.scan(band(E2, ADULT_1, stale), later(T0, 60))
    assert decision.code is Code.DENY_ALREADY_INSIDE


def test_a_test_scan_carries_no_band_and_no_record() -> None:
    venue = family_bound()
    decision = venue.scan(band(E2, ADULT_1, record(1, MemberState.INSIDE), tag=False), T0)
    assert decision.code is Code.OK_ENTRY
    moved = next(e for e in venue.events if isinstance(e, MemberMoved))
    assert moved.counter is None


def test_each_grant_journals_the_next_counter_and_the_state_folds_it() -> None:
    venue = family_bound()
    venue.scan(band(E1, ADULT_1), T0)
    assert venue.state.members[ADULT_1].counter == 1
    venue.scan(band(X1, ADULT_1, record(1, MemberState.INSIDE), Intent.TEMPORARY), later(T0, 5))
    assert venue.state.members[ADULT_1].counter == 2
    ahead = record(7, MemberState.TEMP_OUT, X2)  # moves at gates this one never heard of
    venue.scan(band(E1, ADULT_1, ahead), later(T0, 10))
    assert venue.state.members[ADULT_1].counter == 8


@pytest.mark.parametrize(
    ("gate", "mode"), [(E1, Mode.ENTRY), (X1, Mode.EXIT)], ids=["entry", "exit"]
)
def test_a_band_behind_its_journal_is_refused_as_copied_or_rolled_back(
    gate: str, mode: Mode
) -> None:
    venue = family_bound()
    venue.admit(ADULT_1)
    venue.state.members[ADULT_1] = replace(venue.state.members[ADULT_1], counter=4)
    venue.badge(gate, later(T0, 1), mode)  # an armed override does not let it through
    decision = venue.scan(band(gate, ADULT_1, record(3, MemberState.INSIDE)), later(T0, 2))
    assert decision.code is Code.DENY_BAD_TOKEN
    assert "band copied or rolled back" in decision.message
    assert venue.events == []
    blank = venue.scan(band(gate, ADULT_1, None), later(T0, 3))  # a copy made before any
    assert blank.code is Code.DENY_BAD_TOKEN and "rolled back" in blank.message


def test_a_childs_record_says_whether_an_adult_of_its_group_let_it_in() -> None:
    venue = family_bound().admit(ADULT_1)
    state = venue.state
    scan = band(E1, CHILD_1)
    decision, events = decide(state, scan, later(T0, 5), venue.policy)
    assert decision.code is Code.OK_ENTRY
    written = record_of(state, scan, events)
    assert written is not None and written.with_adult and written.state is MemberState.INSIDE
    assert (written.counter, written.gate) == (1, E1)


def test_a_child_let_in_by_an_override_is_recorded_as_alone() -> None:
    venue = family_bound()
    venue.badge(E1, T0, Mode.ENTRY)
    scan = band(E1, CHILD_1)
    decision, events = decide(venue.state, scan, later(T0, 1), venue.policy)
    assert decision.code is Code.OK_OVERRIDE
    written = record_of(venue.state, scan, events)
    assert written is not None and not written.with_adult


def test_an_adult_leaving_ahead_of_the_children_keeps_a_band_that_says_so() -> None:
    venue = family_bound().admit(*FAMILY_BANDS)
    scan = band(X1, ADULT_1, None)
    decision, events = decide(venue.state, scan, later(T0, 60), venue.policy)
    assert decision.code is Code.OK_EXIT
    written = record_of(venue.state, scan, events)
    assert written is not None and written.kept and written.state is MemberState.EXITED


def test_a_move_without_a_counter_keeps_the_one_folded() -> None:
    venue = family_bound()
    venue.scan(band(E1, ADULT_1), T0)
    fold(venue.state, MemberMoved(X1, later(T0, 1), ADULT_1, FAMILY, MemberState.TEMP_OUT))
    assert venue.state.members[ADULT_1].counter == 1
    late = MemberMoved(E2, later(T0, 2), ADULT_1, FAMILY, MemberState.INSIDE, counter=0)
    fold(venue.state, late)
    assert venue.state.members[ADULT_1].counter == 1


def pass_with_record(
    venue: Venue, scan: Scan, now: datetime, heard_by: Venue | None = None
) -> BandPassage | None:
    """`scan` granted at `venue`'s gate, its events folded there (and at `heard_by`); the
    record it writes."""
    decision, events = decide(venue.state, scan, now, venue.policy)
    assert decision.granted, decision
    written = record_of(venue.state, scan, events)
    for event in events:
        fold(venue.state, event)
        if heard_by is not None:
            fold(heard_by.state, event)
    return written


@pytest.mark.parametrize(
    ("gate", "code", "says"),
    [
        pytest.param(X1, Code.DENY_NOT_INSIDE, "left for good at X2", id="out again: refused"),
        pytest.param(E2, Code.OK_REENTRY, "welcome back", id="in for the child: let in"),
    ],
)
def test_a_band_that_left_for_good_is_not_let_out_again_by_a_gate_cut_off_after_its_recall(
    gate: str, code: Code, says: str
) -> None:
    """A day of the partitioned days' property test: X2, cut off once the adult was in, lets the
    adult out for good knowing of no child inside (the band says exited, not kept); once healed,
    X2's window closes on the child let in meanwhile and recalls the adult out for a while. A gate
    cut off from then on holds the adult out at the band's own counter: no entry since, so it is
    not let out again as a band that may have come in elsewhere, but comes back for the child."""
    venue = family_bound()
    carried = pass_with_record(venue, band(E1, ADULT_1), T0)
    x2 = cut_off(venue)
    pass_with_record(venue, band(E1, CHILD_1), later(T0, 5))  # within the adult's window
    left = pass_with_record(x2, band(X2, ADULT_1, carried), later(T0, 30), heard_by=venue)
    assert left is not None
    assert (left.counter, left.state, left.kept) == (2, MemberState.EXITED, False)
    for event in advance(venue.state, later(T0, 200), venue.policy, X2):  # healed: X2's window
        fold(venue.state, event)
    recalled = venue.state.members[ADULT_1]
    assert (recalled.state, recalled.counter) == (MemberState.TEMP_OUT, 2)
    offline = replace(band(gate, ADULT_1, left), offline=True)  # cut off again
    decision = venue.scan(offline, later(T0, 260))
    assert (decision.code, says in decision.message) == (code, True), decision


def test_a_partition_lets_no_family_in_twice_through_the_other_entry() -> None:
    """The scenario of the chaos campaign's partitions: the family enters at E1; E2, cut off,
    sees them at its gate next and refuses each band by what it carries."""
    e1 = family_bound()
    e2 = cut_off(e1)
    carried: dict[str, BandPassage | None] = dict.fromkeys(FAMILY_BANDS)
    for i, uid in enumerate(FAMILY_BANDS):
        scan = band(E1, uid, carried[uid])
        decision, events = decide(e1.state, scan, later(T0, i), e1.policy)
        assert decision.granted, decision
        carried[uid] = record_of(e1.state, scan, events)
        for event in events:
            fold(e1.state, event)
    for i, uid in enumerate(FAMILY_BANDS):
        decision = e2.scan(band(E2, uid, carried[uid]), later(T0, 30 + i))
        assert decision.code is Code.DENY_ALREADY_INSIDE, (uid, decision)
    assert e2.state.inside == 0


def test_a_band_replaced_at_the_desk_starts_from_no_passage_and_a_reissued_one_keeps_its_own() -> (
    None
):

    venue = family_bound()
    venue.scan(band(E1, ADULT_1), T0)
    venue.scan(band(E1, CHILD_1, None), later(T0, 1))
    assert venue.state.members[CHILD_1].counter == 1
    fold(venue.state, BandReplaced("D1", later(T0, 2), CHILD_1, "04C1FFFF", FAMILY, STAFF))
    assert venue.state.members["04C1FFFF"].counter == 0
    fresh = replace(band(X1, "04C1FFFF"), token=CHILD_TOKEN)
    assert venue.scan(fresh, later(T0, 3)).code is not Code.DENY_BAD_TOKEN

    venue.scan(band(X1, ADULT_1, record(1, MemberState.INSIDE)), later(T0, 4))
    assert venue.state.members[ADULT_1].counter == 2
    venue.state.members[ADULT_1] = replace(venue.state.members[ADULT_1], state=MemberState.EXITED)
    fold(
        venue.state, BandReissued("D1", later(T0, 5), ADULT_1, FAMILY, MemberState.TEMP_OUT, STAFF)
    )
    assert venue.state.members[ADULT_1].counter == 2


def test_a_band_bound_again_to_another_group_is_not_judged_by_that_bindings_counter() -> None:
    venue = family_bound()
    venue.state.members[ADULT_1] = replace(venue.state.members[ADULT_1], counter=5)
    elsewhere = replace(band(E2, ADULT_1, record(1, MemberState.INSIDE)), token=OTHER_GROUP)
    decision = venue.scan(elsewhere, T0)
    assert "rolled back" not in decision.message and decision.code is Code.OK_ENTRY, decision


@pytest.mark.parametrize("heard_the_entry", [True, False], ids=["E1", "E2-cut-off-from-E1"])
def test_a_band_unbound_after_entry_and_bound_again_to_the_family_enters_again(
    heard_the_entry: bool,
) -> None:
    """The child's band bound as an adult's, let in at E1, unbound and bound again to the same
    family: the record it carries (counter 1, inside) is of the earlier binding and speaks for
    nothing of the new member, who starts from it (`BandBound.carried`), at E1 and at an entry
    gate that heard the desk but never E1's grant."""
    venue = family_bound()
    e2 = cut_off(venue)
    on_band = record(1, MemberState.INSIDE, at=later(T0, 1))
    venue.scan(band(E1, ADULT_1), T0)
    assert venue.scan(band(E1, CHILD_1), later(T0, 1)).code is Code.OK_ENTRY
    venue.badge(DESK, later(T0, 10), Mode.BIND)
    decision, events = unbind_band(venue.state, DESK, later(T0, 11), venue.policy, CHILD_1, STAFF)
    assert decision.code is Code.OK_CORRECTED, decision
    for event in events:
        fold(venue.state, event)
    at_desk = replace(band(E1, CHILD_1, on_band), gate=DESK, mode=Mode.BIND)
    assert venue.scan(at_desk, later(T0, 12)).code is Code.OK_BIND
    bound = venue.events[0]
    assert isinstance(bound, BandBound) and bound.carried == 1
    assert venue.state.members[CHILD_1].counter == 1
    assert venue.state.members[CHILD_1].state is MemberState.BOUND
    gate = venue if heard_the_entry else e2
    if not heard_the_entry:  # E2 hears the desk's unbinding and binding, not E1's entries
        for event in (*events, bound):
            fold(e2.state, event)
        assert e2.scan(band(E2, ADULT_1), later(T0, 19)).code is Code.OK_ENTRY

    decision = gate.scan(band(E2, CHILD_1, on_band), later(T0, 20))
    assert decision.code is Code.OK_ENTRY, decision
    assert gate.state.members[CHILD_1].counter == 2
    # a copy of the band made before this entry is behind the binding's record: still caught
    copied = gate.scan(band(X1, CHILD_1, on_band), later(T0, 30))
    assert copied.code is Code.DENY_BAD_TOKEN and "rolled back" in copied.message, copied


def test_a_band_bound_again_to_another_family_carries_nothing_over() -> None:
    at_desk = Scan(DESK, Mode.BIND, Kind.NFC, "04C2FFFF", token=OTHER_GROUP, tag=True)
    at_desk = replace(at_desk, passage=record(4, MemberState.INSIDE))
    assert carried(at_desk, FAMILY) == 0
    assert carried(at_desk, "T-DUO") == 4
    assert carried(replace(at_desk, tag=False), "T-DUO") == 0


def test_a_returned_band_given_to_its_family_again_is_judged_by_this_binding() -> None:
    """The adult's band, returned at a final exit (its record: exited, counter 2), is given out
    again at the desk to replace the other adult's lost band, inside: the replacement starts
    from that counter (`BandReplaced.carried`), so the old record does not say it left."""
    venue = family_bound()
    exited = record(2, MemberState.EXITED, gate=X1, at=later(T0, 5))
    venue.scan(band(E1, ADULT_1), T0)
    venue.scan(band(E1, ADULT_2), later(T0, 1))
    assert venue.scan(band(X1, ADULT_1, record(1, MemberState.INSIDE)), later(T0, 5)).granted
    assert venue.state.members[ADULT_1].state is MemberState.EXITED
    venue.badge(DESK, later(T0, 10), Mode.BIND)
    decision, events = replace_band(
        venue.state, DESK, later(T0, 11), venue.policy, ADULT_2, ADULT_1, STAFF
    )
    assert decision.code is Code.OK_CORRECTED, decision
    assert isinstance(events[0], BandReplaced) and events[0].carried == 2
    for event in events:
        fold(venue.state, event)
    assert venue.state.members[ADULT_1].state is MemberState.INSIDE
    out = venue.scan(band(X1, ADULT_1, exited), later(T0, 20))
    assert out.code is Code.OK_EXIT, out
    assert venue.state.members[ADULT_1].counter == 3


def test_a_window_recall_never_overwrites_a_passage_its_gate_did_not_know_of() -> None:
    """A day of the dense partitioned days: the adult leaves for good at X1 ahead of the child
    (its band kept: exited, counter 2) and comes back in at E2 within the window, E2 and X1 cut
    off from each other. X1's window closes on the child with no adult it knows of inside and
    recalls the adult out for a while, from counter 2. Once healed, every state folds the day in
    time order, the recall after E2's entry: the band is inside at counter 3, and the recall, of
    a passage the band has moved on from, leaves it there and flags no child alone."""
    base = family_bound()
    pass_with_record(base, band(E1, ADULT_1), T0)
    pass_with_record(base, band(E1, CHILD_1), later(T0, 5))
    healed, x1, e2 = cut_off(base), cut_off(base), cut_off(base)
    inside = record(1, MemberState.INSIDE)
    left = pass_with_record(x1, band(X1, ADULT_1, inside), later(T0, 100), heard_by=healed)
    assert left is not None and (left.counter, left.kept) == (2, True)
    back = pass_with_record(e2, band(E2, ADULT_1, left), later(T0, 110), heard_by=healed)
    assert back is not None and (back.counter, back.state) == (3, MemberState.INSIDE)
    recall = advance(x1.state, later(T0, 170), x1.policy, X1)
    (recalled,) = [e for e in recall if isinstance(e, MemberMoved)]
    assert (recalled.state, recalled.recalled_from) == (MemberState.TEMP_OUT, 2)
    assert x1.state.members[ADULT_1].state is MemberState.TEMP_OUT  # as X1 knows it, cut off

    for event in recall:  # healed: the day in time order, at the hub and at each gate
        fold(healed.state, event)
    adult = healed.state.members[ADULT_1]
    assert (adult.state, adult.counter, healed.state.inside) == (MemberState.INSIDE, 3, 2)
    assert not healed.state.groups[FAMILY].unaccompanied
    out = healed.scan(band(X2, ADULT_1, back), later(T0, 200))
    assert out.code is Code.OK_EXIT, out
