"""The MQTT protocol between gates and the hub: topics and versioned, validated payloads.

Both ends build and read every payload through these models, so a malformed, oversized or
foreign message is rejected in one place with a reason (`ProtocolError`), counted by the caller
and dropped; it never stops a consumer. `docs/mqtt.md` describes the same tree for people.
An events payload is read by `gate.link.batches.read_events`, which refuses exactly what `parse`
does.

    {prefix}/gate/{gate}/events      gate -> hub     journal entries, QoS 1      EventBatch
    {prefix}/gate/{gate}/status      gate -> all     retained; will: offline      GateStatus
    {prefix}/hub/ack/{gate}          hub -> gate     retained                     Ack
    {prefix}/hub/replay/{gate}       hub -> gate     "resend after seq"           Replay
    {prefix}/hub/allowlist           hub -> gates    retained snapshot, no phones AllowlistSnapshot
    {prefix}/hub/allowlist/delta     hub -> gates    changes, no phones           AllowlistChange
    {prefix}/hub/allowlist/full      hub -> desks    retained snapshot, phones    AllowlistSnapshot
    {prefix}/hub/allowlist/full/delta  hub -> desks  changes, phones              AllowlistChange
    {prefix}/hub/headcount           hub -> all      retained                     Headcount
    {prefix}/hub/status              hub -> all      retained; will: offline      HubStatus
    {prefix}/hub/roster              hub -> gates    retained: gate id -> role    Roster
    {prefix}/hub/time                hub -> gates    every second, never retained HubTime
    {prefix}/hub/desk/{gate}         hub -> that desk  a console's desk action    DeskRequest
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from gate.config import describe
from gate.core import Allowlist, Role, Ticket
from gate.core.authority import GATE_ROLES
from gate.store.journal import Entry as JournalEntry

VERSION = 1
DEFAULT_PREFIX = "wristgate/v1"
HA_DISCOVERY = "homeassistant"  # Home Assistant's MQTT discovery prefix
MAX_PAYLOAD = 32 * 1024 * 1024  # a 200k-entry allowlist snapshot is about 12 MB of JSON
MAX_BATCH = 200
GATE_ID = r"^[A-Za-z0-9_-]{1,32}$"
PHONE_ROLES = frozenset({"desk", "handheld"})  # the gate roles that get guardian phones


class ProtocolError(ValueError):
    """A payload that is not ours or not valid: the reason says which field and why."""


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1


class Entry(BaseModel):
    """One journal entry as it travels: what the gate committed, byte for byte."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seq: int = Field(ge=1)
    nonce: str = Field(min_length=8, max_length=64)
    wall_ms: int = Field(ge=0)
    hlc: str = Field(pattern=r"^[0-9a-f]{16}$")
    kind: str = Field(min_length=1, max_length=32)
    body: dict[str, Any]

    @classmethod
    def of(cls, entry: JournalEntry) -> Entry:
        """A committed journal entry, as it travels."""
        return cls(
            seq=entry.seq,
            nonce=entry.nonce,
            wall_ms=entry.wall_ms,
            hlc=str(entry.hlc),
            kind=entry.kind,
            body=entry.body,
        )


class EventBatch(Message):
    gate: str = Field(pattern=GATE_ID)
    entries: list[Entry] = Field(min_length=1, max_length=MAX_BATCH)


class GateClockStatus(BaseModel):
    """What a gate knows of its clock (`gate.link.hub_time`): its system clock's offset to the
    hub's, whether it decides with the hub-corrected time, and its NTP state."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    offset_ms: int | None = Field(default=None, description="hub minus gate; None: never measured")
    corrected: bool = False
    age_s: float | None = Field(default=None, ge=0, description="since the offset was measured")
    ntp: Literal["synchronized", "unsynchronized", "unknown"] = "unknown"
    bound_ms: int = Field(default=2000, ge=0)


REQUEST_ID = r"^[A-Za-z0-9._:-]{1,64}$"  # a desk request's id, journalled with its decision
DESK_ACTION = r"^[a-z][a-z_]{0,31}$"
DESK_REQUEST_MAX_AGE_S = 60  # a desk request older than this (by the desk's clock) is stale
CONSOLE_USER = "hub console"  # who asked a desk request, as the desk journals it (`asked_by`)
ArgText = Annotated[str, StringConstraints(max_length=256)]
ArgName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,31}$")]


class DeskRequest(Message):
    """A desk action asked for at the hub's console (`hub/desk/{gate}`: only the hub writes it,
    only that desk reads it). The desk runs it as if asked on its control socket
    (`gate.daemon.desk_actions`) and journals its decision with `request`; the console reads
    the outcome back from the hub's store by that id. A request older than
    DESK_REQUEST_MAX_AGE_S by the desk's clock, or one it has run already, is not run again."""

    gate: str = Field(pattern=GATE_ID)
    request: str = Field(pattern=REQUEST_ID)
    action: str = Field(pattern=DESK_ACTION)
    args: dict[ArgName, ArgText | Annotated[list[ArgText], Field(max_length=32)]] = Field(
        default={}, max_length=16
    )
    sent_ms: int = Field(ge=0, description="the hub's clock when it asked")


