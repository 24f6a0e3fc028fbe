"""The venue broker's bridge to the chain's head office (hub.toml's `[hq]`): Mosquitto's
`connection hq` to NATS's MQTT gateway on every node of head office's cluster, and the ACL of
the bridge's local user.

    bridge = HqBridge.of(venue="V1", url="mqtt://10.0.0.1:1883,10.0.0.2:1883",
                         username="V1", password=secret, local_password=other_secret)
    conf += render_bridge(bridge, prefix)      # appended to mosquitto.conf
    acl += bridge_acl(bridge, prefix)          # appended to the ACL

The bridge carries the venue's own topics only: `{prefix}/hq/venue/{venue}/#` out (QoS 1),
`{prefix}/hq/ack/{venue}` in (QoS 1); at head office they have no prefix (`hq/venue/V1/...`,
NATS subjects `hq.venue.V1....`). Mosquitto tries the nodes in turn (`addresses`, the first
preferred), keeps its session there (`cleansession false`), and queues what the venue's hub
publishes while head office is away; the hub resends from head office's acknowledgement
anyway, so the queue is a convenience. Without `[hq]` nothing of this is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deploy.broker import BRIDGE_USER, BrokerConfigError, _check_user
from hub.chain.wire import ChainTopics, check_venue

_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$")


def parse_hq_url(url: str) -> tuple[tuple[str, int], ...]:
    """`mqtt://host:port[,host2:port2,...]` -> ((host, port), ...); BrokerConfigError naming
    the part that is wrong."""
    if not url.startswith("mqtt://"):
        raise BrokerConfigError(f"[hq] url {url[:80]!r}: mqtt://host:port[,host:port...]")
    found = []
    for part in url.removeprefix("mqtt://").split(","):
        m = _HOST_PORT.fullmatch(part.strip())
        if m is None or not 0 < int(m.group("port")) < 65536:
            raise BrokerConfigError(f"[hq] url: {part[:60]!r} is not host:port")
        found.append((m.group("host"), int(m.group("port"))))
    return tuple(found)


@dataclass(frozen=True, repr=False)
class HqBridge:
    """What the bridge needs; its repr names no password."""

    venue: str
    addresses: tuple[tuple[str, int], ...]
    username: str  # the venue's user at head office's cluster
    password: str
    local_password: str  # BRIDGE_USER's on the venue's broker

    @classmethod
    def of(
        cls, *, venue: str, url: str, username: str, password: str, local_password: str
    ) -> HqBridge:
        try:
            check_venue(venue)
        except ValueError as exc:
            raise BrokerConfigError(f"[hq] venue: {exc}") from None
        _check_user(username, password)
        _check_user(BRIDGE_USER, local_password)
        for secret in (password, local_password):
            if any(c.isspace() or c == "#" for c in secret):
                raise BrokerConfigError("[hq] passwords for the bridge: no spaces and no '#'")
        return cls(venue, parse_hq_url(url), username, password, local_password)

    def __repr__(self) -> str:
        return f"HqBridge(venue={self.venue!r}, addresses={self.addresses!r})"


def render_bridge(bridge: HqBridge, prefix: str) -> str:
    """The `connection hq` section, to append to mosquitto.conf (it holds two passwords: the
    file is the broker's, mode 0640)."""
    head = prefix.rstrip("/") + "/"
    remote = ChainTopics()
    addresses = " ".join(f"{host}:{port}" for host, port in bridge.addresses)
    return f"""
# --- The chain's head office (hub.toml [hq]) ----------------------------------------------------
# The venue's hub publishes its entries and summaries here; this bridge carries them to NATS's
# MQTT gateway at head office (every node listed: Mosquitto tries them in turn) and brings back
# head office's acknowledgement. The venue never waits for it: gates and the hub go on without.
connection hq
addresses {addresses}
round_robin false
start_type automatic
restart_timeout 1 15
keepalive_interval 20
cleansession false
remote_clientid hq-bridge-{bridge.venue}
remote_username {bridge.username}
remote_password {bridge.password}
local_clientid {BRIDGE_USER}
local_username {BRIDGE_USER}
local_password {bridge.local_password}
bridge_protocol_version mqttv311
try_private false
notifications false
topic {remote.venue_out(bridge.venue)} out 1 {head} ""
topic {remote.ack(bridge.venue)} in 1 {head} ""
"""


def bridge_acl(bridge: HqBridge, prefix: str) -> str:
    """The bridge's local user: it reads what the venue sends head office and writes head
    office's acknowledgement, nothing else (it takes back what the gate patterns give)."""
    local = ChainTopics(prefix)
    return f"""
# The bridge to the chain's head office (hub.toml [hq]): it reads what the hub sends head office
# and writes head office's acknowledgement, and nothing else.
user {BRIDGE_USER}
topic deny {prefix.rstrip("/")}/gate/#
topic deny {prefix.rstrip("/")}/hub/#
topic read {local.venue_out(bridge.venue)}
topic write {local.ack(bridge.venue)}
"""
