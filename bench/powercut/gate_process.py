"""`gate run` as the power-cut campaign runs it: compaction every few seconds, not hourly.

    python -m bench.powercut.gate_process GATE_TOML

Everything is `gate run` itself (configuration, daemon, journal, link, control socket) but the
housekeeping: the journal is compacted every `COMPACT_EVERY_S` of acknowledged entries older
than `RETAIN` (not the configured days), so a cut can land in a compaction. Before it compacts,
the gate looks up `COMPACTION_MARK` in its state directory, which the filesystem sees: the
campaign arms its cut on the writes that follow that look-up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path

from gate.daemon import housekeeping
from gate.daemon.gate import Gate, StartupError, install_signal_handlers
from gate.settings import load_gate_config

COMPACT_EVERY_S = 4.0
RETAIN = timedelta(seconds=20)
COMPACTION_MARK = ".compaction"


def compact(self: housekeeping.Housekeeping) -> None:
    with contextlib.suppress(OSError):
        os.stat(self.settings.state_dir / COMPACTION_MARK)
    if dropped := self.ledger.journal.compact(RETAIN, self.clock()):
        housekeeping.log.info("journal: %d acknowledged entries compacted", dropped)


def main(argv: list[str]) -> int:
    (config_path,) = argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    housekeeping.COMPACT_EVERY_S = COMPACT_EVERY_S
    housekeeping.Housekeeping.compact = compact  # type: ignore[method-assign]
    try:
        gate = Gate(load_gate_config(Path(config_path)))
    except StartupError as exc:  # as `gate run` says it
        print(f"gate run: cannot start: {exc}", file=sys.stderr)
        return 2
    install_signal_handlers(gate)
    return gate.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
