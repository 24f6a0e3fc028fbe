"""The quick power-cut campaign (`python -m bench.powercut --quick`): the venue's gates and hub
on LazyFS, one cut at each moment and one more, every check at zero."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 600.0  # a couple of minutes alone; far more on a loaded machine


def test_the_quick_power_cut_campaign_loses_nothing(tmp_path: Path) -> None:
    workdir = tmp_path / "powercut"
    argv = [sys.executable, "-m", "bench.powercut", "--quick", "--json", "--seed", "3"]
    proc = subprocess.Popen(
        [*argv, "--workdir", str(workdir)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the campaign stops its venue and its mount
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        subprocess.run(
            ["fusermount3", "-u", "-z", str(workdir / "fs" / "mnt")], capture_output=True
        )
    assert proc.returncode == 0, out[-6000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["cuts"] == 8 and summary["gate_cuts"] >= 5 and summary["hub_cuts"] >= 1
    zeros = ("lost", "duplicated", "integrity_failures", "mixed_allowlists",
             "unrecoverable_starts", "unplanned_deaths")  # fmt: skip
    assert {k: summary[k] for k in zeros} == dict.fromkeys(zeros, 0), out[-6000:]
    armed = {k: n for k, n in summary["moments"].items() if k != "random"}
    assert len(armed) >= 4, f"too few cuts landed in the moment they were armed for: {armed}"
    assert summary["answered"] > 100 and summary["settled"] is True
