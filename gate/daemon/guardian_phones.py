"""A walk-in child's guardian phone, in full, at the desk that registered it (docs/desk.md):
kept in the desk's own book (`gate.store.phone_book`, never in its journal, whose event holds
it masked) and sent to the hub alone on the desk's own topic (`gate.link.guardian_phone`), at
registration and again each time the desk connects, for the day's walk-ins: the hub keeps it
for staff lookups, the staff's report and the notifier. The desk's pickup code sender reads it
here too. Never logged: the log shows the last four digits. Runs on the loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from gate.core import Policy, State, mask_phone
from gate.core.guardians import WALKIN, registered_phone
from gate.daemon.ledger import Ledger
from gate.daemon.pickup_sender import PickupSender
from gate.daemon.pickups import Pickups
from gate.link.client import Link
from gate.link.guardian_phone import GuardianPhone
from gate.settings import GateSettings
from gate.store.phone_book import PhoneBook

log = logging.getLogger("gate")


class Follower(Protocol):
    linked: Callable[[], None]


class DeskScans(Protocol):
    settings: GateSettings
    policy: Policy
    ledger: Ledger
    pickups: Pickups | None
    phones: GuardianPhones | None


def desk_books(
    scans: DeskScans,
    follower: Follower | None,
    link: Link | None,
    clock: Callable[[], datetime],
    count: Callable[..., None],
) -> None:
    """A desk's walk-ins' guardian phones (its book in its state folder; sent to the hub again
    each time the link is up), and its pickup codes sent to the guardian by the hub."""
    s = scans.settings
    book = PhoneBook(s.state_dir / "guardian_phones.json")
    phones = GuardianPhones(s.id, book, link, scans.policy, clock, count)
    scans.phones = phones
    if follower is not None:
        follower.linked = phones.resend
    if scans.pickups is not None:
        scans.pickups.send = PickupSender(  # to the guardian, if the venue says so
            s.id, link, lambda group: phones.of(scans.ledger.state, group), scans.policy, count
        )


class GuardianPhones:
    def __init__(
        self,
        gate: str,
        book: PhoneBook,
        link: Link | None,
        policy: Policy,
        clock: Callable[[], datetime],
        count: Callable[..., None],
    ) -> None:
        self.gate, self.book, self.link = gate, book, link
        self.policy, self.clock, self.count = policy, clock, count

    def of(self, state: State, group: str) -> str:
        """`group`'s guardian phone in full: this desk's book, else an event in full (an entry
        of an older release), else the ticket's (`guardian_phone`), else ""."""
        phone = self.book.get(group) or registered_phone(state, group)
        if phone:
            return phone
        ticket = state.allowlist.tickets.get(group)
        return ticket.guardian_phone if ticket is not None else ""

    def registered(self, group: str, phone: str) -> None:
        """A walk-in registered here (journalled): its phone kept, and sent to the hub."""
        try:
            self.book.put(group, phone)
        except OSError as exc:
            self.count("guardian_phone_not_kept")
            log.error("guardian phone of %s not kept on this desk: %s", group, exc)
        self._send(group, phone)

    def resend(self) -> None:
        """The link is up: today's walk-ins' phones sent to the hub again (it keeps each once)."""
        today = self.clock().astimezone(self.policy.tz).strftime("%Y%m%d")
        for group, phone in self.book.items():
            found = WALKIN.fullmatch(group)
            if found is not None and found["desk"] == self.gate and found["day"] == today:
                self._send(group, phone)

    def _send(self, group: str, phone: str) -> None:
        message = GuardianPhone(gate=self.gate, group=group, phone=phone)
        if self.link is None or not self.link.guardian_phone(message):
            self.count("guardian_phone_not_sent")
            log.warning("guardian phone of %s not sent to the hub yet: sent when linked", group)
            return
        self.count("guardian_phones_sent")
        log.info("guardian phone of %s sent to the hub (%s)", group, mask_phone(phone))
