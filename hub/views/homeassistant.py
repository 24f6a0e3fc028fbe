"""Home Assistant MQTT discovery: a venue that runs Home Assistant sees wristgate unconfigured.

Home Assistant logs in to the venue's broker as `homeassistant` (`install-hub` makes the user;
the ACL lets it read the discovery configs, the headcount and the statuses, and publish
nothing). The hub publishes, retained:

- one sensor per headcount figure (state from the retained headcount topic), available while
  the hub's own retained status (and will) says online;
- per gate: a connectivity binary sensor (from the gate's retained status, whose will says
  offline when the gate drops), always available; and its journal backlog and reader state,
  available while that gate says it is online (an offline gate's figures are unknown, not 0).

Every id carries the venue's id (`venue_id`): its name's letters and digits and six hex digits
of its name and topic prefix, so two venues in one Home Assistant, or on one broker under two
prefixes, never collide, and a venue named in Chinese gets an id too.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from gate.link.protocol import HA_DISCOVERY, Topics

SENSORS = {
    "inside": "Inside",
    "adults": "Adults inside",
    "children": "Children inside",
    "unaccompanied_children": "Unaccompanied children",
    "groups_inside": "Groups inside",
}
ONLINE = "{{ 'online' if value_json.online else 'offline' }}"
# The discovery topics before ids were scoped to the venue: cleared (an empty retained config
# removes the entity).
LEGACY_NODE = "wristgate"


def venue_id(name: str, prefix: str) -> str:
    """The venue's id in Home Assistant: `wristgate_<name's letters and digits>_<6 hex>`."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40]
    digest = hashlib.sha256(f"{prefix}\n{name}".encode()).hexdigest()[:6]
    return "_".join(part for part in ("wristgate", slug, digest) if part)


def discovery(topics: Topics, venue: str, gates: list[str]) -> dict[str, bytes]:
    """Topic -> retained config payload, for the headcount sensors and each gate (and an empty
    payload for each config of the ids before they were scoped to the venue)."""
    vid = venue_id(venue, topics.prefix)
    hub_device = {"identifiers": [vid], "name": venue, "manufacturer": "wristgate"}
    hub_available = {"availability_topic": topics.hub_status, "availability_template": ONLINE}
    configs: dict[str, dict[str, Any]] = {}
    for key, name in SENSORS.items():
        configs[f"{HA_DISCOVERY}/sensor/{vid}/{key}/config"] = {
            "name": name,
            "unique_id": f"{vid}_{key}",
            "state_topic": topics.headcount,
            "value_template": f"{{{{ value_json.{key} }}}}",
            "unit_of_measurement": "people",
            "state_class": "measurement",
            "device": hub_device,
            **hub_available,
        }
    for gate in gates:
        configs.update(_gate(topics, vid, venue, gate))
    payloads = {topic: json.dumps(config).encode() for topic, config in configs.items()}
    for legacy in _legacy_topics(gates):
        payloads.setdefault(legacy, b"")
    return payloads


def _gate(topics: Topics, vid: str, venue: str, gate: str) -> dict[str, dict[str, Any]]:
    status = topics.status(gate)
    device = {
        "identifiers": [f"{vid}_gate_{gate}"],
        "name": f"{venue} gate {gate}",
        "manufacturer": "wristgate",
        "via_device": vid,
    }
    gate_available = {"availability_topic": status, "availability_template": ONLINE}
    base = f"{HA_DISCOVERY}/{{}}/{vid}/gate_{gate}_{{}}/config"
    return {
        base.format("binary_sensor", "online"): {
            "name": "Online",
            "unique_id": f"{vid}_gate_{gate}_online",
            "device_class": "connectivity",
            "state_topic": status,
            "value_template": "{{ 'ON' if value_json.online else 'OFF' }}",
            "device": device,
        },
        base.format("sensor", "backlog"): {
            "name": "Journal backlog",
            "unique_id": f"{vid}_gate_{gate}_backlog",
            "state_topic": status,
            "value_template": "{{ (value_json.last_seq or 0) - (value_json.acked or 0) }}",
            "unit_of_measurement": "entries",
            "state_class": "measurement",
            "device": device,
            **gate_available,
        },
        base.format("sensor", "reader"): {
            "name": "Reader",
            "unique_id": f"{vid}_gate_{gate}_reader",
            "state_topic": status,
            "value_template": "{{ value_json.reader or 'none' }}",
            "device": device,
            **gate_available,
        },
    }


def _legacy_topics(gates: list[str]) -> list[str]:
    return [
        *(f"{HA_DISCOVERY}/sensor/{LEGACY_NODE}/{key}/config" for key in SENSORS),
        *(f"{HA_DISCOVERY}/binary_sensor/{LEGACY_NODE}/gate_{gate}/config" for gate in gates),
    ]
