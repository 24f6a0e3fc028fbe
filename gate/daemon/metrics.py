"""The gate's Prometheus metrics: decisions and faults, refused peer entries and the decision's
time, counted as they happen; the backlog, the link, the reader and the control socket's
refusals read at each scrape (`gate.control.metrics`).
"""

from __future__ import annotations

from gate.control.metrics import Metrics, Reading
from gate.control.socket import ControlServer
from gate.daemon.clock_watch import ClockWatch
from gate.daemon.ledger import Ledger
from gate.devices.nfc.reader import NfcReader
from gate.link.client import Link

READER_STATES = ("connected", "searching", "absent", "failed", "stopped")


def gate_metrics(
    ledger: Ledger,
    link: Link | None,
    control: ControlServer,
    reader: NfcReader | None,
    clock: ClockWatch | None = None,
) -> Metrics:
    """The gate's metrics, `wristgate_gate_*`, and the process's own."""
    metrics = Metrics("wristgate_gate")
    metrics.counter("events", "decisions by reason code, and faults by kind, since start", "kind")
    metrics.counter(
        "peer_refused", "other gates' entries refused, by reason, since start", "reason"
    )
    metrics.histogram("decision_seconds", "time of the rules core's decision")

    def read(r: Reading) -> None:
        r.gauge(
            "journal_backlog",
            "journal entries the hub has not acknowledged",
            ledger.journal.backlog,
        )
        r.gauge("journal_last_seq", "the journal's last sequence number", ledger.journal.last_seq)
        r.gauge("inside", "people inside, as this gate folds the venue", ledger.state.inside)
        r.gauge(
            "allowlist_version", "version of the allowlist in use", ledger.state.allowlist.version
        )
        r.gauge(
            "broker_connected", "1 while the MQTT link is up", int(bool(link and link.connected))
        )
        if clock is not None:
            if (offset := clock.offset_ms) is not None:
                r.gauge(
                    "clock_offset_seconds",
                    "the hub's clock minus this gate's system clock, as last measured",
                    offset / 1000,
                )
            if (age := clock.age_s()) is not None:
                r.gauge("clock_offset_age_seconds", "since the offset was measured", age)
            r.gauge(
                "clock_corrected",
                "1 while the gate decides with the hub's time (its own clock is off)",
                int(clock.corrected),
            )
            r.gauge(
                "clock_ntp_synchronized",
                "1 while NTP says the clock is synchronised",
                int(clock.ntp() == "synchronized"),
            )
        for reason, n in control.refused.items():
            r.counter(
                "control_refused",
                "control socket requests refused, by reason, since start",
                n,
                reason=reason,
            )
        if reader is not None:
            current = str(reader.health().state)
            for state in READER_STATES:
                r.gauge(
                    "reader_state",
                    "1 for the reader's current state",
                    int(state == current),
                    state=state,
                )

    metrics.at_scrape(read)
    return metrics
