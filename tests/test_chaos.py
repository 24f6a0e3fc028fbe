"""The chaos campaign, reduced: the venue's real processes under every kind of fault, judged.

`python -m bench.chaos --quick`: 25 gate kills, 5 hub kills, 3 broker outages, 2 partitions,
2 clock jumps and 2 full disks (where the machine lets the harness mount a tmpfs) while families
move through; nothing acknowledged may be lost or counted twice, and no child may leave alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import processes

from gate.control.refusals import REASONS

ROOT = Path(__file__).resolve().parent.parent


def test_the_reduced_chaos_campaign_loses_nothing_and_keeps_every_child_safe(tmp_path):
    run = processes.run(  # on a timeout, the campaign's broker, hub and gates die with it
        [sys.executable, "-m", "bench.chaos", "--quick", "--workdir", str(tmp_path / "chaos")],
        cwd=ROOT,
        text=True,
        timeout=2400,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    summary = json.loads(run.stdout.splitlines()[-2])
    assert summary["passed"] and summary["lost"] == summary["duplicated"] == 0
    assert summary["injected"]["gate_kill"] == 25 and summary["injected"]["hub_kill"] == 5
    assert summary["acknowledged"] > 300  # the families kept moving through it all
    assert summary["headcount_hub"] == summary["headcount_truth"]
    # the checker cannot be fooled: every failure a listed refusal, every scan its own entry,
    # every code as expected (or explained), the plan's moves, every kill the harness's own
    assert summary["failed"] == summary["mismatched"] == summary["unexpected_codes"] == 0
    assert summary["off_plan"] == 0 and set(summary["refused"]) <= REASONS
    assert summary["kills"] == 30 and summary["deaths"] == 0
    # the visitors carry their bands: each grant wrote its record, and no band got in twice
    assert summary["double_entries"] == 0 and summary["moves_with_band_record"] > 200
