"""What the hub publishes for the gates, the displays and Home Assistant: its status, the
allowlist (with and without guardian phones), the roster, each gate's watermark once connected,
the headcount (retained, at most once a second and only when it changed), Home Assistant's
discovery, and its clock every second (`hub/time`, never retained: each gate measures its own
clock against it, `gate.link.hub_time`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from gate.core.authority import GateRole
from gate.link.protocol import (
    Ack,
    Headcount,
    HubStatus,
    HubTime,
    Roster,
    change_without_phones,
    dump,
)
from hub.ingest.allowlist import HubAllowlist, ImportResult
from hub.ingest.intake import Ingest
from hub.service.link import HubLink
from hub.store.events import EventStore
from hub.views.homeassistant import discovery

log = logging.getLogger("hub")

HEADCOUNT_EVERY_S = 1.0
HUB_TIME_EVERY_S = 1.0


class Publisher:
    def __init__(
        self,
        link: HubLink,
        *,
        name: str,
        roster: Mapping[str, GateRole],
        store: EventStore,
        allowlist: HubAllowlist,
        ingest: Ingest,
        headcount: Callable[[], Headcount],
    ) -> None:
        self.link, self.topics, self.name, self.roster = link, link.topics, name, roster
        self.store, self.allowlist, self.ingest = store, allowlist, ingest
        self.headcount = headcount
        self._headcount_at = 0.0
        self._hub_time_at = 0.0
        self._last_headcount: bytes = b""
        self._announced: set[str] = set()

    def connected(self) -> None:
        """Everything retained again, on each connection: status, allowlist, roster, acks."""
        online = HubStatus(online=True, allowlist_version=self.allowlist.version)
        self.link.publish(self.topics.hub_status, dump(online), retain=True)
        if self.allowlist.version >= 1:  # nothing imported yet: nothing to give the gates
            self.snapshots()
        roster = Roster(gates=dict(self.roster))
        self.link.publish(self.topics.roster, dump(roster), retain=True)
        for row in self.store.gate_rows():  # a restarted hub tells every gate where it stands
            ack = Ack(gate=row.gate, seq=row.acked)
            self.link.publish(self.topics.ack(row.gate), dump(ack), retain=True)
        self.announce()
        log.info("connected to the broker; %d gates known", len(self.store.gate_rows()))

    def allowlist_change(self, result: ImportResult) -> None:
        """An import applied: its change (with phones, and without), the snapshots, the status."""
        if result.change is not None:
            self.link.publish(self.topics.allowlist_full_delta, dump(result.change))
            self.link.publish(
                self.topics.allowlist_delta, dump(change_without_phones(result.change))
            )
        self.snapshots()
        online = HubStatus(online=True, allowlist_version=self.allowlist.version)
        self.link.publish(self.topics.hub_status, dump(online), retain=True)

    def snapshots(self) -> None:
        """The retained allowlist twice: with guardian phones for the desk and handhelds, and
        without for every gate (the broker's ACL keeps the first from the others)."""
        t = self.topics
        self.link.publish(t.allowlist_full, dump(self.allowlist.snapshot()), retain=True)
        self.link.publish(t.allowlist, dump(self.allowlist.gate_snapshot()), retain=True)

    def announce(self) -> None:
        """Home Assistant discovery for the headcount, the roster's gates and any other seen."""
        gates = sorted(set(self.ingest.gates()) | set(self.roster))
        for topic, payload in discovery(self.topics, self.name, gates).items():
            self.link.publish(topic, payload, retain=True)
        self._announced = set(gates)

    def hub_time_now(self) -> None:
        """The hub's clock, stamped as it is sent, once a second while connected (QoS 0: a lost
        one is only one sample fewer)."""
        now = time.monotonic()
        if not self.link.connected or now - self._hub_time_at < HUB_TIME_EVERY_S:
            return
        self._hub_time_at = now
        self.link.publish(self.topics.hub_time, dump(HubTime(hub_ms=int(time.time() * 1000))), 0)

    def headcount_now(self) -> None:
        """The headcount, when connected, a second has passed and it changed."""
        now = time.monotonic()
        if not self.link.connected or now - self._headcount_at < HEADCOUNT_EVERY_S:
            return
        if set(self.ingest.gates()) - self._announced:
            self.announce()  # a gate seen for the first time
        payload = dump(self.headcount())
        if payload != self._last_headcount:
            self.link.publish(self.topics.headcount, payload, retain=True)
            self._last_headcount = payload
        self._headcount_at = now
