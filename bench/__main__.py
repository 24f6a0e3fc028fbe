"""`python -m bench`: every benchmark, one JSON line per figure, each against its baseline."""

from __future__ import annotations

from bench import allowlist, decision, hq_bridge, hub_ingest, journal, reconcile, scan_to_relay

for bench in (decision, allowlist, journal, scan_to_relay, reconcile, hub_ingest):
    bench.main()
hq_bridge.main([])
