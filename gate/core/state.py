"""What a gate (or the hub) knows, and `fold`, the one function that changes it.

`decide` and `expire` only read a State. `fold` applies one event to it in place and returns it:
with 200k members a copy per event would cost more than the decision itself. Replaying the same
events through `fold` from the same allowlist always rebuilds the same State.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from gate.core.events import (
    BandBound,
    BandLearned,
    BandReissued,
    BandReplaced,
    BandUnbound,
    BindingOpened,
    ChildRegistered,
    Event,
    GroupFlagged,
    GroupsJoined,
    IncidentClosed,
    IncidentOpened,
    MemberMoved,
    NotAuthorisedSet,
    OverrideArmed,
    OverrideSpent,
    PairingClosed,
    PairingExtended,
    PairingOpened,
    PickupAsked,
    PickupCodeIssued,
    PickupCodeRefused,
    StockRecorded,
    ValueRestored,
    ValueRevoked,
    VoucherUsed,
)
from gate.core.model import Member, MemberState, Mode, Role, Ticket


@dataclass
class Allowlist:
    """The credentials a gate honours, indexed in memory. Built by the allowlist store."""

    version: int = 0
    tickets: dict[str, Ticket] = field(default_factory=dict)
    bands: dict[str, Role] = field(default_factory=dict)  # wristband stock: uid -> adult | child
    staff: dict[str, str] = field(default_factory=dict)  # badge uid -> name
    revoked: dict[str, str] = field(default_factory=dict)  # ticket code or band uid -> reason


@dataclass(frozen=True, slots=True)
class Group:
    """The people of one ticket. `members` lists every band ever bound to it, in binding order;
    a slot once bound stays taken even if its band is returned and recycled into another group."""

    id: str
    adults: int
    children: int
    members: tuple[str, ...] = ()
    bound_adults: int = 0
    bound_children: int = 0  # solo children included
    unaccompanied: bool = False

    @property
    def solo(self) -> bool:
        return self.adults == 0

    @property
    def full(self) -> bool:
        return self.bound_adults >= self.adults and self.bound_children >= self.children


@dataclass(frozen=True, slots=True)
class Pairing:
    """An open pairing window: adults of `group` granted at `gate`, children may follow."""

    gate: str
    group: str
    direction: Mode
    opened_at: datetime
    adults: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArmedOverride:
    staff: str
    at: datetime


PairingKey = tuple[str, str, Mode]  # (gate, group, direction)
MAX_WRONG_KEPT = 20  # wrong pickup codes kept per child or lane: the policy counts at most 20


@dataclass
class State:
    allowlist: Allowlist = field(default_factory=Allowlist)
    members: dict[str, Member] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    bindings: dict[str, str] = field(default_factory=dict)  # desk gate -> group being bound
    pairings: dict[PairingKey, Pairing] = field(default_factory=dict)
    overrides: dict[str, ArmedOverride] = field(default_factory=dict)  # gate -> armed badge
    inside: int = 0  # members in state `inside`, kept by fold for the capacity rule
    families: dict[str, frozenset[str]] = field(default_factory=dict)  # joined tickets
    vouchers_used: dict[str, VoucherUsed] = field(default_factory=dict)  # serial -> first use
    # bands replaced as lost at a desk (`BandReplaced`): uid -> reason, refused everywhere
    revocations: dict[str, str] = field(default_factory=dict)
    # bands unbound at a desk (`BandUnbound`) and not bound since: uid -> the group they left.
    # Their token still names that group: it is no longer believed
    unbound: dict[str, str] = field(default_factory=dict)
    guardians: dict[str, ChildRegistered] = field(default_factory=dict)  # walk-in group -> reg.
    # walk-in group -> its guardian's full phone, as this process was told it (the hub, by the
    # desks: `gate.link.guardian_phone`); never folded from events, which hold it masked.
    # Shared by copies, like the allowlist
    guardian_phones: dict[str, str] = field(default_factory=dict)
    pickup_codes: dict[str, str] = field(default_factory=dict)  # group -> its code's digest
    not_authorised: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> names
    # wrong pickup codes (`gate.core.pickup_tries`): exit gate -> (group, when) of the solo
    # child last refused there for want of its code; group -> when its wrong codes were shown
    # (the newest MAX_WRONG_KEPT); exit gate -> when codes with no child shown were wrong there
    pickup_asked: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    wrong_codes: dict[str, tuple[datetime, ...]] = field(default_factory=dict)
    lane_wrong_codes: dict[str, tuple[datetime, ...]] = field(default_factory=dict)
    # tickets and bands revoked at a desk (`ValueRevoked`) and not restored: value -> reason
    desk_revoked: dict[str, str] = field(default_factory=dict)
    # revocations lifted at a desk (`ValueRestored`): value -> the reason lifted. An allowlist
    # revocation with that reason is no longer honoured; one with another reason (revoked
    # again at the hub since, for a new reason) is
    restored: dict[str, str] = field(default_factory=dict)
    incidents: dict[str, IncidentOpened] = field(default_factory=dict)  # group -> open, by a desk
    stock_shifts: dict[str, StockRecorded] = field(default_factory=dict)  # desk -> its last

    def copy(self) -> State:
        """A copy that folding into leaves this one alone: every value held is immutable, so a
        copy of each table is enough. The allowlist is shared (it is replaced, never changed),
        and so are the guardians' phones (this process's, never folded)."""
        shared = ("allowlist", "guardian_phones")
        held: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        return State(**{k: v if k in shared else _copied(v) for k, v in held.items()})

    def revoked(self, value: str) -> str | None:
        """Why a ticket or band is revoked: as a lost band replaced at a desk, at a desk, or by
        the allowlist (unless a desk lifted that revocation); None when it is not."""
        reason = self.revocations.get(value) or self.desk_revoked.get(value)
        if reason is not None:
            return reason
        reason = self.allowlist.revoked.get(value)
        if reason is not None and self.restored.get(value) == reason:
            return None  # lifted at a desk; the hub's allowlist follows
        return reason

    def family(self, group: str) -> frozenset[str]:
        """The tickets joined with `group` at the desk, itself included."""
        return self.families.get(group) or frozenset((group,))

    def is_group_ticket(self, group: str) -> bool:
        ticket = self.allowlist.tickets.get(group)
        return ticket is not None and ticket.is_group

    def members_of(self, group: str) -> list[Member]:
        """The group's current members (a band recycled into another group no longer counts)."""
        g = self.groups.get(group)
        if g is None:
            return []
        found = (self.members.get(uid) for uid in g.members)
        return [m for m in found if m is not None and m.group == group]

    def family_members(self, group: str) -> list[Member]:
        """The members of the group and of every ticket joined with it."""
        return [m for g in sorted(self.family(group)) for m in self.members_of(g)]

    def adult_inside(self, group: str) -> bool:
        """An adult of the group (or of a ticket joined with it) is inside."""
        return any(
            m.role is Role.ADULT and m.state is MemberState.INSIDE
            for m in self.family_members(group)
        )

    def child_inside(self, group: str) -> bool:
        """A child (not a solo child, who is alone by arrangement) of the group, or of a ticket
        joined with it, is inside."""
        return any(
            m.role is Role.CHILD and m.state is MemberState.INSIDE
            for m in self.family_members(group)
        )


