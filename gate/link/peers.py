"""What a gate takes from the other gates: only what each may say (design §9).

The venue's roster (the hub's retained `Roster`: gate id -> role) says what each gate's role
lets it journal; `check` reads a peer's entry against it and against what this gate knows (its
allowlist, the members its state holds, the peers' decisions its presence log keeps: a passage
record undoes only a decision held there). An entry whose hybrid timestamp runs further ahead of
this gate's clock than the journal's drift allows is refused too (`clock_ahead`): kept, it would
sort after everything to come and make every later entry look late. A refused entry is not
kept in presence and not folded: it is counted by reason and logged with the gate, seq and reason.

The last roster is kept in the state directory (`roster.json`, written to a temp file, synced,
renamed, the directory synced so the new name survives a power cut), so a gate restarted with
no broker still knows the venue's roles.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

from gate.core import Event, State
from gate.core.authority import GateRole, PastDecision
from gate.link.batches import WireEntry
from gate.link.protocol import Roster
from gate.link.vetting import (
    Knowledge,
    Refused,
    check_entry_clock,
    check_peer_entry,
    past_decision,
    roles_of,
    text_size,
)
from gate.store.durable import fsync_directory
from gate.store.journal import Journal
from gate.store.presence import PresenceError, PresenceLog

log = logging.getLogger("gate.link.peers")


class Peers:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.roster: dict[str, GateRole] = self._load()
        self.refused: Counter[str] = Counter()  # peer entries refused, by reason

    def _load(self) -> dict[str, GateRole]:
        try:
            data = json.loads(self.path.read_text())
            return roles_of(Roster.model_validate(data).gates)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # the hub sends it again: retained
            log.warning("roster %s unreadable (%s): waiting for the hub's", self.path, type(exc))
            return {}

    def set_roster(self, roster: Roster) -> None:
        """The hub's roster: used at once, kept for a restart without the broker."""
        roles = roles_of(roster.gates)
        if roles == self.roster:
            return
        self.roster = roles
        temp = self.path.with_suffix(".tmp")
        try:
            with temp.open("w") as f:
                f.write(roster.model_dump_json())
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, self.path)
            fsync_directory(self.path.parent)
        except OSError as exc:  # used all the same; the retained roster comes back next start
            log.error("roster not kept in %s: %s", self.path, exc)
        log.info("venue roster: %s", ", ".join(f"{g}:{r}" for g, r in sorted(roles.items())))

    def check(
        self, gate: str, entry: WireEntry, state: State, presence: PresenceLog, journal: Journal
    ) -> list[Event]:
        """The entry's events if `gate` may say them; else `Refused`, counted and logged.
        `presence` holds the peers' entries kept so far, `journal` this gate's clock."""

        def decision_of(peer: str, seq: int) -> PastDecision | None:
            try:
                body = presence.body(peer, seq)  # only a decision's body holds a scan
            except PresenceError as exc:  # not held, as far as this gate can tell
                log.error("presence: %s", exc)
                return None
            return None if body is None or "scan" not in body else past_decision("decision", body)

        knows = Knowledge(state.allowlist, state.members, decision_of)
        size = text_size(entry.body_json)
        try:
            check_entry_clock(entry.hlc, journal.clock_ms(), journal.max_drift_ms)
            return check_peer_entry(
                gate, self.roster, entry.kind, entry.body, knows, size, seq=entry.seq
            )
        except Refused as exc:
            self.refused[exc.reason.value] += 1
            log.warning("peer entry %s/%d refused: %s", gate, entry.seq, exc)
            raise

    def status(self) -> dict[str, Any]:
        return {"roster": dict(self.roster), "refused": dict(self.refused)}
