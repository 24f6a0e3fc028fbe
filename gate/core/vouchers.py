"""Re-entry without the band: a digital voucher, or the ticket's own code. Pure.

A guest who left on a temporary exit may come back by a voucher the exit gate issued (its
signature checked by `gate.devices.voucher` before the scan reaches the rules) or, an adult of
the ticket, by the ticket's own barcode. `who_comes_back` says which member the barcode
stands for, or why it is refused; the passage rules then judge that member as if its band had
been scanned, and the grant is `OK_REENTRY`, journalled with `VoucherUsed` for a voucher.

    voucher_fault      DENY_VOUCHER_FORGED: malformed, unknown key id, or a signature that does
                       not match (never overridden: it names nobody)
    expired            DENY_VOUCHER_EXPIRED: past its expiry
    spent              DENY_VOUCHER_USED: used already, here or at a gate this one heard of
                       (cut off, a second use at another gate is found by the hub)
    unknown member     DENY_UNKNOWN: the voucher's band is not known to this gate
    at an exit         DENY_UNKNOWN: a voucher and a ticket re-admit at an entry gate only

A voucher is the signed proof of a temporary exit: a gate cut off from the others (`Scan.offline`)
may not have heard of that exit and still believe the member inside, and lets it in
(`gate.core.rules.no_passback`).
"""

from __future__ import annotations

from datetime import datetime

from gate.core.model import Code, Kind, Member, MemberState, Mode, Refusal, Role, Scan
from gate.core.state import State


def is_reentry_barcode(state: State, scan: Scan) -> bool:
    """A barcode the re-entry rules judge: a voucher (good or not), or a ticket's code at an
    entry gate."""
    if scan.kind is not Kind.BARCODE or scan.mode is Mode.BIND:
        return False
    if scan.voucher is not None or scan.voucher_fault is not None:
        return True
    return scan.mode is Mode.ENTRY and scan.value in state.allowlist.tickets


def who_comes_back(state: State, scan: Scan, now: datetime) -> Member | Refusal:
    """The member a voucher or ticket barcode re-admits, or why it does not."""
    if scan.voucher_fault is not None:
        return Refusal(
            Code.DENY_VOUCHER_FORGED,
            f"not a valid voucher: {scan.voucher_fault}: the guest shows the band or goes to "
            "the desk",
        )
    if scan.mode is not Mode.ENTRY:
        return Refusal(Code.DENY_UNKNOWN, "a voucher or ticket re-admits at an entry gate only")
    if scan.voucher is None:
        return _adult_of_ticket(state, scan.value)
    v = scan.voucher
    if now > v.expires:
        return Refusal(
            Code.DENY_VOUCHER_EXPIRED,
            f"voucher expired {v.expires.isoformat(timespec='minutes')}: the guest goes to "
            "the desk",
        )
    used = state.vouchers_used.get(v.serial)
    if used is not None:
        when = used.at.isoformat(timespec="seconds")
        return Refusal(Code.DENY_VOUCHER_USED, f"voucher already used at {used.gate} {when}")
    member = state.members.get(v.uid)
    if member is None:
        return Refusal(Code.DENY_UNKNOWN, f"voucher for band {v.uid}, unknown at this gate")
    return member


def _adult_of_ticket(state: State, code: str) -> Member | Refusal:
    """The first adult of the ticket (in binding order) out on a temporary exit."""
    group = state.groups.get(code)
    if group is not None:
        for m in state.members_of(code):
            if m.role is Role.ADULT and m.state is MemberState.TEMP_OUT:
                return m
    return Refusal(
        Code.DENY_UNKNOWN,
        "a ticket re-admits an adult of it out on a temporary exit, and none is: "
        "a ticket opens a binding at the desk",
    )