def fold(state: State, event: Event) -> State:
    """Apply one event to `state` (in place) and return it."""
    match event:
        case BindingOpened(gate=gate, group=group):
            if group not in state.groups:
                state.groups[group] = Group(group, event.adults, event.children)
            state.bindings[gate] = group
        case BandBound():
            _bind(state, event)
        case BandLearned():
            _learn(state, event)
        case MemberMoved():
            _move(state, event)
        case PairingOpened(gate=gate, group=group, direction=direction):
            key = (gate, group, direction)
            earlier = state.pairings.get(key)
            adults = earlier.adults if earlier else ()
            if event.adult not in adults:  # an adult scanned again only reopens the window
                adults = (*adults, event.adult)
            state.pairings[key] = Pairing(gate, group, direction, event.at, adults)
        case PairingExtended(gate=gate, group=group, direction=direction, at=at):
            open_ = state.pairings.get((gate, group, direction))
            if open_ is not None and at > open_.opened_at:
                state.pairings[(gate, group, direction)] = replace(open_, opened_at=at)
        case VoucherUsed(voucher=serial):
            state.vouchers_used.setdefault(serial, event)
        case GroupsJoined(group=group, other=other):
            joined = state.family(group) | state.family(other)
            for code in joined:
                state.families[code] = joined
        case PairingClosed(gate=gate, group=group, direction=direction):
            state.pairings.pop((gate, group, direction), None)
        case GroupFlagged(group=group):
            if state.child_inside(group) and not state.adult_inside(group):
                # else an adult came in since where its gate could not hear (a window's flag
                # folded after that entry): no child is alone, as `_move` clears it
                g = state.groups[group]
                state.groups[group] = replace(g, unaccompanied=True)
        case OverrideArmed(gate=gate, staff=staff, at=at):
            state.overrides[gate] = ArmedOverride(staff, at)
        case OverrideSpent(gate=gate):
            state.overrides.pop(gate, None)
        case BandReplaced():
            _replace_band(state, event)
        case BandUnbound():
            _unbind(state, event)
        case BandReissued():
            _reissue(state, event)
        case ChildRegistered(gate=gate, group=group):
            if group not in state.groups:  # a walk-in child alone: one child slot, no adult
                state.groups[group] = Group(group, 0, 1)
            state.guardians.setdefault(group, event)
            state.bindings[gate] = group
        case PickupCodeIssued(group=group, digest=digest):
            state.pickup_codes[group] = digest
        case NotAuthorisedSet(group=group, names=names):
            if names:
                state.not_authorised[group] = tuple(names)
            else:
                state.not_authorised.pop(group, None)
        case PickupAsked(gate=gate, group=group, at=at):
            state.pickup_asked[gate] = (group, at)
        case PickupCodeRefused(gate=gate, group=group, at=at):
            table = state.wrong_codes if group else state.lane_wrong_codes
            who = group or gate
            table[who] = tuple(sorted((*table.get(who, ()), at)))[-MAX_WRONG_KEPT:]
        case ValueRevoked(value=value, reason=reason):
            state.desk_revoked[value] = reason
            state.restored.pop(value, None)
        case ValueRestored(value=value, lifted=lifted):
            state.desk_revoked.pop(value, None)
            state.restored[value] = lifted
        case IncidentOpened(group=group):
            state.incidents[group] = event
        case IncidentClosed(group=group):
            state.incidents.pop(group, None)
        case StockRecorded(gate=gate):
            if event.band:
                _hand_back(state, event)
            state.stock_shifts[gate] = event
    return state


