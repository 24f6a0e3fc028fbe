"""The fuzz targets of the test suite, run long: every parser that takes outside input.

    python -m bench.fuzz [--examples N] [--minutes M] [--only TEXT]

Runs each target of tests/fuzz_targets.py (the parsers, inputs and properties of
tests/test_fuzz_*.py) on N inputs (default 5000), all of them within M minutes if given, and
prints one JSON line per parser:

- `tried`, `accepted`, `refused`: inputs, and what came of them; `refused_by`: refusals by
  reason class (the message with values and numbers taken out), the commonest first;
- `items`: for inputs made of items (lines of a scanner stream, rows of a CSV file), what came
  of each item;
- `crashes`: inputs that raised anything but the parser's own error, were refused without a
  reason, or broke an invariant; `crashed_by` gives each kind with the first such input and
  where it was raised.

Then one summary line. The exit status is 1 if anything crashed.
"""

from __future__ import annotations

import argparse
import json
import logging
import reprlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))  # the targets are the test suite's own

from fuzz_targets import FUZZ, TARGETS, Outcome, Target, explore  # noqa: E402
from hypothesis import Phase, settings  # noqa: E402

SHOWN_REASONS = 12  # refusal classes listed one by one; the rest are summed
_shown = reprlib.Repr()
_shown.maxstring, _shown.maxother, _shown.maxlevel = 160, 160, 4


@dataclass
class Tally:
    """What came of a target's inputs."""

    target: Target
    tried: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    refused_by: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    crashed_by: Counter[str] = field(default_factory=Counter)
    first_crash: dict[str, tuple[str, Outcome]] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, value: Any, outcome: Outcome) -> None:
        self.tried += 1
        self.kinds[outcome.kind] += 1
        self.items.update(outcome.items)
        if outcome.kind == "refused":
            self.refused_by[outcome.reason] += 1
        elif outcome.kind == "crashed":
            self.crashed_by[outcome.reason] += 1
            self.first_crash.setdefault(outcome.reason, (_shown.repr(value), outcome))

    def line(self) -> dict[str, Any]:
        common = self.refused_by.most_common(SHOWN_REASONS)
        refused_by = dict(common)
        if rest := sum(self.refused_by.values()) - sum(n for _, n in common):
            refused_by["(other reasons)"] = rest
        return {
            "bench": "fuzz",
            "parser": self.target.name,
            "tried": self.tried,
            "accepted": self.kinds["accepted"],
            "refused": self.kinds["refused"],
            "crashes": self.kinds["crashed"],
            "refused_by": refused_by,
            **({"items": dict(self.items.most_common())} if self.items else {}),
            "crashed_by": [
                {
                    "reason": reason,
                    "count": n,
                    "first_input": self.first_crash[reason][0],
                    "where": _last_frame(self.first_crash[reason][1].detail),
                }
                for reason, n in self.crashed_by.most_common()
            ],
            "seconds": round(self.seconds, 1),
        }


def _last_frame(trace: str) -> str:
    frames = [line.strip() for line in trace.splitlines() if line.strip().startswith("File ")]
    return frames[-1] if frames else ""


def run(target: Target, examples: int, seconds: float | None) -> Tally:
    """Feed `target` up to `examples` inputs, in rounds, stopping early after `seconds`."""
    tally = Tally(target)
    started = time.monotonic()
    per_input = None
    while tally.tried < examples:
        elapsed = time.monotonic() - started
        if seconds is not None and elapsed >= seconds:
            break
        left = examples - tally.tried
        if seconds is not None and per_input is not None:
            left = min(left, max(20, int((seconds - elapsed) / per_input)))
        size = min(left, 100 if per_input is None else 2000)
        before = tally.tried
        round_started = time.monotonic()
        explore(target, settings(FUZZ, max_examples=size, phases=[Phase.generate]), tally.add)
        done = tally.tried - before
        if done == 0:
            break  # every input this strategy can make has been tried
        per_input = (time.monotonic() - round_started) / done
    tally.seconds = time.monotonic() - started
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--examples", type=int, default=5000, help="inputs per parser")
    parser.add_argument("--minutes", type=float, help="time for all parsers together")
    parser.add_argument("--only", help="parsers whose name contains this text")
    args = parser.parse_args(argv)
    # The consumers log every input they drop; the counts say it. Handlers still see records.
    logging.getLogger().addHandler(logging.NullHandler())
    targets = [t for t in TARGETS if args.only is None or args.only in t.name]
    started = time.monotonic()
    tallies = []
    for i, target in enumerate(targets):
        seconds = None
        if args.minutes is not None:  # what is left, shared by the parsers still to run
            left = args.minutes * 60 - (time.monotonic() - started)
            seconds = max(left, 0) / (len(targets) - i)
        tally = run(target, args.examples, seconds)
        tallies.append(tally)
        print(json.dumps(tally.line(), ensure_ascii=False), flush=True)
    crashes = sum(t.kinds["crashed"] for t in tallies)
    summary = {
        "parsers": len(tallies),
        "tried": sum(t.tried for t in tallies),
        "accepted": sum(t.kinds["accepted"] for t in tallies),
        "refused": sum(t.kinds["refused"] for t in tallies),
        "crashes": crashes,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps({"bench": "fuzz", "summary": summary}), flush=True)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
