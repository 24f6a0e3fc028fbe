"""Log lines on standard error, with syslog priorities when journald reads them.

Under systemd, standard error goes to journald, and systemd says so in `JOURNAL_STREAM`
(`DEVICE:INODE` of that stream). A line starting `<3>` is then stored with priority 3 (error),
`<4>` warning, `<6>` info, `<7>` debug, so `journalctl -u wristgate-gate -p warning` finds the
warnings and errors. On a terminal, or a pipe of a test, the lines are plain.

    configure_logging("INFO")          # gate run, hub run
    say("gate run: ...", logging.ERROR)  # a line before (or without) a logger
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

# sd-daemon(3): the kernel's syslog priorities
PRIORITIES = ((logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
FORMAT = "%(levelname)s %(name)s: %(message)s"  # journald adds the time


def priority(level: int) -> int:
    """The syslog priority of a logging level: 2 critical, 3 error, 4 warning, 6 info, 7 debug."""
    if level >= logging.CRITICAL:
        return 2
    return next((p for at_least, p in PRIORITIES if level >= at_least), 7)


def to_journal(stream: TextIO | None = None) -> bool:
    """Whether `stream` (standard error by default) is the one systemd connected to journald."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in expected.split(":"))
        st = os.fstat((stream or sys.stderr).fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def prefixed(text: str, level: int) -> str:
    """`text` with each line's priority prefix (journald takes each line as an entry)."""
    mark = f"<{priority(level)}>"
    return "\n".join(mark + line for line in text.split("\n"))


class JournalFormatter(logging.Formatter):
    """A formatter whose lines carry their record's syslog priority prefix."""

    def format(self, record: logging.LogRecord) -> str:
        return prefixed(super().format(record), record.levelno)


def configure_logging(level: str | int) -> None:
    """The root logger to standard error: prefixed under journald, plain elsewhere."""
    handler = logging.StreamHandler()
    journal = to_journal(handler.stream)
    handler.setFormatter(JournalFormatter(FORMAT) if journal else logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if isinstance(level, int) else getattr(logging, level))


def say(text: str, level: int = logging.ERROR) -> None:
    """One message on standard error, prefixed under journald: for what a command prints before
    its loggers run (a configuration it cannot use)."""
    print(prefixed(text, level) if to_journal() else text, file=sys.stderr, flush=True)
