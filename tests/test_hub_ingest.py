"""The hub's ingest, called as the hub's MQTT loop calls it: `on_message(topic, payload)`.

Batches are built from the real gate journal (`gate.journal.Journal`) and the real protocol
models; what the hub publishes is captured and read back with the same models.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.journal import Journal
from gate.protocol import (
    MAX_BATCH,
    MAX_PAYLOAD,
    Ack,
    Entry,
    EventBatch,
    GateStatus,
    Replay,
    Topics,
    dump,
    parse,
)
from hub.ingest import Ingest
from hub.store import EventStore, StoredEntry

JULY_2026 = 1_784_000_000_000
TOPICS = Topics("venue/v1")


class Clock:
    def __init__(self) -> None:
        self.ms = JULY_2026

    def __call__(self) -> int:
        return self.ms


class Hub:
    """An ingest over a real store, with what it publishes and hands on captured."""

    def __init__(self, path: Path, hub_version: int | None = 4) -> None:
        self.clock = Clock()
        self.store = EventStore(path)
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.handed_on: list[StoredEntry] = []
        self.ingest = Ingest(
            self.store,
            TOPICS,
            lambda *message: self.published.append(message),  # type: ignore[arg-type]
            self.clock,
            on_stored=self.handed_on.extend,
            allowlist_version=lambda: hub_version,
        )

    def send(self, gate: str, entries: list[Entry], topic_gate: str | None = None) -> None:
        payload = dump(EventBatch(gate=gate, entries=entries))
        self.ingest.on_message(TOPICS.events(topic_gate or gate), payload)

    def acks(self, gate: str) -> list[int]:
        return [parse(Ack, p).seq for t, p, _, _ in self.published if t == TOPICS.ack(gate)]

    def replays(self, gate: str) -> list[int]:
        return [parse(Replay, p).after for t, p, _, _ in self.published if t == TOPICS.replay(gate)]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(tmp_path / "events.db")
    yield h
    h.store.close()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    clock = [JULY_2026]

    def wall() -> int:
        clock[0] += 1000
        return clock[0]

    with Journal(tmp_path / "E1.db", "E1", wall=wall) as j:
        yield j


def wire(journal: Journal, n: int) -> list[Entry]:
    """Append `n` entries to the gate's journal; return them as gate/link.py sends them."""
    for i in range(n):
        journal.append("decision", {"n": i, "events": []})
    return [
        Entry(seq=e.seq, nonce=e.nonce, wall_ms=e.wall_ms, hlc=str(e.hlc), kind=e.kind, body=e.body)
        for e in journal.tail(n)
    ]


# --- batches, acknowledgements, replays -----------------------------------------------------------


def test_a_batch_is_stored_and_acknowledged_retained_at_qos_1(hub: Hub, journal: Journal):
    hub.send("E1", wire(journal, 3))
    assert hub.published == [(TOPICS.ack("E1"), dump(Ack(gate="E1", seq=3)), 1, True)]
    assert [e.seq for e in hub.handed_on] == [1, 2, 3]
    assert hub.store.counts().entries == 3
    assert hub.ingest.counters["new"] == 3 and not hub.ingest.rejected


def test_the_same_batch_twice_is_counted_once_and_acknowledged_again(hub: Hub, journal: Journal):
    entries = wire(journal, 5)
    hub.send("E1", entries)
    hub.send("E1", entries)  # the gate resent it after a reconnect
    assert hub.store.counts().entries == 5
    assert hub.ingest.counters["duplicates"] == 5
    assert hub.acks("E1") == [5, 5]
    assert len(hub.handed_on) == 5  # the venue's state gets each entry once


def test_a_gap_holds_the_watermark_and_the_hub_asks_for_it_again(hub: Hub, journal: Journal):
    entries = wire(journal, 8)
    hub.send("E1", entries[:3])
    hub.send("E1", entries[5:])  # 4 and 5 were lost between the gate and the hub
    assert hub.acks("E1") == [3, 3]
    assert hub.replays("E1") == [3]
    assert hub.store.missing("E1") == [(4, 5)]
    hub.clock.ms += 2000
    hub.send("E1", entries[3:5])  # the replay
    assert hub.acks("E1") == [3, 3, 8]
    assert hub.replays("E1") == [3]  # no gap left: no more asking


