"""What the store itself shows, beside the fold: journals reset (conflicting entries), entries
quarantined as forged, and gates whose last status showed a clock far from the hub's."""

from __future__ import annotations

from typing import Any

from hub.fold.clocks import hlc_time, iso_seconds, wall_time
from hub.fold.findings import Finding
from hub.store.events import EventStore


def conflict_findings(store: EventStore) -> list[Finding]:
    """One finding per (gate, seq) sent again with another nonce."""
    found = []
    for c in store.conflicts():
        found.append(
            Finding(
                "journal_conflict",
                (c.gate,),
                wall_time(c.refused.received_ms),
                f"seq {c.seq} of {c.gate} came again with another nonce ({c.refused.kind} "
                f"at {iso_seconds(hlc_time(c.refused.hlc))}; kept the first, {c.kept.kind} at "
                f"{iso_seconds(hlc_time(c.kept.hlc))}): the gate's journal was reset or replaced",
                entries=((c.gate, c.seq),),
            )
        )
    return found


def quarantine_findings(store: EventStore) -> list[Finding]:
    """One finding per gate and reason of the entries the ingest refused."""
    by: dict[tuple[str, str], list[Any]] = {}
    for q in store.quarantined():
        by.setdefault((q.gate, q.reason), []).append(q)
    found = []
    for (gate, reason), refused in by.items():
        first = refused[0]
        kind = "seq_jump" if reason == "seq_jump" else "forged_event"
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        seqs = f"seq {first.seq}{more}"
        found.append(
            Finding(
                kind,
                (gate,),
                wall_time(first.received_ms),
                f"gate {gate} sent what it may not ({reason}): {seqs}, quarantined, not "
                f"counted; first: {first.kind} entry: {first.detail}",
                entries=tuple((gate, q.seq) for q in refused[:20]),
                reason=reason,
                count=len(refused),
            )
        )
    return found


def status_clock_findings(store: EventStore, skew_limit_ms: int) -> list[Finding]:
    """A gate whose last status showed its clock further than `skew_limit_ms` from the hub's."""
    found = []
    for row in store.gate_rows():
        if row.skew_ms is None or row.status_ms is None:
            continue
        if abs(row.skew_ms) > skew_limit_ms:
            way = "ahead of" if row.skew_ms > 0 else "behind"
            found.append(
                Finding(
                    "clock",
                    (row.gate,),
                    wall_time(row.status_ms),
                    f"last status: the clock of {row.gate} is {abs(row.skew_ms) / 1000:.0f} s "
                    f"{way} the hub's",
                )
            )
    return found
