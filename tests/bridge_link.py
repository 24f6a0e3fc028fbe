"""A venue's way out to head office, which a test can cut: one loopback TCP relay in front of
each cluster node's MQTT port (`bench.chaos.proxy.Relay`), all cut and healed together.

    link = BridgeLink(cluster.mqtt_addresses)
    hq_url = link.url                 # mqtt://127.0.0.1:p1,127.0.0.1:p2,... for hub.toml's [hq]
    link.cut()                        # the venue's bridge loses head office: every connection
                                      #   reset, new ones closed at once, on every node's relay
    link.heal()                       # the bridge reconnects by itself and catches up
    link.close()

A cut is a cable pulled between the venue and the chain's head office: the venue's Mosquitto
sees its bridge connection reset and every address it fails over to refuse it, while the venue
itself (its gates, its hub, its display) keeps running on its own broker.
"""

from __future__ import annotations

from bench.chaos.proxy import LOOPBACK, Relay


class BridgeLink:
    def __init__(self, addresses: list[str]) -> None:
        self.relays: list[Relay] = []
        try:
            for address in addresses:
                host, _, port = address.rpartition(":")
                if host != LOOPBACK:
                    raise ValueError(f"{address}: the link only relays to {LOOPBACK}")
                self.relays.append(Relay(int(port)).start())
        except BaseException:
            self.close()
            raise

    @property
    def addresses(self) -> list[str]:
        """What the venue's bridge dials instead of the nodes' MQTT ports, in the same order."""
        return [f"{LOOPBACK}:{relay.port}" for relay in self.relays]

    @property
    def url(self) -> str:
        return "mqtt://" + ",".join(self.addresses)

    @property
    def is_cut(self) -> bool:
        return all(relay.is_cut for relay in self.relays)

    def cut(self) -> None:
        for relay in self.relays:
            relay.cut()

    def heal(self) -> None:
        for relay in self.relays:
            relay.heal()

    def close(self) -> None:
        for relay in self.relays:
            relay.close()