def test_replay_requests_are_rate_limited_per_gate_and_repeated_by_tick(hub: Hub, journal: Journal):
    entries = wire(journal, 10)
    hub.send("E1", entries[2:4])
    hub.send("E1", entries[5:6])
    hub.send("E1", entries[7:8])
    assert hub.replays("E1") == [0]  # three gaps within a second: asked once
    hub.ingest.tick()
    assert hub.replays("E1") == [0]
    hub.clock.ms += 1000
    hub.ingest.tick()  # the gap is still there a second later: ask again
    assert hub.replays("E1") == [0, 0]
    other = Journal(journal.path.with_name("X1.db"), "X1")
    try:
        for i in range(3):
            other.append("decision", {"n": i})
        late = [
            Entry(seq=e.seq, nonce=e.nonce, wall_ms=e.wall_ms, hlc=str(e.hlc), kind=e.kind, body={})
            for e in other.entries_after(2)
        ]
    finally:
        other.close()
    hub.send("X1", late)
    assert hub.replays("X1") == [0]  # each gate has its own limit


def test_an_online_gate_whose_backlog_stalls_is_asked_again(hub: Hub, journal: Journal):
    hub.send("E1", wire(journal, 4))
    status = GateStatus(gate="E1", online=True, last_seq=10, acked=4, wall_ms=hub.clock.ms)
    hub.ingest.on_message(TOPICS.status("E1"), dump(status))
    hub.ingest.tick()
    assert hub.replays("E1") == []  # entries 5..10 may be on their way
    hub.clock.ms += hub.ingest.stall_ms
    hub.ingest.tick()
    assert hub.replays("E1") == [4]


def test_a_gate_acknowledged_beyond_the_store_is_asked_to_resend(hub: Hub, journal: Journal):
    """A store restored from an older backup: the gate holds acks the hub cannot back."""
    hub.send("E1", wire(journal, 2))
    status = GateStatus(gate="E1", online=True, last_seq=9, acked=9, wall_ms=hub.clock.ms)
    hub.ingest.on_message(TOPICS.status("E1"), dump(status))
    assert hub.replays("E1") == [2]


