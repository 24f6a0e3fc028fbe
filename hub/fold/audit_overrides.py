"""Whether a forced move rests on an override the rules allow: spent in the decision, by an
enrolled, unrevoked staff badge armed at that gate within the window, read from a tag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gate.core import Event, MemberMoved, OverrideSpent, Policy, State
from gate.core.rules import within
from hub.fold.clocks import iso_seconds


def override_problem(
    state: State,
    events: Sequence[Event],
    mv: MemberMoved,
    gate: str,
    armed_unread: Mapping[str, tuple[datetime, str, str]],
    window: Policy,
    pairing_window_s: float,
) -> str | None:
    """What is wrong with the override behind `mv`, a move forced at `gate` by a decision of
    `events`, folded into `state` (None: nothing). `armed_unread`: gate -> (when, badge, why)
    of the override last armed there by a scan not read from a tag; `window`: the policy the
    audit measures with, `pairing_window_s` the venue's window as it names it."""
    staff, allowlist = mv.staff, state.allowlist
    if not staff:
        return "no staff badge named"
    spent = any(
        isinstance(s, OverrideSpent) and s.staff == staff and s.uid == mv.uid for s in events
    )
    if not spent:
        return f"no override of staff badge {staff} spent in the decision"
    if staff not in allowlist.staff:
        return f"staff badge {staff} is not enrolled"
    if (reason := allowlist.revoked.get(staff)) is not None:
        return f"staff badge {staff} ({allowlist.staff[staff]}) is revoked: {reason}"
    armed = state.overrides.get(gate)
    if armed is None or armed.staff != staff:
        elsewhere = [
            f"{g} {iso_seconds(o.at)}" for g, o in state.overrides.items() if o.staff == staff
        ]
        where = f" (armed at {', '.join(elsewhere)})" if elsewhere else ""
        return f"staff badge {staff} was not armed at {gate}{where}"
    unread = armed_unread.get(gate)
    if unread is not None and unread[:2] == (armed.at, armed.staff):
        at = iso_seconds(armed.at)
        return f"staff badge {staff} {unread[2]} at {gate} {at}: no badge was read"
    if not within(armed.at, mv.at, window):
        return (
            f"staff badge {staff} armed at {gate} {iso_seconds(armed.at)}, "
            f"{(mv.at - armed.at).total_seconds():.0f} s before: outside the "
            f"{pairing_window_s:g} s window"
        )
    return None


def no_badge_read(body: dict[str, Any]) -> str | None:
    """How a decision that armed an override was scanned, when no badge was read from a tag
    (`"tag": false`, or `asked_by`: a technician's test scan); None when it was, or when the
    entry does not say (earlier releases wrote no `tag`)."""
    scan = body.get("scan")
    tag = scan.get("tag") if isinstance(scan, dict) else None
    if "asked_by" in body or (tag is False and scan.get("kind") == "nfc"):
        return "armed by a test scan"
    if tag is False:
        return "armed by a barcode"
    return None
