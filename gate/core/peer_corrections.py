"""A peer desk's correction (`OK_CORRECTED`, `gate.core.corrections`): its events must follow
from its decision, and a staff badge the consumer knows must have authorised it."""

from __future__ import annotations

from gate.core.authority import Knowledge, PeerEntry, Reason, Refused, mismatch, shown
from gate.core.events import BandReissued, BandReplaced, BandUnbound, GroupFlagged
from gate.core.model import Decision, MemberState, Mode, Role
from gate.core.peer_desk_records import REVOCATIONS, check_revocation


def stock_fits(uid: str, role: Role, knows: Knowledge) -> None:
    """A band bound (or given a member) in `role` is of that stock, when the stock lists it."""
    stock = knows.allowlist.bands.get(uid)
    if stock is None:
        return
    if (stock is Role.ADULT) != (role is Role.ADULT):
        raise Refused(Reason.STOCK_ROLE, f"band {uid[:32]} is {stock} stock, bound as {role}")


def check_correction(entry: PeerEntry, d: Decision, mode: object, knows: Knowledge) -> None:
    """OK_CORRECTED: one correction of the band named, by an enrolled, unrevoked staff badge;
    or, with no event at all, a token written to a band already bound (nothing changes)."""
    if mode != Mode.BIND:
        raise mismatch("OK_CORRECTED outside bind mode")
    if not entry.events:
        return
    if isinstance(entry.events[0], REVOCATIONS):  # a ticket or band revoked or restored
        check_revocation(entry, d, knows)
        return
    badges, revoked = knows.allowlist.staff, knows.allowlist.revoked
    if d.staff is None or d.staff not in badges or d.staff in revoked:
        raise mismatch("OK_CORRECTED names an enrolled, unrevoked staff badge")
    first, *rest = entry.events
    flags = [e for e in rest if isinstance(e, GroupFlagged)]
    if len(rest) != len(flags) or len(flags) > 1:
        raise mismatch("OK_CORRECTED makes one correction")
    match first:
        case BandReplaced(old=old, new=new, group=group, staff=staff):
            if (old, group, staff) != (d.value, d.group, d.staff) or new == old:
                raise mismatch("a band is replaced by another, for the decision's member")
            if not 0 <= first.carried < 1 << 32:
                raise mismatch(f"passage counter carried {str(first.carried)[:16]} out of range")
            if d.role is not None:
                stock_fits(new, d.role, knows)
        case BandUnbound(uid=uid, group=group, role=role, staff=staff):
            if (uid, group, role, staff) != (d.value, d.group, d.role, d.staff):
                raise mismatch("the band unbound is the decision's, of its group and role")
            if first.state is MemberState.EXITED:
                raise mismatch("a band returned at an exit is not unbound")
        case BandReissued(uid=uid, group=group, state=state, staff=staff):
            if (uid, group, staff) != (d.value, d.group, d.staff):
                raise mismatch("the band re-issued is the decision's, of its group")
            back = MemberState.TEMP_OUT if d.role is Role.ADULT else MemberState.BOUND
            if state is not back:
                raise mismatch(f"a re-issued {d.role} band is put back {back}, not {state}")
        case _:
            raise mismatch(f"OK_CORRECTED never says {shown(first)}")
    for flag in flags:
        if not isinstance(first, BandUnbound) or first.role is not Role.ADULT:
            raise mismatch("only an adult unbound flags its group")
        if flag.group != d.group or first.state is not MemberState.INSIDE:
            raise mismatch("an adult unbound inside flags its own group")
