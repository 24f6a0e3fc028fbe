"""`python -m venue --keep-open`: after the day, the venue stays up to be explored; what to try
against its processes, and how to stop it."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from venue.processes import Venue


def command(name: str) -> str:
    """`name` as it is typed here: bare when it is on the PATH, else beside this Python."""
    if shutil.which(name):
        return name
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def try_these(venue: Venue) -> list[str]:
    """The commands to try against the running venue, one a line."""
    hub, gatectl = command("hub"), command("gatectl")
    config = venue.root / "hub" / "hub.toml"
    gates = list(venue.gates.values())
    rule = "=" * 72
    lines = [
        rule,
        "  The venue stays open (--keep-open): the broker, the hub and "
        f"{len(gates)} gates keep running.",
        "  The simulated day is over; the gates, the hub and the display keep real time.",
        "  Try, from another terminal:",
        f"    live display:   {venue.display_url}",
        f"    the hub:        {hub} -c {config} status",
        f"                    {hub} -c {config} sweep",
        f"    a gate:         {gatectl} -s {gates[0].daemon.socket} status",
    ]
    lines += [f"                    {gatectl} -s {g.daemon.socket} status" for g in gates[1:]]
    lines += [
        f"    logs:           {venue.root}/hub/hub.log, {venue.root}/D1/gate.log, ...",
        "  Ctrl-C (or SIGTERM) stops the gates, the hub and the broker.",
        rule,
    ]
    return lines


def stay_open(venue: Venue, say: Callable[[str], None]) -> None:
    """Print what to try, then wait until interrupted (KeyboardInterrupt: Ctrl-C, or SIGTERM as
    the demo's handler turns it) or until a process of the venue dies."""
    for line in try_these(venue):
        say(line)
    daemons = venue.daemons()
    idle = threading.Event()
    while not idle.wait(1.0):
        for name, daemon in daemons.items():
            if not daemon.running:
                say(f"{name} exited with status {daemon.proc and daemon.proc.returncode}; "
                    f"the end of {daemon.log}:\n{daemon.tail()}")  # fmt: skip
                return
