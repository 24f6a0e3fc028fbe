"""A stopped test run stops: pytest given SIGTERM (a CI runner's timeout, `scripts/test-under-load`
stopped) tears down, kills what its tests spawned, and exits, even when a test left a thread
that never ends, which would otherwise keep the interpreter waiting for ever at its exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.processes import spawn, tail, wait_for

ROOT = Path(__file__).resolve().parent.parent

A_TEST_THAT_HANGS = """
import subprocess, threading
from pathlib import Path

def test_leaves_a_thread_and_a_process(tmp_path):
    from tests.processes import spawn
    threading.Thread(target=threading.Event().wait, name="never-ends").start()  # not a daemon
    child = spawn(["sleep", "600"])
    Path(MARK).write_text(str(child.pid))
    threading.Event().wait()
"""


def test_sigterm_ends_a_run_whose_test_left_a_thread_running(tmp_path: Path) -> None:
    mark, log = tmp_path / "started", tmp_path / "pytest.log"
    test_file = tmp_path / "test_hangs.py"
    test_file.write_text(f"MARK = {str(mark)!r}\n{A_TEST_THAT_HANGS}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WRISTGATE_TEARDOWN_GRACE_S": "3"}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p"]
    argv += ["tests.processes", "--rootdir", str(tmp_path), str(test_file)]
    with log.open("w") as out:
        run = spawn(argv, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for(mark.exists, 120, "the test to start", log, run)
    child = int(mark.read_text())

    run.send_signal(signal.SIGTERM)
    try:
        run.wait(timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"pytest still running 120 s after SIGTERM:\n{tail(log)}") from None
    assert run.returncode != 0, tail(log)
    wait_for(lambda: not _alive(child), 30, "the test's own process to be killed", log)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie is gone
