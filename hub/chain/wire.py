"""The wire between a venue's hub and the chain's head office: topics, subjects, the JetStream
stream, and the versioned, validated payloads both ends build and read.

A venue's hub publishes to its own Mosquitto only; the broker's bridge (`connection hq`,
`deploy.broker`) carries the chain's topics out to NATS's MQTT gateway and the head office's
acknowledgement back in. On the venue's broker the topics sit under its prefix
(`wristgate/v1/hq/...`); on the head office's side they have none, and NATS reads MQTT topic
`a/b/c` as subject `a.b.c`:

    hq/venue/{venue}/entries   venue -> hq   QoS 1   EntryBatch: venue sequence from..to
    hq/venue/{venue}/summary   venue -> hq   QoS 1   Summary: what the hub says of itself now
    hq/ack/{venue}             hq -> venue   QoS 1, retained   Ack: every entry 1..upto stored

The venue sequence is the hub store's own order of the gates' entries (1, 2, 3, ... with no
gap, `hub.store.chain`); an entry travels exactly as the hub stored it. Head office stores a
batch idempotently on (venue, venue sequence) and acknowledges the contiguous prefix, so a
batch sent twice changes nothing and a lost one is sent again from the watermark.

    batch = EntryBatch(venue="V1", first=1, last=2, entries=(e1, e2))
    client.publish(ChainTopics(prefix).entries("V1"), dump(batch), qos=1)
    batch = read_batch(subject, payload)      # ProtocolError with the reason, never a crash

Anything from the other side is hostile until read here: a payload that is not ours, too big,
of another venue than its topic, or with a venue sequence that does not add up is refused with
a reason (`ProtocolError`); the caller counts it and goes on.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gate.link.protocol import GATE_ID, Message, ProtocolError, dump, parse

__all__ = [
    "ACK_TOPIC",
    "CONSUMER",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "STREAM",
    "STREAM_SUBJECTS",
    "VENUE_ID",
    "Ack",
    "AlertCounts",
    "ChainEntry",
    "ChainTopics",
    "EntryBatch",
    "ProtocolError",
    "Summary",
    "check_venue",
    "dump",
    "read_ack",
    "read_batch",
    "read_summary",
    "subject_of",
    "venue_of_subject",
]

VENUE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"  # an MQTT topic level and a NATS subject token
_VENUE = re.compile(VENUE_ID)

STREAM = "CHAIN"  # the JetStream stream of every venue's entries and summaries
STREAM_SUBJECTS = ("hq.venue.>",)
STREAM_MAX_AGE_S = 7 * 24 * 3600  # a venue cut off longer than this must be re-sent from its hub
CONSUMER = "hq"  # head office's one durable pull consumer
ACK_TOPIC = "hq/ack/{venue}"

MAX_BATCH_ENTRIES = 500  # a venue's batch; NATS's default max_payload is 1 MiB
MAX_BATCH_BYTES = 512 * 1024  # the forwarder cuts a batch before this; a reader refuses above
_MAX_READ = 1024 * 1024


def check_venue(venue: str) -> str:
    """`venue` if it is a venue id (letters, digits, `_`, `-`; 32 at most), else ValueError."""
    if not isinstance(venue, str) or not _VENUE.fullmatch(venue):
        raise ValueError(
            f"venue id {str(venue)[:40]!r}: letters, digits, '_' and '-', 32 at most, "
            "starting with a letter or digit"
        )
    return venue


class ChainTopics:
    """The chain's MQTT topics, under `prefix` (the venue broker's, e.g. `wristgate/v1`) or
    none (what the bridge makes of them at head office)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self._head = f"{self.prefix}/" if self.prefix else ""

    def entries(self, venue: str = "+") -> str:
        return f"{self._head}hq/venue/{venue}/entries"

    def summary(self, venue: str = "+") -> str:
        return f"{self._head}hq/venue/{venue}/summary"

    def venue_out(self, venue: str) -> str:
        """Everything a venue sends head office (the bridge's `out` pattern, without prefix)."""
        return f"{self._head}hq/venue/{venue}/#"

    def ack(self, venue: str = "+") -> str:
        return f"{self._head}hq/ack/{venue}"


def subject_of(topic: str) -> str:
    """The NATS subject of an MQTT topic at head office: `hq/ack/V1` -> `hq.ack.V1`."""
    return topic.replace("/", ".")


