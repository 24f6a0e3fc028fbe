"""Prometheus metrics on the gate and the hub, read with prometheus-client's own parser: every
family of ours has its HELP and its right type, counters are counters, the process's own metrics
are there, and a value moves when the gate or the hub does something."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gate_rig import ADULT, GateRig, wait_for
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from venue_rig import Venue

from gate.control.metrics import CONTENT_TYPE, Metrics, serve_metrics

PROCESS = ("process_cpu_seconds", "process_resident_memory_bytes", "process_start_time_seconds")


class Exposition:
    """One scrape, parsed: family name -> (type, help, samples)."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}

    def type(self, name: str) -> str:
        return self.families[name].type

    def value(self, sample: str, **labels: str) -> float | None:
        for family in self.families.values():
            for s in family.samples:
                if s.name == sample and s.labels == labels:
                    return s.value
        return None

    def samples(self, prefix: str) -> list[Sample]:
        return [s for f in self.families.values() for s in f.samples if s.name.startswith(prefix)]

    def ours(self, prefix: str) -> dict[str, str]:
        return {n: f.type for n, f in self.families.items() if n.startswith(prefix)}


def scrape(url: str) -> Exposition:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"] == CONTENT_TYPE
        return Exposition(response.read().decode())


def assert_described(exposition: Exposition, prefix: str) -> None:
    for name, family in exposition.families.items():
        if name.startswith(prefix):
            assert family.documentation.strip(), f"{name} has no HELP"


def test_the_registry_holds_counters_histograms_scrape_readings_and_the_process():
    m = Metrics("wristgate_test")
    m.counter("scans", "scans by code", "code")
    m.histogram("decision_seconds", "decision time")
    backlog = [3]
    m.at_scrape(lambda r: r.gauge("backlog", "entries waiting", backlog[0]))
    m.count("scans", code="OK_ENTRY")
    m.count("scans", code='say "hi"')
    for seconds in (0.00001, 0.0002, 5.0):
        m.observe("decision_seconds", seconds)
    first = Exposition(m.render().decode())
    assert first.type("wristgate_test_scans") == "counter"
    assert first.type("wristgate_test_decision_seconds") == "histogram"
    assert first.type("wristgate_test_backlog") == "gauge"
    assert first.value("wristgate_test_scans_total", code='say "hi"') == 1
    assert first.value("wristgate_test_decision_seconds_bucket", le="1e-05") == 1
    assert first.value("wristgate_test_decision_seconds_count") == 3
    buckets = [s.value for s in first.samples("wristgate_test_decision_seconds_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] == 3  # cumulative, +Inf last
    for name in PROCESS:
        assert name in first.families, f"no {name}"
    assert "python_info" in first.families
    assert_described(first, "wristgate_test")

    m.count("scans", code="OK_ENTRY")
    backlog[0] = 0
    second = Exposition(m.render().decode())
    assert second.value("wristgate_test_scans_total", code="OK_ENTRY") == 2
    assert second.value("wristgate_test_backlog") == 0


def test_the_metrics_server_answers_metrics_only():
    server = serve_metrics(Metrics("wristgate_test"), "127.0.0.1", 0)
    port = server.server_address[1]
    try:
        assert "process_cpu_seconds" in scrape(f"http://127.0.0.1:{port}/metrics").families
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert refused.value.code == 404
    finally:
        server.shutdown()


@pytest.fixture
def desk(tmp_path: Path):
    rig = GateRig(
        tmp_path, "D1", "desk", pins={"green": 22}, scanner=False, extra="metrics_port = 0\n"
    )
    rig.start()
    yield rig
    rig.close()


def test_a_gate_exposes_decisions_latency_backlog_and_reader_state(desk):
    server = wait_for(lambda: desk.gate.metrics_server, what="the metrics server")
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/metrics"
    before = scrape(url)
    assert before.value("wristgate_gate_journal_backlog") == 0
    desk.ask("scan", kind="barcode", value="T1")
    desk.ask("scan", kind="nfc", value=ADULT)
    desk.ask("scan", kind="barcode", value="NOPE")
    after = scrape(url)
    types = after.ours("wristgate_gate_")
    assert types["wristgate_gate_events"] == "counter"
    assert types["wristgate_gate_decision_seconds"] == "histogram"
    for gauge in ("journal_backlog", "broker_connected", "reader_state", "inside"):
        assert types[f"wristgate_gate_{gauge}"] == "gauge"
    assert after.value("wristgate_gate_events_total", kind="OK_BIND") == 2
    assert after.value("wristgate_gate_events_total", kind="DENY_UNKNOWN") == 1
    assert after.value("wristgate_gate_decision_seconds_count") == 3
    assert after.value("wristgate_gate_journal_backlog") == 3  # no hub: nothing acknowledged
    assert after.value("wristgate_gate_broker_connected") == 0
    states = after.samples("wristgate_gate_reader_state")
    assert sum(s.value for s in states) == 1
    for name in PROCESS:
        assert name in after.families, f"the gate exposes no {name}"
    assert_described(after, "wristgate_gate")


def test_the_hub_exposes_typed_described_metrics_that_move(tmp_path, fresh_broker):
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        venue.start_gate("D1")
        url = f"http://127.0.0.1:{venue.http_port}/metrics"
        wait_for(lambda: scrape(url).value("wristgate_hub_broker_connected") == 1, 10, "link")
        before = scrape(url).value("wristgate_hub_ingest_total", what="new") or 0
        assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
        venue.wait_settled()
        after = scrape(url)
        assert after.type("wristgate_hub_ingest") == "counter"
        assert after.type("wristgate_hub_gate_backlog") == "gauge"
        assert after.type("wristgate_hub_inside") == "gauge"
        assert after.type("wristgate_hub_venue_rebuilds") == "counter"
        assert (after.value("wristgate_hub_ingest_total", what="new") or 0) > before
        assert after.value("wristgate_hub_gate_online", gate="D1") == 1
        assert after.value("wristgate_hub_gate_backlog", gate="D1") == 0
        assert after.value("wristgate_hub_inside") == 0
        for name in PROCESS:
            assert name in after.families, f"the hub exposes no {name}"
        assert_described(after, "wristgate_hub")
    finally:
        venue.close()
