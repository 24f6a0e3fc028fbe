"""`python -m bench [DIRECTORY] [--quick] [--cpus N] [--only NAME ...]`: every benchmark, one
JSON line per figure, each against its baseline measured in the same run.

`--quick`: a smoke run of each at a small size (CI), whose figures mean nothing; `--cpus 1`: all
of it pinned to one core (for the Pi-class estimate); `--only tap_to_relay`: that one."""

from __future__ import annotations

from collections.abc import Callable

from bench import (
    allowlist,
    catch_up,
    decision,
    hq_bridge,
    hub_ingest,
    journal,
    passage_write,
    presence,
    reconcile,
    scan_to_relay,
    ski_day,
    tap_to_relay,
)
from bench.common import Options, options

BENCHES: dict[str, Callable[[Options], None]] = {
    "decision": lambda o: decision.main(20_000, 5_000) if o.quick else decision.main(),
    "allowlist": lambda o: allowlist.main(),
    "journal": lambda o: (
        journal.main(o.directory, 2, 200) if o.quick else journal.main(o.directory)
    ),
    "scan_to_relay": lambda o: scan_to_relay.main(
        o.directory, 200 if o.quick else scan_to_relay.SCANS
    ),
    "tap_to_relay": tap_to_relay.main,
    "passage_write": lambda o: passage_write.main(20 if o.quick else passage_write.TAPS),
    "presence": presence.main,
    "reconcile": lambda o: reconcile.main(o.directory, 150 if o.quick else reconcile.FAMILIES),
    "hub_ingest": lambda o: hub_ingest.main(o.directory, 150 if o.quick else hub_ingest.FAMILIES),
    "catch_up": catch_up.main,
    "ski_day": ski_day.main,
    "hq_bridge": lambda o: hq_bridge.main(
        ["--workdir", str(o.directory / "hq"), *(["--quick"] if o.quick else [])]
    ),
}

opts = options(what=__doc__)
unknown = set(opts.only) - set(BENCHES)
if unknown:
    raise SystemExit(f"no benchmark {', '.join(sorted(unknown))}; known: {', '.join(BENCHES)}")
for name, bench in BENCHES.items():
    if not opts.only or name in opts.only:
        bench(opts)
