"""The benchmarks' smoke run (`python -m bench --quick`): the latency, catch-up and big-venue
benchmarks run at a small size, through the real reader stack, Mosquitto, the hub and gate
processes, and print each figure with its baseline and its target. The figures of a smoke run
mean nothing; the full run is by hand (README, Benchmarks)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import processes
import pytest

ROOT = Path(__file__).resolve().parent.parent
# The figures by the words they are found by, and whether each has a target
FIGURES = {
    "tap to relay p50": False,
    "tap to relay p99": False,
    "software share p99": True,
    "read stack p95": True,
    "presence p95": True,
    "tap to display p95": True,
    "catch-up after outage": True,
    "hub ingest against a durable subscriber": True,
    "reconcile": True,
    "hub RSS": True,
    "gate RSS": True,
    "gate RSS, restart": True,
    "passage write added p50": False,
    "passage write added p99": False,
    "tap to relay p99, record written": False,
}
# Differences of two runs: the write's added time may come out below zero in a smoke run's taps
DIFFERENCES = ("passage write added p50", "passage write added p99")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A work directory with a short path: the benchmarks' gates keep their control sockets in it,
    and a Unix socket's path has at most 107 bytes, which pytest's numbered `tmp_path` outgrows."""
    path = Path(tempfile.mkdtemp(prefix="wg-bench-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def bench(*argv: str) -> list[dict[str, Any]]:
    run = processes.run(  # on a timeout, the broker, hub and gates die with it
        [sys.executable, "-m", "bench", *argv], cwd=ROOT, text=True, timeout=1200
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def test_the_quick_benchmarks_print_every_figure_with_its_baseline_and_target(
    short_dir: Path,
) -> None:
    only = ("tap_to_relay", "presence", "catch_up", "ski_day")
    lines = bench(str(short_dir), "--quick", *(a for name in only for a in ("--only", name)))
    figures = [line for line in lines if "figure" in line]
    found = {line["figure"] for line in figures}
    assert set(FIGURES) <= found, f"missing: {set(FIGURES) - found}"
    for line in figures:
        assert line["baseline"] > 0, line
        assert line["value"] > 0 or line["figure"] in DIFFERENCES, line
        assert line["cpus"] >= 1
        if FIGURES.get(line["figure"]):
            assert line["target"], line
    # the headcounts were checked against the ground truth, or the run would have failed
    assert any(line.get("check", {}).get("headcount_matches_ground_truth") for line in lines)


def test_cpus_pins_a_benchmark_and_what_it_starts_to_that_many_cores(short_dir: Path) -> None:
    lines = bench(str(short_dir), "--quick", "--cpus", "1", "--only", "decision")
    assert lines and all(line["cpus"] == 1 for line in lines)
