"""What the hub's ingest drops and refuses, counted by reason: messages it cannot read or that
are not what their topic says (`Rejections`, `rejected`), and entries a gate may not have sent
(`Refusals`, `refused`: quarantined by the store, never folded). See hub.ingest.intake.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from gate.core.authority import PastDecision, Reason, Refused, check_seq
from gate.link.batches import WireBatch, WireEntry, read_events
from gate.link.protocol import (
    MAX_PAYLOAD,
    EventBatch,
    GateStatus,
    ProtocolError,
    parse,
)
from gate.link.vetting import check_entry_clock, past_decision, text_size
from hub.store.events import EventStore

log = logging.getLogger("hub.ingest.intake")  # the ingest's one log, whichever part speaks

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
M = TypeVar("M", EventBatch, GateStatus)


class Rejections:
    """Messages dropped whole, counted in `counts` by reason, each with one log line."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def parse(self, model: type[M], topic: str, payload: bytes) -> M | None:
        if not self._readable(topic, payload):
            return None
        try:
            return parse(model, bytes(payload))
        except ProtocolError as exc:
            self.reject(_reason(str(exc)), topic, str(exc))
            return None

    def read_events(self, topic: str, payload: bytes) -> WireBatch | None:
        if not self._readable(topic, payload):
            return None
        try:
            return read_events(bytes(payload))
        except ProtocolError as exc:
            self.reject(_reason(str(exc)), topic, str(exc))
            return None

    def _readable(self, topic: str, payload: bytes) -> bool:
        if not isinstance(payload, bytes | bytearray):
            self.reject("malformed", topic, f"payload is {type(payload).__name__}, not bytes")
            return False
        if len(payload) > MAX_PAYLOAD:
            self.reject("oversized", topic, f"{len(payload)} bytes, over {MAX_PAYLOAD}")
            return False
        return True

    def reject(self, reason: str, topic: str, detail: str) -> None:
        self.counts[reason] += 1
        log.warning("dropped a message on %s: %s: %s", topic, reason, detail[:300])


class Refusals:
    """Entries of a batch refused for what they say (see `check`), counted in `counts` by reason;
    and the decisions vetted but not yet stored, for `decision_of`."""

    def __init__(
        self, store: EventStore, vet: Vet | None, max_seq_jump: int, max_drift_ms: int, budget: int
    ) -> None:
        self.store, self.vet = store, vet
        self.max_seq_jump, self.max_drift_ms, self.budget_bytes = max_seq_jump, max_drift_ms, budget
        self._spent: dict[str, tuple[int, int]] = {}  # gate -> (clock hour, body bytes taken)
        self._unstored: dict[tuple[str, int], PastDecision] = {}  # decisions vetted, not stored
        self.counts: Counter[str] = Counter()  # entries refused for what they say, by reason

    def check(self, gate: str, batch: WireBatch, now: int) -> dict[int, tuple[str, str]]:
        """seq -> (reason, detail) of the batch's entries refused: a seq far beyond the gate's
        watermark, a clock far ahead of the hub's, what its gate may not say, or what is beyond
        its hourly budget. Each is counted and logged."""
        refused: dict[int, tuple[str, str]] = {}
        acked = self.store.acked(gate)
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
                self.counts[exc.reason.value] += 1
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

    def stored(self) -> None:
        """The vetted decisions are stored now, or to be sent again and vetted again."""
        self._unstored.clear()


def _reason(message: str) -> str:
    """A rejection reason from `parse`'s message (its wording is fixed in gate.link.protocol)."""
    if message.startswith("payload of"):
        return "oversized"
    if message.startswith("not JSON"):
        return "malformed"
    if message.startswith(("a payload is a JSON object", "protocol version")):
        return "foreign"
    return "invalid"
