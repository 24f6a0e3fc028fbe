"""The scan path: a credential read at this gate is decided by the rules core, journalled, folded
into the state, and only then moves the relay; at the desk a band is bound once its token is
written. The passage sensor, the staff key, the fire alarm and time passing end here too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gate.control.metrics import Metrics
from gate.core import (
    BandBound,
    BandLearned,
    BandToken,
    Code,
    Decision,
    Event,
    Intent,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    Policy,
    Scan,
    State,
    decide,
    expire,
)
from gate.core.hlc import ClockDriftError
from gate.core.passages import as_band_says
from gate.daemon.desk_corrections import desk_tokens
from gate.daemon.desk_journal import DeskAction, DeskCall
from gate.daemon.guardian_phones import GuardianPhones
from gate.daemon.ledger import Ledger
from gate.daemon.passages import PassageRecords
from gate.daemon.pickups import Pickups
from gate.daemon.vouchers import Vouchers
from gate.daemon.wristbands import (
    band_check,
    check_refusal,
    collected_here,
    void_token,
)
from gate.devices.gpio.gate_io import GateIO
from gate.devices.nfc.reader import TagRead
from gate.devices.nfc.token import Keyring
from gate.i18n.notices import message_text
from gate.i18n.reasons import reason_text
from gate.link.client import Link
from gate.link.codec import decision_to_dict
from gate.settings import GateSettings

log = logging.getLogger("gate")

ROLE_MODES = {"entry": Mode.ENTRY, "exit": Mode.EXIT, "desk": Mode.BIND}


@dataclass
class Pending:
    """A grant waiting for the passage sensor: the journal entry and who moved from where."""

    seq: int
    moved: list[tuple[MemberMoved, MemberState]]


class ScanPath:
    """Every scan of this gate, and what else it journals of its own: passages, expiries, the
    fire alarm. Runs on the loop."""

    def __init__(
        self,
        settings: GateSettings,
        policy: Policy,
        keyring: Keyring,
        ledger: Ledger,
        io: GateIO,
        link: Link | None,
        clock: Callable[[], datetime],
        count: Callable[..., None],
        metrics: Metrics,
        vouchers: Vouchers | None = None,
        pickups: Pickups | None = None,  # pickup codes: made at a desk, read at an exit gate
    ) -> None:
        self.settings, self.vouchers, self.pickups = settings, vouchers, pickups
        self.policy = policy
        self.keyring = keyring
        self.ledger = ledger
        self.io, self.link = io, link
        self.clock = clock
        self.count = count
        self.metrics = metrics
        self.handheld_mode = "check"  # a handheld binds or checks; gatectl mode switches
        self.pending: dict[int, Pending] = {}
        self.temporary_until: datetime | None = None
        self.fire_alarm = False
        self.last: dict[str, Any] | None = None
        self.phones: GuardianPhones | None = None  # a desk's walk-ins' guardian phones, in full
        self.passages = PassageRecords(keyring, count, ledger.journal.stamp)

    @property
    def mode(self) -> Mode | None:
        """The mode of this gate's scans; None for a handheld in check mode."""
        if self.settings.role == "handheld":
            return Mode.BIND if self.handheld_mode == "bind" else None
        return ROLE_MODES[self.settings.role]

    def _intent(self) -> Intent:
        if self.temporary_until is not None and self.clock() <= self.temporary_until:
            self.temporary_until = None
            return Intent.TEMPORARY
        return Intent.FINAL

    def tag(self, read: TagRead) -> None:
        if read.token is None and read.token_fault is None:
            log.info("tag %s (%s) carries no wristband token", read.uid, read.tag_type)
        self.read(
            Kind.NFC,
            read.uid,
            token=read.token,
            fault=read.token_fault,
            writer=read.writer.write_token,
            tag_fault=read.tag_fault,
            band=read,
        )

    def read(
        self,
        kind: Kind,
        value: str,
        *,
        intent: Intent | None = None,
        token: BandToken | None = None,
        fault: str | None = None,
        writer: Callable[[bytes], Any] | None = None,
        tag_fault: str | None = None,
        test: bool = False,
        asked_by: dict[str, Any] | None = None,
        dry_run: bool = False,
        request: str | None = None,
        band: TagRead | None = None,
    ) -> dict[str, Any]:
        """A credential read by this gate (or a technician's test scan, `test`, asked by
        `asked_by`: no band on the reader): decide, or check. A band from the reader has a
        `writer`. A `dry_run` is decided and nothing else: not journalled, no light, no relay.
        `request`: the control request's id, journalled with the decision."""
        mode = self.mode
        tag = writer is not None and kind is Kind.NFC
        if mode is None:
            gate_id = self.settings.id
            refused = check_refusal(gate_id, value, token, fault, tag_fault) if tag else None
            if refused is not None:
                self.count("check_bad_token")
            result = refused or band_check(self.ledger.state, value)
            if dry_run:
                return {"check": result}
            self.io.grant(open_gate=False) if result["known"] else self.io.deny()
            self.last = {"check": result}
            log.info("check %s: %s", value, result.get("message") or result.get("state", "unknown"))
            return {"check": result}
        offline = self.link is not None and not self.link.connected
        pairs = not test or self.settings.test_scans_open_pairing
        voucher, voucher_fault = self.vouchers.read(value) if self.vouchers else (None, None)
        scan = Scan(
            self.settings.id,
            mode,
            kind,
            value,
            intent or self._intent(),
            token,
            fault,
            offline,
            tag=tag,
            tag_fault=tag_fault,
            pairs=pairs,
            voucher=voucher,
            voucher_fault=voucher_fault,
            passage=self.passages.of(band, self.ledger.state) if band is not None else None,
        )
        scan = self.pickups.scan_of(scan, self.ledger.state) if self.pickups else scan
        if dry_run:
            return decision_to_dict(self.preview(scan))
        decision = self.scan(scan, writer, asked_by=asked_by, request=request, band=band)
        decided = decision_to_dict(decision)
        if self.last is not None and "voucher" in self.last:
            decided["voucher"] = self.last["voucher"]
        return decided | (self.pickups.handed() if self.pickups else {})  # its code: to the asker

    def preview(self, scan: Scan) -> Decision:
        """What the rules decide of `scan` on the state as it stands, and nothing more: no
        journal entry, no fold, no light, no relay (`gatectl scan --dry-run`)."""
        decision, _events = decide(self.ledger.state, scan, self.clock(), self.policy)
        self.count("dry_run_scans")
        log.info("%s %s (dry run, not journalled)", scan.value, decision.code.value)
        return decision

    def scan(
        self,
        scan: Scan,
        write_token: Callable[[bytes], Any] | None = None,
        asked_by: dict[str, Any] | None = None,
        request: str | None = None,
        band: TagRead | None = None,
    ) -> Decision:
        """Decide one scan, journal it, fold it, then move the relay: the one path of every scan.
        A grant of a band on the reader (`band`) stands once its passage is on it."""
        now = self.clock()
        self.advance_time(now)
        follow_band(self.ledger, scan, self.count)
        started = time.perf_counter()
        decision, events = decide(self.ledger.state, scan, now, self.policy)
        self.metrics.observe("decision_seconds", time.perf_counter() - started)
        decision, events = desk_tokens(
            decision, events, scan, write_token, self.ledger.state, self.keyring, self.count
        )
        if band is not None and decision.granted:  # its record on the band, before the relay
            decision, events = self.passages.write(
                decision, events, scan, self.ledger.state, band.writer, band.slots
            )
        bound = next((e for e in events if isinstance(e, BandBound)), None)
        if bound is not None and self.pickups is not None:  # the group's code, with its band
            events = self.pickups.at_binding(self.ledger.state, decision, events)
        before = _states_before(self.ledger.state, events, scan)
        body: dict[str, Any] = {"scan": scan_record(scan), "decision": decision_to_dict(decision)}
        if asked_by is not None:  # a test scan: who asked, as the kernel named them
            body["asked_by"] = asked_by
        if request is not None:  # a control request's id: the asker finds its entry by it
            body["request"] = request
        entry = self.ledger.record("decision", body, events)
        self.count(decision.code.value)
        self._actuate(decision, events, entry.seq, before)
        state = self.ledger.state
        if write_token is not None and collected_here(state, scan, events):  # relay moved
            void_token(scan.value, write_token, self.count)
        self.last = {"seq": entry.seq, **decision_to_dict(decision)}
        issued = self.vouchers.issue(decision, now) if self.vouchers is not None else None
        if issued is not None:
            self.last["voucher"] = issued
        if self.pickups is not None:
            self.pickups.hand_over(decision)  # printed, and for the asker: never in `last`
        log.info(
            "%s %s %s: %s (%s)%s",
            scan.value,
            decision.code.value,
            f"{decision.group}/{decision.role}" if decision.group else "-",
            reason_text(decision.code.value, self.settings.language),  # [gate] language
            message_text(decision.message, self.settings.language),
            " [forced]" if decision.forced else "",
        )
        return decision

    def _actuate(
        self,
        decision: Decision,
        events: list[Event],
        seq: int,
        before: dict[str, MemberState],
    ) -> None:
        if not decision.granted:
            if decision.code is Code.DENY_CHILD_NEEDS_ADULT:
                self.io.waiting_for_adult()
            else:
                self.io.deny()
            return
        moved = [
            (e, before[e.uid]) for e in events if isinstance(e, MemberMoved) and e.uid in before
        ]
        opens = self.settings.role in ("entry", "exit") and (
            moved or decision.code is Code.OK_OVERRIDE
        )
        grant = self.io.grant(open_gate=bool(opens))
        if grant is not None and moved:
            self.pending[grant] = Pending(seq, moved)

    def passage(self, grant: int, passed: bool) -> None:
        pending = self.pending.pop(grant, None)
        if pending is None:
            return
        events: list[Event] = []
        if not passed:  # granted, but nobody went through: undo the move
            now = self.clock()
            for moved, earlier in pending.moved:
                events.append(MemberMoved(moved.gate, now, moved.uid, moved.group, earlier))
            self.count("not_passed")
            log.warning("grant %d (journal %d): no passage within the timeout", grant, pending.seq)
        self.ledger.record("passage", {"decision_seq": pending.seq, "passed": passed}, events)

    def staff_button(self) -> None:
        window = timedelta(seconds=self.settings.staff_button_window_s)
        self.temporary_until = self.clock() + window
        log.info("staff button: next exit is temporary")

    def fire_alarm_changed(self, on: bool) -> None:
        self.fire_alarm = on
        self.ledger.journal.append("fire_alarm", {"on": on})
        self.io.free_exit(on)
        log.warning("fire alarm %s: exit %s", "ON" if on else "cleared", "free" if on else "closed")

    def advance_time(self, now: datetime | None = None) -> None:
        now = now or self.clock()
        events = expire(self.ledger.state, now, self.policy, self.settings.id)
        if not events:
            return
        self.ledger.record("expiry", {}, events)

    def desk_action(
        self,
        action: DeskAction,
        args: dict[str, Any],
        asked_by: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """A staff action at this desk (`gate.daemon.desk_corrections`), once windows due close."""
        now = self.clock()
        self.advance_time(now)
        self.last = action(DeskCall(self.ledger, self.settings, self.policy, now, args, asked_by))
        return self.last


def _states_before(state: State, events: list[Event], scan: Scan) -> dict[str, MemberState]:
    """Where each member a scan moves was before it (a band learned from its token: where the
    token put it; a band whose record is newer than what this gate heard: where it says)."""
    learned = {e.uid: e.state for e in events if isinstance(e, BandLearned)}
    return {
        e.uid: as_band_says(m, scan).state if (m := state.members.get(e.uid)) else learned[e.uid]
        for e in events
        if isinstance(e, MemberMoved)
    }


def scan_record(scan: Scan) -> dict[str, Any]:
    """The scan as its decision entry records it."""
    return {
        "kind": scan.kind.value,
        "value": scan.value,
        "mode": scan.mode.value,
        "intent": scan.intent.value,
        "token": scan.token is not None,
        "tag": scan.tag,  # false: a test scan, or a barcode
        "offline": scan.offline,  # decided cut off from the others
    }


def follow_band(ledger: Ledger, scan: Scan, count: Callable[[str], None]) -> None:
    """The band's last passage (`scan.passage`, read on the reader) was stamped by a gate whose
    clock may be ahead of this one:
    what is journalled here from now on (this passage's record too) is stamped after it, so the
    day folds in the order the band went. A stamp further ahead than the clock follows
    (`ClockDriftError`) is counted, `band_clock_ahead`, and not followed."""
    stamp = scan.passage.hlc if scan.passage is not None else None
    if stamp is None:
        return
    try:
        ledger.journal.observe(stamp)
    except ClockDriftError as exc:
        count("band_clock_ahead")
        log.warning("the band's last passage is stamped too far ahead: %s", exc)
