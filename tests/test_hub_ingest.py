"""The hub's ingest, called as the hub's MQTT loop calls it: `on_message(topic, payload)`, or
`on_messages(...)` with what waited in its inbox; and the hub itself draining a backlog queued in
a real Mosquitto.

Batches are built from the real gate journal (`gate.store.journal.Journal`) and the real protocol
models; what the hub publishes is captured and read back with the same models, together with
what another SQLite connection then sees in the store (what is committed).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from broker import MqttClient
from gate_rig import wait_for, write_venue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_faults import committed, committed_run, failing_insert

from bench.hub_ingest import HUB_CLIENT_ID, subscribe_away, write_hub_toml
from deploy.broker_process import Broker
from gate.link.protocol import (
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
from gate.store.journal import Journal
from hub.ingest.intake import Ingest, Message
from hub.service.config import load_hub_config
from hub.service.hub import Hub as HubService
from hub.store.events import EventStore
from hub.store.records import StoredEntry

JULY_2026 = 1_784_000_000_000
TOPICS = Topics("venue/v1")


class Clock:
    def __init__(self) -> None:
        self.ms = JULY_2026

    def __call__(self) -> int:
        return self.ms


class Hub:
    """An ingest over a real store, with what it publishes and hands on captured. Each ack is
    checked as it is published: another connection sees every entry it acknowledges."""

    def __init__(self, path: Path, hub_version: int | None = 4) -> None:
        self.path = path
        self.clock = Clock()
        self.store = EventStore(path)
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.handed_on: list[StoredEntry] = []
        self.ingest = Ingest(
            self.store,
            TOPICS,
            self._publish,
            self.clock,
            on_stored=self.handed_on.extend,
            allowlist_version=lambda: hub_version,
        )

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        if topic.startswith(TOPICS.ack("")):
            ack = parse(Ack, payload)
            assert committed_run(self.path, ack.gate) >= ack.seq, f"{ack} before the commit"
        self.published.append((topic, payload, qos, retain))

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
    """Append `n` entries to the gate's journal; return them as gate/link/client.py sends them."""
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
    with caplog.at_level(logging.WARNING, logger="hub.ingest.intake"):
        hub.send("E1", again)
    assert hub.ingest.counters["conflicts"] == 2
    assert "journal reset" in caplog.text
    assert hub.acks("E1") == [3, 3]
    assert [e.nonce for e in hub.store.entries_in_hlc_order()] == [e.nonce for e in first]


def test_a_store_that_fails_acknowledges_nothing(hub: Hub, journal: Journal):
    with failing_insert(hub.path):  # the disk is full
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


def as_gates_write(**body: object) -> bytes:
    """One entry with `body`, in the form gates send (`dump`'s), any escapes kept."""
    message = json.loads(one_entry())
    message["entries"][0]["body"] = body
    return json.dumps(message, separators=(",", ":")).encode()


