"""The desk's wristband stock (《每日物资领用记录表》, 报损), recorded by staff at the desk: bands
taken from the store, returned to it, written off, and one band handed back after a temporary
exit. Staff actions, authorised by the staff badge tapped on the desk's reader
(`gate.core.desk.staff_at_desk`, whose badge the caller passes in as `staff`). Pure.

    record_stock(state, gate, now, policy, kind, count, shift, reason, staff)
                                                   OK_REGISTERED + StockRecorded
    hand_back_band(state, gate, now, policy, band, shift, staff)
                                                   OK_REGISTERED + StockRecorded(band=...)

A shift is the desk's own label ("AM", "早班"): "" takes the desk's last one of the venue's day
(`State.stock_shifts`), else "1". A band handed back is one its wearer took out of the venue:
out for a while (`temp_out`) or bound and never let in; its member has then left for good, and
the band may be bound to the next family. No adult's band is taken back while a child of its
family is inside: children leave only with an adult of their own group, and two desks that each
see the other adult out could otherwise take both. The hub keeps each record in the day's stock
sheet.
"""

from __future__ import annotations

from datetime import datetime

from gate.core.events import StockRecorded
from gate.core.model import Code, Decision, Kind, MemberState, Mode, Policy, Role, Scan
from gate.core.rules import Outcome, deny
from gate.core.state import State

STOCK_KINDS = ("taken", "returned", "written_off")
MAX_COUNT = 100_000  # bands in one record: a venue's stock, not a typing slip
MAX_SHIFT = 20  # characters of a shift's label
MAX_REASON = 200  # characters of a write-off's reason
STOCK_VALUE = "stock"  # what a record of a count names in its decision
HANDED_BACK = (MemberState.TEMP_OUT, MemberState.BOUND)  # a band its wearer can hand back


def shift_label(shift: str) -> str:
    """A shift's label as a record keeps it (trimmed; "" for none given); ValueError for one
    too long or not printable."""
    text = " ".join(shift.split())
    if len(text) > MAX_SHIFT or not text.isprintable():
        raise ValueError(f"a shift is a label of at most {MAX_SHIFT} characters")
    return text


def _shift(state: State, gate: str, shift: str, now: datetime, policy: Policy) -> str:
    """The shift a record at `gate` falls in: the one named, else the desk's last of the
    venue's day, else "1"."""
    last = state.stock_shifts.get(gate)
    today = last is not None and policy.session_day(last.at) == policy.session_day(now)
    return shift_label(shift) or (last.shift if last is not None and today else "1")


def write_off_reason(reason: str) -> str:
    """A write-off's reason as a record keeps it; ValueError when there is none."""
    text = " ".join(reason.split())
    if not text or len(text) > MAX_REASON or not text.isprintable():
        raise ValueError(
            f"a write-off says why (broken clasp, ...), in one line of at most {MAX_REASON} "
            "characters"
        )
    return text


def record_stock(
    state: State,
    gate: str,
    now: datetime,
    policy: Policy,
    kind: str,
    count: int,
    shift: str,
    reason: str,
    staff: str,
) -> Outcome:
    """`count` bands `kind` (taken, returned, written_off: with `reason`) at desk `gate`."""
    scan = Scan(gate, Mode.BIND, Kind.BARCODE, STOCK_VALUE)
    if kind not in STOCK_KINDS:
        return deny(scan, Code.DENY_BINDING, "stock is taken, returned or written_off")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_COUNT:
        return deny(scan, Code.DENY_BINDING, f"a count of bands from 1 to {MAX_COUNT}")
    try:
        shift = _shift(state, gate, shift, now, policy)
        reason = write_off_reason(reason) if kind == "written_off" else ""
    except ValueError as exc:
        return deny(scan, Code.DENY_BINDING, str(exc))
    what = kind.replace("_", " ")
    message = f"{count} band(s) {what} at {gate}, shift {shift}"
    decision = Decision(Code.OK_REGISTERED, message, STOCK_VALUE, gate, staff=staff)
    return decision, [StockRecorded(gate, now, kind, count, shift, reason, "", "", staff)]


def hand_back_band(
    state: State, gate: str, now: datetime, policy: Policy, band: str, shift: str, staff: str
) -> Outcome:
    """Band `band` handed back at desk `gate` by a wearer who left for a while and is not
    coming back: returned to the desk's stock, its member gone for good."""
    scan = Scan(gate, Mode.BIND, Kind.NFC, band)
    member = state.members.get(band)
    if member is None:
        return deny(scan, Code.DENY_UNKNOWN, f"band {band} is bound to no family")
    if member.state is MemberState.INSIDE:
        message = f"band {band} is inside ({member.last_gate}): handed back once its wearer left"
        return deny(scan, Code.DENY_BINDING, message, member)
    if member.state not in HANDED_BACK:
        said = "band returned already (at a final exit, or handed back)"
        return deny(scan, Code.DENY_ALREADY_EXITED, said, member)
    if member.role is Role.ADULT and state.child_inside(member.group):
        message = (
            f"children of group {member.group} are inside: an adult of theirs keeps the band to "
            "collect them at the exit"
        )
        return deny(scan, Code.DENY_BINDING, message, member)
    try:
        shift = _shift(state, gate, shift, now, policy)
    except ValueError as exc:
        return deny(scan, Code.DENY_BINDING, str(exc))
    message = (
        f"band {band} handed back (group {member.group}, shift {shift}): its {member.role} has "
        "left for good; the band may be bound again"
    )
    decision = Decision(
        Code.OK_REGISTERED, message, band, gate, member.group, member.role, staff=staff
    )
    event = StockRecorded(gate, now, "returned", 1, shift, "", band, member.group, staff)
    return decision, [event]