def venue_of_subject(subject: str) -> tuple[str, Literal["entries", "summary"]]:
    """(venue, what) of a subject of the stream, `hq.venue.{venue}.{entries|summary}`; else
    ProtocolError naming what is wrong with it."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[:2] != ["hq", "venue"] or parts[3] not in ("entries", "summary"):
        raise ProtocolError(f"subject {subject[:80]!r} is not hq.venue.<venue>.entries|summary")
    if not _VENUE.fullmatch(parts[2]):
        raise ProtocolError(f"subject {subject[:80]!r}: {parts[2][:40]!r} is not a venue id")
    what: Literal["entries", "summary"] = "entries" if parts[3] == "entries" else "summary"
    return parts[2], what


class ChainEntry(BaseModel):
    """One gate's journal entry exactly as the venue's hub stored it (`hub.store`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gate: str = Field(pattern=GATE_ID)
    seq: int = Field(ge=1, le=(1 << 63) - 1)
    nonce: str = Field(min_length=1, max_length=64)
    hlc: str = Field(pattern=r"^[0-9a-f]{16}$")
    wall_ms: int = Field(ge=0, le=(1 << 63) - 1)
    kind: str = Field(min_length=1, max_length=32)
    body: dict[str, Any]
    received_ms: int = Field(ge=0, le=(1 << 63) - 1)  # the hub's clock when it first stored it


class EntryBatch(Message):
    """Entries `first`..`last` of the venue sequence, in that order, none missing."""

    venue: str = Field(pattern=VENUE_ID)
    first: int = Field(alias="from", ge=1)
    last: int = Field(alias="to", ge=1)
    entries: tuple[ChainEntry, ...] = Field(min_length=1, max_length=MAX_BATCH_ENTRIES)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _adds_up(self) -> EntryBatch:
        if self.last - self.first + 1 != len(self.entries):
            raise ValueError(
                f"from {self.first} to {self.last} is {self.last - self.first + 1} entries, "
                f"the batch holds {len(self.entries)}"
            )
        return self

    def numbered(self) -> list[tuple[int, ChainEntry]]:
        """(venue sequence, entry) for each entry."""
        return list(enumerate(self.entries, start=self.first))

    def dump(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


class AlertCounts(BaseModel):
    """How many are open now, and of which kinds (kind -> count)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    count: int = Field(default=0, ge=0)
    kinds: dict[str, int] = Field(default={}, max_length=64)


class Summary(Message):
    """What a venue's hub says of itself, every few seconds and on change. Head office computes
    the headcount from the entries itself; this gives freshness, alerts, and what the hub's own
    fold says, shown beside head office's when they disagree."""

    venue: str = Field(pattern=VENUE_ID)
    at_ms: int = Field(ge=0, description="the hub's wall clock when it was made")
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="the venue's day")
    timezone: str | None = Field(default=None, max_length=64, description="the venue's, IANA")
    inside: int = Field(ge=0)
    children: int = Field(ge=0)
    unaccompanied_children: int = Field(ge=0)
    alerts: AlertCounts = AlertCounts()  # the audit's findings now
    incidents: int = Field(default=0, ge=0, description="outages and faults open now")
    lost_children: int = Field(default=0, ge=0, description="lost-child incidents open now")
    live: bool = Field(description="the hub is connected and a gate was heard recently")
    stale_since: str | None = None
    entries: int = Field(ge=0, description="the venue sequence's last number at the hub")
    acked: int = Field(ge=0, description="head office's acknowledgement the hub holds")


class Ack(Message):
    """Head office has every entry 1..`upto` of `venue` durably in its store."""

    venue: str = Field(pattern=VENUE_ID)
    upto: int = Field(ge=0)


def _read(model: type[Any], payload: bytes) -> Any:
    if len(payload) > _MAX_READ:
        raise ProtocolError(f"payload of {len(payload)} bytes is over {_MAX_READ}")
    return parse(model, payload)


def read_batch(payload: bytes, venue: str | None = None) -> EntryBatch:
    """An EntryBatch, of `venue` when given (the one its topic or subject names)."""
    batch: EntryBatch = _read(EntryBatch, payload)
    _same_venue(batch.venue, venue)
    return batch


def read_summary(payload: bytes, venue: str | None = None) -> Summary:
    summary: Summary = _read(Summary, payload)
    _same_venue(summary.venue, venue)
    return summary


def read_ack(payload: bytes, venue: str | None = None) -> Ack:
    ack: Ack = _read(Ack, payload)
    _same_venue(ack.venue, venue)
    return ack


def _same_venue(said: str, expected: str | None) -> None:
    if expected is not None and said != expected:
        raise ProtocolError(f"payload of venue {said!r} on venue {expected!r}'s topic")