class DeskRefused(BaseModel):
    """A desk request the desk did not run, and why (said in its status, for the console)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    request: str = Field(pattern=REQUEST_ID)
    reason: str = Field(max_length=300)


class GateStatus(Message):
    gate: str = Field(pattern=GATE_ID)
    online: bool
    role: str | None = None
    allowlist_version: int | None = None
    last_seq: int | None = None
    acked: int | None = None
    wall_ms: int | None = None
    hlc: str | None = None
    reader: str | None = None
    taken_over: int | None = Field(
        default=None, ge=0, description="times the gate's session was taken over in the last hour"
    )
    clock: GateClockStatus | None = None
    scanner: str | None = Field(default=None, max_length=200, description="its problem, if any")
    disk: str | None = Field(default=None, max_length=200, description="its problem, if any")
    drill: str | None = Field(default=None, max_length=40, description="a drill under way")
    boot: str | None = Field(
        default=None, max_length=64, description="the gate machine's boot id: a new one, a reboot"
    )
    desk_refused: list[DeskRefused] | None = Field(
        default=None, max_length=16, description="the desk's last requests not run, and why"
    )


class HubTime(Message):
    """The hub's wall clock when it sent this (`hub/time`, every second): each gate measures its
    own clock's offset against it."""

    hub_ms: int = Field(ge=0)


class DrillOrder(Message):
    """A rehearsal the hub orders one gate to play (`hub drill start`): `broker-cut` drops the
    gate's broker link, `reader-removed` has it treat its reader as removed, until `for_s` has
    passed or an order with `active` false comes (a cut gate hears none: it waits out `for_s`)."""

    gate: str = Field(pattern=GATE_ID)
    drill: int = Field(ge=1)
    kind: Literal["broker-cut", "reader-removed"]
    active: bool
    for_s: int = Field(default=60, ge=1, le=3600)


class Ack(Message):
    gate: str = Field(pattern=GATE_ID)
    seq: int = Field(ge=0, description="highest sequence stored with nothing missing below")


class Replay(Message):
    gate: str = Field(pattern=GATE_ID)
    after: int = Field(ge=0)


class TicketRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(min_length=1, max_length=64)
    product: str = ""
    adults: int = Field(ge=0, le=255)
    children: int = Field(ge=0, le=255)
    valid_from: date
    valid_to: date
    guardian_phone: str = ""
    guardian_registered: bool = False  # a phone left out of this copy: the desk has it
    session: str = Field(default="", max_length=16)  # 场次: valid only in its hours
    leaders: int = Field(default=0, ge=0, le=255)  # a school group's ticket: its adults lead


class AllowlistSnapshot(Message):
    version: int = Field(ge=1)
    tickets: list[TicketRow] = []
    bands: dict[str, Literal["adult", "child"]] = {}
    staff: dict[str, str] = {}
    revoked: dict[str, str] = {}


class AllowlistChange(Message):
    base_version: int = Field(ge=0)
    version: int = Field(ge=1)
    tickets: list[TicketRow] = []
    bands: dict[str, Literal["adult", "child"]] = {}
    staff: dict[str, str] = {}
    revoked: dict[str, str] = {}
    unrevoked: list[str] = []


class HeadcountGate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    online: bool
    last_seen: str | None
    backlog: int
    allowlist_version: int | None
    clock_skew_s: float | None = None


class Headcount(Message):
    inside: int
    adults: int
    children: int
    unaccompanied_children: int
    groups_inside: int
    capacity: int | None
    as_of: str
    gates: dict[str, HeadcountGate] = {}
    live: bool = Field(default=False, description="connected and a gate heard recently")
    stale_since: str | None = Field(default=None, description="not live: figures as of then")


class HubStatus(Message):
    online: bool
    allowlist_version: int | None = None


