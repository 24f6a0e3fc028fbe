"""A walk-in child's guardian phone from the desk that registered it (`gate.link.guardian_phone`,
docs/desk.md), on that desk's own topic: taken only from a desk or handheld of the roster, for
a walk-in group of that desk (`W-<desk>-<yyyymmdd>-<n>`), not retained; kept in the hub's book
(`hub.store.guardian_phones`) and told to the venue state (`State.guardian_phones`), where
staff lookups, the staff's report and the notifier find it. Anything else is refused, counted
and said, without the number. The log shows the last four digits only."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping

from gate.core import mask_phone
from gate.core.guardians import WALKIN
from gate.link.guardian_phone import GuardianPhone, gate_of
from gate.link.protocol import ProtocolError, Topics, parse
from hub.store.guardian_phones import GuardianPhoneBook

log = logging.getLogger("hub")

DESK_ROLES = ("desk", "handheld")
DIGITS = re.compile(r"\d{5,}")


class GuardianPhones:
    def __init__(
        self,
        book: GuardianPhoneBook,
        topics: Topics,
        roster: Mapping[str, str],
        told: Callable[[str, str], None],
    ) -> None:
        self.book, self.topics, self.roster, self.told = book, topics, roster, told
        self.counts = {"kept": 0, "refused": 0}

    def is_mine(self, topic: str) -> bool:
        return gate_of(self.topics, topic) is not None

    def received(self, topic: str, payload: bytes, retained: bool) -> None:
        gate = gate_of(self.topics, topic)
        why = self._refusal(gate, payload, retained)
        if isinstance(why, str):
            self.counts["refused"] += 1
            log.warning("guardian phone from %s not taken: %s", str(gate)[:32], why)
            return
        if self.book.put(why.gate, why.group, why.phone, int(time.time() * 1000)):
            self.counts["kept"] += 1
            log.info("guardian phone of %s from %s: %s", why.group, why.gate, mask_phone(why.phone))
        self.told(why.group, why.phone)

    def _refusal(self, gate: str | None, payload: bytes, retained: bool) -> GuardianPhone | str:
        if gate is None or retained:
            return "not a desk's own message (retained, or another topic)"
        if self.roster.get(gate) not in DESK_ROLES:
            return "no desk or handheld of hub.toml's [gates] roster"
        try:
            message = parse(GuardianPhone, payload)
        except ProtocolError as exc:
            return f"unreadable: {DIGITS.sub('…', str(exc))[:120]}"  # never a number it held
        if message.gate != gate:
            return "it names another gate"
        found = WALKIN.fullmatch(message.group)
        if found is None or found["desk"] != gate:
            return "not a walk-in group of that desk (W-<desk>-<yyyymmdd>-<n>)"
        return message
