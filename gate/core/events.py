"""Events: the facts `decide` and `expire` produce and `fold` applies.

An event says what changed, never why a scan was refused (the Decision says that). Gate and hub
keep the same events and fold them with the same code, so they agree on who is inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gate.core.model import Code, MemberState, Mode, Role


@dataclass(frozen=True, slots=True)
class BindingOpened:
    """A ticket was scanned at a desk: the next bands scanned there join its group."""

    gate: str
    at: datetime
    group: str
    adults: int
    children: int


@dataclass(frozen=True, slots=True)
class BandBound:
    """A band took a slot of `group` at desk `gate`. `carried`: the passage counter of the record
    the band carried for this group when it was bound (a record of an earlier binding of it to the
    same family, `gate.core.passages`), 0 when none: the member starts there, so that record
    speaks for nothing of this binding, and a copy of the band from before it is behind."""

    gate: str
    at: datetime
    uid: str
    group: str
    role: Role
    carried: int = 0


@dataclass(frozen=True, slots=True)
class BandLearned:
    """A band this state had never seen, taken from its verified token: a member of `group`,
    assumed `state` where it was scanned (inside at an exit, not yet in at an entry)."""

    gate: str
    at: datetime
    uid: str
    group: str
    role: Role
    state: MemberState
    adults: int
    children: int


@dataclass(frozen=True, slots=True)
class MemberMoved:
    """A member changed state through a gate (or was recalled to `temp_out` by a closing window:
    `recalled_from` then holds the passage counter the adult had when the window closed, and the
    recall stands only while the adult is still there, `gate.core.state.recall_stands`)."""

    gate: str
    at: datetime
    uid: str
    group: str
    state: MemberState
    forced: bool = False
    staff: str | None = None
    overrode: Code | None = None
    counter: int | None = None  # the passage counter written on the band before the relay moved
    recalled_from: int | None = None  # a window's recall only; None in journals before it


@dataclass(frozen=True, slots=True)
class PairingOpened:
    """An adult of `group` was granted at `gate`: its children may follow until the window ends."""

    gate: str
    at: datetime
    group: str
    direction: Mode
    adult: str


@dataclass(frozen=True, slots=True)
class PairingClosed:
    gate: str
    at: datetime
    group: str
    direction: Mode


@dataclass(frozen=True, slots=True)
class PairingExtended:
    """A child of a group ticket went through an open window of its group at `gate`: the
    window runs on from `at`, so a whole class passes one lane behind its leaders."""

    gate: str
    at: datetime
    group: str
    direction: Mode
    child: str


@dataclass(frozen=True, slots=True)
class VoucherUsed:
    """Digital voucher `voucher` (its serial) re-admitted member `uid`: spent, at every gate
    that hears of it; a second use anywhere is refused, or, cut off, found by the hub."""

    gate: str
    at: datetime
    voucher: str
    uid: str
    group: str


@dataclass(frozen=True, slots=True)
class GroupsJoined:
    """Staff at the desk joined ticket `other` to `group`'s family: either's adults may take
    either's children."""

    gate: str
    at: datetime
    group: str
    other: str


@dataclass(frozen=True, slots=True)
class GroupFlagged:
    """Children of the group are inside and no adult of theirs is: shown live and at closing."""

    gate: str
    at: datetime
    group: str


@dataclass(frozen=True, slots=True)
class OverrideArmed:
    gate: str
    at: datetime
    staff: str


@dataclass(frozen=True, slots=True)
class OverrideSpent:
    gate: str
    at: datetime
    staff: str
    uid: str
    overrode: Code


@dataclass(frozen=True, slots=True)
class BandReplaced:
    """Staff at the desk replaced member `old`'s band (lost) with band `new`: the new band takes
    the member's group, role and state, and the old one is revoked for every gate that folds
    this (`State.revocations`), whatever its token says. `carried`: the passage counter the
    desk knew of band `new` in the same group (a band of the family returned at a final exit,
    given out again), 0 when none: its record of that earlier binding speaks for nothing after."""

    gate: str
    at: datetime
    old: str
    new: str
    group: str
    staff: str
    carried: int = 0


@dataclass(frozen=True, slots=True)
class ChildRegistered:
    """Staff at desk `gate` registered a walk-in child with no adult ticket (《家长电话联络表—
    儿童独立入园》): `group` is its one-child group (`W-<desk>-<yyyymmdd>-<n>`), open for its
    band to bind as `solo_child`; `phone` masked (`*******8000`): every gate hears it, and the
    desk sends the full number to the hub alone (docs/desk.md). An entry written before phones
    were masked here holds it in full: it still folds and is vetted, and is shown masked."""

    gate: str
    at: datetime
    group: str
    guardian: str
    phone: str
    staff: str


