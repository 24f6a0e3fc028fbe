"""The simulated venue on a power-cut filesystem: every gate's state directory and the hub's are
each one machine's disk on a `LazyFS` mount (`mnt/E1`, `mnt/hub`), and the gates run with
compaction every few seconds (`bench.powercut.gate_process`)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.powercut.mount import Mount
from gate.control.client import Unreachable
from venue.daemon import Daemon, DemoError
from venue.faults import Fittings
from venue.processes import Venue

START_TIMEOUT_S = 90.0  # a restart on a loaded machine, through a filesystem in Python


@dataclass
class PowerFittings(Fittings):
    mount: Mount | None = None

    def state_dir(self, gate: str, state: Path) -> Path:
        assert self.mount is not None
        disk = self.mount.point / gate
        disk.mkdir(mode=0o700, exist_ok=True)
        return disk

    def gate_argv(self, gate: str, config: Path) -> list[str]:
        return [sys.executable, "-m", "bench.powercut.gate_process", str(config)]


@dataclass
class PowerVenue(Venue):
    mount: Mount | None = None

    def _hub_daemon(self) -> Daemon:
        daemon = super()._hub_daemon()
        assert self.mount is not None
        disk = self.mount.point / "hub"
        disk.mkdir(mode=0o700, exist_ok=True)
        (self.root / "hub" / "state").symlink_to(disk)  # hub.toml names hub/state
        return daemon


@dataclass
class Keeper:
    """Every daemon running: one the power cut is started again at once; one that died by
    itself is started again too, and recorded. A restart that does not answer within
    START_TIMEOUT_S is an unrecoverable start."""

    daemons: dict[str, Daemon]
    starting: dict[str, float] = field(default_factory=dict)  # name -> when it was started
    deaths: list[str] = field(default_factory=list)
    unrecoverable: list[str] = field(default_factory=list)
    restarts: int = 0

    def restart(self, name: str) -> None:
        daemon = self.daemons[name]
        if daemon.proc is not None:
            daemon.proc.wait(timeout=30)
        daemon.spawn()
        self.restarts += 1
        self.starting[name] = time.monotonic()

    def up(self, name: str) -> bool:
        """True when `name` answers; keeps the books on restarts and deaths meanwhile."""
        self.tend()
        return name not in self.starting and self.daemons[name].running

    def tend(self) -> None:
        for name, daemon in self.daemons.items():
            if daemon.proc is not None and daemon.proc.poll() is not None:
                self.deaths.append(
                    f"{name} exited with {daemon.proc.returncode}:\n{daemon.tail(8)}"
                )
                self.restart(name)
        for name, since in list(self.starting.items()):
            try:
                answered = self.daemons[name].answers()
            except (DemoError, Unreachable):
                answered = False
            if answered:
                del self.starting[name]
            elif time.monotonic() - since > START_TIMEOUT_S:
                self.unrecoverable.append(
                    f"{name}: no answer {START_TIMEOUT_S:.0f} s after a cut:"
                    f"\n{self.daemons[name].tail(8)}"
                )
                del self.starting[name]

    def wait_all_up(self, timeout: float = START_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.tend()
            if not self.starting:
                return True
            time.sleep(0.2)
        return False
