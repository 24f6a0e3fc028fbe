"""`gate run` with its wall clock moved by the harness: the clock jumps of a Raspberry Pi.

    python -m venue.shifted_gate GATE_TOML OFFSET_FILE

The gate's wall clock (its decisions and its journal's hybrid timestamps) is the system's plus
the offset in OFFSET_FILE, in seconds (`-10800` is a Pi that booted three hours in the past,
`0` is NTP putting it right). The file is read again whenever it changes. Everything else is
`gate run` itself: the same configuration, daemon, journal, link and control socket.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gate.daemon.gate import Gate, StartupError, install_signal_handlers
from gate.settings import load_gate_config


class ShiftedClock:
    def __init__(self, offset_file: Path) -> None:
        self.offset_file = offset_file
        self._seen: int | None = None  # the file's mtime when last read
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        try:
            mtime = os.stat(self.offset_file).st_mtime_ns
        except OSError:
            mtime = None
        if mtime != self._seen:
            self._seen = mtime
            try:
                self._offset = timedelta(seconds=float(self.offset_file.read_text()))
            except (OSError, ValueError):
                self._offset = timedelta(0)
        return datetime.now(UTC) + self._offset


def main(argv: list[str]) -> int:
    config_path, offset_file = (Path(a) for a in argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        gate = Gate(load_gate_config(config_path), clock=ShiftedClock(offset_file))
    except StartupError as exc:  # as `gate run` says it
        print(f"gate run: cannot start: {exc}", file=sys.stderr)
        return 2
    install_signal_handlers(gate)
    return gate.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