def _bind(state: State, event: BandBound) -> None:
    group = state.groups[event.group]
    earlier = state.members.get(event.uid)
    # a band learned from the token this binding wrote, at a gate cut off from the desk whose
    # clock was behind it: the binding came first, and what the band did since stands
    learned = earlier is not None and earlier.group == event.group
    if not (learned and event.uid in group.members):
        adult = event.role is Role.ADULT
        group = replace(
            group,
            members=(*group.members, event.uid),
            bound_adults=group.bound_adults + adult,
            bound_children=group.bound_children + (not adult),
        )
        state.groups[event.group] = group
        if earlier is not None and earlier.state is MemberState.INSIDE:
            state.inside -= 1  # a recycled band; cannot happen through decide, kept exact anyway
        state.members[event.uid] = Member(  # from the counter its record had: that record is old
            event.uid,
            event.group,
            event.role,
            MemberState.BOUND,
            event.gate,
            event.at,
            event.carried,
        )
    state.unbound.pop(event.uid, None)
    if group.full:
        for desk in [d for d, g in state.bindings.items() if g == event.group]:
            del state.bindings[desk]


def _learn(state: State, event: BandLearned) -> None:
    if event.uid in state.members:
        return  # known already (the hub, folding a gate's offline guess): what it knows wins
    group = state.groups.get(event.group) or Group(event.group, event.adults, event.children)
    adult = event.role is Role.ADULT
    state.groups[event.group] = replace(
        group,
        members=(*group.members, event.uid),
        bound_adults=group.bound_adults + adult,
        bound_children=group.bound_children + (not adult),
    )
    state.members[event.uid] = Member(
        event.uid, event.group, event.role, event.state, event.gate, event.at
    )
    state.inside += event.state is MemberState.INSIDE


def recall_stands(member: Member, recall: MemberMoved) -> bool:
    """Whether a closing exit window's recall (`recalled_from` set) still moves `member` out for
    a while: only while the adult is where the window saw it, exited at the passage counter it
    had then. The window's gate may have been cut off from a gate that let the band in again (or
    out, and in) meanwhile: folded in time order, those passages come before the recall, and the
    band, moved on from the exit recalled, stays where they left it. Any other move stands."""
    if recall.recalled_from is None:
        return True
    return member.state is MemberState.EXITED and member.counter == recall.recalled_from


def _move(state: State, event: MemberMoved) -> None:
    before = state.members[event.uid]
    if not recall_stands(before, event):
        return
    state.inside += (event.state is MemberState.INSIDE) - (before.state is MemberState.INSIDE)
    counter = before.counter if event.counter is None else max(before.counter, event.counter)
    state.members[event.uid] = replace(
        before, state=event.state, last_gate=event.gate, last_at=event.at, counter=counter
    )
    group = state.groups[before.group]
    if group.unaccompanied and (state.adult_inside(group.id) or not state.child_inside(group.id)):
        state.groups[group.id] = replace(group, unaccompanied=False)


