"""What the duty manager's wall display shows, as one JSON object (`/api/display`, `/api/stream`).

Numbers, the groups whose children are inside with no adult of theirs, each gate's health, the
alerts, and from 30 minutes before closing (the venue's, each session's) the children still
inside, after closing too while any is (`hub.views.closing`), with the broadcast room's prompts.
Open on the venue LAN, so it carries no personal data and nothing to copy a band with: groups
are named by their ticket code, members by role and number within their group ("adult 1",
"child 2", in binding order), never by band UID; no guardian phones. Alert texts go through
`withhold`, which blanks anything shaped like a band UID or a phone number (a finding's detail
names bands). Staff find the bands behind a group with the staff token (`/api/lookup/{ticket}`,
`/api/sweep`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gate.core import Member, Policy, State
from gate.core.authority import GateRole
from gate.i18n import Words, words
from gate.i18n.reasons import refusal_text
from gate.link.health import LinkHealth
from gate.link.protocol import Headcount
from hub.fold.audit_counters import clone_alerts
from hub.fold.audit_pickups import pickup_alerts
from hub.fold.findings import Finding, violation_alerts
from hub.fold.reconcile import VenueState
from hub.views.clock_alerts import clock_alerts
from hub.views.closing import Closing, announcements, closing_alert, closings
from hub.views.link_alerts import broker_alerts, gates_alerts
from hub.views.liveness import iso_seconds, since_words
from hub.views.roster_alerts import roster_alerts
from hub.views.sweep import unaccompanied_groups

CAPACITY_WARNING = 0.9
CONFLICT_KINDS = (
    "double_entry",
    "exit_without_entry",
    "journal_conflict",
    "voucher_reused",
    "hand_back_not_applied",
)
FORGED_KINDS = ("forged_event", "seq_jump")


@dataclass(frozen=True)
class Venue:
    """What the display reads besides the headcount and the gates."""

    name: str  # hub.toml's [hub] name
    policy: Policy
    state: VenueState
    roster: Mapping[str, GateRole]  # hub.toml's [gates]
    broker: LinkHealth  # the hub's own connection
    broker_user: str


def display_state(
    venue: Venue, count: Headcount, gates: dict[str, Any], _: Words | None = None
) -> dict[str, Any]:
    """The display object, of the headcount and the gates as the API shows them; the alerts'
    texts in the language of `_` (English without one)."""
    _ = _ or words()
    headcount = count.model_dump(exclude={"v", "gates"})
    now = datetime.now(venue.policy.tz)
    with venue.state.reading() as state:
        unaccompanied = open_unaccompanied(state)
        found = closings(venue.policy, state, now)
        sweep = open_sweep(state, found)
    said = alerts(venue, headcount, gates, unaccompanied, _)
    said += [{**a, "text": withhold(a["text"])} for a in (closing_alert(c, _) for c in found)]
    return {
        "headcount": headcount,
        "gates": gates,
        "unaccompanied": unaccompanied,
        "alerts": said,
        "sweep": sweep,
        "announcements": announcements(found),
        "venue": {
            "name": venue.name,
            "timezone": venue.policy.timezone,
            "now": now.isoformat(timespec="seconds"),
        },
    }


def open_sweep(state: State, found: list[Closing]) -> dict[str, Any] | None:
    """The closing sweep as the open display shows it, while one is on (`hub.views.closing`):
    the children of the closings on (the venue's: every child inside), members by label; the
    venue's closing, else the first session's, gives the time and the phase."""
    if not found:
        return None
    first = found[0]
    rows = {r.uid: r for c in found for r in c.rows}
    return {
        "closes_at": first.closes_at.isoformat(),
        "phase": first.phase,
        "level": "critical" if any(c.level == "critical" for c in found) else "info",
        "minutes_left": first.minutes if first.phase == "before" else 0,
        "minutes_past": first.minutes if first.phase == "after" else 0,
        "closings": [c.as_dict() for c in found],
        "children": [
            {
                "member": member_label(state, state.members[r.uid]),
                "group": r.group,
                "role": r.role.value,
                "adult_inside": r.adult_inside,
                "unaccompanied": r.unaccompanied,
            }
            for r in sorted(rows.values(), key=lambda r: (not r.alone, r.group, r.uid))
        ],
    }


def member_label(state: State, member: Member) -> str:
    """ "adult 2", "child 1": the member's role and its number among its group's members of that
    kind (children and children who came alone counted together), in binding order."""
    kind = "child" if member.role.is_child else "adult"
    group = state.members_of(member.group)
    same = [m.uid for m in group if m.role.is_child == member.role.is_child]
    number = same.index(member.uid) + 1 if member.uid in same else 0
    return f"{kind} {number}"


def open_member(state: State, member: Member, tz: Any = None) -> dict[str, Any]:
    """A member as the open display shows it: no band UID."""
    at = member.last_at.astimezone(tz) if tz else member.last_at
    return {
        "member": member_label(state, member),
        "role": member.role.value,
        "state": member.state.value,
        "last_gate": member.last_gate,
        "last_at": at.isoformat(timespec="seconds"),
    }


def open_unaccompanied(state: State) -> list[dict[str, Any]]:
    """The groups flagged `children_unaccompanied`, members by label (no band UID)."""
    return unaccompanied_groups(state, show=lambda m: open_member(state, m))


# A band UID (4 to 10 bytes in hex, colons, spaces or dashes between bytes or not) or a phone
# number (7 digits or more, or groups of 3-4 digits after spaces or dashes, so not a date): what
# an open text must not carry.
_WITHHELD = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"(?:[0-9A-Fa-f]{2}[:\s-]){3,9}[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{8,20}"
    r"|\+?\d{7,}"
    r"|\+?\d{2,4}(?:[\s-]\d{3,4}){2,3}"
    r")(?![0-9A-Za-z])"
)
WITHHELD = "[withheld]"


def forged_text(f: Finding, _: Words | None = None) -> str:
    """A quarantine on the open display: the gate, the reason and the count, never its detail
    (what the sender wrote: staff read it on `/api/findings`)."""
    _ = _ or words()
    return _(
        "gate {gate} sent what it may not ({reason}): {n} entries quarantined",
        gate=", ".join(f.gates),
        reason=f"{f.reason}: {refusal_text(f.reason, _.language)}" if f.reason else "?",
        n=f.count,
    )


def withhold(text: str) -> str:
    """`text` with every band UID and phone number in it replaced by "[withheld]"."""
    return _WITHHELD.sub(WITHHELD, text)


def alerts(
    venue: Venue,
    headcount: dict[str, Any],
    gates: dict[str, Any],
    unaccompanied: list[dict[str, Any]],
    _: Words | None = None,
) -> list[dict[str, str]]:
    _ = _ or words()
    found: list[dict[str, str]] = []

    def add(level: str, kind: str, text: str) -> None:
        found.append({"level": level, "kind": kind, "text": withhold(text)})

    for group in unaccompanied:
        n, name = len(group["children"]), group["group"]
        add(
            "critical",
            "unaccompanied",
            _("group {group}: 1 child with no adult", group=name)
            if n == 1
            else _("group {group}: {n} children with no adult", group=name, n=n),
        )
    hub_off = not venue.broker.connected  # it cannot tell: one `gates_unreachable` instead
    now = venue.broker.clock()
    for gate, view in sorted(gates.items()):
        if not view["online"] and not hub_off:
            seen = iso_seconds(view.get("status_at") or view.get("last_seen"))  # its will
            since = since_words(seen, now, venue.policy.tz, _) if seen is not None else "?"
            add(
                "critical",
                "gate_offline",
                _("gate {gate} offline ({since})", gate=gate, since=since),
            )
        if view.get("taken_over"):
            add(
                "critical",
                "gate_taken_over",
                _(
                    "another connection logged in as gate {gate} and took its broker session "
                    "{n} time(s) in the last hour: its password is known elsewhere",
                    gate=gate,
                    n=view["taken_over"],
                ),
            )
        if view["stale_allowlist"]:
            add(
                "warning",
                "stale_allowlist",
                _(
                    "gate {gate} has allowlist v{version}",
                    gate=gate,
                    version=view["allowlist_version"],
                ),
            )
    found.extend(clock_alerts(gates, _))  # a gate's clock off: critical
    found.extend(broker_alerts(venue.broker, venue.broker_user, venue.policy.tz, _))
    known = len(gates) or len(venue.roster)  # those it has heard of, else those it expects
    found.extend(gates_alerts(venue.broker, headcount, known, venue.policy.tz, _))
    found.extend(roster_alerts(venue.roster, gates, _))  # no roster, gates not on it
    capacity, inside = headcount.get("capacity"), headcount["inside"]
    if capacity and inside >= CAPACITY_WARNING * capacity:
        level = "critical" if inside >= capacity else "warning"
        percent = 100 * inside // capacity
        add(
            level,
            "capacity",
            _("{n} inside of {capacity} ({p}%)", n=inside, capacity=capacity, p=percent),
        )
    findings = venue.state.findings()
    for f in findings:
        if f.kind in FORGED_KINDS:  # someone holds a gate's password: at once, on top
            add("critical", f.kind, forged_text(f, _))
    # a gate broke the rules: critical, at once
    found += violation_alerts(findings, venue.policy.tz, _)
    found += pickup_alerts(findings, venue.policy.tz, _)  # a not-authorised pickup tried
    found += clone_alerts(findings, venue.policy.tz, _)  # a band copied or rolled back
    conflicts = [f for f in findings if f.kind in CONFLICT_KINDS]
    if conflicts:
        n = len(conflicts)
        add("warning", "conflict", _("{n} conflicts found by the last reconciliation", n=n))
    return found  # the closings' own alerts: `closing_alert`
