"""The gate's ledger folds other gates' entries as they come, late ones included (a gate back
from an outage), and must hold, after every batch, the state that folding everything it was told
in hybrid-clock order gives: with a window of any size, an entry older than the whole window,
and after a restart from what its stores kept. Random days from the rules' property tests,
delivered in a random order through real journal and presence files.
"""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_properties import ALLOWLIST, POLICY, START, Move, days, decide_or_join, desk_morning

from gate.core import Event, State, advance, fold
from gate.core.hlc import Timestamp
from gate.daemon import ledger as ledger_module
from gate.daemon.ledger import Ledger
from gate.link.codec import event_to_dict
from gate.store.journal import Journal
from gate.store.presence import PresenceLog

Entry = tuple[str, list[Event]]


def day_entries(moves: Move) -> list[Entry]:
    """The entries gates would journal over the day: each decision's events, each expiry's."""
    state = State(allowlist=copy.deepcopy(ALLOWLIST))
    now, entries = START, []
    for jump, scan in desk_morning() + moves:
        now += jump
        if expired := advance(state, now, POLICY):
            entries.append(expired)
        _, events = decide_or_join(state, scan, now)
        for event in events:
            fold(state, event)
        if events:
            entries.append(events)
    first = int(START.timestamp() * 1000)
    return [(str(Timestamp(first + 10 * i, 0)), events) for i, events in enumerate(entries)]


def folded_in_order(entries: list[Entry]) -> State:
    """From scratch, in clock order; an event naming what has not arrived yet (a binding still
    on its way) is skipped, as a gate skips it."""
    state = State(allowlist=ALLOWLIST)
    for _, events in sorted(entries, key=lambda entry: entry[0]):
        for event in events:
            try:
                fold(state, event)
            except (KeyError, ValueError):
                continue
    return state


def tables(state: State) -> tuple[object, ...]:
    return (
        state.members,
        state.groups,
        state.bindings,
        state.pairings,
        state.overrides,
        state.inside,
        state.families,
        state.vouchers_used,
    )


def deliver(ledger: Ledger, presence: PresenceLog, batch: list[tuple[int, Entry]]) -> None:
    """What the gate's follower does with one batch of a peer's entries."""
    late = False
    for seq, (hlc, events) in batch:
        assert presence.add("E9", seq, hlc, {"events": [event_to_dict(e) for e in events]})
        late = late or hlc < ledger.newest_hlc
        if late:
            ledger.late(hlc, events)
            continue
        try:
            ledger.follow(hlc, events)
        except (KeyError, ValueError):
            late = True
    if late:
        ledger.refold()


@pytest.mark.parametrize("window", [2, 5, 2048])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moves=days, delays=st.lists(st.integers(0, 12), max_size=200), cuts=st.data())
def test_late_entries_leave_the_state_folded_in_clock_order(
    window: int, moves: Move, delays: list[int], cuts: st.DataObject
) -> None:
    entries = day_entries(moves)
    # Each entry arrives some places after its turn (most at once): late ones come behind newer.
    delay = [delays[i] if i < len(delays) else 0 for i in range(len(entries))]
    order = sorted(range(len(entries)), key=lambda i: (i + delay[i], i))
    before = ledger_module.WINDOW
    ledger_module.WINDOW = window
    try:
        with tempfile.TemporaryDirectory() as tmp:
            journal = Journal(Path(tmp) / "journal.db", "X1")
            presence = PresenceLog(Path(tmp) / "presence.db")
            ledger = Ledger(journal, presence, ALLOWLIST)
            ledger.rebuild()
            delivered: list[Entry] = []
            while order:
                size = cuts.draw(st.integers(1, 6))
                batch, order = order[:size], order[size:]
                deliver(ledger, presence, [(i + 1, entries[i]) for i in batch])
                delivered += [entries[i] for i in batch]
                assert tables(ledger.state) == tables(folded_in_order(delivered))
            restarted = Ledger(journal, presence, ALLOWLIST)
            restarted.rebuild()
            assert tables(restarted.state) == tables(ledger.state)
            journal.close()
            presence.close()
    finally:
        ledger_module.WINDOW = before


def test_an_entry_older_than_the_window_reads_the_day_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A window of 2 over 8 in-order entries, then the first entry's twin arrives late: the
    ledger cannot place it in memory and reads its stores again (the log says so)."""
    entries = day_entries([])
    journal = Journal(tmp_path / "journal.db", "X1")
    presence = PresenceLog(tmp_path / "presence.db")
    before = ledger_module.WINDOW
    ledger_module.WINDOW = 2
    try:
        ledger = Ledger(journal, presence, ALLOWLIST)
        ledger.rebuild()
        held_back, rest = entries[1], entries[:1] + entries[2:]
        deliver(ledger, presence, [(i + 1, e) for i, e in enumerate(rest)])
        assert len(ledger._window) < len(rest)  # the base holds the older ones
        caplog.clear()
        caplog.set_level(logging.INFO, logger="gate")
        deliver(ledger, presence, [(99, held_back)])
        assert "reading the day again" in caplog.text
        assert tables(ledger.state) == tables(folded_in_order(entries))
    finally:
        ledger_module.WINDOW = before