class Roster(Message):
    """The venue's gates and their roles (`[gates]` of hub.toml): what each gate may say."""

    gates: dict[str, str] = Field(default={}, max_length=4096)

    @field_validator("gates")
    @classmethod
    def _roles(cls, gates: dict[str, str]) -> dict[str, str]:
        for gate, role in gates.items():
            if not re.match(GATE_ID, gate) or role not in GATE_ROLES:
                raise ValueError(f"{gate[:32]!r} = {role[:16]!r}: not a gate id and a role")
        return gates


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], payload: bytes) -> M:
    """Read a payload as `model`, or raise ProtocolError with the reason."""
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # also a number too long, nesting too deep
        raise ProtocolError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("a payload is a JSON object")
    if SURROGATE_ESCAPE.search(payload) and not _utf8_text(data):
        raise ProtocolError("text with a lone surrogate (a \\ud800 escape): no UTF-8 can hold it")
    if data.get("v") != VERSION:
        raise ProtocolError(f"protocol version {data.get('v')!r}, expected {VERSION}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(describe(exc, model.__name__).replace("\n", "; ")) from exc


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # how JSON spells a surrogate


def _utf8_text(data: Any) -> bool:
    """Whether every string in `data` is text UTF-8 can hold: JSON's escapes can spell a lone
    surrogate, which no store, log or dump could write."""
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def dump(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()


class Topics:
    """The topic tree under one venue prefix."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix.rstrip("/")

    def events(self, gate: str = "+") -> str:
        return f"{self.prefix}/gate/{gate}/events"

    def status(self, gate: str = "+") -> str:
        return f"{self.prefix}/gate/{gate}/status"

    def ack(self, gate: str = "+") -> str:
        return f"{self.prefix}/hub/ack/{gate}"

    def replay(self, gate: str = "+") -> str:
        return f"{self.prefix}/hub/replay/{gate}"

    def drill(self, gate: str = "+") -> str:
        """A drill ordered to one gate by the hub (`hub drill start`), never retained."""
        return f"{self.prefix}/hub/drill/{gate}"

    def desk(self, gate: str = "+") -> str:
        """A desk action asked of one desk (or handheld) by the hub's console, never retained."""
        return f"{self.prefix}/hub/desk/{gate}"

    def desk_for(self, role: str, gate: str) -> tuple[str, ...]:
        """The console's topic a gate of `role` reads: its own, for a desk or a handheld."""
        return (self.desk(gate),) if role in PHONE_ROLES else ()

    @property
    def allowlist(self) -> str:
        return f"{self.prefix}/hub/allowlist"

    @property
    def allowlist_delta(self) -> str:
        return f"{self.prefix}/hub/allowlist/delta"

    @property
    def allowlist_full(self) -> str:
        """The allowlist with guardian phones: desks and handhelds only (the broker's ACL)."""
        return f"{self.prefix}/hub/allowlist/full"

    @property
    def allowlist_full_delta(self) -> str:
        return f"{self.prefix}/hub/allowlist/full/delta"

    def allowlist_for(self, role: str) -> tuple[str, str]:
        """The snapshot and delta topics a gate of `role` reads: with phones for the desk and
        handhelds (which show them masked), without for entry and exit gates."""
        if role in PHONE_ROLES:
            return self.allowlist_full, self.allowlist_full_delta
        return self.allowlist, self.allowlist_delta

    @property
    def headcount(self) -> str:
        return f"{self.prefix}/hub/headcount"

    @property
    def hub_status(self) -> str:
        return f"{self.prefix}/hub/status"

    @property
    def roster(self) -> str:
        return f"{self.prefix}/hub/roster"

    @property
    def hub_time(self) -> str:
        return f"{self.prefix}/hub/time"

    def gate_of(self, topic: str) -> str | None:
        """The gate id a gate topic names (`{prefix}/gate/{gate}/...`), else None."""
        parts = topic[len(self.prefix) + 1 :].split("/") if topic.startswith(self.prefix) else []
        return parts[1] if len(parts) == 3 and parts[0] == "gate" else None


# --- the allowlist on the wire and in memory ---------------------------------------------------


def ticket_row(t: Ticket) -> TicketRow:
    return TicketRow(
        code=t.code,
        product=t.product,
        adults=t.adults,
        children=t.children,
        valid_from=t.valid_from,
        valid_to=t.valid_to,
        guardian_phone=t.guardian_phone,
        guardian_registered=t.guardian_registered,
        session=t.session,
        leaders=t.leaders,
    )


def ticket_of(row: TicketRow) -> Ticket:
    return Ticket(
        row.code,
        row.product,
        row.adults,
        row.children,
        row.valid_from,
        row.valid_to,
        row.guardian_phone,
        row.guardian_registered,
        row.session,
        row.leaders,
    )


def without_phones(index: Allowlist) -> Allowlist:
    """The allowlist as entry and exit gates get it: each guardian phone replaced by the flag
    that one is registered (design §9: phones only where they are needed)."""
    if not any(t.guardian_phone for t in index.tickets.values()):
        return index
    tickets = {code: t.without_phone() for code, t in index.tickets.items()}
    return Allowlist(index.version, tickets, index.bands, index.staff, index.revoked)


def change_without_phones(change: AllowlistChange) -> AllowlistChange:
    rows = [ticket_row(ticket_of(row).without_phone()) for row in change.tickets]
    return change.model_copy(update={"tickets": rows})


def snapshot_of(index: Allowlist) -> AllowlistSnapshot:
    """The hub's allowlist as it is published (retained) to every gate."""
    return AllowlistSnapshot(
        version=index.version,
        tickets=[ticket_row(t) for t in index.tickets.values()],
        bands={
            uid: "adult" if role is Role.ADULT else "child" for uid, role in index.bands.items()
        },
        staff=dict(index.staff),
        revoked=dict(index.revoked),
    )


def allowlist_of(snapshot: AllowlistSnapshot) -> Allowlist:
    return Allowlist(
        version=snapshot.version,
        tickets={row.code: ticket_of(row) for row in snapshot.tickets},
        bands={uid: Role(role) for uid, role in snapshot.bands.items()},
        staff=dict(snapshot.staff),
        revoked=dict(snapshot.revoked),
    )
