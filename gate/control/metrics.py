"""Prometheus metrics in the text exposition format, with no dependency.

    metrics = Metrics("wristgate_gate")
    metrics.count("scans_total", code="OK_ENTRY")
    metrics.observe("decision_seconds", 0.000012)
    metrics.set("journal_backlog", 3)
    serve_metrics(metrics, "0.0.0.0", 9101)      # GET /metrics

Writers (one loop) and the HTTP thread share one lock; a scrape copies, never blocks a scan long.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Decision and scan latencies: 10 µs to 1 s.
BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 1.0)

Labels = tuple[tuple[str, str], ...]


class Metrics:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = {}
        self._gauges: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, tuple[list[int], float, int]] = {}
        self._help: dict[str, str] = {}
        self.collect: Callable[[Metrics], None] | None = None  # refreshes gauges at scrape

    def describe(self, name: str, text: str) -> None:
        self._help[name] = text

    def count(self, name: str, by: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters.setdefault(name, {})
            series[key] = series.get(key, 0) + by

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._gauges.setdefault(name, {})[tuple(sorted(labels.items()))] = value

    def observe(self, name: str, seconds: float) -> None:
        with self._lock:
            buckets, total, n = self._histograms.get(name, ([0] * len(BUCKETS), 0.0, 0))
            index = bisect.bisect_left(BUCKETS, seconds)
            if index < len(BUCKETS):
                buckets[index] += 1
            self._histograms[name] = (buckets, total + seconds, n + 1)

    def render(self) -> str:
        if self.collect is not None:
            self.collect(self)
        with self._lock:
            lines: list[str] = []
            for kind, table in (("counter", self._counters), ("gauge", self._gauges)):
                for name, series in sorted(table.items()):
                    lines += self._head(name, kind)
                    lines += [
                        f"{self._name(name)}{_labels(k)} {_num(v)}" for k, v in series.items()
                    ]
            for name, (buckets, total, n) in sorted(self._histograms.items()):
                lines += self._head(name, "histogram")
                full, running = self._name(name), 0
                for bound, hits in zip(BUCKETS, buckets, strict=True):
                    running += hits
                    lines.append(f'{full}_bucket{{le="{bound:g}"}} {running}')
                lines.append(f'{full}_bucket{{le="+Inf"}} {n}')
                lines += [f"{full}_sum {_num(total)}", f"{full}_count {n}"]
        return "\n".join(lines) + "\n"

    def _name(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def _head(self, name: str, kind: str) -> list[str]:
        head = [f"# TYPE {self._name(name)} {kind}"]
        if name in self._help:
            head.insert(0, f"# HELP {self._name(name)} {self._help[name]}")
        return head


def _labels(key: Labels) -> str:
    if not key:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in key)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def serve_metrics(metrics: Metrics, bind: str, port: int) -> ThreadingHTTPServer:
    """Serve `GET /metrics` on a daemon thread; returns the server (its port when 0 was asked)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = metrics.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes are not worth a log line each."""

    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
