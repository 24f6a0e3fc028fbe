"""`python -m venue`, the simulated venue, as a newcomer runs it: a small day end to end, and
Ctrl-C in the middle of one.

Every process the demo starts (Mosquitto, the hub, the gates) names the demo's work directory on
its command line, so "nothing left behind" is checked by looking for that path in /proc.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SMALL_DAY_TIMEOUT_S = 150
STOPS_WITHIN_S = 15


def demo_command(workdir: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "venue", "--workdir", str(workdir), "--http-port", "0", *args,
    ]  # fmt: skip


def processes_naming(path: Path) -> list[str]:
    """Command lines of the running processes that name `path` (the demo's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if str(path) in argv:
            found.append(f"{entry.name}: {argv.strip()}")
    return found


def story(output: str) -> str:
    """The demo's output without its progress lines: what happened, for a failure message."""
    return "\n".join(line for line in output.splitlines() if not line.startswith("["))


def left_behind(path: Path, grace_s: float = 3.0) -> list[str]:
    deadline = time.monotonic() + grace_s
    while (found := processes_naming(path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_a_small_day_ends_with_the_hub_equal_to_the_ground_truth_and_nothing_lost(tmp_path):
    workdir = tmp_path / "demo"
    done = subprocess.run(
        demo_command(workdir, "--families", "12", "--outage-s", "5"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SMALL_DAY_TIMEOUT_S,
    )
    told = story(done.stdout + done.stderr)
    assert done.returncode == 0, told
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT:")]
    assert results == ["RESULT: hub == ground truth, lost 0, duplicates 0"], told
    assert "checkpoint after the outage" in done.stdout  # the outage happened and was checked
    assert "rule violations: none" in done.stdout, told  # an outage, a recall, an override
    assert "Live display:   http://127.0.0.1:" in done.stdout
    assert not left_behind(workdir)


def test_ctrl_c_in_the_middle_of_the_day_stops_everything_it_started(tmp_path):
    workdir = tmp_path / "demo"
    demo = subprocess.Popen(
        demo_command(workdir, "--families", "40"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in demo.stdout or ()])
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any(line.startswith("[") for line in seen):  # a progress line: families move
            assert time.monotonic() < deadline, "the day never got going:\n" + "".join(seen)
            assert demo.poll() is None, "the demo ended early:\n" + "".join(seen)
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=1))
        started = processes_naming(workdir)
        assert len(started) >= 8, started  # broker, hub, six gates

        demo.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        status = demo.wait(timeout=STOPS_WITHIN_S)
        took = time.monotonic() - stopping
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        reader.join(timeout=5)
    told = story("".join(seen) + "".join(lines.queue))
    assert status == 130, told
    assert took < STOPS_WITHIN_S
    assert "interrupted" in told and "stopped: gates, hub and broker" in told, told
    assert not left_behind(workdir), told
