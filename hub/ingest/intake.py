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

What is dropped and refused is counted in hub.ingest.refusals; what the hub knows of each gate
beyond the store (online, its last status, replays asked) is kept in hub.ingest.gates.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from gate.core.authority import PastDecision
from gate.core.hlc import DEFAULT_MAX_DRIFT_MS
from gate.link.protocol import Ack, GateStatus, HeadcountGate, Replay, Topics, dump
from gate.store.journal import wall_clock_ms
from hub.ingest.gates import GateTracker, GateView
from hub.ingest.refusals import BUDGET_BYTES, MAX_SEQ_JUMP, Refusals, Rejections, Vet
from hub.store.events import EventStore
from hub.store.records import AddResult, PreparedBatch, StoredEntry

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, int, bool], None]  # (topic, payload, qos, retain)
REPLAY_INTERVAL_MS = 1000
STALL_MS = 5000  # an online gate silent this long while behind its own status: ask again
Message = tuple[str, bytes, bool]  # (topic, payload, retained)


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
        self.replay_interval_ms = replay_interval_ms
        self.stall_ms = stall_ms
        self.rejections = Rejections()
        self.refusals = Refusals(store, vet, max_seq_jump, max_drift_ms, budget_bytes)
        self.rejected: Counter[str] = self.rejections.counts
        self.refused: Counter[str] = self.refusals.counts  # entries refused for what they say
        self.counters: Counter[str] = Counter()
        self.tracker = GateTracker(store, allowlist_version)

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
        batch = self.rejections.read_events(topic, payload)
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
        refused = self.refusals.check(gate, batch, self.clock_ms())
        return self.store.prepare(gate, batch.entries, now, refused) if refused else prepared

    def decision_of(self, gate: str, seq: int) -> PastDecision | None:
        """Decision entry `seq` of `gate`, if the hub holds it: stored, or vetted in this same
        call and about to be (a passage record's undo is judged against it)."""
        return self.refusals.decision_of(gate, seq)

    def _store(self, batches: list[PreparedBatch]) -> None:
        """Store batches in one transaction; then hand on what is new and acknowledge each
        gate once, with its watermark after the commit. Never raises."""
        self.refusals.stored()  # stored now, or to be sent again and vetted again
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
        self.tracker.sent_entries(last, now)
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
        status = self.rejections.parse(GateStatus, topic, payload)
        if status is None:
            return
        if status.gate != gate:
            self._reject("gate_mismatch", topic, f"payload is from gate {status.gate!r}")
            return
        now = self.clock_ms()
        status = self.tracker.record_status(gate, status, retained, now)
        self.counters["statuses"] += 1
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
            live = self.tracker.get(row.gate)
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
        return self.tracker.views()

    def headcount_gates(self) -> dict[str, HeadcountGate]:
        """`gates()` as the headcount message carries them."""
        return self.tracker.headcount_gates()

    # --- helpers --------------------------------------------------------------------------

    def _reject(self, reason: str, topic: str, detail: str) -> None:
        self.rejections.reject(reason, topic, detail)

    def _replay(self, gate: str, after: int, now: int, why: str) -> None:
        if not self.tracker.may_replay(gate, now, self.replay_interval_ms):
            return
        log.info("asking %s to resend after %d (%s)", gate, after, why)
        self._send(self.topics.replay(gate), Replay(gate=gate, after=after), retain=False)
        self.counters["replays"] += 1

    def _send(self, topic: str, message: Ack | Replay, retain: bool) -> None:
        try:
            self.publish(topic, dump(message), 1, retain)
        except Exception as exc:  # the client is down: the next batch or tick sends it again
            self.counters["publish_failed"] += 1
            log.warning("publish to %s failed: %s", topic, exc)