# --- corrections at the desk (gate.core.corrections) -------------------------------------------


def _copied(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _member_of(state: State, uid: str, group: str) -> Member:
    member = state.members[uid]
    if member.group != group:
        raise ValueError(f"band {uid} is of group {member.group}, not {group}")
    return member


def _replace_band(state: State, event: BandReplaced) -> None:
    """The new band takes the member (group, role, state, slot); the old one is revoked, first:
    a gate that never saw the member (it learns the new band from its token) refuses it too."""
    state.revocations[event.old] = f"lost band, replaced by {event.new}"
    old = _member_of(state, event.old, event.group)
    earlier = state.members.get(event.new)
    if earlier is not None and earlier.state is MemberState.INSIDE:
        raise ValueError(f"band {event.new} is inside with group {earlier.group}")
    del state.members[event.old]
    state.members[event.new] = replace(  # from the counter of its own record, if any
        old, uid=event.new, last_gate=event.gate, last_at=event.at, counter=event.carried
    )
    state.unbound.pop(event.new, None)
    group = state.groups[event.group]
    swapped = dict.fromkeys(event.new if uid == event.old else uid for uid in group.members)
    state.groups[event.group] = replace(group, members=tuple(swapped))
    for key, pairing in list(state.pairings.items()):
        if event.old in pairing.adults:
            adults = tuple(event.new if uid == event.old else uid for uid in pairing.adults)
            state.pairings[key] = replace(pairing, adults=adults)


def _unbind(state: State, event: BandUnbound) -> None:
    """The band leaves its group: its slot is free, and it leaves the headcount if inside. Its
    token is no longer believed, first: at a gate that never saw the member too."""
    state.unbound[event.uid] = event.group
    member = _member_of(state, event.uid, event.group)
    del state.members[event.uid]
    state.inside -= member.state is MemberState.INSIDE
    group = state.groups[event.group]
    adult = member.role is Role.ADULT
    group = replace(
        group,
        members=tuple(uid for uid in group.members if uid != event.uid),
        bound_adults=group.bound_adults - adult,
        bound_children=group.bound_children - (not adult),
    )
    if group.unaccompanied and not state.child_inside(group.id):
        group = replace(group, unaccompanied=False)
    state.groups[event.group] = group
    state.bindings[event.gate] = event.group  # the next band scanned at this desk takes the slot
    _leave_windows(state, event.uid)


def _leave_windows(state: State, uid: str) -> None:
    """Band `uid` is no adult of any open pairing window any more: none recalls it."""
    for key, pairing in list(state.pairings.items()):
        if uid in pairing.adults:
            state.pairings[key] = replace(
                pairing, adults=tuple(a for a in pairing.adults if a != uid)
            )


def _reissue(state: State, event: BandReissued) -> None:
    """A band returned by mistake is its member's again, in `event.state`."""
    member = _member_of(state, event.uid, event.group)
    if member.state is not MemberState.EXITED:
        raise ValueError(f"band {event.uid} was not returned (state {member.state})")
    state.members[event.uid] = replace(
        member, state=event.state, last_gate=event.gate, last_at=event.at
    )
    state.inside += event.state is MemberState.INSIDE


def _hand_back(state: State, event: StockRecorded) -> None:
    """A band handed back at a desk after a temporary exit: its member has left for good, as at
    a final exit, and the band may be bound again; no window recalls it. Nothing unless the
    band is out and no child of its family is inside (`hand_back_blocked`: they leave only
    with an adult of their own group): a stale desk, or a forged entry, takes nobody out."""
    if hand_back_blocked(state, event.band, event.group) is not None:
        return
    member = state.members[event.band]
    state.members[event.band] = replace(
        member, state=MemberState.EXITED, last_gate=event.gate, last_at=event.at
    )
    _leave_windows(state, event.band)


def hand_back_blocked(state: State, band: str, group: str) -> str | None:
    """Why band `band` of `group` handed back at a desk changes nothing (None: it leaves)."""
    member = state.members.get(band)
    if member is None or member.group != group:
        return f"band {band} is not bound to group {group}"
    if member.state not in (MemberState.TEMP_OUT, MemberState.BOUND):
        return f"band {band} is {member.state} (last at {member.last_gate})"
    if member.role is Role.ADULT and state.child_inside(member.group):
        return f"a child of group {group} is inside: the adult keeps the band to collect them"
    return None
