"""The venue option `send_pickup_codes` (policy.toml): the desk sends each pickup code it gives
to the hub (`gate.link.pickup_notice`), whose notifier tells the registered guardian: the phone
registered at this desk for a walk-in child (its own book, `gate.daemon.guardian_phones`), else
the ticket's `guardian_phone` (the desk's allowlist has it). The code is never logged, nor the
full phone.

A walk-in registered at the hub's console (`request`) is sent to the hub whatever the option,
with `notify` saying whether the guardian is to be told: the hub shows the code once, in the
answer to that request only, to the staff who asked (`hub.service.desk`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from gate.core import Policy, mask_phone
from gate.link.client import Link
from gate.link.pickup_notice import PickupNotice

log = logging.getLogger("gate")


class PickupSender:
    """`send(group, code) -> sent`, for `gate.daemon.pickups.Pickups`; runs on the loop."""

    def __init__(
        self,
        gate: str,
        link: Link | None,
        phone_of: Callable[[str], str],
        policy: Policy,
        count: Callable[..., None],
    ) -> None:
        self.gate, self.link, self.phone_of = gate, link, phone_of
        self.policy, self.count = policy, count

    def __call__(
        self, group: str, code: str, printed: bool = False, request: str | None = None
    ) -> bool:
        """Send `group`'s code to the hub: for the guardian (the venue's option), and for the
        console's `request`; True when the guardian is to be told of it."""
        notify = self.policy.send_pickup_codes
        if not notify and request is None:
            return False
        phone = self.phone_of(group)
        if not phone:
            self.count("pickup_code_not_sent")
            log.warning("pickup code of %s not sent: no guardian phone registered", group)
            return False
        notice = PickupNotice(
            gate=self.gate,
            group=group,
            code=code,
            phone=phone,
            at_ms=int(time.time() * 1000),
            notify=notify,
            request=request,
            printed=printed,
        )
        if self.link is None or not self.link.pickup_notice(notice):
            self.count("pickup_code_not_sent")
            log.warning("pickup code of %s not sent (the hub is out of reach): hand it over", group)
            return False
        if not notify:
            log.info("pickup code of %s sent to the hub for the console that asked", group)
            return False
        self.count("pickup_codes_sent")
        log.info("pickup code of %s sent to the hub for %s", group, mask_phone(phone))
        return True