def test_a_reset_journal_is_reported_as_conflicts_and_the_first_entries_kept(
    hub: Hub, journal: Journal, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    first = wire(journal, 3)
    hub.send("E1", first)
    with Journal(tmp_path / "E1-new.db", "E1") as fresh:
        for i in range(2):
            fresh.append("decision", {"n": i})
        again = [
            Entry(seq=e.seq, nonce=e.nonce, wall_ms=e.wall_ms, hlc=str(e.hlc), kind=e.kind, body={})
            for e in fresh.entries_after(0)
        ]
    with caplog.at_level(logging.WARNING, logger="hub.ingest"):
        hub.send("E1", again)
    assert hub.ingest.counters["conflicts"] == 2
    assert "journal reset" in caplog.text
    assert hub.acks("E1") == [3, 3]
    assert [e.nonce for e in hub.store.entries_in_hlc_order()] == [e.nonce for e in first]


def test_a_store_that_fails_acknowledges_nothing(
    hub: Hub, journal: Journal, monkeypatch: pytest.MonkeyPatch
):
    def disk_full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(hub.store, "add", disk_full)
    hub.send("E1", wire(journal, 2))
    assert hub.ingest.rejected["store_failed"] == 1
    assert hub.published == []  # the gate keeps its entries and sends them again


def test_entries_stored_are_acknowledged_even_if_handing_them_on_fails(hub: Hub, journal: Journal):
    def broken(entries: object) -> None:
        raise RuntimeError("venue state bug")

    hub.ingest.on_stored = broken
    hub.send("E1", wire(journal, 2))
    assert hub.acks("E1") == [2] and hub.ingest.counters["on_stored_failed"] == 1


def test_a_failing_publish_is_counted_and_ingest_goes_on(tmp_path: Path, journal: Journal):
    def broken(*message: object) -> None:
        raise OSError("not connected")

    with EventStore(tmp_path / "events.db") as store:
        ingest = Ingest(store, TOPICS, broken, lambda: JULY_2026)  # type: ignore[arg-type]
        ingest.on_message(
            TOPICS.events("E1"), dump(EventBatch(gate="E1", entries=wire(journal, 2)))
        )
        assert ingest.counters["publish_failed"] == 1 and store.acked("E1") == 2


# --- what is refused ------------------------------------------------------------------------------


def batch_json(**changes: object) -> bytes:
    entry = {
        "seq": 1,
        "nonce": "0123456789abcdef",
        "wall_ms": JULY_2026,
        "hlc": "0" * 16,
        "kind": "decision",
        "body": {},
    }
    message = {"v": 1, "gate": "E1", "entries": [entry]} | changes
    return json.dumps(message).encode()


def one_entry(**changes: object) -> bytes:
    entry = {
        "seq": 1,
        "nonce": "0123456789abcdef",
        "wall_ms": JULY_2026,
        "hlc": "0" * 16,
        "kind": "decision",
        "body": {},
    } | changes
    return json.dumps({"v": 1, "gate": "E1", "entries": [entry]}).encode()


REFUSED = [
    ("not JSON", TOPICS.events("E1"), b"\x00\xffnot json", "malformed"),
    ("empty", TOPICS.events("E1"), b"", "malformed"),
    ("a JSON array", TOPICS.events("E1"), b"[1, 2]", "foreign"),
    ("another protocol version", TOPICS.events("E1"), batch_json(v=2), "foreign"),
    ("no version", TOPICS.events("E1"), json.dumps({"gate": "E1"}).encode(), "foreign"),
    ("no entries", TOPICS.events("E1"), batch_json(entries=[]), "invalid"),
    (
        "too many entries",
        TOPICS.events("E1"),
        batch_json(entries=[json.loads(one_entry())["entries"][0]] * (MAX_BATCH + 1)),
        "invalid",
    ),
    ("an unknown field", TOPICS.events("E1"), batch_json(extra=1), "invalid"),
    ("a bad hybrid timestamp", TOPICS.events("E1"), one_entry(hlc="2026-07-01"), "invalid"),
    ("seq 0", TOPICS.events("E1"), one_entry(seq=0), "invalid"),
    ("a seq beyond SQLite", TOPICS.events("E1"), one_entry(seq=2**70), "invalid"),
    ("a short nonce", TOPICS.events("E1"), one_entry(nonce="ab"), "invalid"),
    ("a body that is no object", TOPICS.events("E1"), one_entry(body=[1]), "invalid"),
    (
        "a lone surrogate in the body",
        TOPICS.events("E1"),
        one_entry(body={"x": "\ud800"}),
        "invalid",
    ),
    ("another gate's batch", TOPICS.events("X1"), batch_json(), "gate_mismatch"),
    ("a bad gate id", TOPICS.events("E1"), batch_json(gate="E 1/#"), "invalid"),
    ("another prefix", "other/v1/gate/E1/events", batch_json(), "foreign_topic"),
    ("a topic it does not read", TOPICS.prefix + "/gate/E1/config", batch_json(), "foreign_topic"),
    (
        "a status of another gate",
        TOPICS.status("X1"),
        dump(GateStatus(gate="E1", online=True)),
        "gate_mismatch",
    ),
    ("a status that is no status", TOPICS.status("E1"), batch_json(), "invalid"),
]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_a_bad_message_is_counted_by_reason_and_dropped_with_one_log_line(
    hub: Hub, topic: str, payload: bytes, reason: str, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.WARNING, logger="hub.ingest"):
        hub.ingest.on_message(topic, payload)
    assert dict(hub.ingest.rejected) == {reason: 1}
    assert len(caplog.records) == 1 and reason in caplog.text
    assert hub.published == [] and hub.store.counts().entries == 0
    assert hub.ingest.gates() == {}


def test_an_oversized_payload_is_refused_before_it_is_read(hub: Hub):
    hub.ingest.on_message(TOPICS.events("E1"), b" " * (MAX_PAYLOAD + 1))
    assert dict(hub.ingest.rejected) == {"oversized": 1}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=2000), status=st.booleans())
