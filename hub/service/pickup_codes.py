"""A desk's pickup code, told to the registered guardian by the hub's notifier (the venue's
`send_pickup_codes` option; `gate.link.pickup_notice`). The desk sends the code with the phone
it holds for the group; the hub takes it only from a desk or handheld of its roster, on that
desk's own topic, never retained, and queues one notice (`kind` "pickup_code") with the code in
both languages. The code is never stored or logged, nor the full phone: the log says the group
and the phone's last four digits.

A code the desk gave for a walk-in registered at the console names the console's request: it
is handed to the console (`console`, `hub.service.desk.HubDesk.hand_over`), which shows it once
in the answer to that request and forgets it; the guardian is told only when the notice says
so (`notify`: the venue's `send_pickup_codes`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from gate.core import Policy, mask_phone
from gate.i18n import N_, words
from gate.link.pickup_notice import PickupNotice, gate_of
from gate.link.protocol import ProtocolError, Topics, parse
from hub.service.notify import Notice, Notifier

log = logging.getLogger("hub.notify")

SAID = N_(
    "Wristgate: the pickup code of your child ({group}) is {code}. Show it at the exit to "
    "collect them; keep it to yourself."
)
DESK_ROLES = ("desk", "handheld")


class PickupCodes:
    def __init__(
        self,
        notifier: Notifier | None,
        policy: Policy,
        topics: Topics,
        roster: Mapping[str, str],
    ) -> None:
        self.notifier, self.policy, self.topics, self.roster = notifier, policy, topics, roster
        self.counts = {"told": 0, "refused": 0}
        # the console's hand-over: (gate, request, {"group", "code", "printed", "sent", "to"})
        self.console: Callable[[str, str, dict[str, Any]], None] | None = None

    def is_mine(self, topic: str) -> bool:
        return gate_of(self.topics, topic) is not None

    def received(self, topic: str, payload: bytes, retained: bool) -> None:
        """One desk's pickup code: told to its guardian, or refused (counted, said why)."""
        gate = gate_of(self.topics, topic)
        why = self._refusal(gate, payload, retained)
        if isinstance(why, str):
            self.counts["refused"] += 1
            log.warning("pickup code from %s not told: %s", str(gate)[:32], why)
            return
        notice = why
        if notice.request is not None and self.console is not None:
            told = notice.notify and self.notifier is not None
            self.console(
                notice.gate,
                notice.request,
                {
                    "group": notice.group,
                    "code": notice.code,
                    "printed": notice.printed,
                    "sent": told,
                    "to": mask_phone(notice.phone),
                },
            )
        if not notice.notify:
            return
        if self.notifier is None:
            self.counts["refused"] += 1
            log.warning("pickup code from %s not told: [notify] in hub.toml is off", gate)
            return
        at = self.policy.local(datetime.fromtimestamp(notice.at_ms / 1000, UTC))
        said = {
            lang: words(lang)(SAID, group=notice.group, code=notice.code)
            for lang in ("zh-CN", "en")
        }
        self.notifier.send(
            Notice(
                "pickup_code",
                notice.phone,
                notice.group,
                at.isoformat(timespec="seconds"),
                notice.gate,
                said["zh-CN"],
                said["en"],
            )
        )
        self.counts["told"] += 1
        log.info(
            "pickup code of %s from %s queued for %s", notice.group, gate, mask_phone(notice.phone)
        )

    def _refusal(self, gate: str | None, payload: bytes, retained: bool) -> PickupNotice | str:
        if gate is None or retained:
            return "not a desk's own message (retained, or another topic)"
        if self.roster.get(gate) not in DESK_ROLES:
            return "no desk or handheld of hub.toml's [gates] roster"
        try:
            notice = parse(PickupNotice, payload)
        except ProtocolError as exc:
            return f"unreadable: {str(exc)[:120]}"
        if notice.gate != gate:
            return "it names another gate"
        return notice
