"""Prometheus metrics through prometheus-client, the same for a gate and the hub.

Each process keeps a registry of its own (never the library's global one), holding the
process's own metrics (`process_*`: CPU seconds, resident memory, open files, start time;
`python_info`; `python_gc_*`) and its wristgate metrics under one prefix:

    metrics = Metrics("wristgate_gate")
    metrics.counter("events", "decisions by reason code, and faults by kind", "kind")
    metrics.histogram("decision_seconds", "time of the rules core's decision")
    metrics.count("events", kind="OK_ENTRY")          # exposed as wristgate_gate_events_total
    metrics.observe("decision_seconds", 0.000012)
    metrics.at_scrape(lambda r: r.gauge("journal_backlog", "entries not acknowledged", 3))
    serve_metrics(metrics, "127.0.0.1", 9101)          # GET /metrics, nothing else

Counters the loop moves are prometheus-client's own; what is kept elsewhere (a backlog, the
hub's ingest counters) is read at each scrape through `at_scrape`, as gauges or counters with
their HELP. The scrape runs on the HTTP server's thread and only reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.registry import Collector

# The text format every Prometheus reads (2.x and 3.x alike).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Decision and scan latencies: 10 µs to 1 s.
BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 1.0)


class Reading:
    """What one scrape reads: each series with its family's HELP, labels named per call."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}

    def gauge(self, name: str, help: str, value: float, **labels: str) -> None:
        self._family(GaugeMetricFamily, name, help, labels).add_metric(
            [labels[k] for k in sorted(labels)], float(value)
        )

    def counter(self, name: str, help: str, value: float, **labels: str) -> None:
        """A count kept elsewhere since start; `name` without `_total` (the format adds it)."""
        self._family(CounterMetricFamily, name, help, labels).add_metric(
            [labels[k] for k in sorted(labels)], float(value)
        )

    def _family(
        self,
        kind: type[GaugeMetricFamily] | type[CounterMetricFamily],
        name: str,
        help: str,
        labels: dict[str, str],
    ) -> GaugeMetricFamily | CounterMetricFamily:
        family = self.families.get(name)
        if family is None:
            family = kind(f"{self.prefix}_{name}", help, labels=sorted(labels))
            self.families[name] = family
        return family


class _AtScrape(Collector):
    def __init__(self, prefix: str, read: Callable[[Reading], None]) -> None:
        self.prefix, self.read = prefix, read

    def collect(self) -> Iterable[Metric]:
        reading = Reading(self.prefix)
        self.read(reading)
        return list(reading.families.values())


class Metrics:
    """One process's registry: its own metrics, the process's, and what is read at scrape."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def counter(self, name: str, help: str, *labels: str) -> None:
        """Declare a counter the process moves itself (`name` without `_total`)."""
        self._counters[name] = Counter(
            f"{self.prefix}_{name}", help, labelnames=labels, registry=self.registry
        )

    def histogram(self, name: str, help: str, buckets: tuple[float, ...] = BUCKETS) -> None:
        self._histograms[name] = Histogram(
            f"{self.prefix}_{name}", help, buckets=buckets, registry=self.registry
        )

    def count(self, name: str, by: float = 1, **labels: str) -> None:
        counter = self._counters[name]
        (counter.labels(**labels) if labels else counter).inc(by)

    def observe(self, name: str, seconds: float) -> None:
        self._histograms[name].observe(seconds)

    def at_scrape(self, read: Callable[[Reading], None]) -> None:
        """`read(reading)` runs at each scrape and adds what is kept elsewhere."""
        self.registry.register(_AtScrape(self.prefix, read))

    def render(self) -> bytes:
        """The exposition, in the text format of `CONTENT_TYPE`."""
        return generate_latest(self.registry)


def serve_metrics(metrics: Metrics, bind: str, port: int) -> ThreadingHTTPServer:
    """Serve `GET /metrics` on a daemon thread; returns the server (its port when 0 was asked).
    Any other path is 404: the library's own server would answer every path."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = metrics.render()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes are not worth a log line each."""

    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
