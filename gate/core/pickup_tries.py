"""Wrong pickup codes, counted: nobody at an exit may try codes until one lets a child out.
Pure, like the rules (`gate.core.rules`).

A code shown at an exit gate is tried for the solo child waiting there: the one last refused
at that lane for want of its guardian's code (`PickupAsked`) within the pairing window. A code
that matches no child inside is a wrong code (`PickupCodeRefused`) counted against that child,
or, when no child waits there, against the lane. Once `policy.pickup_code_tries` wrong codes
(default 3) fall within `policy.pickup_code_lockout_s` (default 600 s):

    for the child   every exit gate refuses codes for it, and its band, DENY_PICKUP_LOCKED,
                    until the oldest of them is that long ago; even its guardian's own code
                    (a guess that happened to be right must not let it out). Staff check the
                    guardian against the registered phone and badge: an override, recorded
                    forced, that the hub lists as an unverified pickup.
    for the lane    that gate refuses codes shown with no child waiting (DENY_PICKUP_LOCKED):
                    scan the child's band first, so each code tried counts for that child.

The counts are folded from journalled events (`State.wrong_codes`, `State.lane_wrong_codes`),
so they hold across restarts and across exit gates; the hub raises `pickup_codes_locked` when a
count reaches the limit (`hub.fold.audit_pickups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from gate.core.events import Event, PickupAsked, PickupCodeRefused
from gate.core.model import Code, Member, Mode, Policy, Refusal, Role, Scan
from gate.core.state import State

# a solo child's refusals at an exit that ask for its guardian's code
ASKING = frozenset({Code.DENY_GUARDIAN_PICKUP, Code.DENY_PICKUP_MISMATCH, Code.DENY_PICKUP_LOCKED})


def recent(times: Sequence[datetime], now: datetime, policy: Policy) -> list[datetime]:
    """The wrong codes of `times` within the lockout period before `now` (a clock that went
    backwards counts none of those stamped after it)."""
    since = now - timedelta(seconds=policy.pickup_code_lockout_s)
    return [t for t in times if since < t <= now]


def child_locked(state: State, group: str, now: datetime, policy: Policy) -> bool:
    """Codes for `group`'s child are refused now: too many wrong ones within the period."""
    tries = recent(state.wrong_codes.get(group, ()), now, policy)
    return len(tries) >= policy.pickup_code_tries


def lane_locked(state: State, gate: str, now: datetime, policy: Policy) -> bool:
    """Codes shown at `gate` with no child waiting are refused now."""
    tries = recent(state.lane_wrong_codes.get(gate, ()), now, policy)
    return len(tries) >= policy.pickup_code_tries


def waiting(state: State, gate: str, now: datetime, policy: Policy) -> str | None:
    """The group of the solo child waiting at exit gate `gate` for its guardian's code: refused
    there for want of it within the pairing window; None when none is."""
    asked = state.pickup_asked.get(gate)
    if asked is None:
        return None
    group, at = asked
    if not at <= now <= at + timedelta(seconds=policy.pairing_window_s):
        return None
    return group


def locked_refusal(group: str, now: datetime, policy: Policy, state: State) -> Refusal:
    """DENY_PICKUP_LOCKED for `group`'s child, saying until when."""
    tries = recent(state.wrong_codes.get(group, ()), now, policy)
    oldest = tries[-policy.pickup_code_tries] if tries else now
    left = oldest + timedelta(seconds=policy.pickup_code_lockout_s) - now
    minutes = max(1, int(left.total_seconds() + 59) // 60)
    return Refusal(
        Code.DENY_PICKUP_LOCKED,
        f"{len(tries)} wrong pickup codes for {group}'s child: codes refused for {minutes} min; "
        "staff check the guardian against the registered phone (desk or hub lookup), then badge",
    )


def lane_refusal(gate: str) -> Refusal:
    return Refusal(
        Code.DENY_PICKUP_LOCKED,
        f"too many wrong pickup codes at {gate} with no child shown: scan the child's band "
        "first, then the code",
    )


def asked(scan: Scan, now: datetime, member: Member, refusal: Refusal) -> list[Event]:
    """A solo child refused at an exit for want of its guardian's code waits at this lane for
    it: `PickupAsked`, so the codes shown next count for it. Nothing for any other refusal."""
    if (
        scan.mode is not Mode.EXIT
        or member.role is not Role.SOLO_CHILD
        or refusal.code not in ASKING
    ):
        return []
    return [PickupAsked(scan.gate, now, member.group, member.uid)]


def code_refused(scan: Scan, now: datetime, group: str | None) -> list[Event]:
    """A wrong code shown at this exit gate, for the child of `group` waiting there (None: no
    child shown, counted against the lane)."""
    return [PickupCodeRefused(scan.gate, now, group or "")]
