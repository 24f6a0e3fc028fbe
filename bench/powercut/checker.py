"""What a power-cut campaign is judged by. Pure: no I/O; the campaign gathers the evidence
(`bench.powercut.evidence`) and hands it over as plain values.

    lost          a decision the gate answered (its relay moved) that is not in its journal after
                  a cut, or not at the hub at the end with the same band and code; an entry the
                  hub had acknowledged to a gate, missing from its store after a cut
    duplicated    one gate entry stored twice at the hub (two seqs), a seq the hub received twice
                  with different nonces (the gate reused it after losing it), one scan matched
                  to two entries, or a headcount that is not the ground truth
    integrity     a SQLite store whose `PRAGMA integrity_check` is not ok, or that does not open
    mixed         an allowlist snapshot that is not one whole version: its tables disagree with
                  its own counts, it does not parse, or two snapshots of one version differ
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from venue.truth import MOVED_IN, moved_out


@dataclass(frozen=True)
class Scan:
    """One scan sent through a gate's control socket and what came of it."""

    gate: str
    value: str
    outcome: str  # ok | indeterminate | unavailable | refused
    seq: int | None
    code: str | None
    sent: float


@dataclass(frozen=True)
class Entry:
    """One journal entry, as a gate's journal or the hub's store holds it."""

    gate: str
    seq: int
    nonce: str
    kind: str
    value: str = ""  # the scan's band or ticket, for a decision
    code: str = ""  # the decision's code


@dataclass
class Verdict:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)
    mixed: list[str] = field(default_factory=list)
    answered: int = 0
    recovered: int = 0
    truth_inside: int = 0

    @property
    def passed(self) -> bool:
        return not (self.lost or self.duplicated or self.integrity or self.mixed)


def answered_in_journal(
    scans: Iterable[Scan], gate: str, journal: Sequence[Entry], compacted: int
) -> list[str]:
    """After a cut of `gate`: every decision it answered before is still in its journal (or in
    the prefix it compacted away once the hub acknowledged it)."""
    held = {e.seq: e for e in journal}
    lost = []
    for scan in scans:
        if scan.gate != gate or scan.outcome != "ok" or scan.seq is None:
            continue
        if scan.seq <= compacted:
            continue
        entry = held.get(scan.seq)
        if entry is None:
            lost.append(f"{gate}/{scan.seq} {scan.value} {scan.code}: answered, not in the journal")
        elif (entry.value, entry.code) != (scan.value, scan.code):
            lost.append(
                f"{gate}/{scan.seq}: answered {scan.value} {scan.code}, the journal holds "
                f"{entry.value} {entry.code}"
            )
    return lost


def acknowledged_in_store(acked: Mapping[str, int], stored: Iterable[tuple[str, int]]) -> list[str]:
    """After a cut of the hub: every entry it had acknowledged to a gate is in its store."""
    have = set(stored)
    lost = []
    for gate, upto in sorted(acked.items()):
        missing = [seq for seq in range(1, upto + 1) if (gate, seq) not in have]
        if missing:
            lost.append(f"{gate}: acknowledged up to {upto}, the store lacks {missing[:5]}")
    return lost


def integrity_failures(results: Iterable[tuple[str, str]]) -> list[str]:
    """`(store, what integrity_check said or why it did not open)`: those not ok."""
    return [f"{store}: {said}" for store, said in results if said != "ok"]


def snapshot_version(tables: Any) -> tuple[int, str] | str:
    """An allowlist snapshot's (version, digest of what it allows), or why it is not one whole
    version (see `gate.store.allowlist.store`: its meta counts every table)."""
    try:
        (meta,) = tables["meta"].values()
        counts = dict(meta["counts"])
        tickets = [c for doc in tables["tickets"].values() for c in doc["code"]]
        bands = sorted((doc["role"], uid) for doc in tables["bands"].values() for uid in doc["uid"])
        staff = [u for doc in tables["staff"].values() for u in doc["uid"]]
        revoked = [v for doc in tables["revoked"].values() for v in doc["value"]]
        version = meta["version"]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"not a whole snapshot ({type(exc).__name__}: {exc})"
    found = {"tickets": len(tickets), "bands": len(bands), "staff": len(staff)}
    found["revoked"] = len(revoked)
    if any(counts.get(name) != n for name, n in found.items()):
        return f"version {version}: holds {found}, its meta says {counts}"
    what = json.dumps([sorted(tickets), bands, sorted(staff), sorted(revoked)])
    return int(version), hashlib.sha256(what.encode()).hexdigest()[:16]


