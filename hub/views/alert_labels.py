"""The display's alerts by kind, in words: what a drill's record and a report say staff saw.

Each alert the hub raises (`hub.views.display`, `link_alerts`, `clock_alerts`, `closing`,
`offline`, `roster_alerts`, the findings) has a stable `kind`; this table gives each a short
label for people, through the translation layer. A kind not in it is shown as it is, its
underscores as spaces, so a new kind is never hidden.
"""

from __future__ import annotations

from gate.i18n import N_, Words

ALERT_KINDS: dict[str, str] = {
    "unaccompanied": N_("Child with no adult"),
    "gate_offline": N_("Gate offline"),
    "gate_taken_over": N_("Gate taken over by another device"),
    "stale_allowlist": N_("Gate's ticket list out of date"),
    "capacity": N_("Venue nearly full"),
    "rule_violation": N_("Rule broken"),
    "forged_event": N_("Forged entries refused"),
    "seq_jump": N_("Batch refused: sequence jump"),
    "conflict": N_("Reconciliation conflicts"),
    "hub_broker_refused": N_("Hub refused by the broker"),
    "hub_broker_down": N_("Hub cannot reach the broker"),
    "broker_taken_over": N_("Broker login taken over"),
    "broker_unstable": N_("Broker link unstable"),
    "gates_unreachable": N_("Gates unreachable"),
    "gates_quiet": N_("Gates silent"),
    "gate_clock": N_("Gate clock off"),
    "closing": N_("Closing"),
    "session_closing": N_("Session ending"),
    "closing_soon": N_("Closing soon"),
    "no_roster": N_("No gate roster"),
    "unknown_gate": N_("Unknown gate"),
    "offline_mode": N_("Offline mode"),
    "drill": N_("Drill under way"),
    "reader_removed": N_("Wristband reader removed"),
    "reader_fault": N_("Wristband reader fault"),
    "scanner_fault": N_("Barcode scanner fault"),
    "disk_low": N_("Gate disk nearly full"),
}


def alert_label(kind: str, _: Words) -> str:
    """The label of an alert's `kind` in `_`'s language; an unknown kind as it is."""
    label = ALERT_KINDS.get(kind)
    return _(label) if label else kind.replace("_", " ")
