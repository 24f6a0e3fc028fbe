"""Home Assistant MQTT discovery: a venue that runs Home Assistant sees wristgate unconfigured.

The hub publishes, retained, one config per headcount sensor (state from the retained headcount
topic) and one connectivity binary sensor per gate (state from the gate's retained status),
all available while the hub's own status says online.
"""

from __future__ import annotations

import json
from typing import Any

from gate.link.protocol import HA_DISCOVERY, Topics

SENSORS = {
    "inside": "Inside",
    "adults": "Adults inside",
    "children": "Children inside",
    "unaccompanied_children": "Unaccompanied children",
    "groups_inside": "Groups inside",
}


def _device(venue: str) -> dict[str, Any]:
    return {"identifiers": ["wristgate_hub"], "name": venue, "manufacturer": "wristgate"}


def _availability(topics: Topics) -> dict[str, str]:
    return {
        "availability_topic": topics.hub_status,
        "availability_template": "{{ 'online' if value_json.online else 'offline' }}",
    }


def discovery(topics: Topics, venue: str, gates: list[str]) -> dict[str, bytes]:
    """Topic -> retained config payload, for the headcount sensors and each gate."""
    configs: dict[str, dict[str, Any]] = {}
    for key, name in SENSORS.items():
        configs[f"{HA_DISCOVERY}/sensor/wristgate/{key}/config"] = {
            "name": name,
            "unique_id": f"wristgate_{key}",
            "state_topic": topics.headcount,
            "value_template": f"{{{{ value_json.{key} }}}}",
            "unit_of_measurement": "people",
            "state_class": "measurement",
            "device": _device(venue),
            **_availability(topics),
        }
    for gate in gates:
        configs[f"{HA_DISCOVERY}/binary_sensor/wristgate/gate_{gate}/config"] = {
            "name": f"Gate {gate}",
            "unique_id": f"wristgate_gate_{gate}",
            "device_class": "connectivity",
            "state_topic": topics.status(gate),
            "value_template": "{{ 'ON' if value_json.online else 'OFF' }}",
            "device": _device(venue),
        }
    return {topic: json.dumps(config).encode() for topic, config in configs.items()}