REFUSED = [
    ("not JSON", TOPICS.events("E1"), b"\x00\xffnot json", "malformed"),
    ("empty status", TOPICS.status("E1"), b"", "malformed"),
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
    (
        "a lone surrogate in a body as gates write it",
        TOPICS.events("E1"),
        as_gates_write(x="a\udc00"),
        "invalid",
    ),
    ("another gate's batch", TOPICS.events("X1"), batch_json(), "gate_mismatch"),
    ("a bad gate id", TOPICS.events("E1"), batch_json(gate="E 1/#"), "invalid"),
    ("a number of 5000 digits", TOPICS.events("E1"), b'{"v": ' + b"9" * 5000 + b"}", "malformed"),
    ("JSON nested too deep", TOPICS.events("E1"), b"[" * 100_000, "malformed"),
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


def test_an_empty_message_on_an_events_topic_is_a_gate_clearing_it_and_is_ignored(hub: Hub):
    hub.ingest.on_message(TOPICS.events("E1"), b"")
    assert dict(hub.ingest.rejected) == {} and hub.published == []


def test_a_retained_event_batch_is_ignored_and_counted(hub: Hub):
    hub.ingest.on_message(TOPICS.events("E1"), one_entry(), retained=True)
    assert dict(hub.ingest.rejected) == {"retained": 1}
    assert hub.published == [] and hub.store.counts().entries == 0


@pytest.mark.parametrize(
    ("topic", "payload", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_a_bad_message_is_counted_by_reason_and_dropped_with_one_log_line(
    hub: Hub, topic: str, payload: bytes, reason: str, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.WARNING, logger="hub.ingest.intake"):
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
    cleared = payload == b"" and not status  # a gate clearing its events topic: ignored
    assert sum(hub.ingest.rejected.values()) == before + (not cleared)
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


# --- a drained inbox: several batches at once ----------------------------------------------------


def journal_entries(tmp_path: Path, gate: str, n: int) -> list[Entry]:
    """`n` entries of a real journal of `gate`, as gate/link/client.py sends them."""
    clock = [JULY_2026]

    def wall() -> int:
        clock[0] += 1000
        return clock[0]

    with Journal(tmp_path / f"{gate}-journal.db", gate, wall=wall) as j:
        for i in range(n):  # entries a gate of any role writes: `hub run` checks them
            j.append("allowlist", {"version": i + 1, "source": "snapshot"})
        return [Entry.of(e) for e in j.tail(n)]


def events(gate: str, entries: list[Entry], topic_gate: str | None = None) -> Message:
    return (TOPICS.events(topic_gate or gate), dump(EventBatch(gate=gate, entries=entries)), False)


def seqs(entries: list[StoredEntry]) -> list[tuple[str, int]]:
    return [(e.gate, e.seq) for e in entries]


def test_a_drain_of_several_gates_is_stored_at_once_then_each_gate_acknowledged_once(
    hub: Hub, tmp_path: Path
):
    e1, e2, x1 = (journal_entries(tmp_path, g, n) for g, n in (("E1", 7), ("E2", 3), ("X1", 4)))
    drain = [
        events("E1", e1[:3]),
        events("E2", e2),
        events("E1", e1[3:5]),
        events("X1", x1),
        events("E1", e1[5:]),
    ]
    hub.ingest.on_messages(drain)
    acks = [
        (topic, parse(Ack, payload).seq, qos, retain)
        for topic, payload, qos, retain in hub.published
    ]
    assert acks == [
        (TOPICS.ack("E1"), 7, 1, True),
        (TOPICS.ack("E2"), 3, 1, True),
        (TOPICS.ack("X1"), 4, 1, True),
    ]
    assert seqs(hub.handed_on) == [
        *(("E1", s) for s in (1, 2, 3)),
        *(("E2", s) for s in (1, 2, 3)),
        ("E1", 4),
        ("E1", 5),
        *(("X1", s) for s in (1, 2, 3, 4)),
        ("E1", 6),
        ("E1", 7),
    ]
    counters = hub.ingest.counters
    assert (counters["batches"], counters["new"], counters["acks"]) == (5, 14, 3)
    assert not hub.ingest.rejected and len(committed(hub.path)) == 14


def test_a_drain_whose_transaction_fails_acknowledges_no_gate_and_loses_nothing(
    hub: Hub, tmp_path: Path
):
    e1, x1 = journal_entries(tmp_path, "E1", 4), journal_entries(tmp_path, "X1", 2)
    drain = [events("E1", e1[:2]), events("X1", x1), events("E1", e1[2:])]
    with failing_insert(hub.path, "E1", 4):  # the last entry of the drain cannot be written
        hub.ingest.on_messages(drain)
    assert dict(hub.ingest.rejected) == {"store_failed": 3}
    assert hub.published == [] and hub.handed_on == [] and committed(hub.path) == []
    assert hub.ingest.gates() == {} and hub.store.counts().entries == 0
    hub.ingest.on_messages(drain)  # no ack came: the gates send the same entries again
    assert (hub.acks("E1"), hub.acks("X1")) == ([4], [2])
    assert len(hub.handed_on) == 6 and len(committed(hub.path)) == 6


def test_a_bad_message_in_a_drain_is_rejected_alone(hub: Hub, tmp_path: Path):
    e1, e2, x1 = (journal_entries(tmp_path, g, 3) for g in ("E1", "E2", "X1"))
    beyond_sqlite = Entry(**{**x1[0].model_dump(), "seq": 2**63})
    drain = [
        events("E1", e1[:2]),
        (TOPICS.events("E2"), b"{not json", False),
        events("X1", [beyond_sqlite]),
        events("X1", x1, topic_gate="E2"),  # X1's batch on E2's topic
        (TOPICS.status("E1"), batch_json(), False),
        events("E2", e2),
        events("E1", e1[2:]),
    ]
    hub.ingest.on_messages(drain)
    assert dict(hub.ingest.rejected) == {"malformed": 1, "invalid": 2, "gate_mismatch": 1}
    assert (hub.acks("E1"), hub.acks("E2"), hub.acks("X1")) == ([2, 3], [3], [])
    assert {gate for gate, _ in committed(hub.path)} == {"E1", "E2"}


def test_a_status_is_read_once_the_batches_before_it_are_stored(hub: Hub, tmp_path: Path):
    status = GateStatus(gate="E1", online=True, last_seq=5, acked=5, wall_ms=hub.clock.ms)
    drain = [
        events("E1", journal_entries(tmp_path, "E1", 5)),
        (TOPICS.status("E1"), dump(status), False),
    ]
    hub.ingest.on_messages(drain)
    assert hub.acks("E1") == [5]
    assert hub.replays("E1") == []  # the gate's ack of 5 is backed by the store


def test_in_a_drain_resent_entries_are_duplicates_and_a_gap_is_asked_for_once(
    hub: Hub, tmp_path: Path
):
    e1 = journal_entries(tmp_path, "E1", 8)
    hub.ingest.on_messages([events("E1", e1[:3]), events("E1", e1[:3]), events("E1", e1[5:])])
    assert (hub.ingest.counters["new"], hub.ingest.counters["duplicates"]) == (6, 3)
    assert (hub.acks("E1"), hub.replays("E1")) == ([3], [3])
    assert [e.seq for e in hub.handed_on] == [1, 2, 3, 6, 7, 8]
    hub.clock.ms += 2000
    hub.ingest.on_messages([events("E1", e1[3:5])])  # the replay
    assert hub.acks("E1") == [3, 8]


def hand_made(seq: int) -> Entry:
    ms = JULY_2026 + seq * 1000
    return Entry(seq=seq, nonce=f"{seq:016x}", wall_ms=ms, hlc=f"{ms:012x}0000", kind="k", body={})


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sent=st.lists(
        st.tuples(
            st.sampled_from(["E1", "X1"]), st.lists(st.integers(1, 15), min_size=1, max_size=6)
        ),
        min_size=1,
        max_size=12,
    ),
    drains=st.lists(st.integers(1, 5), min_size=12, max_size=12),
)
def test_whatever_the_drains_each_entry_is_stored_once_and_every_ack_is_committed(
    tmp_path_factory: pytest.TempPathFactory,
    sent: list[tuple[str, list[int]]],
    drains: list[int],
):
    """Batches with repeats and gaps, drained in any grouping: every ack published is backed by
    what is committed (checked by the publish), each entry is handed on once, and each gate's
    last ack is its longest run of seqs from 1."""
    hub = Hub(tmp_path_factory.mktemp("drains") / "events.db")
    try:
        messages = [events(gate, [hand_made(s) for s in batch]) for gate, batch in sent]
        for size in drains:
            hub.ingest.on_messages(messages[:size])
            messages = messages[size:]
        for gate in ("E1", "X1"):
            got = {s for g, batch in sent if g == gate for s in batch}
            run = 0
            while run + 1 in got:
                run += 1
            assert hub.acks(gate)[-1:] == ([run] if got else [])
            assert sorted(e.seq for e in hub.handed_on if e.gate == gate) == sorted(got)
        assert not hub.ingest.rejected
    finally:
        hub.store.close()


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


# --- the hub itself, draining a backlog queued in Mosquitto ---------------------------------------


class GateLink(MqttClient):
    """A gate's connection that checks each ack as it comes: the hub's store holds (another
    connection sees) every entry it acknowledges."""

    def __init__(self, broker: Broker, gate: str, store: Path) -> None:
        super().__init__(broker, gate, broker.credentials.password(gate))
        self.store = store
        self.acks: list[int] = []
        self.unbacked: list[tuple[int, int]] = []

    def _on_message(self, c: Any, u: Any, msg: paho.MQTTMessage) -> None:
        seq = parse(Ack, bytes(msg.payload)).seq
        if (stored := committed_run(self.store, self.username or "")) < seq:
            self.unbacked.append((seq, stored))
        self.acks.append(seq)
        super()._on_message(c, u, msg)

    def acknowledged(self, seq: int) -> bool:
        return self.acks[-1:] == [seq]


def hub_toml(root: Path, broker: Broker) -> Path:
    venue = write_venue(root / "venue")
    return write_hub_toml(root, broker, venue / "policy.toml", venue / "allowlist")


def test_the_hub_drains_a_queued_backlog_and_acknowledges_only_what_is_stored(
    tmp_path: Path, fresh_broker: Callable[..., Broker]
):
    """The hub was away while three gates sent 6 batches each (its persistent session kept
    them): it stores them all, and each ack a gate gets is already committed."""
    broker = fresh_broker()
    topics = broker.topics
    subscribe_away(broker, HUB_CLIENT_ID, [topics.events(), topics.status()])
    config = hub_toml(tmp_path / "hub", broker)
    store = tmp_path / "hub" / "state" / "events.db"
    links = {}
    for gate in ("E1", "E2", "X1"):
        entries = journal_entries(tmp_path, gate, 150)
        link = links[gate] = GateLink(broker, gate, store)
        link.connect()
        link.subscribe(topics.ack(gate))
        for i in range(0, len(entries), 25):
            batch = dump(EventBatch(gate=gate, entries=entries[i : i + 25]))
            assert not link.publish(topics.events(gate), batch).is_failure
    hub = HubService(load_hub_config(config))
    loop = threading.Thread(target=hub.run, name="hub-loop")
    loop.start()
    try:
        wait_for(lambda: hub.store.counts().entries == 450, what="the backlog stored")
        for gate, link in links.items():
            wait_for(functools.partial(link.acknowledged, 150), what=f"{gate}'s last ack")
            assert link.unbacked == [] and link.acks == sorted(link.acks)
        counters = hub.ingest.counters
        assert (counters["batches"], counters["new"], counters["duplicates"]) == (18, 450, 0)
        assert dict(hub.ingest.rejected) == {} and counters["acks"] <= 18
        assert dict(hub.ingest.refused) == {}  # the gates' own entries: none taken for forged
        wait_for(lambda: not hub.venue.stale and hub.venue.folded == 450, what="the venue state")
    finally:
        hub.stop()
        loop.join(10)
        for link in links.values():
            link.close()