@dataclass(frozen=True, slots=True)
class BandUnbound:
    """Staff at the desk unbound band `uid` (bound by mistake): its slot in `group` is free again,
    and it leaves the headcount if it was inside. `state`: where the member was before."""

    gate: str
    at: datetime
    uid: str
    group: str
    role: Role
    state: MemberState
    staff: str


@dataclass(frozen=True, slots=True)
class BandReissued:
    """Staff at the desk gave back band `uid`, returned by mistake at a final exit: the member of
    `group` is put back in `state` (`temp_out` for an adult, `bound` for a child)."""

    gate: str
    at: datetime
    uid: str
    group: str
    state: MemberState
    staff: str


@dataclass(frozen=True, slots=True)
class PickupCodeIssued:
    """The desk gave `group` a pickup code: `digest` is its HMAC-SHA256 with the site key (hex),
    never the code itself. An exit gate that reads a matching code opens the group's window."""

    gate: str
    at: datetime
    group: str
    digest: str


@dataclass(frozen=True, slots=True)
class NotAuthorisedSet:
    """Staff at the desk set who may NOT collect `group`'s children (empty: nobody listed): no
    staff override releases them; only the guardian's pickup code does."""

    gate: str
    at: datetime
    group: str
    names: tuple[str, ...]
    staff: str


@dataclass(frozen=True, slots=True)
class PickupAsked:
    """A solo child of `group` (band `uid`) was refused at exit gate `gate` for want of its
    guardian's pickup code: the codes shown at this lane within the pairing window are tried
    for this child, and a wrong one counts against it (`gate.core.pickup_tries`)."""

    gate: str
    at: datetime
    group: str
    uid: str


@dataclass(frozen=True, slots=True)
class PickupCodeRefused:
    """A pickup code shown at exit gate `gate` matched no child inside: a wrong code tried for
    the child of `group` waiting there (`PickupAsked`), or, `group` empty, with no child shown
    at the lane. Enough of them within the policy's period and codes are refused for that child
    (or, with no child shown, at that lane) for a while (`gate.core.pickup_tries`)."""

    gate: str
    at: datetime
    group: str


@dataclass(frozen=True, slots=True)
class ValueRevoked:
    """Staff at the desk revoked ticket or band `value` (a refund, a band reported lost): every
    gate that folds this refuses it at once (`State.desk_revoked`); the hub, storing it, revokes
    it in its allowlist too, so a gate that missed the event gets it as a delta."""

    gate: str
    at: datetime
    value: str
    reason: str
    staff: str


@dataclass(frozen=True, slots=True)
class ValueRestored:
    """Staff at the desk lifted the revocation of ticket or band `value`; `lifted` is the reason
    it was revoked for, as the desk knew it (an allowlist's revocation with that reason is lifted
    for the gates that fold this until the hub's allowlist says otherwise)."""

    gate: str
    at: datetime
    value: str
    lifted: str
    staff: str


@dataclass(frozen=True, slots=True)
class IncidentOpened:
    """Staff at the desk (or a handheld) opened a lost-child or separated-family incident
    (家长与孩子走失) for `group`, by band `band` ("" when by the ticket); the hub records it and
    shows it on the display."""

    gate: str
    at: datetime
    kind: str  # lost_child | separated_family
    group: str
    band: str
    note: str
    staff: str


@dataclass(frozen=True, slots=True)
class IncidentClosed:
    """Staff at the desk (or a handheld) closed `group`'s open incident: `outcome` found or
    cancelled."""

    gate: str
    at: datetime
    group: str
    outcome: str
    staff: str


@dataclass(frozen=True, slots=True)
class StockRecorded:
    """Staff at the desk (or a handheld) recorded wristband stock (《每日物资领用记录表》): `count`
    bands `taken` from the store, `returned` to it or `written_off` (with `reason`), in the desk's
    shift `shift`. With `band`, one band of `group` handed back after a temporary exit: its
    member has left for good, and the band is free for the next family (`State` folds it as
    returned at a final exit)."""

    gate: str
    at: datetime
    kind: str  # taken | returned | written_off
    count: int
    shift: str
    reason: str
    band: str
    group: str
    staff: str


Event = (
    BindingOpened
    | BandBound
    | BandLearned
    | MemberMoved
    | PairingOpened
    | PairingClosed
    | PairingExtended
    | VoucherUsed
    | GroupsJoined
    | GroupFlagged
    | OverrideArmed
    | OverrideSpent
    | BandReplaced
    | BandUnbound
    | BandReissued
    | ChildRegistered
    | PickupCodeIssued
    | NotAuthorisedSet
    | PickupAsked
    | PickupCodeRefused
    | ValueRevoked
    | ValueRestored
    | IncidentOpened
    | IncidentClosed
    | StockRecorded
)
