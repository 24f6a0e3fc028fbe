"""`python -m bench.hq_bridge --quick`: a venue's entries through its broker's bridge, NATS's MQTT
gateway and a 3-node JetStream cluster into `hq run`, timed beside nats-py's bare publish; the
bench itself fails unless head office ends holding every entry exactly once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import processes

REPO = Path(__file__).resolve().parent.parent


def test_the_head_office_bench_times_the_path_beside_the_bare_engine(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench.hq_bridge", "--quick", "--workdir", str(tmp_path / "b")]
    run = processes.run(argv, cwd=REPO, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figure, check = (json.loads(line) for line in run.stdout.splitlines()[-2:])
    assert figure["figure"] == "entries/s" and figure["value"] > 0 and figure["baseline"] > 0
    assert abs(figure["ratio"] - figure["value"] / figure["baseline"]) < 0.002
    n = int(figure["bench"].split("(")[1].split(" entries")[0])
    assert n > 4000  # a tenth of the day: about 5,500 entries
    assert check["check"]["path_s"] > 0 and len(check["check"]["baseline_s"]) == 2