def test_arbitrary_bytes_never_raise(hub: Hub, payload: bytes, status: bool):
    topic = TOPICS.status("E1") if status else TOPICS.events("E1")
    before = sum(hub.ingest.rejected.values())
    hub.ingest.on_message(topic, payload)
    assert sum(hub.ingest.rejected.values()) == before + 1
    assert hub.ingest.rejected["error"] == 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "seq": st.integers(-3, 2**70) | JSON,
        "nonce": st.text(min_size=0, max_size=70) | JSON,
        "wall_ms": st.integers(-1, 2**70) | JSON,
        "hlc": st.from_regex(r"\A[0-9a-f]{16}\Z") | JSON,
        "kind": st.text(max_size=40) | JSON,
        "body": st.dictionaries(st.text(max_size=8), JSON, max_size=4) | JSON,
    },
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    message=st.fixed_dictionaries(
        {"v": st.just(1) | JSON},
        optional={
            "gate": st.sampled_from(["E1", "X1"]) | JSON,
            "entries": st.lists(ENTRY, max_size=3) | JSON,
            "online": JSON,
        },
    ),
    status=st.booleans(),
)
def test_almost_valid_messages_never_raise_and_what_is_stored_is_acknowledged(
    hub: Hub, message: dict[str, object], status: bool
):
    topic = TOPICS.status("E1") if status else TOPICS.events("E1")
    published = len(hub.published)
    stored = hub.store.counts().entries
    hub.ingest.on_message(topic, json.dumps(message).encode())
    assert hub.ingest.rejected["error"] == 0
    if hub.store.counts().entries > stored:
        assert hub.published[-1][0] == TOPICS.ack("E1")
    if sum(hub.ingest.rejected.values()) and len(hub.published) > published:
        assert hub.published[-1][0] != TOPICS.ack("X1")


# --- gates as the display shows them --------------------------------------------------------------


def test_a_status_tells_liveness_allowlist_backlog_and_clock_skew(hub: Hub, journal: Journal):
    hub.send("E1", wire(journal, 4))
    status = GateStatus(
        gate="E1",
        online=True,
        allowlist_version=3,
        last_seq=10,
        acked=4,
        wall_ms=hub.clock.ms + 5000,
    )
    hub.clock.ms += 200
    hub.ingest.on_message(TOPICS.status("E1"), dump(status))
    view = hub.ingest.gates()["E1"]
    assert view.online and view.last_seen_ms == hub.clock.ms
    assert (view.acked, view.last_seq, view.backlog) == (4, 10, 6)
    assert view.allowlist_version == 3 and view.stale_allowlist  # the hub has version 4
    assert view.clock_skew_s == 4.8  # the gate's clock is 4.8 s ahead
    shown = hub.ingest.headcount_gates()["E1"]
    assert (shown.online, shown.backlog, shown.allowlist_version) == (True, 6, 3)
    assert shown.last_seen is not None and shown.last_seen.startswith("2026-07-14T")


def test_a_retained_status_gives_no_clock_skew_and_the_will_marks_the_gate_offline(hub: Hub):
    old = GateStatus(gate="E1", online=True, allowlist_version=4, wall_ms=hub.clock.ms - 3_600_000)
    hub.ingest.on_message(TOPICS.status("E1"), dump(old), retained=True)
    view = hub.ingest.gates()["E1"]
    assert view.online and view.clock_skew_s is None and not view.stale_allowlist
    live = GateStatus(gate="E1", online=True, allowlist_version=3, last_seq=7, wall_ms=hub.clock.ms)
    hub.ingest.on_message(TOPICS.status("E1"), dump(live))
    will = GateStatus(gate="E1", online=False)
    hub.ingest.on_message(TOPICS.status("E1"), dump(will))
    view = hub.ingest.gates()["E1"]
    assert not view.online
    # what the gate said last still shows: its allowlist, its backlog, its clock
    assert (view.allowlist_version, view.last_seq, view.backlog) == (3, 7, 7)
    assert view.stale_allowlist and view.clock_skew_s == 0.0


def test_events_alone_mark_a_gate_online_and_seen(hub: Hub, journal: Journal):
    hub.send("E1", wire(journal, 1))
    view = hub.ingest.gates()["E1"]
    assert view.online and view.last_seen_ms == hub.clock.ms and view.backlog == 0
    assert view.allowlist_version is None and not view.stale_allowlist


def test_a_restarted_hub_knows_its_gates(tmp_path: Path, journal: Journal):
    first = Hub(tmp_path / "events.db")
    first.send("E1", wire(journal, 3))
    status = GateStatus(gate="E1", online=True, allowlist_version=2, last_seq=5, wall_ms=JULY_2026)
    first.ingest.on_message(TOPICS.status("E1"), dump(status))
    first.store.close()
    again = Hub(tmp_path / "events.db")
    try:
        view = again.ingest.gates()["E1"]
        assert (view.acked, view.last_seq, view.backlog, view.allowlist_version) == (3, 5, 2, 2)
        again.send("E1", wire(journal, 2))
        assert again.acks("E1") == [5]
    finally:
        again.store.close()
