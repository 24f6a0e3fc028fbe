"""The wire between a venue's hub and head office (hub/chain/wire.py): what is refused, and why."""

from __future__ import annotations

import json

import pytest

from hub.chain.wire import (
    MAX_BATCH_ENTRIES,
    Ack,
    ChainEntry,
    ChainTopics,
    EntryBatch,
    ProtocolError,
    check_venue,
    dump,
    read_ack,
    read_batch,
    subject_of,
    venue_of_subject,
)


def entry(seq: int = 1, gate: str = "E1") -> ChainEntry:
    return ChainEntry(
        gate=gate,
        seq=seq,
        nonce=f"n{seq:07d}",
        hlc="0000018c00000000",
        wall_ms=1_700_000_000_000,
        kind="passage",
        body={"band": "B1", "direction": "in"},
        received_ms=1_700_000_000_100,
    )


def batch_payload(first: int = 1, n: int = 2, venue: str = "V1") -> dict:
    b = EntryBatch(
        venue=venue,
        first=first,
        last=first + n - 1,
        entries=tuple(entry(i) for i in range(1, n + 1)),
    )
    return json.loads(b.dump())


def test_a_batch_travels_with_from_and_to_and_reads_back_the_same() -> None:
    payload = batch_payload(first=7, n=3)
    assert (payload["from"], payload["to"]) == (7, 9)
    batch = read_batch(json.dumps(payload).encode(), "V1")
    assert [n for n, _ in batch.numbered()] == [7, 8, 9]
    assert batch.entries[0].body == {"band": "B1", "direction": "in"}


def test_a_batch_whose_numbers_do_not_add_up_is_refused() -> None:
    payload = batch_payload(n=2)
    payload["to"] = 5
    with pytest.raises(ProtocolError, match="holds 2"):
        read_batch(json.dumps(payload).encode())


def test_a_batch_of_another_venue_than_its_topic_is_refused() -> None:
    with pytest.raises(ProtocolError, match="V2"):
        read_batch(json.dumps(batch_payload(venue="V2")).encode(), "V1")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"v": 2}, "version"),
        ({"venue": "V1.x"}, "venue"),
        ({"from": 0}, "from"),
        ({"entries": []}, "entries"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_foreign_batch_is_refused_with_the_field(change: dict, reason: str) -> None:
    payload = {**batch_payload(), **change}
    with pytest.raises(ProtocolError, match=reason):
        read_batch(json.dumps(payload).encode())


def test_an_entry_with_a_bad_gate_or_clock_is_refused() -> None:
    payload = batch_payload(n=1)
    payload["entries"][0]["hlc"] = "not-a-clock"
    with pytest.raises(ProtocolError, match="hlc"):
        read_batch(json.dumps(payload).encode())


def test_too_many_entries_or_bytes_are_refused() -> None:
    payload = batch_payload(n=MAX_BATCH_ENTRIES)
    payload["entries"].append(payload["entries"][-1])
    payload["to"] += 1
    with pytest.raises(ProtocolError, match="entries"):
        read_batch(json.dumps(payload).encode())
    with pytest.raises(ProtocolError, match="bytes"):
        read_batch(b" " * (2 * 1024 * 1024))
    with pytest.raises(ProtocolError, match="JSON"):
        read_batch(b"\xff\xfe")


def test_the_ack_names_its_venue() -> None:
    assert json.loads(dump(Ack(venue="V1", upto=4))) == {"v": 1, "venue": "V1", "upto": 4}
    with pytest.raises(ProtocolError):
        read_ack(dump(Ack(venue="V1", upto=4)), "V3")


def test_topics_at_the_venue_and_at_head_office() -> None:
    assert ChainTopics("wristgate/v1").entries("V1") == "wristgate/v1/hq/venue/V1/entries"
    assert ChainTopics().ack("V1") == "hq/ack/V1"
    assert subject_of(ChainTopics().summary("V2")) == "hq.venue.V2.summary"
    assert venue_of_subject("hq.venue.V2.summary") == ("V2", "summary")


@pytest.mark.parametrize(
    "subject", ["hq.venue.V1", "hq.venue.V1.other", "hq.ack.V1", "hq.venue.-x.entries"]
)
def test_a_subject_outside_the_chain_is_refused(subject: str) -> None:
    with pytest.raises(ProtocolError):
        venue_of_subject(subject)


@pytest.mark.parametrize("venue", ["", "a.b", "a/b", "a+b", "a#", "x" * 33, "-a", "a b"])
def test_a_venue_id_is_one_topic_level_and_one_subject_token(venue: str) -> None:
    with pytest.raises(ValueError):
        check_venue(venue)
