"""Whether a correction at a desk (a band replaced, unbound or re-issued: `gate.core.corrections`)
rests on the staff badge the rules ask for: enrolled, not revoked, tapped on that desk's reader
(read from a tag) within the pairing window before it. A desk that corrects without one broke
the rules: `correction_not_authorised`, a rule violation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gate.core import BandReissued, BandReplaced, BandUnbound, Policy, State
from gate.core.rules import within
from hub.fold.clocks import iso_seconds
from hub.fold.findings import Finding

Correction = BandReplaced | BandUnbound | BandReissued


def _band(event: Correction) -> str:
    return event.old if isinstance(event, BandReplaced) else event.uid


def correction_problem(
    state: State,
    event: Correction,
    armed_unread: Mapping[str, tuple[datetime, str, str]],
    window: Policy,
) -> str | None:
    """What is wrong with the badge behind `event`, before it is folded into `state` (None:
    nothing). `armed_unread` and `window` as for overrides (`hub.fold.audit_overrides`)."""
    staff, allowlist, gate = event.staff, state.allowlist, event.gate
    if staff not in allowlist.staff:
        return f"staff badge {staff} is not enrolled"
    if (reason := allowlist.revoked.get(staff)) is not None:
        return f"staff badge {staff} ({allowlist.staff[staff]}) is revoked: {reason}"
    armed = state.overrides.get(gate)
    if armed is None or armed.staff != staff:
        return f"staff badge {staff} was not tapped at {gate}"
    unread = armed_unread.get(gate)
    if unread is not None and unread[:2] == (armed.at, armed.staff):
        return f"staff badge {staff} {unread[2]} at {gate} {iso_seconds(armed.at)}: no badge read"
    if not within(armed.at, event.at, window):
        return f"staff badge {staff} tapped at {gate} {iso_seconds(armed.at)}: too long before"
    return None


def correction_findings(
    state: State,
    event: Correction,
    armed_unread: Mapping[str, tuple[datetime, str, str]],
    window: Policy,
    ref: tuple[tuple[str, int], ...],
) -> list[Finding]:
    problem = correction_problem(state, event, armed_unread, window)
    if problem is None:
        return []
    what = type(event).__name__
    band = _band(event)
    detail = f"{event.gate} {what} {band} of group {event.group} at {iso_seconds(event.at)}: "
    return [
        Finding(
            "correction_not_authorised",
            (event.gate,),
            event.at,
            detail + problem,
            band,
            event.group,
            ref,
        )
    ]