def mixed_snapshots(observed: Iterable[tuple[str, Any]]) -> list[str]:
    """`(where, parsed snapshot or why it did not parse)`: each must be one whole version, and
    every snapshot of one version the same."""
    problems: list[str] = []
    digests: dict[int, tuple[str, str]] = {}
    for where, tables in observed:
        found = snapshot_version(tables) if not isinstance(tables, str) else tables
        if isinstance(found, str):
            problems.append(f"{where}: {found}")
            continue
        version, digest = found
        first = digests.setdefault(version, (where, digest))
        if first[1] != digest:
            problems.append(f"{where}: version {version} differs from the one at {first[0]}")
    return problems


def judge(
    scans: Sequence[Scan],
    journals: Mapping[str, Sequence[Entry]],
    compacted: Mapping[str, int],
    hub: Sequence[Entry],
    hub_conflicts: int,
    hub_inside: int | None,
) -> Verdict:
    """The end of the run: every answered decision at the hub as answered, every journal entry
    at the hub once, nothing twice, and the hub's headcount the ground truth."""
    verdict = Verdict()
    stored: dict[tuple[str, int], Entry] = {}
    seen_nonce: dict[tuple[str, str], int] = {}
    for entry in hub:
        key = (entry.gate, entry.seq)
        if key in stored:
            verdict.duplicated.append(f"{entry.gate}/{entry.seq}: stored twice")
        stored[key] = entry
        first = seen_nonce.setdefault((entry.gate, entry.nonce), entry.seq)
        if first != entry.seq:
            verdict.duplicated.append(f"{entry.gate}: one entry stored as {first} and {entry.seq}")
    if hub_conflicts:
        verdict.duplicated.append(f"{hub_conflicts} seqs sent again with another nonce")
    for gate, rows in journals.items():
        for row in rows:
            at_hub = stored.get((gate, row.seq))
            if at_hub is None:
                verdict.lost.append(f"{gate}/{row.seq} {row.kind}: journalled, not at the hub")
            elif at_hub.nonce != row.nonce:
                verdict.duplicated.append(f"{gate}/{row.seq}: the hub holds another entry")
    effective = _effective(scans, journals, stored, verdict)
    verdict.truth_inside = _inside(effective)
    if hub_inside != verdict.truth_inside:
        verdict.duplicated.append(f"headcount {hub_inside}, ground truth {verdict.truth_inside}")
    return verdict


def _effective(
    scans: Sequence[Scan],
    journals: Mapping[str, Sequence[Entry]],
    stored: Mapping[tuple[str, int], Entry],
    verdict: Verdict,
) -> list[tuple[Scan, str]]:
    """Each scan with the code it took effect with: answered, or (unanswered: the gate lost
    power) found in the hub's store as a decision no answered scan claims."""
    answered = {(s.gate, s.seq) for s in scans if s.outcome == "ok" and s.seq is not None}
    claims = Counter((s.gate, s.seq) for s in scans if s.outcome == "ok" and s.seq is not None)
    for (gate, seq), n in claims.items():
        if n > 1:
            verdict.duplicated.append(f"{gate}/{seq}: answered for {n} scans")
    gates = set(journals)
    unclaimed: dict[tuple[str, str], list[Entry]] = {}
    for key, entry in sorted(stored.items()):
        if entry.kind == "decision" and key not in answered and entry.gate in gates:
            unclaimed.setdefault((entry.gate, entry.value), []).append(entry)
    effective = []
    for scan in sorted(scans, key=lambda s: s.sent):
        if scan.outcome == "ok" and scan.seq is not None:
            verdict.answered += 1
            at_hub = stored.get((scan.gate, scan.seq))
            if at_hub is None:
                verdict.lost.append(f"{scan.gate}/{scan.seq} {scan.value} {scan.code}: answered")
            elif (at_hub.value, at_hub.code) != (scan.value, scan.code):
                verdict.lost.append(
                    f"{scan.gate}/{scan.seq}: answered {scan.value} {scan.code}, the hub "
                    f"holds {at_hub.value} {at_hub.code}"
                )
            effective.append((scan, scan.code or ""))
        elif scan.outcome == "indeterminate" and unclaimed.get((scan.gate, scan.value)):
            verdict.recovered += 1
            effective.append((scan, unclaimed[(scan.gate, scan.value)].pop(0).code))
    return effective


def _inside(effective: Iterable[tuple[Scan, str]]) -> int:
    """The ground truth: each band where its last movement that took effect put it."""
    inside: dict[str, bool] = {}
    for scan, code in sorted(effective, key=lambda e: e[0].sent):
        if code in MOVED_IN:
            inside[scan.value] = True
        elif moved_out(code, scan.gate):
            inside[scan.value] = False
    return sum(inside.values())
