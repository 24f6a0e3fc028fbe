"""A daemon of the simulated venue: a child process (`gate run` or `hub run`) with a control
socket and its output in a log, run as this process's user or as the service's `Account`."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.control.client import Unreachable, ask

STOP_TIMEOUT_S = 10.0


class DemoError(Exception):
    """The venue cannot be set up or does not answer: the message says what and where to look."""


@dataclass(frozen=True)
class Account:
    """A user a process runs as: uid, primary gid and supplementary groups."""

    uid: int
    gid: int
    groups: tuple[int, ...] = ()

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run as this account, through util-linux's setpriv (Popen's own `user=`
        leaves a saved uid that some kernels' sandboxes refuse exec for)."""
        groups = ["--groups", ",".join(map(str, self.groups))] if self.groups else []
        ids = ["--reuid", str(self.uid), "--regid", str(self.gid)]
        return ["setpriv", *ids, *(groups or ["--clear-groups"]), *argv]


def hand_over(root: Path, account: Account) -> None:
    """Everything under `root` (and `root`) owned by `account`, modes kept."""
    for path in [root, *root.rglob("*")]:
        os.lchown(path, account.uid, account.gid)


@dataclass
class Daemon:
    """A child process with a control socket (`gate run` or `hub run`), its output in a log;
    with `account`, run as that user (as systemd runs the daemons as `wristgate`)."""

    name: str
    argv: list[str]
    log: Path
    socket: Path
    proc: subprocess.Popen[bytes] | None = None
    account: Account | None = None

    def spawn(self) -> None:
        env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
        argv = self.argv if self.account is None else self.account.command(self.argv)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env
            )

    def answers(self) -> bool:
        """True once the control socket answers; DemoError if the process has died."""
        if self.proc is not None and self.proc.poll() is not None:
            raise DemoError(
                f"{self.name} exited with status {self.proc.returncode}; "
                f"the end of {self.log}:\n{self.tail()}"
            )
        try:
            return bool(self.ask("status", timeout=2).get("ok"))
        except Unreachable:
            return False

    def ask(self, cmd: str, timeout: float = 5.0, **args: Any) -> dict[str, Any]:
        return ask(str(self.socket), {"cmd": cmd, **args}, timeout=timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would, and reap it."""
        if self.running:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def wait_stopped(self, timeout: float = STOP_TIMEOUT_S) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
