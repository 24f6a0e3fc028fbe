"""What the gate does with a band's passage record (`gate.daemon.passages`): an entry stands once
its record is on the band, an exit stands whatever the write did, and a record this gate wrote
without reading it back is not taken for a passage."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from band_model import KEYS, Band
from rules_helpers import ADULT_1, E1, FAMILY_BANDS, T0, X1, family_bound, later
from test_authority import check, journalled

from gate.core import Code, Intent, Kind, MemberMoved, MemberState, Mode, Scan, decide, fold
from gate.core.authority import Refused
from gate.core.model import BandToken, Role
from gate.daemon.passages import PassageRecords
from gate.devices.nfc.passage import SLOT_PAGES
from gate.devices.nfc.reader import TagRead
from gate.link.codec import event_to_dict

TOKEN = BandToken("T-FAMILY", Role.ADULT, T0.date(), T0.date(), 2, 2)


class Tap:
    """One gate's records, a venue seen by that gate, and what it counted."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.records = PassageRecords(KEYS, lambda name: self.counts.update([name]))
        self.venue = family_bound()

    def __call__(self, gate: str, band: Band, tear: int | None = None, room: bool = True) -> tuple:
        read = TagRead(band.uid, TOKEN, None, "NXP NTAG213", band, None, band.slots())
        mode = Mode.ENTRY if gate == E1 else Mode.EXIT
        scan = Scan(
            gate, mode, Kind.NFC, band.uid, token=TOKEN, tag=True, passage=self.records.of(read)
        )
        now = later(T0, len(self.counts))
        decision, events = decide(self.venue.state, scan, now, self.venue.policy)
        band.tear = tear
        slots = read.slots if room else None
        decision, events = self.records.write(decision, events, scan, self.venue.state, band, slots)
        for event in events:
            fold(self.venue.state, event)
        band.tear = None
        return decision, events


def moved(events: list) -> MemberMoved:
    return next(e for e in events if isinstance(e, MemberMoved))


def test_an_entry_stands_once_its_record_is_on_the_band() -> None:
    tap, band = Tap(), Band(ADULT_1)
    decision, events = tap(E1, band)
    assert decision.code is Code.OK_ENTRY and moved(events).counter == 1
    assert band.slots().newest is not None and band.slots().newest.counter == 1
    assert tap.counts["passage_written"] == 1


@pytest.mark.parametrize("tear", range(SLOT_PAGES + 1))
def test_an_entry_whose_record_was_not_written_is_refused_and_changes_nothing(tear: int) -> None:
    tap, band = Tap(), Band(ADULT_1)
    decision, events = tap(E1, band, tear=tear)
    assert decision.code is Code.DENY_BAD_TOKEN and "hold the band still" in decision.message
    assert events == [] and tap.venue.state.inside == 0
    again, events = tap(E1, band)  # held still this time: in, and not taken for a second entry
    assert again.code is Code.OK_ENTRY, again
    assert band.slots().newest is not None and band.slots().newest.counter == 1


@pytest.mark.parametrize("tear", range(SLOT_PAGES + 1))
def test_an_exit_stands_whatever_the_write_did_and_journals_no_counter(tear: int) -> None:
    tap, band = Tap(), Band(ADULT_1)
    tap(E1, band)
    decision, events = tap(X1, band, tear=tear)
    assert decision.code is Code.OK_EXIT
    assert moved(events).counter is None
    assert tap.venue.state.members[ADULT_1].counter == 1
    assert tap.counts["passage_write_failed"] == 1
    on_band = band.slots().newest
    assert on_band is not None and on_band.counter == (2 if tear == SLOT_PAGES else 1)


def test_a_band_with_no_room_for_a_record_passes_without_one() -> None:
    tap, band = Tap(), Band(ADULT_1)
    decision, events = tap(E1, band, room=False)
    assert decision.code is Code.OK_ENTRY and moved(events).counter is None
    assert tap.counts["passage_no_room"] == 1 and band.slots().newest is None


def test_every_band_of_a_family_carries_its_own_counter() -> None:
    tap = Tap()
    for uid in FAMILY_BANDS:
        band = Band(uid)
        decision, _ = tap(E1, band)
        assert decision.granted, decision
        assert band.slots().newest is not None and band.slots().newest.counter == 1


# --- what a peer gate may say of a counter ----------------------------------------------------


def _entry_of(uid: str, counter: int | None) -> tuple[Any, dict[str, Any]]:
    """An entry gate's decision letting `uid` in from its token, with the counter given."""
    venue = family_bound()
    scan = Scan(E1, Mode.ENTRY, Kind.NFC, uid, Intent.FINAL, TOKEN, tag=True)
    body = journalled(venue, scan)
    for event in body["events"]:
        if event["type"] == "MemberMoved":
            event["counter"] = counter
    return venue, body


def test_a_peer_decision_with_its_counter_is_accepted() -> None:
    venue, body = _entry_of(ADULT_1, 1)
    (moved,) = [e for e in check(venue, E1, "decision", body) if isinstance(e, MemberMoved)]
    assert moved.counter == 1


@pytest.mark.parametrize("counter", [0, -1, 1 << 32])
def test_a_peer_counter_a_band_cannot_hold_is_refused(counter: int) -> None:
    venue, body = _entry_of(ADULT_1, counter)
    with pytest.raises(Refused, match="passage counter"):
        check(venue, E1, "decision", body)


def test_an_expiry_writes_no_counter() -> None:
    venue = family_bound()
    recalled = MemberMoved(X1, T0, ADULT_1, "T-FAMILY", MemberState.TEMP_OUT, counter=3)
    with pytest.raises(Refused, match="writes no passage counter"):
        check(venue, X1, "expiry", {"events": [event_to_dict(recalled)]})


def test_a_recall_names_its_passage_in_an_expiry_only_and_as_a_band_could_hold_it() -> None:
    venue = family_bound()
    recalled = MemberMoved(X1, T0, ADULT_1, "T-FAMILY", MemberState.TEMP_OUT, recalled_from=2)
    (taken,) = check(venue, X1, "expiry", {"events": [event_to_dict(recalled)]})
    assert taken == recalled
    venue, body = _entry_of(ADULT_1, 1)
    for event in body["events"]:
        if event["type"] == "MemberMoved":
            event["recalled_from"] = 0
    with pytest.raises(Refused, match="a decision entry recalls nobody"):
        check(venue, E1, "decision", body)
    beyond = {"events": [event_to_dict(recalled) | {"recalled_from": 1 << 32}]}
    with pytest.raises(Refused, match="recall from 4294967296 out of range"):
        check(family_bound(), X1, "expiry", beyond)
