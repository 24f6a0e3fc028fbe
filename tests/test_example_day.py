"""The example day (examples/children-city/) through the real `gate simulate` command.

The day's expected codes and closing headcount are written by `examples/make_day.py` from its own
script of every visitor's day, not from the gate code: the simulator must agree with it line by
line. The shipped files must also be exactly what the generator writes today, and the day must
actually contain the stories it is there to show.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAY = ROOT / "examples" / "children-city"
GENERATOR = ROOT / "examples" / "make_day.py"
FILES = (
    "tickets.csv",
    "wristbands.csv",
    "staff.csv",
    "revoked.csv",
    "policy.toml",
    "scans.jsonl",
    "expected-codes.txt",
    "expected-summary.json",
)


def scan_lines() -> list[dict[str, str]]:
    return [json.loads(line) for line in (DAY / "scans.jsonl").read_text().splitlines()]


def expected_codes() -> list[str]:
    return (DAY / "expected-codes.txt").read_text().splitlines()


def expected_summary() -> dict[str, int]:
    summary: dict[str, int] = json.loads((DAY / "expected-summary.json").read_text())
    return summary


@pytest.fixture(scope="module")
def simulated() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gate",
            "simulate",
            "--allowlist",
            str(DAY),
            "--scans",
            str(DAY / "scans.jsonl"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_simulate_gives_every_expected_code(simulated: subprocess.CompletedProcess[str]) -> None:
    assert simulated.returncode == 0, simulated.stderr
    lines = [json.loads(line) for line in simulated.stdout.splitlines()]
    decisions, last = lines[:-1], lines[-1]
    scans, expected = scan_lines(), expected_codes()
    assert len(decisions) == len(expected) == len(scans)
    wrong = [
        f"line {n}: expected {want}, got {got['code']} ({got['message']}) for {scan}"
        for n, (want, got, scan) in enumerate(zip(expected, decisions, scans, strict=True), 1)
        if got["code"] != want
    ]
    assert not wrong, f"{len(wrong)} decisions differ, first ones:\n" + "\n".join(wrong[:10])
    assert last == {"summary": expected_summary()}


def test_shipped_day_is_what_the_generator_writes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    stale = [name for name in FILES if (tmp_path / name).read_bytes() != (DAY / name).read_bytes()]
    assert not stale, f"{stale} are stale: run `python examples/make_day.py`"


def test_day_contains_its_stories() -> None:
    codes = Counter(expected_codes())
    for code in (
        "OK_BIND",
        "OK_ENTRY",
        "OK_EXIT",
        "OK_TEMP_EXIT",
        "OK_REENTRY",
        "OK_STAFF",
        "OK_OVERRIDE",
        "DENY_CHILD_TEMP_EXIT",
        "DENY_CHILD_NEEDS_ADULT",
        "DENY_GUARDIAN_PICKUP",
        "DENY_ALREADY_INSIDE",
        "DENY_REVOKED",
        "DENY_UNKNOWN",
        "DENY_NOT_VALID_NOW",
        "DENY_CLOSED",
        "DENY_BINDING",
    ):
        assert codes[code] >= 1, f"the day has no {code}"
    assert codes["OK_OVERRIDE"] >= 5, "the children who came alone leave through an override"
    assert codes["DENY_CAPACITY"] == 0, "the venue is never full that day"
    assert 2000 <= sum(codes.values()) <= 6000
    for code in ("OK_GROUP_WINDOW", "DENY_VOUCHER_USED", "DENY_VOUCHER_FORGED"):
        assert codes[code] >= 1, f"the day has no {code}"  # vouchers and a school class

    summary = expected_summary()
    assert list(summary) == [
        "inside",
        "adults",
        "children",
        "unaccompanied_children",
        "groups_inside",
    ]
    assert summary["unaccompanied_children"] > 0
    assert 0 < summary["groups_inside"] < 10, "most visitors have left by the last scan"
    assert summary["inside"] == summary["adults"] + summary["children"]
    assert codes["OK_ENTRY"] > 20 * summary["inside"]


def test_day_has_a_voucher_re_entry_and_a_school_class_through_one_lane() -> None:
    scans, codes = scan_lines(), expected_codes()
    by_voucher = [
        s for s, c in zip(scans, codes, strict=True) if "voucher" in s and c == "OK_REENTRY"
    ]
    assert by_voucher, "no one comes back by a digital voucher"
    leaders = [r for r in (DAY / "tickets.csv").read_text().splitlines()[1:] if r.split(",")[-1]]
    assert len(leaders) == 1, leaders
    school = leaders[0].split(",")[0]
    assert leaders[0].split(",")[2:4] == ["2", "30"]
    reopened = [s for s, c in zip(scans, codes, strict=True) if c == "OK_GROUP_WINDOW"]
    assert len(reopened) == 1
    lane = reopened[0]["gate"]
    out = [
        s
        for s, c in zip(scans, codes, strict=True)
        if c == "OK_EXIT"
        and s["gate"] == lane
        and abs(datetime.fromisoformat(s["t"]) - datetime.fromisoformat(reopened[0]["t"]))
        < timedelta(minutes=5)
    ]
    assert len(out) >= 32, f"class {school}: {len(out)} out through {lane}"


def test_scans_are_one_day_in_time_order() -> None:
    scans = scan_lines()
    times = [datetime.fromisoformat(s["t"]) for s in scans]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(hours=8) for t in times)
    assert {t.date().isoformat() for t in times} == {"2026-07-18"}
    assert time(17, 59) < times[-1].time() < time(18, 10), "the day ends just after closing"
    assert {s["gate"] for s in scans} == {"D1", "D2", "E1", "E2", "X1", "X2"}
    assert {s["mode"] for s in scans if s["gate"] in ("D1", "D2")} == {"bind"}
    tickets = (DAY / "tickets.csv").read_text().splitlines()
    assert 250 <= len(tickets) - 1 <= 400


def test_the_day_has_sessions_and_a_child_collected_after_closing(
    simulated: subprocess.CompletedProcess[str],
) -> None:
    """A morning-session ticket refused in the afternoon; a parent back after the session's end
    and one back after closing, each only to collect (OK_COLLECT), then out with the children."""
    assert "[sessions]" in (DAY / "policy.toml").read_text()
    header = (DAY / "tickets.csv").read_text().splitlines()[0]
    assert header.split(",")[7:] == ["session", "leaders"]
    scans = scan_lines()
    out = [json.loads(line) for line in simulated.stdout.splitlines()][:-1]
    said = list(zip(scans, out, strict=True))
    refused = [(s["t"][11:16], d["message"]) for s, d in said if d["code"] == "DENY_NOT_VALID_NOW"]
    assert ("14:01", "ticket valid in session AM 09:30-12:30 only, now 14:01") in refused
    collected = [(s["t"][11:16], d["group"]) for s, d in said if d["code"] == "OK_COLLECT"]
    assert [t for t, _ in collected] == ["12:41", "18:06"]  # after the AM session, after closing
    for t, group in collected:
        after = [(s, d) for s, d in said if d["group"] == group and s["t"][11:16] >= t]
        assert [d["code"] for _, d in after][1:] == ["OK_EXIT"] * (len(after) - 1)
        assert {d["role"] for _, d in after} >= {"adult", "child"}
    told = [
        d["message"]
        for s, d in said
        if d["code"] == "OK_TEMP_EXIT" and d["group"] in dict((g, t) for t, g in collected)
    ]
    assert any("collect them before closing at 12:30" in m for m in told)
    assert any("collect them before closing at 18:00" in m for m in told)
