"""What the venue's faults need besides its processes, which `venue.processes` fits on.

- `Fittings`: what a harness fits the venue with (bench.chaos does): each gate reaches the
  broker through a relay of the harness's own (`relay`), which it cuts (a partition); one gate
  runs on a wall clock the harness moves (`shifted_clock`, `venue.shifted_gate`); one keeps its
  state (journal, allowlist, presence) on a small tmpfs the harness fills (`small_disk`,
  a `SmallDisk`), where the machine lets it mount one (root);
- `Supervisor`: `kill` SIGKILLs a daemon; the supervisor starts again whatever died, as systemd's
  `Restart=always` would, and tells a death the harness caused from one it did not.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from venue.daemon import Daemon

DISK_MB = 64
RESTART_DELAY_S = 0.3


class SmallDisk:
    """A tmpfs of `size_mb` mounted at `path`; `fill` writes a ballast file until the disk is
    full, `free` deletes it."""

    def __init__(self, path: Path, size_mb: int = DISK_MB) -> None:
        self.path = path
        self.size_mb = size_mb
        self.ballast = path / "ballast"
        self.mounted = False

    def mount(self) -> str | None:
        """Mount it; None when mounted, else why it cannot be (the disk-full fault is skipped)."""
        self.path.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=0700", "tmpfs", self.path],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            return f"cannot mount a tmpfs ({result.stderr.strip() or 'mount failed'})"
        self.mounted = True
        return None

    def fill(self) -> None:
        chunk = b"\0" * (1 << 20)
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (len(chunk), 4096, 1):
                try:
                    while True:  # until the disk refuses even `size` bytes more
                        os.write(fd, chunk[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        finally:
            os.close(fd)

    def free(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.ballast.unlink()

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], capture_output=True)
            self.mounted = False


def unmount_under(root: Path) -> None:
    """Unmount what an earlier run left mounted under `root` (it was killed before its end)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            point = line.split()[1]
            if point.startswith(f"{root.resolve()}/"):
                subprocess.run(["umount", "-l", point], capture_output=True)


@dataclass
class Fittings:
    """What a harness fits the venue with for its faults; by default nothing."""

    relay: Callable[[str, int], int] | None = None  # (gate, broker's port) -> the port it dials
    shifted_clock: str | None = None  # the gate on a wall clock the harness moves
    small_disk: str | None = None  # the gate whose state is on a small disk the harness fills
    disk: SmallDisk | None = field(default=None, init=False)
    disk_refused: str | None = field(default=None, init=False)  # why there is no small disk
    clock_offset_file: Path | None = field(default=None, init=False)

    def prepare(self, root: Path) -> None:
        if self.small_disk is not None:
            unmount_under(root)

    def state_dir(self, gate: str, state: Path) -> Path:
        if gate == self.small_disk:
            disk = SmallDisk(state)
            self.disk_refused = disk.mount()
            self.disk = None if self.disk_refused else disk
        return state

    def link_port(self, gate: str, broker_port: int) -> int:
        return broker_port if self.relay is None else self.relay(gate, broker_port)

    def gate_argv(self, gate: str, config: Path) -> list[str]:
        if gate != self.shifted_clock:
            return [sys.executable, "-m", "gate", "run", "-c", str(config)]
        self.clock_offset_file = config.parent / "clock-offset"
        self.clock_offset_file.write_text("0\n")
        offsets = str(self.clock_offset_file)
        return [sys.executable, "-m", "venue.shifted_gate", str(config), offsets]

    def shift_clock(self, seconds: float) -> None:
        """Set the `shifted_clock` gate's wall clock `seconds` off the system's."""
        assert self.clock_offset_file is not None
        tmp = self.clock_offset_file.with_suffix(".tmp")
        tmp.write_text(f"{seconds}\n")
        tmp.replace(self.clock_offset_file)

    def stop(self) -> None:
        if self.disk is not None:
            self.disk.unmount()


@dataclass
class Death:
    name: str
    status: int | None
    tail: str
    pid: int | None = None

    def __str__(self) -> str:
        how = describe_status(self.status)
        return f"{self.name} (pid {self.pid}) {how}, unplanned; the end of its log:\n{self.tail}"


def describe_status(status: int | None) -> str:
    """A child's exit status as Popen gives it: a code, or the signal that ended it."""
    if status is None:
        return "still running"
    if status < 0:
        try:
            return f"ended by {signal.Signals(-status).name}"
        except ValueError:
            return f"ended by signal {-status}"
    return f"exited with status {status}"


class Supervisor:
    """Starts again any daemon that is not running, after `RESTART_DELAY_S`. A daemon the
    harness killed (`kill`) is expected to die; any other exit is recorded as a `Death`.

    A kill is planned only if it is exactly the one the harness made: `kill` notes the
    process's pid before it sends SIGKILL, and only to a process that was still running;
    the death is planned when the reaped process is that pid and SIGKILL ended it. A daemon
    that died by itself an instant before a planned kill (already a zombie, or exited with a
    status of its own) is an unplanned death, whatever the timing. `kills` counts the planned
    deaths seen."""

    def __init__(self, daemons: Callable[[], dict[str, Daemon]]) -> None:
        self.daemons = daemons  # the venue's, by name (`Venue.daemons`)
        self.deaths: list[Death] = []
        self.kills = 0
        self._killed: dict[str, int] = {}  # name: the pid the harness sent SIGKILL
        self._held: set[str] = set()  # not to be started again for now
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def kill(self, name: str, hold_s: float = 0.0) -> bool:
        """SIGKILL the daemon `name`; it is started again `hold_s` later (at the soonest).
        False if it was not running (dead, or not yet started again): no kill was made."""
        daemon = self.daemons()[name]
        with self._lock:
            proc = daemon.proc
            if proc is None or proc.poll() is not None:
                return False
            self._killed[name] = proc.pid  # noted before the signal is sent
            if hold_s:
                self._held.add(name)
                threading.Timer(hold_s, self._release, args=(name,)).start()
            daemon.kill()  # under the lock: the watcher judges the death after the kill
        return True

    def _release(self, name: str) -> None:
        with self._lock:
            self._held.discard(name)

    def _watch(self) -> None:
        while not self._stopping.wait(0.05):
            for name, daemon in self.daemons().items():
                if daemon.proc is None or daemon.proc.poll() is None:
                    continue
                with self._lock:
                    if name in self._held:
                        continue
                    proc = daemon.proc
                    killed = self._killed.pop(name, None)
                    planned = killed == proc.pid and proc.returncode == -signal.SIGKILL
                if planned:
                    self.kills += 1
                else:
                    self.deaths.append(Death(name, proc.returncode, daemon.tail(30), proc.pid))
                    time.sleep(RESTART_DELAY_S)
                daemon.spawn()

    def wait_up(self, timeout: float = 30.0) -> bool:
        """True once every daemon answers on its control socket."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if all(d.answers() for d in self.daemons().values()):
                    return True
            time.sleep(0.1)
        return False
