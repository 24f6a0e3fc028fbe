"""A `LazyFS` mounted for a test or the campaign: its process, its switch, its unmounting."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MOUNT_TIMEOUT_S = 30.0


class MountError(Exception):
    """The filesystem did not come up, or its switch does not answer; says what and where."""


class Mount:
    """`LazyFS` of `root/backing` at `root/mnt`, its switch at `root/switch.sock`, its output
    in `root/lazyfs.log`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.backing = root / "backing"
        self.point = root / "mnt"
        self.control = root / "switch.sock"
        self.log = root / "lazyfs.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Mount:
        self.backing.mkdir(parents=True, exist_ok=True)
        self.point.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "bench.powercut.serve", str(self.backing), str(self.point)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*argv, "--control", str(self.control)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not (os.path.ismount(self.point) and self._answers()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise MountError(
                    f"LazyFS did not mount at {self.point}; {self.log}:\n{self.tail()}"
                )
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.ask({"cmd": "cuts"}).get("ok"))
        except OSError:
            return False

    def ask(self, request: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.control))
            sock.sendall(json.dumps(request).encode() + b"\n")
            with sock.makefile("rb") as replies:
                line = replies.readline()
        if not line:
            raise MountError(f"the switch closed without an answer; {self.log}:\n{self.tail()}")
        return dict(json.loads(line))

    def cut(self, machine: str, pids: list[int], tear: bool = False, seed: int = 0) -> int:
        """The power goes on `machine` now; the cut's id, once it is over."""
        request = {"cmd": "cut", "machine": machine, "pids": pids, "tear": tear, "seed": seed}
        cut_id = int(self.ask(request)["id"])
        self.wait_cut(cut_id)
        return cut_id

    def arm(self, machine: str, op: str, match: str, pids: list[int], **more: Any) -> None:
        request = {"cmd": "arm", "machine": machine, "op": op, "match": match, "pids": pids}
        self.ask(request | more)

    def disarm(self) -> bool:
        """True if the armed cut had fired already."""
        return bool(self.ask({"cmd": "disarm"})["fired"])

    def cuts(self) -> list[dict[str, Any]]:
        return list(self.ask({"cmd": "cuts"})["cuts"])

    def wait_cut(self, cut_id: int, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for cut in self.cuts():
                if cut["id"] == cut_id and cut["done"]:
                    return cut
            time.sleep(0.02)
        raise MountError(f"cut {cut_id} not over after {timeout:.0f} s; {self.log}:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Unmount (lazily, so a straggler cannot hold it) and end the filesystem's process."""
        subprocess.run(["fusermount3", "-u", "-z", str(self.point)], capture_output=True)
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> Mount:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
