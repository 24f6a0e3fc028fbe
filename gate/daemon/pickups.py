"""Pickup codes at this gate: made at the desk when a group's first band is bound, checked when
a guardian shows one at an exit gate.

At the desk (role `desk` or `handheld`), with the venue's `pickup_codes` option (policy.toml:
"solo", the default, a code for each child admitted alone; "all", one for every family; "off"),
the binding of a group's first band gives the group a code of 6 digits from `secrets`. The
journal and every other gate get only its digest (`PickupCodeIssued`: HMAC-SHA256 with the site
key, hex); the code itself is printed on the desk's receipt printer when its profile has one
(`[printer]`: "接送码 Pickup code", the digits large, a QR code of `WP` and the digits), sent
to the hub for the registered guardian with the venue's `send_pickup_codes` option
(`gate.daemon.pickup_sender`), and is in the desk's answer (`pickup`), so staff hand it over or
read it out. It is never logged.

At an exit gate, a barcode `WP123456` from the scanner, or the six digits typed by staff
(`gatectl pickup 123456`), reaches the rules as `Scan.pickup` with the code's digest for value
(`gate.core.guardians.pick_up`): what the scanner reads never passes for a digest itself.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from gate.core import BandBound, Decision, Event, Kind, Mode, PickupCodeIssued, Policy, Scan, State
from gate.core.rules import PICKUP_PREFIX
from gate.devices.nfc.token import Keyring
from gate.devices.printer import TicketPrinter
from gate.i18n import N_, words
from gate.settings import PrinterSettings

log = logging.getLogger("gate")

PRINTED = re.compile(r"WP(\d{6})")  # a pickup code's barcode on the receipt
TYPED = re.compile(r"(?:WP)?(\d{6})")  # as staff type it
RECEIPT_TITLE = N_("Pickup code")
RECEIPT_GROUP = N_("Child: {group}")
RECEIPT_HINT = N_("Show this code at the exit to collect the child")


def receipt_lines(group: str) -> list[str]:
    """The receipt's words: Chinese with the English beside, as staff and guardians read it."""
    _ = words("zh-CN")
    return [_.both(RECEIPT_TITLE), _.both(RECEIPT_GROUP, group=group), _.both(RECEIPT_HINT)]


class Pickups:
    def __init__(
        self,
        keyring: Keyring,
        option: str,
        printer: TicketPrinter | None,
        count: Callable[..., None],
    ) -> None:
        self.keyring = keyring
        self.option = option
        self.printer = printer
        self.count = count
        # sends a code to the hub for the guardian (policy `send_pickup_codes`) and for the
        # console that asked (`request`): (group, code, printed, request) -> told the guardian
        self.send: Callable[[str, str, bool, str | None], bool] | None = None
        self.pending: tuple[str, str] | None = None  # (group, code) of the bind being decided
        self.last: dict[str, Any] | None = None  # the code the last bind made, for its asker

    @classmethod
    def of(
        cls,
        policy: Policy,
        printer: PrinterSettings | None,
        keyring: Keyring,
        count: Callable[..., None],
    ) -> Pickups:
        """This gate's pickup codes, from the venue's option and its profile's printer."""
        device = TicketPrinter(printer.device) if printer else None
        return cls(keyring, policy.pickup_codes, device, count)

    def digests(self, code: str) -> list[str]:
        """The code's digest under each key of the site's keyring, the current key's first."""
        out = []
        for key_id in self.keyring.key_ids:
            key = self.keyring.key(key_id)
            assert key is not None
            out.append(hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest())
        return out

    # --- at the desk ---------------------------------------------------------------------------

    def at_binding(self, state: State, decision: Decision, events: list[Event]) -> list[Event]:
        """The bind's events with the group's new pickup code's digest (the code kept for
        `hand_over`); or as they were (no band bound, a group that has one, the option)."""
        self.pending = None
        bound = next((e for e in events if isinstance(e, BandBound)), None)
        if bound is None or not decision.granted or self.option == "off":
            return events
        group = state.groups.get(bound.group)
        if bound.group in state.pickup_codes or group is None:
            return events
        if self.option == "solo" and not group.solo:
            return events
        code = f"{secrets.randbelow(1_000_000):06d}"
        self.pending = (bound.group, code)
        return [*events, PickupCodeIssued(bound.gate, bound.at, bound.group, self.digests(code)[0])]

    def hand_over(self, decision: Decision) -> None:
        """Once the bind is journalled: print its group's new code, keep it for the asker."""
        pending, self.pending = self.pending, None
        self.last = None
        if pending is not None and decision.granted:
            self.last = self.print_code(*pending)

    def handed(self) -> dict[str, Any]:
        """`{"pickup": ...}` for the answer to the scan that made a code, once; else `{}`."""
        last, self.last = self.last, None
        return {"pickup": last} if last is not None else {}

    def print_code(self, group: str, code: str, request: str | None = None) -> dict[str, Any]:
        """Print the code on the desk's receipt, if it has a printer, and send it (the
        guardian's, the console's `request`); what the answer says."""
        self.count("pickup_codes_issued")
        printed, problem = False, ""
        if self.printer is not None:
            printed, problem = self.printer.print_voucher(f"WP{code}", receipt_lines(group))
            if not printed:
                self.count("pickup_print_failed")
                log.warning("pickup code of %s not printed: %s", group, problem)
        sent = self.send(group, code, printed, request) if self.send is not None else False
        log.info("pickup code issued for %s%s", group, " (printed)" if printed else "")
        return {
            "group": group,
            "code": code,
            "printed": printed,
            "sent": sent,
            "problem": problem or None,
        }

    # --- at an exit gate -------------------------------------------------------------------------

    def scan_of(self, scan: Scan, state: State) -> Scan:
        """At an exit gate, a barcode that is a pickup code as the rules take it; else `scan`."""
        if scan.mode is not Mode.EXIT or scan.kind is not Kind.BARCODE:
            return scan
        value = self.read(scan.value, state)
        return scan if value is None else replace(scan, value=value, pickup=True)

    def read(self, value: str, state: State, typed: bool = False) -> str | None:
        """A pickup scan's value (the prefix and the code's digest) for a barcode that is a
        pickup code, None for any other. A code made under the previous key still matches."""
        found = (TYPED if typed else PRINTED).fullmatch(value.strip())
        if found is None:
            return None
        self.count("pickup_codes_read")
        known = set(state.pickup_codes.values())
        digests = self.digests(found[1])
        digest = next((d for d in digests if d in known), digests[0])
        return PICKUP_PREFIX + digest
