"""`python -m venue.chain` (what `./scripts/hq-demo` runs), as a newcomer runs it, reduced to one
small venue: the cluster, head office and the venue start, the chain page's address and the
token's file are printed, the day runs, the venue at head office is set beside its
hub (entries exactly once, the same headcount), and nothing is left running after it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import processes
from test_demo import processes_naming

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 900  # a couple of minutes on an idle machine; a loaded one is slow, never wrong


def test_the_chain_demo_runs_a_day_and_finds_the_venue_at_head_office_as_at_its_hub(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "chain"
    argv = [sys.executable, "-m", "venue.chain", "--venues", "1", "--families", "5"]
    argv += ["--rate", "600", "--workdir", str(workdir), "--http-port", "0", "--exit-after-day"]
    run = processes.run(argv, cwd=REPO, text=True, timeout=TIMEOUT_S)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    assert "Head office's page:  http://127.0.0.1:" in out
    assert (workdir / "hq" / "chain.token").read_text().strip()
    (verdict,) = [line for line in out.splitlines() if line.startswith("V1: entries hub ")]
    hub, hq = verdict.split("entries hub ")[1].split(", missing")[0].split(" / head office ")
    assert int(hub) == int(hq) > 0, verdict
    assert "missing 0, extra 0, twice 0" in verdict and verdict.endswith("ok"), verdict
    assert out.rstrip().splitlines()[-1] == "result: PASS"
    deadline = time.monotonic() + 30
    while processes_naming(workdir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not processes_naming(workdir), "left running"
