"""`python -m venue`, the simulated venue, as a newcomer runs it: a small day end to end, Ctrl-C
in the middle of one, and `--keep-open`: the venue stays up after the day, the commands it prints
work against it, and SIGTERM stops it.

Every process the demo starts (Mosquitto, the hub, the gates) names the demo's work directory on
its command line, so "nothing left behind" is checked by looking for that path in /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import processes

REPO = Path(__file__).resolve().parent.parent
SMALL_DAY_TIMEOUT_S = 600  # about a minute on an idle machine; a loaded one is slow, never wrong
# A deadline, not a speed test: the demo gives each daemon 10 s to stop before it kills it, so it
# stops in well under a minute on an idle machine; on a loaded one it is slow, never wrong.
STOPS_WITHIN_S = 300


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


def left_behind(path: Path, grace_s: float = 30.0) -> list[str]:
    deadline = time.monotonic() + grace_s
    while (found := processes_naming(path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


class Output:
    """A running demo's output, line by line, read on a thread of its own."""

    def __init__(self, demo: subprocess.Popen[str]) -> None:
        self.demo = demo
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(
            target=lambda: [self._lines.put(x) for x in demo.stdout or ()]
        )
        self._reader.start()

    def until(self, found, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not any(found(line) for line in self.seen):
            assert time.monotonic() < deadline, f"{what}, never came:\n" + story(self.text())
            assert self.demo.poll() is None, "the demo ended early:\n" + story(self.text())
            with contextlib.suppress(queue.Empty):
                self.seen.append(self._lines.get(timeout=1))

    def close(self) -> None:
        processes.kill_group(self.demo)  # the demo and whatever it left running
        self._reader.join(timeout=60)  # the rest of its output, to the end
        assert not self._reader.is_alive(), "the demo's output never ended"
        while not self._lines.empty():
            self.seen.append(self._lines.get())

    def text(self) -> str:
        return "".join(self.seen)


def test_a_small_day_ends_with_the_hub_equal_to_the_ground_truth_and_nothing_lost(tmp_path):
    workdir = tmp_path / "demo"
    done = processes.run(  # on a timeout, the demo's broker, hub and gates are killed with it
        demo_command(workdir, "--families", "12", "--outage-s", "5"),
        cwd=REPO,
        text=True,
        timeout=SMALL_DAY_TIMEOUT_S,
    )
    told = story(done.stdout + done.stderr)
    assert done.returncode == 0, told
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT:")]
    planned = "RESULT: hub == ground truth, lost 0, duplicates 0, the day as planned"
    assert results == [planned], told
    assert "as planned: entries " in done.stdout, told  # the planned day, counted at the hub
    assert "checkpoint after the outage" in done.stdout  # the outage happened and was checked
    assert "rule violations: none" in done.stdout, told  # an outage, a recall, an override
    assert "Live display:   http://127.0.0.1:" in done.stdout
    progress = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert progress and all(re.match(r"\[real \d+:\d\d \| venue \d\d:\d\d\] ", p) for p in progress)
    assert "the broker goes down for 5 s of real time" in done.stdout  # never "5 s at 12:30"
    assert not left_behind(workdir)


def test_ctrl_c_in_the_middle_of_the_day_stops_everything_it_started(tmp_path):
    workdir = tmp_path / "demo"
    demo = processes.spawn(  # a group of its own: killed whole however the test ends
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
        deadline = time.monotonic() + 300
        while not any(line.startswith("[") for line in seen):  # a progress line: families move
            assert time.monotonic() < deadline, "the day never got going:\n" + "".join(seen)
            assert demo.poll() is None, "the demo ended early:\n" + "".join(seen)
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=1))
        started = processes_naming(workdir)
        assert len(started) >= 8, started  # broker, hub, six gates

        demo.send_signal(signal.SIGINT)
        try:
            status: int | None = demo.wait(timeout=STOPS_WITHIN_S)
        except subprocess.TimeoutExpired:
            status = None  # said below, with everything the demo printed
    finally:
        processes.kill_group(demo)  # the demo and whatever it left running: broker, hub, gates
        reader.join(timeout=60)  # the rest of its output, to the end
        assert not reader.is_alive(), "the demo's output never ended"
    told = story("".join(seen) + "".join(lines.queue))
    assert status == 130, f"exit status {status} ({STOPS_WITHIN_S} s after Ctrl-C):\n{told}"
    assert "interrupted" in told and "stopped: gates, hub and broker" in told, told
    assert not left_behind(workdir), told


def test_keep_open_leaves_the_venue_running_with_commands_that_work_until_sigterm(tmp_path):
    workdir = tmp_path / "demo"
    demo = processes.spawn(
        demo_command(workdir, "--families", "6", "--outage-s", "0", "--keep-open"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = Output(demo)
    try:
        out.until(lambda line: "Ctrl-C (or SIGTERM) stops" in line, SMALL_DAY_TIMEOUT_S, "the day")
        told = out.text()
        assert "RESULT: hub == ground truth, lost 0, duplicates 0" in told, story(told)
        assert len(processes_naming(workdir)) >= 8  # broker, hub, six gates: still up

        gatectl = re.findall(r"(\S*gatectl -s \S+/(\w\d)/gate\.sock status)", told)
        assert {gate for _, gate in gatectl} == {"D1", "E1", "E2", "X1", "X2", "H1"}, told
        for line, gate in gatectl:
            status = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=30)
            assert status.returncode == 0 and gate in status.stdout, status.stdout + status.stderr
        hub_lines = re.findall(r"(\S*hub -c \S+hub\.toml (?:status|sweep))$", told, re.MULTILINE)
        assert len(hub_lines) == 2, told
        for line in hub_lines:
            ran = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=30)
            assert ran.returncode == 0, f"{line}:\n{ran.stdout}{ran.stderr}"
        (url,) = re.findall(r"live display:\s+(http://127\.0\.0\.1:\d+/)", told)
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        with urllib.request.urlopen(f"{url}api/headcount", timeout=10) as reply:
            assert json.loads(reply.read())["inside"] == 0  # everybody left at closing

        demo.send_signal(signal.SIGTERM)
        try:
            status: int | None = demo.wait(timeout=STOPS_WITHIN_S)
        except subprocess.TimeoutExpired:
            status = None  # said below, with everything the demo printed
    finally:
        out.close()
    told = out.text()
    # the day's verdict: the hub agreed with the ground truth
    assert status == 0, f"exit status {status} ({STOPS_WITHIN_S} s after SIGTERM):\n{story(told)}"
    assert "stopped: gates, hub and broker" in told, story(told)
    assert not left_behind(workdir), told
