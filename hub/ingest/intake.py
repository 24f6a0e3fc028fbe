"""The hub's ingest: gates' journal batches and statuses in, acknowledgements and replays out.

    ingest = Ingest(store, Topics(prefix), publish, clock_ms, on_stored=venue.add)
    ingest.on_message(topic, payload)      # gate/+/events and gate/+/status, one thread
    ingest.on_messages(messages)           # several (topic, payload, retained) at once
    ingest.tick()                          # from the same loop: replays a gap nobody asked for

Every payload is read through `gate.link.protocol` (`read_events`, `parse`). One that is oversized,
not JSON, foreign (not an object, another protocol version) or invalid, or whose gate differs
from its topic's, is counted in `rejected` by reason and dropped with one log line, alone: the
other messages are handled all the same, and `on_message(s)` never raises.

The event batches of one call go to the store in one transaction (one sync for a whole backlog,
whatever the number of gates), the entries new to it are handed on (`on_stored`), and then each
gate's watermark is published once as a retained `Ack` (QoS 1), even when every entry was a
duplicate (the gate may have missed the last one): never before the commit, and never above the
entries stored without a gap. When the transaction fails, nothing is stored and nothing is
acknowledged: the gates send again. A status is read after the batches that came before it are
stored. When the store holds entries above a gap, the hub asks for the gap with `Replay(after=
acked)`, at most once per `replay_interval_ms` per gate; `tick` asks again while a gap stays, and
when an online gate's status shows entries the hub never got and nothing has come for a while.

A gate speaks only for itself: each entry of a batch is checked (`vet`, given the gate and the
entry: `gate.core.authority` through `gate.link.vetting`; a passage record's undo is judged against
the decision it names, `decision_of`: stored, or earlier in the same call) before anything is
stored. So is its hybrid timestamp: more than `max_drift_ms` ahead of the hub's clock, it is
refused as `clock_ahead` (kept, it would sort after everything to come and the venue's state
would take every later entry for a late one). And each gate has a budget of stored body bytes
per clock hour (`budget_bytes`, `[hub] gate_budget_mib_per_hour`): beyond it, its entries are
refused as `flood` (no copy of the body kept) until the next hour. A refused entry
is quarantined by the store with its reason (a stub keeps the watermark moving: the gate is
acknowledged, nothing is lost, nothing waits for it), never folded, and counted in `refused` by
reason; `/api/findings` and the display show it at once (`forged_event`). An entry whose seq is
more than `max_seq_jump` beyond the gate's watermark is refused as `seq_jump` and not stored: it
leaves no gap behind it, so nothing is replayed for it. Event batches the broker kept (retained)
are ignored: a gate never retains them, and each clears its topic when it connects.

Threads: `on_message(s)` and `tick` run on the hub's ingest thread (the MQTT callback only
enqueues). `gates()` may be called from any thread.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from gate.core.authority import PastDecision, Reason, Refused, check_seq
from gate.core.hlc import DEFAULT_MAX_DRIFT_MS
from gate.link.batches import WireBatch, WireEntry, read_events
from gate.link.protocol import (
    MAX_PAYLOAD,
    Ack,
    EventBatch,
    GateStatus,
    HeadcountGate,
    ProtocolError,
    Replay,
    Topics,
    dump,
    parse,
)
from gate.link.vetting import check_entry_clock, past_decision, text_size
from gate.store.journal import wall_clock_ms
from hub.store.events import EventStore
from hub.store.records import AddResult, GateRow, PreparedBatch, StoredEntry

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, int, bool], None]  # (topic, payload, qos, retain)
REPLAY_INTERVAL_MS = 1000
# A gate sends from the hub's watermark, at most its window (2000 entries) ahead; only a hub
# restored from an old backup sees more, and asks for a replay from its own watermark anyway.
# 100000 is days of a busy gate's journal: no real batch comes near it.
MAX_SEQ_JUMP = 100_000
# Stored body bytes a gate may send per clock hour. A decision entry is about 900 bytes with
# its passage record (bench.reconcile); a turnstile lets one person through every two seconds
# at best: 1800 decisions, about 2 MB an hour. 16 MiB is eight times that.
BUDGET_BYTES = 16 << 20
HOUR_MS = 3_600_000
Vet = Callable[[str, WireEntry], None]  # raises authority.Refused: the entry is refused
STALL_MS = 5000  # an online gate silent this long while behind its own status: ask again
M = TypeVar("M", EventBatch, GateStatus)
Message = tuple[str, bytes, bool]  # (topic, payload, retained)


@dataclass(frozen=True, slots=True)
class GateView:
    """One gate as the display shows it."""

    gate: str
    online: bool
    last_seen_ms: int | None
    acked: int  # the hub's watermark for the gate
    highest: int  # the highest seq stored
    last_seq: int | None  # the gate's last seq, from its status
    backlog: int  # entries the gate holds that the hub has not acknowledged
    missing: bool  # entries stored above a gap
    allowlist_version: int | None
    clock_skew_s: float | None  # the gate's clock minus the hub's (positive: gate ahead)
    stale_allowlist: bool  # the gate's allowlist is older than the hub's
    reader: str | None = None  # the gate's reader state, from its status
    taken_over: int | None = None  # its broker session taken over in the last hour (its status)

    def to_protocol(self) -> HeadcountGate:
        last_seen = None
        if self.last_seen_ms is not None:
            last_seen = datetime.fromtimestamp(self.last_seen_ms / 1000, UTC).isoformat()
        return HeadcountGate(
            online=self.online,
            last_seen=last_seen,
            backlog=self.backlog,
            allowlist_version=self.allowlist_version,
            clock_skew_s=self.clock_skew_s,
        )


@dataclass
class _Live:
    """What the hub knows of a gate beyond the store: liveness and its last status."""

    online: bool = False
    status: GateStatus | None = None
    status_ms: int | None = None
    skew_ms: int | None = None
    last_event_ms: int | None = None
    last_replay_ms: int | None = None


class Ingest:
    """See the module's docstring. `on_stored` gets each batch's new entries (for the venue's
    state); `allowlist_version` returns the hub's allowlist version (for the stale flag)."""

    def __init__(
        self,
        store: EventStore,
        topics: Topics,
        publish: Publish,
        clock_ms: Callable[[], int] = wall_clock_ms,
        *,
        on_stored: Callable[[Sequence[StoredEntry]], None] | None = None,
        allowlist_version: Callable[[], int | None] | None = None,
        replay_interval_ms: int = REPLAY_INTERVAL_MS,
        stall_ms: int = STALL_MS,
        vet: Vet | None = None,
        max_seq_jump: int = MAX_SEQ_JUMP,
        max_drift_ms: int = DEFAULT_MAX_DRIFT_MS,
        budget_bytes: int = BUDGET_BYTES,
    ) -> None:
        self.store = store
        self.topics = topics
        self.publish = publish
        self.clock_ms = clock_ms
        self.on_stored = on_stored
        self.allowlist_version = allowlist_version
        self.replay_interval_ms = replay_interval_ms
        self.stall_ms = stall_ms
        self.vet = vet
        self.max_seq_jump = max_seq_jump
        self.max_drift_ms = max_drift_ms
        self.budget_bytes = budget_bytes
        self._spent: dict[str, tuple[int, int]] = {}  # gate -> (clock hour, body bytes taken)
        self._unstored: dict[tuple[str, int], PastDecision] = {}  # decisions vetted, not stored
        self.rejected: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # entries refused for what they say, by reason
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._live: dict[str, _Live] = {row.gate: _from_row(row) for row in store.gate_rows()}

    # --- messages -------------------------------------------------------------------------

    def on_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """Handle one message of `gate/+/events` or `gate/+/status`. Never raises.

        `retained` marks a status the broker kept: its clock reading is old, so no skew."""
        self.on_messages([(topic, payload, retained)])

    def on_messages(self, messages: Iterable[Message]) -> None:
        """Handle messages in order, each as `on_message` does, but store their event batches
        in one transaction; a status is read once the batches before it are stored. Never
        raises."""
        pending: list[PreparedBatch] = []
        for topic, payload, retained in messages:
            try:
                self.counters["messages"] += 1
                gate = self.topics.gate_of(topic)
                if gate is None:
                    self._reject("foreign_topic", topic, "not a gate topic under this prefix")
                elif topic == self.topics.events(gate):
                    if not payload:  # a gate clearing its topic of retained messages
                        continue
                    if retained:  # no gate retains its events: someone left this one
                        self._reject("retained", topic, "a retained event batch: ignored")
                        continue
                    prepared = self._prepare(gate, topic, payload)
                    if prepared is not None:
                        pending.append(prepared)
                elif topic == self.topics.status(gate):
                    self._store(pending)
                    pending = []
                    self._status(gate, topic, payload, retained)
                else:
                    self._reject("foreign_topic", topic, "not an events or status topic")
            except Exception:  # a bug here must not stop the hub's ingest
                self.rejected["error"] += 1
                log.exception("message on %s (%d bytes) dropped", topic, len(payload or b""))
        self._store(pending)

    def _prepare(self, gate: str, topic: str, payload: bytes) -> PreparedBatch | None:
        """An events payload read and checked for the store; None when it is rejected."""
        batch = self._read_events(topic, payload)
        if batch is None:
            return None
        if batch.gate != gate:
            self._reject("gate_mismatch", topic, f"payload is from gate {batch.gate!r}")
            return None
        now = self.clock_ms()
        try:
            prepared = self.store.prepare(gate, batch.entries, now)
        except ValueError as exc:
            self._reject("invalid", topic, str(exc))
            return None
        refused = self._refusals(gate, batch)
        return self.store.prepare(gate, batch.entries, now, refused) if refused else prepared

    def _refusals(self, gate: str, batch: WireBatch) -> dict[int, tuple[str, str]]:
        """seq -> (reason, detail) of the batch's entries refused: a seq far beyond the gate's
        watermark, a clock far ahead of the hub's, what its gate may not say, or what is beyond
        its hourly budget. Each is counted and logged."""
        refused: dict[int, tuple[str, str]] = {}
        acked = self.store.acked(gate)
        now = self.clock_ms()
        for entry in batch.entries:
            try:
                check_seq(entry.seq, acked, self.max_seq_jump)
                check_entry_clock(entry.hlc, now, self.max_drift_ms)
                if self.vet is not None:
                    self.vet(gate, entry)
                if entry.seq > acked:  # else stored already: a duplicate costs nothing
                    self._spend(gate, entry, now)
            except Refused as exc:
                refused[entry.seq] = (exc.reason.value, exc.detail)
                self.refused[exc.reason.value] += 1
                log.warning("entry %s/%d refused: %s", gate, entry.seq, exc)
                continue
            if entry.kind == "decision" and (past := past_decision(entry.kind, entry.body)):
                self._unstored[gate, entry.seq] = past
        return refused

    def _spend(self, gate: str, entry: WireEntry, now: int) -> None:
        """Take the entry's body from its gate's budget for this hour; `Refused` (`flood`)
        when it is spent."""
        hour = now // HOUR_MS
        spent_hour, spent = self._spent.get(gate, (hour, 0))
        spent = spent if spent_hour == hour else 0
        size = text_size(entry.body_json)
        if spent + size > self.budget_bytes:
            raise Refused(
                Reason.FLOOD, f"over the gate's budget of {self.budget_bytes >> 20} MiB an hour"
            )
        self._spent[gate] = (hour, spent + size)

    def decision_of(self, gate: str, seq: int) -> PastDecision | None:
        """Decision entry `seq` of `gate`, if the hub holds it: stored, or vetted in this same
        call and about to be (a passage record's undo is judged against it)."""
        past = self._unstored.get((gate, seq))
        if past is not None:
            return past
        stored = self.store.get(gate, seq)
        return None if stored is None else past_decision(stored.kind, stored.body)

    def _store(self, batches: list[PreparedBatch]) -> None:
        """Store batches in one transaction; then hand on what is new and acknowledge each
        gate once, with its watermark after the commit. Never raises."""
        self._unstored.clear()  # stored now, or to be sent again and vetted again
        if not batches:
            return
        try:
            results = self.store.add_batches(batches)
        except sqlite3.Error as exc:  # disk full or failing: no ack, the gates will resend
            self.rejected["store_failed"] += len(batches)
            gates = sorted({b.gate for b in batches})
            log.error("%d batches of %s not stored: %s", len(batches), ", ".join(gates), exc)
            return
        except Exception:  # a bug in the store must not stop the hub's ingest
            self.rejected["error"] += len(batches)
            log.exception("%d batches dropped", len(batches))
            return
        now = self.clock_ms()
        last: dict[str, AddResult] = {}  # each gate's last result: its watermark after all
        for batch, result in zip(batches, results, strict=True):
            self._count(batch.gate, result)
            last[batch.gate] = result
        with self._lock:
            for gate in last:
                live = self._live.setdefault(gate, _Live())
                live.online, live.last_event_ms = True, now
        self._hand_on([entry for result in results for entry in result.stored])
        for gate, result in last.items():
            self._send(self.topics.ack(gate), Ack(gate=gate, seq=result.acked), retain=True)
            self.counters["acks"] += 1
            if result.highest > result.acked:
                self._replay(gate, result.acked, now, "gap")

    def _count(self, gate: str, result: AddResult) -> None:
        self.counters["batches"] += 1
        self.counters["new"] += result.new
        self.counters["duplicates"] += result.duplicates
        self.counters["conflicts"] += result.conflicts
        if result.conflicts:
            log.warning(
                "gate %s: %d entries reuse a seq with another nonce (journal reset?): kept the "
                "first ones",
                gate,
                result.conflicts,
            )

    def _hand_on(self, stored: list[StoredEntry]) -> None:
        if not stored or self.on_stored is None:
            return
        try:
            self.on_stored(stored)
        except Exception:  # stored all the same: acknowledge, a rebuild will fold them
            self.counters["on_stored_failed"] += 1
            first = stored[0]
            log.exception("entries %s/%d.. stored but not handed on", first.gate, first.seq)

    def _status(self, gate: str, topic: str, payload: bytes, retained: bool) -> None:
        status = self._parse(GateStatus, topic, payload)
        if status is None:
            return
        if status.gate != gate:
            self._reject("gate_mismatch", topic, f"payload is from gate {status.gate!r}")
            return
        now = self.clock_ms()
        with self._lock:
            live = self._live.setdefault(gate, _Live())
            earlier, skew_ms = live.status, live.skew_ms
        if not status.online and earlier is not None:
            # the will says only "offline": keep what the gate said last (version, last seq)
            status = earlier.model_copy(update={"online": False})
        if status.online and not retained and status.wall_ms is not None:
            skew_ms = status.wall_ms - now  # else the last one measured stands
        try:
            self.store.set_status(gate, status.model_dump(mode="json"), now, skew_ms)
        except sqlite3.Error as exc:  # kept in memory all the same
            log.error("status of %s not stored: %s", gate, exc)
        self.counters["statuses"] += 1
        with self._lock:
            live.online, live.status, live.status_ms = status.online, status, now
            live.skew_ms = skew_ms
        acked = self.store.acked(gate)
        if status.online and status.acked is not None and status.acked > acked:
            # The gate holds an ack the store does not back (a store restored from a backup):
            # ask for everything above what is really here.
            log.warning(
                "gate %s was acknowledged up to %d, the store has %d", gate, status.acked, acked
            )
            self._replay(gate, acked, now, "ack above the store")

    # --- the loop's periodic work ---------------------------------------------------------

    def tick(self) -> None:
        """Ask again for what is still missing: a gap above the watermark, or an online gate
        that has gone quiet while its status shows entries above the watermark."""
        now = self.clock_ms()
        for row in self.store.gate_rows():
            with self._lock:
                live = self._live.get(row.gate)
            if live is None or not live.online:
                continue
            if row.highest > row.acked:
                self._replay(row.gate, row.acked, now, "gap")
                continue
            last_seq = live.status.last_seq if live.status else None
            quiet = max(live.last_event_ms or 0, live.status_ms or 0)
            if last_seq is not None and last_seq > row.acked and now - quiet >= self.stall_ms:
                self._replay(row.gate, row.acked, now, "stalled backlog")

    # --- the display ----------------------------------------------------------------------

    def gates(self) -> dict[str, GateView]:
        """Every gate the hub has heard of, by id."""
        hub_version = self.allowlist_version() if self.allowlist_version else None
        rows = {row.gate: row for row in self.store.gate_rows()}
        with self._lock:
            live = {gate: replace(state) for gate, state in self._live.items()}
        views = {}
        for gate in sorted(rows.keys() | live.keys()):
            row, state = rows.get(gate) or GateRow(gate), live.get(gate) or _Live()
            status = state.status
            last_seq = status.last_seq if status else None
            version = status.allowlist_version if status else None
            views[gate] = GateView(
                gate=gate,
                online=state.online,
                last_seen_ms=row.last_seen_ms,
                acked=row.acked,
                highest=row.highest,
                last_seq=last_seq,
                backlog=max(last_seq or 0, row.highest) - row.acked,
                missing=row.highest > row.acked,
                allowlist_version=version,
                clock_skew_s=state.skew_ms / 1000 if state.skew_ms is not None else None,
                stale_allowlist=(
                    hub_version is not None and version is not None and version < hub_version
                ),
                reader=status.reader if status else None,
                taken_over=status.taken_over if status else None,
            )
        return views

    def headcount_gates(self) -> dict[str, HeadcountGate]:
        """`gates()` as the headcount message carries them."""
        return {gate: view.to_protocol() for gate, view in self.gates().items()}

    # --- helpers --------------------------------------------------------------------------

    def _parse(self, model: type[M], topic: str, payload: bytes) -> M | None:
        if not self._readable(topic, payload):
            return None
        try:
            return parse(model, bytes(payload))
        except ProtocolError as exc:
            self._reject(_reason(str(exc)), topic, str(exc))
            return None

    def _read_events(self, topic: str, payload: bytes) -> WireBatch | None:
        if not self._readable(topic, payload):
            return None
        try:
            return read_events(bytes(payload))
        except ProtocolError as exc:
            self._reject(_reason(str(exc)), topic, str(exc))
            return None

    def _readable(self, topic: str, payload: bytes) -> bool:
        if not isinstance(payload, bytes | bytearray):
            self._reject("malformed", topic, f"payload is {type(payload).__name__}, not bytes")
            return False
        if len(payload) > MAX_PAYLOAD:
            self._reject("oversized", topic, f"{len(payload)} bytes, over {MAX_PAYLOAD}")
            return False
        return True

    def _reject(self, reason: str, topic: str, detail: str) -> None:
        self.rejected[reason] += 1
        log.warning("dropped a message on %s: %s: %s", topic, reason, detail[:300])

    def _replay(self, gate: str, after: int, now: int, why: str) -> None:
        with self._lock:
            live = self._live.setdefault(gate, _Live())
            if live.last_replay_ms is not None and now - live.last_replay_ms < (
                self.replay_interval_ms
            ):
                return
            live.last_replay_ms = now
        log.info("asking %s to resend after %d (%s)", gate, after, why)
        self._send(self.topics.replay(gate), Replay(gate=gate, after=after), retain=False)
        self.counters["replays"] += 1

    def _send(self, topic: str, message: Ack | Replay, retain: bool) -> None:
        try:
            self.publish(topic, dump(message), 1, retain)
        except Exception as exc:  # the client is down: the next batch or tick sends it again
            self.counters["publish_failed"] += 1
            log.warning("publish to %s failed: %s", topic, exc)


def _reason(message: str) -> str:
    """A rejection reason from `parse`'s message (its wording is fixed in gate.link.protocol)."""
    if message.startswith("payload of"):
        return "oversized"
    if message.startswith("not JSON"):
        return "malformed"
    if message.startswith(("a payload is a JSON object", "protocol version")):
        return "foreign"
    return "invalid"


def _from_row(row: GateRow) -> _Live:
    """What a restarted hub knows of a gate: its last status (the broker's retained status
    follows at once and replaces it)."""
    status = None
    if row.status is not None:
        try:
            status = GateStatus.model_validate(row.status)
        except ValueError:
            status = None
    return _Live(
        online=bool(status and status.online),
        status=status,
        status_ms=row.status_ms,
        skew_ms=row.skew_ms,
        last_event_ms=row.last_seen_ms,
    )
