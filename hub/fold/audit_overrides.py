"""Whether a forced move rests on an override the rules allow: spent in the decision, by an
enrolled, unrevoked staff badge armed at that gate within the window, read from a tag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gate.core import (
    BandReissued,
    BandReplaced,
    BandUnbound,
    ChildRegistered,
    Event,
    MemberMoved,
    NotAuthorisedSet,
    OverrideSpent,
    Policy,
    State,
)
from gate.core.rules import within
from hub.fold.clocks import iso_seconds
from hub.fold.findings import Finding
from hub.store.records import StoredEntry

# the events of a desk action that name the staff badge that authorised it
DESK_EVENTS = (BandReplaced, BandUnbound, BandReissued, ChildRegistered, NotAuthorisedSet)


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
    staff = mv.staff
    if not staff:
        return "no staff badge named"
    spent = any(
        isinstance(s, OverrideSpent) and s.staff == staff and s.uid == mv.uid for s in events
    )
    if not spent:
        return f"no override of staff badge {staff} spent in the decision"
    return armed_problem(state, gate, staff, mv.at, armed_unread, window, pairing_window_s)


def armed_problem(
    state: State,
    gate: str,
    staff: str,
    at: datetime,
    armed_unread: Mapping[str, tuple[datetime, str, str]],
    window: Policy,
    pairing_window_s: float,
) -> str | None:
    """What is wrong with badge `staff` authorising what `gate` did at `at` (None: nothing):
    enrolled, unrevoked, armed at that gate by a badge read from a tag, within the window. A
    forced move's override and a desk action's staff alike."""
    allowlist = state.allowlist
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
    if not within(armed.at, at, window):
        return (
            f"staff badge {staff} armed at {gate} {iso_seconds(armed.at)}, "
            f"{(at - armed.at).total_seconds():.0f} s before: outside the "
            f"{pairing_window_s:g} s window"
        )
    return None


def desk_action_problem(
    state: State,
    entry: StoredEntry,
    event: Event,
    armed_unread: Mapping[str, tuple[datetime, str, str]],
    window: Policy,
    pairing_window_s: float,
) -> Finding | None:
    """A desk action's decision (`entry`, its body's `staff` the badge that authorised it, and
    its first `event`'s own when it names one: a correction, a walk-in, a not-authorised list)
    whose badge was not enrolled, unrevoked and tapped on that desk's reader within the window
    (`gate.core.staff_at_desk`): a critical `desk_action_not_authorised` finding; else None.
    One finding for one fact: a correction is a desk action, judged here only."""
    gate, at = entry.gate, event.at
    named = entry.body.get("staff")
    said = event.staff if isinstance(event, DESK_EVENTS) else None
    staff = named if isinstance(named, str) and named else said
    if not staff:
        problem: str | None = "no staff badge named"
    elif said is not None and said != staff:
        problem = f"its decision names staff badge {staff}, its event {said}"
    else:
        problem = armed_problem(state, gate, staff, at, armed_unread, window, pairing_window_s)
    if problem is None:
        return None
    decision = entry.body.get("decision")
    code = decision.get("code") if isinstance(decision, dict) else None
    group = decision.get("group") if isinstance(decision, dict) else None
    band = _band(event)
    what = f"{type(event).__name__} {band}" if band else str(code)
    detail = f"{gate} journalled desk action {code} ({what}) at {iso_seconds(at)}: {problem}"
    ref = ((entry.gate, entry.seq),)
    return Finding("desk_action_not_authorised", (gate,), at, detail, band, group, ref)


def _band(event: Event) -> str | None:
    """The band a correction names (the lost one of a replacement), else None."""
    if isinstance(event, BandReplaced):
        return event.old
    if isinstance(event, BandUnbound | BandReissued):
        return event.uid
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
