"""What the hub finds of guardian pickups (`gate.core.guardians`), beside the audit's checks:

    unverified_pickup       a child who came alone let out by a staff override, not by the
                            guardian's pickup code: allowed, and for the duty manager to check
    pickup_not_authorised   a staff override tried on a child whose group has a not-authorised
                            list (the gate refused it), or let through by a gate that had not
                            heard of the list: an alert, raised on the display at once
    pickup_codes_locked     the policy's number of wrong pickup codes for one child (or at one
                            lane, no child shown) within its period: codes refused from then
                            on (`gate.core.pickup_tries`); an alert, raised on the display
    pairing_without_adult   (the audit's) an exit window opened by a pickup code that is not
                            its group's, as the hub folded it

A code's window is judged by its digest against the group's (`PickupCodeIssued`), with the
same state the hub folds: a gate that says OK_PICKUP for a group whose code it was not shown
opens a window no guardian stood for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from gate.core import (
    Code,
    Event,
    MemberMoved,
    MemberState,
    PairingOpened,
    PickupCodeRefused,
    Policy,
    Role,
    State,
)
from gate.core.guardians import BARRED
from gate.core.pickup_tries import recent
from gate.core.rules import PICKUP_PREFIX
from gate.i18n import Words, words
from hub.fold.clocks import hlc_time, iso_seconds
from hub.fold.findings import PICKUP_ALERTS, Finding
from hub.store.records import StoredEntry

UNVERIFIED = frozenset(
    {Code.DENY_GUARDIAN_PICKUP, Code.DENY_PICKUP_MISMATCH, Code.DENY_PICKUP_LOCKED}
)


def pickup_findings(
    state: State, entry: StoredEntry, events: Sequence[Event], policy: Policy
) -> list[Finding]:
    """The findings of decision entry `entry`, before its events are folded into `state`."""
    decision = entry.body.get("decision")
    scan = entry.body.get("scan")
    if entry.kind != "decision" or not isinstance(decision, dict) or not isinstance(scan, dict):
        return []
    ref = ((entry.gate, entry.seq),)
    code, staff = decision.get("code"), decision.get("staff")
    if code in BARRED and staff and scan.get("mode") == "exit":
        uid, group = str(decision.get("value")), str(decision.get("group"))
        listed = state.not_authorised.get(group, ())
        at = hlc_time(entry.hlc)
        return [
            Finding(
                "pickup_not_authorised",
                (entry.gate,),
                at,
                f"staff badge {staff} tried to let child {uid} of group {group} out at "
                f"{entry.gate} {iso_seconds(at)} by override: refused, the group has a "
                f"not-authorised list ({len(listed)} named); only the guardian's pickup code "
                "releases the child",
                uid,
                group,
                ref,
            )
        ]
    found = [
        f
        for e in events
        if isinstance(e, PickupCodeRefused) and (f := codes_locked(state, e, policy, ref))
    ]
    for mv in events:
        member = state.members.get(mv.uid) if isinstance(mv, MemberMoved) else None
        if not isinstance(mv, MemberMoved) or member is None:
            continue
        kind = pickup_kind(state, mv, member.role)
        if kind is not None:
            found.append(_let_out(kind, entry, mv, member.role, ref))
    return found


def codes_locked(
    state: State, wrong: PickupCodeRefused, policy: Policy, ref: tuple[tuple[str, int], ...]
) -> Finding | None:
    """`pickup_codes_locked`, critical, when wrong code `wrong` (not yet folded into `state`)
    is the one that makes the policy's number within its period: codes are refused from now on
    for that child at every exit gate (or, no child shown, at that lane). Once per lock."""
    group, gate = wrong.group, wrong.gate
    earlier = state.wrong_codes.get(group, ()) if group else state.lane_wrong_codes.get(gate, ())
    tries = recent((*earlier, wrong.at), wrong.at, policy)
    if len(tries) != policy.pickup_code_tries:
        return None
    minutes = f"{policy.pickup_code_lockout_s / 60:g}"
    whose = f"for the child of group {group}" if group else "with no child shown"
    where = "every exit gate refuses codes for it" if group else f"{gate} refuses codes shown"
    detail = (
        f"{len(tries)} wrong pickup codes {whose} within {minutes} min, the last at {gate} "
        f"{iso_seconds(wrong.at)}: {where} until the oldest is {minutes} min old; someone may "
        "be guessing the code: staff check who waits for the child, and a staff override is "
        "recorded as an unverified pickup"
    )
    return Finding("pickup_codes_locked", (gate,), wrong.at, detail, None, group or None, ref)


def pickup_kind(state: State, mv: MemberMoved, role: Role) -> str | None:
    """The finding of a child let out by a staff override that set aside its pickup
    (`pickup_not_authorised`, `unverified_pickup`), else None: one finding for that fact, so
    the partition's `child_released_by_override` is not made for it too."""
    if not mv.forced or mv.state is not MemberState.EXITED or not role.is_child:
        return None
    if mv.overrode in BARRED and state.not_authorised.get(mv.group):
        return "pickup_not_authorised"
    if mv.overrode in UNVERIFIED:
        return "unverified_pickup"
    return None


def _let_out(
    kind: str, entry: StoredEntry, mv: MemberMoved, role: Role, ref: tuple[tuple[str, int], ...]
) -> Finding:
    why = (
        "its group has a not-authorised list, which the gate had not heard of"
        if kind == "pickup_not_authorised"
        else "no guardian's pickup code was read: check who collected the child"
    )
    return Finding(
        kind,
        (entry.gate,),
        mv.at,
        f"{role} {mv.uid} of group {mv.group} let out at {entry.gate} {iso_seconds(mv.at)} by "
        f"staff badge {mv.staff} over {mv.overrode}: {why}",
        mv.uid,
        mv.group,
        ref,
    )


def pickup_window_is_its_groups(entry: StoredEntry, state: State, p: PairingOpened) -> bool:
    """An exit window opened by a pickup code (OK_PICKUP) of its own group's code."""
    decision = entry.body.get("decision")
    code = decision.get("code") if isinstance(decision, dict) else None
    digest = p.adult.removeprefix(PICKUP_PREFIX)
    return (
        code == Code.OK_PICKUP
        and p.adult.startswith(PICKUP_PREFIX)
        and state.pickup_codes.get(p.group) == digest
    )


def pickup_alerts(
    findings: Sequence[Finding], tz: tzinfo, _: Words | None = None
) -> list[dict[str, Any]]:
    """One critical alert per gate and kind for the not-authorised pickups tried or let through
    and the children whose codes were locked: no names, UIDs or phones (the display is open on
    the venue LAN)."""
    _ = _ or words()
    counted: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.kind in PICKUP_ALERTS:
            counted.setdefault((", ".join(f.gates), f.kind), []).append(f)
    alerts = []
    for (gates, kind), found in sorted(counted.items()):
        last = f"{max(f.at for f in found).astimezone(tz):%H:%M:%S}"
        text = _(
            "pickup alert at {gates}: {what} (last {time}; see the findings)",
            gates=gates,
            what=_(PICKUP_ALERTS[kind]),
            time=last,
        )
        alerts.append({"level": "critical", "kind": kind, "text": text})
    return alerts
