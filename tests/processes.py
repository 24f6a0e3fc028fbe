"""Waiting on real processes, and leaving none behind.

- `wait_for(condition, timeout, what, log=..., process=...)`: poll until `condition()` is true;
  fail at once when `process` has exited, or at the deadline, with the end of its log. Deadlines
  are generous (a loaded two-core machine is slow, never wrong): a passing test never waits them.
- `spawn(argv, ...)`: a `subprocess.Popen` that leads a process group of its own (a new session),
  so that the whole tree it starts (a demo's broker, hub and gates) can be killed at once.
- `run(argv, timeout=...)`: `subprocess.run` on a spawned group, the group killed on any exit:
  success, failure, timeout or KeyboardInterrupt.
- `adopt(proc)`: a child started elsewhere (a broker, a daemon), killed at the end of the test.

Whatever a test spawned or adopted and did not stop is killed when the test ends (the autouse
fixture `leave_no_process` in conftest.py) and, for the session's own, when pytest exits (atexit).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

POLL_S = 0.02
LOG_CHARS = 3000
GRACE_S = 5.0
# After SIGTERM, how long teardown may take before pytest is made to exit (what a test left
# running, a thread that never ends, must not keep a stopped run alive).
TEARDOWN_GRACE_S = float(os.environ.get("WRISTGATE_TEARDOWN_GRACE_S", "60"))


def tail(path: Path | str, chars: int = LOG_CHARS) -> str:
    """The end of a log file (an empty string when there is none)."""
    try:
        return Path(path).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_for(
    condition: Callable[[], Any],
    timeout: float = 30.0,
    what: str = "",
    log: Callable[[], str] | Path | str | None = None,
    process: subprocess.Popen[Any] | None = None,
) -> Any:
    """Poll `condition` until it returns something true (returned); fail when `process` has
    exited or `timeout` seconds passed, with `log` (a callable or a file) in the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            _fail(f"waiting for {what or condition}: the process exited {process.returncode}", log)
        if time.monotonic() > deadline:
            _fail(f"timed out after {timeout:g} s waiting for {what or condition}", log)
        time.sleep(POLL_S)


def _fail(message: str, log: Callable[[], str] | Path | str | None) -> None:
    if log is not None:
        text = log() if callable(log) else tail(log)
        message += f"\n--- its log:\n{text[-LOG_CHARS:]}"
    raise AssertionError(message)


# --- process groups -------------------------------------------------------------------------------

_spawned: list[subprocess.Popen[Any]] = []  # group leaders: the whole group is killed
_adopted: list[subprocess.Popen[Any]] = []  # single processes in pytest's own group
_for_the_session: list[subprocess.Popen[Any]] = []  # a session fixture's: killed at exit only


def spawn(argv: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """Popen in a new session: the process leads a group that `kill_group` ends whole."""
    proc: subprocess.Popen[Any] = subprocess.Popen(argv, start_new_session=True, **popen)
    _spawned.append(proc)
    return proc


def adopt(proc: subprocess.Popen[Any] | None, session: bool = False) -> None:
    """A process started elsewhere: killed at the end of the test unless it has stopped (with
    `session`: when pytest exits)."""
    if proc is not None:
        (_for_the_session if session else _adopted).append(proc)


def kill_group(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal every process of `proc`'s group (SIGKILL: all of them, now), then reap `proc`."""
    if proc.returncode is None or _group_alive(proc.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
    if sig == signal.SIGKILL:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=GRACE_S)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def run(
    argv: list[str], timeout: float, input: str | bytes | None = None, **popen: Any
) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run(argv, timeout=...)` whose whole process group is killed on any exit: a
    timeout raises `subprocess.TimeoutExpired` with what the group wrote so far."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    if input is not None:
        popen["stdin"] = subprocess.PIPE
    elif "stdin" not in popen:
        popen["stdin"] = subprocess.DEVNULL
    proc = spawn(argv, **popen)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        raise subprocess.TimeoutExpired(argv, timeout, out, err) from None
    finally:
        kill_group(proc)  # what it left running, too
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def reap(since: tuple[int, int] = (0, 0)) -> None:
    """Kill what was spawned or adopted after the marks `since` (see `marks`) and is running."""
    spawned, adopted = since
    for proc in _spawned[spawned:]:
        kill_group(proc)
    for proc in _adopted[adopted:]:
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=GRACE_S)
    del _spawned[spawned:], _adopted[adopted:]


def marks() -> tuple[int, int]:
    return len(_spawned), len(_adopted)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (a CI runner's timeout, scripts/test-under-load stopped): an interrupt, so that
    pytest tears down and the processes here are killed, not left to run on; and pytest exits
    within TEARDOWN_GRACE_S whatever its teardown waits for."""
    threading.Thread(target=_exit_after_grace, args=(signum,), daemon=True).start()
    raise KeyboardInterrupt(f"signal {signum}")


def _exit_after_grace(signum: int) -> None:
    time.sleep(TEARDOWN_GRACE_S)  # a deadline for teardown, not a wait for a condition
    print(
        f"\nteardown still running {TEARDOWN_GRACE_S:.0f} s after signal {signum}: the "
        "processes here killed, pytest exits",
        file=sys.stderr,
        flush=True,
    )
    _at_exit()
    os._exit(128 + signum)


if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _terminated)


@atexit.register
def _at_exit() -> None:
    reap()
    for proc in _for_the_session:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(autouse=True)
def leave_no_process() -> Iterator[None]:
    """Every process group a test spawned, and every process it adopted, gone at its end."""
    mark = marks()
    try:
        yield
    finally:
        reap(mark)
