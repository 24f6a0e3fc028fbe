"""Head office's store of one venue (hq/store/venue.py): a batch stored once whatever is
delivered again or resent, the contiguous prefix acknowledged, a gap waiting for its resend,
another entry under a number already kept refused, and all of it across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from hq.store.venue import VenueStore, venues_in
from hub.chain.wire import ChainEntry, EntryBatch, Summary


def entry(n: int, gate: str = "E1", nonce: str | None = None) -> ChainEntry:
    return ChainEntry(
        gate=gate,
        seq=n,
        nonce=nonce or f"nonce{n:05d}",
        hlc=f"{0x18C000000000 + n:016x}",
        wall_ms=1_784_000_000_000 + n,
        kind="passage",
        body={"n": n},
        received_ms=1_784_000_000_100 + n,
    )


def batch(first: int, last: int, venue: str = "V1", **kw: str) -> EntryBatch:
    return EntryBatch(
        venue=venue,
        first=first,
        last=last,
        entries=tuple(entry(n, **kw) for n in range(first, last + 1)),
    )


def test_a_batch_delivered_twice_is_stored_once(tmp_path: Path) -> None:
    with VenueStore(tmp_path, "V1") as store:
        first = store.add(batch(1, 3), now_ms=1)
        again = store.add(batch(1, 3), now_ms=2)
        assert (first.new, first.upto, len(first.stored)) == (3, 3, 3)
        assert (again.new, again.duplicates, again.upto, again.stored) == (0, 3, 3, ())
        assert store.events.counts().entries == 3
        assert [k for k in store.entry_keys()] == [(1, "E1", 1), (2, "E1", 2), (3, "E1", 3)]


def test_a_gap_holds_the_acknowledgement_until_the_resend_fills_it(tmp_path: Path) -> None:
    with VenueStore(tmp_path, "V1") as store:
        assert store.add(batch(1, 2), now_ms=1).upto == 2
        assert store.add(batch(5, 6), now_ms=2).upto == 2  # 3..4 lost on the way
        assert store.counts().highest == 6
        assert store.add(batch(3, 4), now_ms=3).upto == 6
        assert store.add(batch(2, 5), now_ms=4).duplicates == 4  # a resend from the watermark


def test_another_entry_under_a_number_already_kept_is_a_conflict_and_not_stored(
    tmp_path: Path,
) -> None:
    with VenueStore(tmp_path, "V1") as store:
        store.add(batch(1, 2), now_ms=1)
        outcome = store.add(batch(2, 3, nonce="replaced-store"), now_ms=2)
        assert (outcome.new, outcome.conflicts, outcome.upto) == (1, 1, 3)
        assert store.events.get("E1", 2).nonce == "nonce00002"
        assert store.counts().conflicts == 1


def test_another_venues_batch_is_refused(tmp_path: Path) -> None:
    with VenueStore(tmp_path, "V1") as store, pytest.raises(ValueError, match="V2"):
        store.add(batch(1, 1, venue="V2"), now_ms=1)


def test_what_is_stored_survives_a_restart_and_each_venue_has_its_file(tmp_path: Path) -> None:
    with VenueStore(tmp_path, "V1") as store:
        store.add(batch(1, 4), now_ms=1)
        store.add(batch(6, 6), now_ms=1)
    with VenueStore(tmp_path, "V2") as other:
        other.add(batch(1, 1, venue="V2"), now_ms=1)
    with VenueStore(tmp_path, "V1") as store:
        counts = store.counts()
        assert (counts.upto, counts.highest, counts.stored, counts.batches) == (4, 6, 5, 2)
        assert store.add(batch(5, 5), now_ms=2).upto == 6
    assert venues_in(tmp_path) == ["V1", "V2"]
    assert sorted(p.name for p in (tmp_path / "venues").glob("*.db")) == ["V1.db", "V2.db"]


def test_the_latest_summary_is_kept_and_a_late_older_one_ignored(tmp_path: Path) -> None:
    def summary(at_ms: int, inside: int) -> Summary:
        return Summary(
            venue="V1",
            at_ms=at_ms,
            day="2026-07-14",
            inside=inside,
            children=0,
            unaccompanied_children=0,
            live=True,
            entries=0,
            acked=0,
        )

    with VenueStore(tmp_path, "V1") as store:
        store.set_summary(summary(2000, 7), now_ms=1)
        store.set_summary(summary(1000, 3), now_ms=2)
        assert store.counts().summary["inside"] == 7
