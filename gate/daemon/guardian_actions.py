"""The guardian actions a technician (or the console) asks of this gate: a walk-in child and a
not-authorised list at a desk (`gate.daemon.desk_guardians`), a pickup code typed by staff at
an exit gate. Each goes through the gate's scan path, so it is journalled, folded and published
like a scan; runs on the loop."""

from __future__ import annotations

from typing import Any

from gate.core import Kind, Mode, Scan
from gate.daemon.desk_guardians import not_authorised, walkin
from gate.daemon.desk_journal import DeskCall
from gate.daemon.scans import ScanPath
from gate.daemon.walkin_hand_over import hand_over
from gate.link.codec import decision_to_dict


class GuardianActions:
    def __init__(self, scans: ScanPath) -> None:
        self.scans = scans

    def walkin(self, args: dict[str, Any], asked_by: dict[str, Any] | None) -> dict[str, Any]:
        """Staff register a walk-in child here; its pickup code printed on this desk's receipt
        printer, if it has one."""
        s = self.scans
        answer = walkin(DeskCall(s.ledger, s.settings, s.policy, s.clock(), args, asked_by))
        return hand_over(s, answer, None)  # the phone kept and sent, the code printed

    def not_authorised(
        self, args: dict[str, Any], asked_by: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Staff set a child's not-authorised list here."""
        s = self.scans
        call = DeskCall(s.ledger, s.settings, s.policy, s.clock(), args, asked_by)
        s.last = not_authorised(call)
        return s.last

    def pickup(self, code: str, asked_by: dict[str, Any] | None) -> dict[str, Any]:
        """A pickup code typed by staff at this exit gate (`gatectl pickup`)."""
        s = self.scans
        if s.settings.role != "exit" or s.pickups is None:
            raise ValueError(f"a pickup code is checked at an exit gate, not at {s.settings.id}")
        value = s.pickups.read(code, s.ledger.state, typed=True)
        if value is None:
            raise ValueError("a pickup code is 6 digits, as printed on the guardian's receipt")
        offline = s.link is not None and not s.link.connected
        scan = Scan(s.settings.id, Mode.EXIT, Kind.BARCODE, value, offline=offline, pickup=True)
        decision = s.scan(scan, asked_by=asked_by)
        return {"seq": (s.last or {}).get("seq"), **decision_to_dict(decision)}
