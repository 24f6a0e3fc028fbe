"""Digital vouchers at this gate: reading one from the scanner, issuing one at a temporary exit.

An entry gate reads every barcode that claims to be a voucher with the site key
(`gate.devices.voucher`) before the rules see it: a good one reaches them as `Scan.voucher`, one
that is malformed, of an unknown key or with a signature that does not match as
`Scan.voucher_fault` with the reason (refused `DENY_VOUCHER_FORGED`, counted
`voucher_rejected`). Whether it is expired or spent is the rules' (`gate.core.vouchers`).

An exit gate with `voucher_valid_min` set issues one at every temporary exit of an adult
(`OK_TEMP_EXIT`): signed for the band, valid that many minutes, printed as a QR code by the
lane's ticket printer when the profile has one (`[printer]`; its lines in Chinese with the
English beside: "临时出园 Temporary exit", "有效至 2026-07-18 17:30 Valid until ..."), and
given in the gate's answer (`voucher`), so staff can show it on a phone. A printer that fails
holds nobody back: counted (`voucher_print_failed`), logged, and the code is still in the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from gate.core import Code, Decision, Role, Voucher
from gate.devices.nfc.token import Keyring
from gate.devices.printer import TicketPrinter
from gate.devices.voucher import VoucherFault, issue_voucher, looks_like_voucher, read_voucher
from gate.i18n import N_, words
from gate.settings import PrinterSettings

log = logging.getLogger("gate")

TICKET_TITLE = N_("Temporary exit")
TICKET_UNTIL = N_("Valid until {until}")


def ticket_lines(expires: datetime) -> list[str]:
    """The voucher ticket's words: Chinese with the English beside, as staff and guests read it."""
    _ = words("zh-CN")
    until = expires.strftime("%Y-%m-%d %H:%M")
    return [_.both(TICKET_TITLE), _.both(TICKET_UNTIL, until=until)]


class Vouchers:
    def __init__(
        self,
        keyring: Keyring,
        valid_min: int,
        printer: TicketPrinter | None,
        count: Callable[..., None],
    ) -> None:
        self.keyring = keyring
        self.valid_min = valid_min
        self.printer = printer
        self.count = count

    @classmethod
    def of(
        cls,
        valid_min: int,
        printer: PrinterSettings | None,
        keyring: Keyring,
        count: Callable[..., None],
    ) -> Vouchers:
        """This gate's vouchers, from its settings and its profile's printer."""
        return cls(keyring, valid_min, TicketPrinter(printer.device) if printer else None, count)

    def read(self, code: str) -> tuple[Voucher | None, str | None]:
        """(the voucher, None), (None, why it is not one), or (None, None): not a voucher."""
        if not looks_like_voucher(code):
            return None, None
        try:
            return read_voucher(code, self.keyring), None
        except VoucherFault as fault:
            self.count("voucher_rejected")
            log.warning("voucher rejected: %s", fault.reason)
            return None, fault.reason

    def issue(self, decision: Decision, now: datetime) -> dict[str, Any] | None:
        """A voucher for the adult `decision` let out temporarily, if this gate issues them."""
        if self.valid_min <= 0 or decision.code is not Code.OK_TEMP_EXIT:
            return None
        if decision.role is not Role.ADULT:
            return None
        expires = now + timedelta(minutes=self.valid_min)
        code = issue_voucher(decision.value, expires, self.keyring)
        self.count("vouchers_issued")
        printed, problem = False, ""
        if self.printer is not None:
            printed, problem = self.printer.print_voucher(code, ticket_lines(expires))
            if not printed:
                self.count("voucher_print_failed")
                log.warning("voucher for %s not printed: %s", decision.value, problem)
        log.info("voucher issued for %s until %s", decision.value, expires.isoformat())
        return {
            "code": code,
            "expires": expires.isoformat(),
            "printed": printed,
            "problem": problem or None,
        }
