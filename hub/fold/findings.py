"""What a reconciliation found: one `Finding` per thing, and how serious each kind is.

Kept apart from `hub.fold.reconcile` so the audit (`hub.fold.audit`), the display and the reports
share
it without importing the fold.

A finding is *critical* when it says a gate broke the venue's rules (a rule violation: see
`hub.fold.audit` and docs/security/audit.md): a child let out alone, an override no enrolled badge
armed, a move that does not follow from where the member was. The display raises those at once
and the daily report lists them in their own section. The other kinds are warnings: what a
partition, a wrong clock or a passage nobody used leaves behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from gate.i18n import N_, Words, words

# A gate broke the rules (or said it did): no honest gate, online or cut off, journals these.
RULE_VIOLATIONS: dict[str, str] = {
    "child_released_alone": N_(
        "child let out with no adult of its group (or a solo child with no staff-verified "
        "guardian pickup)"
    ),
    "child_temp_exit": N_("child let out temporarily (children may not exit temporarily)"),
    "child_admitted_alone": N_("child let in with no adult of its group inside or paired"),
    "override_not_authorised": N_(
        "override not armed by an enrolled, unrevoked staff badge at that gate within the window"
    ),
    "move_without_entry": N_("member let out that no gate let in"),
    "impossible_move": N_("a move no rule makes from the member's previous state"),
    "pairing_without_adult": N_("pairing window opened with no adult of the group let through"),
    "desk_action_not_authorised": N_(
        "desk action not authorised by an enrolled, unrevoked staff badge tapped at that desk "
        "within the window"
    ),
}

# Someone published as a gate what that gate never journals (hub.ingest.intake refused it): a gate's
# password is in other hands, or its software is not ours. As serious as a rule violation.
FORGED_ENTRIES: dict[str, str] = {
    "forged_event": N_(
        "entries refused: that gate's login published what no gate of its role journals"
    ),
    "seq_jump": N_("a batch refused: its sequence number is far beyond the gate's journal"),
}
# Someone tried to take a child a guardian named at the desk as not authorised to collect it
# (gate.core.guardians): the gate refused the override, or had not heard of the list.
PICKUP_ALERTS: dict[str, str] = {
    "pickup_not_authorised": N_("a staff override tried on a child with a not-authorised list"),
    "pickup_codes_locked": N_("too many wrong pickup codes for a child: its codes are refused"),
}
# A band's passage counter went backwards or came again (hub.fold.audit_counters): two bands
# answer with one UID, or a band was restored from a copy of itself.
CLONE_ALERTS: dict[str, str] = {
    "band_cloned": N_("band copied or rolled back: its passage counter went backwards"),
}
CRITICAL: dict[str, str] = {**RULE_VIOLATIONS, **FORGED_ENTRIES, **PICKUP_ALERTS, **CLONE_ALERTS}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a reconciliation found. `at` is when it happened, as the gate recorded it."""

    kind: str
    gates: tuple[str, ...]
    at: datetime
    detail: str
    uid: str | None = None
    group: str | None = None
    entries: tuple[tuple[str, int], ...] = ()  # the journal entries it rests on: (gate, seq)
    reason: str | None = None  # a quarantine's reason (gate.core.authority.Reason)
    count: int = 0  # the entries quarantined for it

    @property
    def critical(self) -> bool:
        """A rule violation or a forged entry: raised on the display at once, listed apart in the
        report."""
        return self.kind in CRITICAL

    @property
    def severity(self) -> str:
        return "critical" if self.critical else "warning"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "gates": list(self.gates),
            "at": self.at.isoformat(),
            "uid": self.uid,
            "group": self.group,
            "detail": self.detail,
            "entries": [list(e) for e in self.entries],
        }


def violation_counts(findings: list[Finding]) -> dict[tuple[str, str], int]:
    """How many rule violations of each kind each gate journalled: {(kind, gate): n}."""
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        if f.kind in RULE_VIOLATIONS:
            for gate in f.gates:
                counts[(f.kind, gate)] = counts.get((f.kind, gate), 0) + 1
    return counts


# --- what the duty manager sees -------------------------------------------------------------------


def violation_alerts(
    findings: Sequence[Finding], tz: tzinfo, _: Words | None = None
) -> list[dict[str, str]]:
    """One critical alert per gate and kind of rule violation, for the wall display (times in
    the venue's `tz`). No band UIDs or phones (the display is open on the venue LAN): the
    findings API and the daily report have the details."""
    counted: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.kind in RULE_VIOLATIONS:  # forged entries have alerts of their own (hub.views.display)
            counted.setdefault((", ".join(f.gates), f.kind), []).append(f)
    _ = _ or words()
    alerts = []
    for (gates, kind), found in sorted(counted.items()):
        last = f"{max(f.at for f in found).astimezone(tz):%H:%M:%S}"
        what = _(RULE_VIOLATIONS[kind])
        text = (
            _(
                "rule violation at {gates}: {what} ({n} times, last {time}; see the findings)",
                gates=gates,
                what=what,
                n=len(found),
                time=last,
            )
            if len(found) > 1
            else _(
                "rule violation at {gates}: {what} (at {time}; see the findings)",
                gates=gates,
                what=what,
                time=last,
            )
        )
        alerts.append({"level": "critical", "kind": "rule_violation", "text": text})
    return alerts
