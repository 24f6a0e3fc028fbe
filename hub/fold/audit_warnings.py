"""What a partition leaves behind: the warnings of a move, made beside the audit's checks.

    double_entry                a member let in while already inside (two gates, partitioned)
    exit_without_entry          a member let out while not inside (a gate cut off, or the
                                entry still on its way; the audit judges whether it is more)
    child_released_by_override  a child let out by a staff override, unless the override set
                                aside its guardian's pickup: that is `unverified_pickup` or
                                `pickup_not_authorised` (`hub.fold.audit_pickups`), one
                                finding for one fact
    voucher_reused              a digital voucher used a second time (two gates, cut off from
                                each other: each spent it not knowing of the other)
    hand_back_not_applied       a band handed back at a desk while its wearer was inside, or
                                while a child of its family was (a desk that had not heard
                                of the entry, or a forged entry): no gate lets its member out,
                                yet the desk's stock counts the band returned. Staff look for
                                the family and the band.

None of these is a rule violation: a gate cut off from the others decides from what it knows,
and an override is the venue's own way out (design §4). The hub shows them for staff to judge.
"""

from __future__ import annotations

from datetime import datetime

from gate.core import (
    Member,
    MemberMoved,
    MemberState,
    State,
    StockRecorded,
    VoucherUsed,
    hand_back_blocked,
)
from hub.fold.findings import Finding

_OUT = (MemberState.EXITED, MemberState.TEMP_OUT)


def partition_warnings(
    mv: MemberMoved, m: Member, ref: tuple[tuple[str, int], ...], pickup: bool = False
) -> list[Finding]:
    """The warnings of `mv`, a move of member `m` (as the hub knew it before the move);
    `pickup`: the move is found as a pickup by override already (no second finding)."""
    found = []
    forced = f", forced by staff {mv.staff} over {mv.overrode}" if mv.forced else ""
    leaving = mv.state in _OUT
    if mv.state is MemberState.INSIDE and m.state is MemberState.INSIDE:
        found.append(
            Finding(
                "double_entry",
                _gates(m.last_gate, mv.gate),
                mv.at,
                f"{m.role} {mv.uid} let in at {mv.gate} {_t(mv.at)} while inside "
                f"since {m.last_gate} {_t(m.last_at)}{forced}",
                mv.uid,
                mv.group,
                ref,
            )
        )
    if leaving and m.state is not MemberState.INSIDE:
        found.append(
            Finding(
                "exit_without_entry",
                _gates(m.last_gate, mv.gate),
                mv.at,
                f"{m.role} {mv.uid} let out ({mv.state}) at {mv.gate} "
                f"{_t(mv.at)} while {m.state} (last at {m.last_gate} {_t(m.last_at)})"
                f"{forced}",
                mv.uid,
                mv.group,
                ref,
            )
        )
    if leaving and mv.forced and m.role.is_child and not pickup:
        found.append(
            Finding(
                "child_released_by_override",
                (mv.gate,),
                mv.at,
                f"{m.role} {mv.uid} let out ({mv.state}) at {mv.gate} "
                f"{_t(mv.at)} by staff badge {mv.staff} over {mv.overrode}",
                mv.uid,
                mv.group,
                ref,
            )
        )
    return found


def voucher_reuse(
    state: State, used: VoucherUsed, ref: tuple[tuple[str, int], ...]
) -> list[Finding]:
    """A voucher spent before (`state`, before `used` is folded): a conflict staff look at."""
    first = state.vouchers_used.get(used.voucher)
    if first is None:
        return []
    return [
        Finding(
            "voucher_reused",
            _gates(first.gate, used.gate),
            used.at,
            f"voucher {used.voucher} of {used.uid} used at {used.gate} {_t(used.at)}, "
            f"already used at {first.gate} {_t(first.at)}",
            used.uid,
            used.group,
            ref,
        )
    ]


def hand_back_not_applied(
    state: State, back: StockRecorded, ref: tuple[tuple[str, int], ...]
) -> list[Finding]:
    """A band handed back (`back`, before it is folded into `state`) that lets nobody out."""
    why = hand_back_blocked(state, back.band, back.group)
    if why is None:
        return []
    said = f"band {back.band} handed back at {back.gate} {_t(back.at)} by staff {back.staff}"
    return [
        Finding(
            "hand_back_not_applied",
            (back.gate,),
            back.at,
            f"{said}, not applied: {why}",
            back.band,
            back.group,
            ref,
        )
    ]


def _gates(*gates: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(gates))


def _t(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
