"""Prometheus metrics on the gate and the hub, and Home Assistant discovery on a real broker."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from gate_rig import ADULT, GateRig
from venue_rig import Venue

from gate.control.metrics import Metrics


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_the_text_format_has_types_labels_and_cumulative_buckets():
    m = Metrics("wristgate_test")
    m.describe("scans_total", "scans")
    m.count("scans_total", code="OK_ENTRY")
    m.count("scans_total", code="OK_ENTRY")
    m.count("scans_total", code='say "hi"')
    for seconds in (0.00001, 0.0002, 5.0):
        m.observe("decision_seconds", seconds)
    text = m.render()
    assert "# TYPE wristgate_test_scans_total counter" in text
    assert 'wristgate_test_scans_total{code="OK_ENTRY"} 2' in text
    assert 'code="say \\"hi\\""' in text
    assert 'wristgate_test_decision_seconds_bucket{le="1e-05"} 1' in text
    assert 'wristgate_test_decision_seconds_bucket{le="+Inf"} 3' in text
    counts = [int(n) for n in re.findall(r'_bucket\{le="[^"]+"\} (\d+)', text)]
    assert counts == sorted(counts)  # cumulative


@pytest.fixture
def desk(tmp_path: Path):
    rig = GateRig(
        tmp_path, "D1", "desk", pins={"green": 22}, scanner=False, extra="metrics_port = 0\n"
    )
    rig.start()
    yield rig
    rig.close()


def test_a_gate_exposes_decisions_latency_backlog_and_reader_state(desk):
    desk.ask("scan", kind="barcode", value="T1")
    desk.ask("scan", kind="nfc", value=ADULT)
    desk.ask("scan", kind="barcode", value="NOPE")
    port = desk.gate.metrics_server.server_address[1]
    samples = scrape(f"http://127.0.0.1:{port}/metrics")
    assert samples['wristgate_gate_events_total{kind="OK_BIND"}'] == 2
    assert samples['wristgate_gate_events_total{kind="DENY_UNKNOWN"}'] == 1
    assert samples["wristgate_gate_decision_seconds_count"] == 3
    assert samples["wristgate_gate_journal_backlog"] == 3  # no hub: nothing acknowledged
    assert samples["wristgate_gate_broker_connected"] == 0
    states = {k: v for k, v in samples.items() if k.startswith("wristgate_gate_reader_state")}
    assert sum(states.values()) == 1


def test_the_hub_exposes_metrics_and_announces_itself_to_home_assistant(
    tmp_path, fresh_broker, mqtt_client
):
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        venue.start_gate("D1")
        assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
        venue.wait_settled()
        samples = scrape(f"http://127.0.0.1:{venue.http_port}/metrics")
        assert samples["wristgate_hub_broker_connected"] == 1
        assert samples['wristgate_hub_gate_online{gate="D1"}'] == 1
        assert samples['wristgate_hub_gate_backlog{gate="D1"}'] == 0
        assert samples["wristgate_hub_inside"] == 0
        # the announcements are retained; read them as the hub's user once the hub is gone (one
        # connection per user: a second login as hub would take the hub's session)
        assert venue.hub is not None
        venue.hub.stop()
        ha = mqtt_client("hub", broker=venue.broker)
        ha.subscribe("homeassistant/#")
        inside = ha.wait_for_message("homeassistant/sensor/wristgate/inside/config", timeout=10)
        config = json.loads(inside.payload)
        assert config["state_topic"] == "wristgate/v1/hub/headcount"
        assert config["value_template"] == "{{ value_json.inside }}"
        gate = ha.wait_for_message("homeassistant/binary_sensor/wristgate/gate_D1/config", 10)
        assert json.loads(gate.payload)["state_topic"] == "wristgate/v1/gate/D1/status"
    finally:
        venue.close()
