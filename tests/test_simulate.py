"""`gate simulate` as operators call it: the real CLI, lines in, JSON lines out (design.md §8)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DAY = Path(__file__).resolve().parent.parent / "examples" / "children-city"
ADULT, CHILD_1, CHILD_2 = "04A10001", "04C10001", "04C10002"


def run(scans: list[str], *args: str, allowlist: Path = DAY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gate",
            "simulate",
            "--allowlist",
            str(allowlist),
            "--scans",
            "-",
            *args,
        ],
        input="\n".join(scans) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


def line(t: str, gate: str, mode: str, kind: str, value: str, **extra: str) -> str:
    scan = {"t": f"2026-07-18T{t}+08:00", "gate": gate, "mode": mode, "kind": kind, "value": value}
    return json.dumps(scan | extra)


def write_allowlist(root: Path, tickets: str, policy: str | None = None) -> Path:
    root.mkdir()
    header = "code,product,adults,children,valid_from,valid_to,guardian_phone\n"
    (root / "tickets.csv").write_text(header + tickets)
    bands = f"uid,role\n{ADULT},adult\n{CHILD_1},child\n{CHILD_2},child\n"
    (root / "wristbands.csv").write_text(bands)
    (root / "staff.csv").write_text("uid,name\n")
    if policy is not None:
        (root / "policy.toml").write_text(policy)
    return root


@pytest.fixture
def venue(tmp_path: Path) -> Path:
    """One family ticket (1 adult, 2 children); open 09:00-18:00 in Shanghai."""
    policy = 'timezone = "Asia/Shanghai"\nopen = "09:00"\nclose = "18:00"\ncapacity = 100\n'
    return write_allowlist(tmp_path / "venue", "T1,family,1,2,2026-07-18,2026-07-18,\n", policy)


def family_day() -> list[str]:
    scans = [line("09:40:00", "D1", "bind", "barcode", "T1")]
    scans += [
        line(f"09:40:0{i}", "D1", "bind", "nfc", b)
        for i, b in enumerate([ADULT, CHILD_1, CHILD_2], 1)
    ]
    scans += [
        line(f"09:45:0{i}", "E1", "entry", "nfc", b)
        for i, b in enumerate([ADULT, CHILD_1, CHILD_2])
    ]
    return scans


def outputs(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(x) for x in result.stdout.splitlines()]


def test_each_scan_line_gets_one_decision_with_exactly_the_documented_fields(venue: Path) -> None:
    result = run(family_day(), allowlist=venue)
    assert result.returncode == 0, result.stderr
    out = outputs(result)
    assert len(out) == len(family_day()) + 1
    for decision in out[:-1]:
        assert set(decision) == {"code", "message", "value", "group", "role", "forced"}
        assert decision["group"] == "T1"
        assert decision["forced"] is False
    assert [d["code"] for d in out[:-1]] == ["OK_BIND"] * 4 + ["OK_ENTRY"] * 3
    assert [d["role"] for d in out[1:4]] == ["adult", "child", "child"]


def test_the_last_line_is_the_summary_of_who_is_inside(venue: Path) -> None:
    out = outputs(run(family_day(), allowlist=venue))
    assert out[-1] == {
        "summary": {
            "inside": 3,
            "adults": 1,
            "children": 2,
            "unaccompanied_children": 0,
            "groups_inside": 1,
        }
    }


def test_the_summary_counts_windows_that_closed_by_the_last_scan(venue: Path) -> None:
    """The adult leaves first and the children stay: by the last scan the group is flagged."""
    scans = [*family_day(), line("11:00:00", "X1", "exit", "nfc", ADULT)]
    just_before = outputs(
        run([*scans, line("11:00:59", "D1", "bind", "barcode", "NOPE")], allowlist=venue)
    )
    just_after = outputs(
        run([*scans, line("11:01:01", "D1", "bind", "barcode", "NOPE")], allowlist=venue)
    )
    assert just_before[-1]["summary"]["unaccompanied_children"] == 0
    assert just_after[-1]["summary"] == {
        "inside": 2,
        "adults": 0,
        "children": 2,
        "unaccompanied_children": 2,
        "groups_inside": 1,
    }


def test_bad_lines_are_reported_with_their_number_and_skipped_and_the_rest_runs() -> None:
    scans = [
        "not json",
        line("10:00:00", "E1", "entry", "nfc", "zz"),
        json.dumps(
            {
                "t": "2026-07-18T10:00:00",
                "gate": "E1",
                "mode": "entry",
                "kind": "nfc",
                "value": "04A1B2C3",
            }
        ),
        line("10:00:00", "E1", "entry", "nfc", "04A1B2C3", intent="temporary"),
        line("10:00:01", "E1", "sideways", "nfc", "04A1B2C3"),
        line("10:00:02", "E1", "entry", "nfc", "04A1B2C3"),
    ]
    result = run(scans)
    assert result.returncode == 1
    out = result.stdout.splitlines()
    assert len(out) == 2  # one decision, one summary
    assert json.loads(out[0])["code"] == "DENY_UNKNOWN"
    for number in range(1, 6):
        assert f"stdin:{number}: line skipped" in result.stderr
    assert "stdin:6" not in result.stderr
    assert "timezone" in result.stderr
    assert "intent applies to exit scans only" in result.stderr


def test_a_bad_policy_is_refused_naming_each_field(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('timezone = "Mars/Olympus"\nopen = "09:00"\nclose = "18:00"\ncapacity = 0\n')
    result = run([], "--policy", str(policy))
    assert result.returncode == 2
    assert "timezone: unknown IANA timezone 'Mars/Olympus'" in result.stderr
    assert "capacity: Input should be greater than 0" in result.stderr
    assert result.stdout == ""


def test_without_a_policy_file_the_venue_is_open_around_the_clock(tmp_path: Path) -> None:
    allowlist = write_allowlist(tmp_path / "a", "T1,family,1,0,2026-07-18,2026-07-18,\n")
    at_3am = {"t": "2026-07-18T03:00:00+00:00", "gate": "D1", "mode": "bind"}
    scans = [
        json.dumps(at_3am | {"kind": "barcode", "value": "T1"}),
        json.dumps(at_3am | {"kind": "nfc", "value": ADULT.lower()}),
        json.dumps(at_3am | {"mode": "entry", "gate": "E1", "kind": "nfc", "value": ADULT}),
    ]
    result = run(scans, allowlist=allowlist)
    assert result.returncode == 0, result.stderr
    assert [d.get("code") for d in outputs(result)[:-1]] == ["OK_BIND", "OK_BIND", "OK_ENTRY"]
    assert "open around the clock" in result.stderr


def test_bad_allowlist_rows_are_reported_and_the_good_ones_used(tmp_path: Path) -> None:
    tickets = "T1,family,two,0,2026-07-18,2026-07-18,\nT2,family,1,0,2026-07-18,2026-07-18,\n"
    allowlist = write_allowlist(tmp_path / "a", tickets)
    result = run([line("10:00:00", "D1", "bind", "barcode", "T2")], allowlist=allowlist)
    assert result.returncode == 1
    assert "tickets.csv:2:" in result.stderr
    assert outputs(result)[0]["code"] == "OK_BIND"


def test_a_missing_allowlist_file_is_refused() -> None:
    result = run([], allowlist=Path("/nonexistent/allowlist"))
    assert result.returncode == 2
    assert "gate simulate:" in result.stderr


A2, C2 = "04A10002", "04C10003"  # the second family's adult and child


def two_families(tmp_path: Path) -> Path:
    """T1 and T2, one adult and one child each, bound and inside by 09:45."""
    root = write_allowlist(
        tmp_path / "two",
        "T1,family,1,1,2026-07-18,2026-07-18,\nT2,family,1,1,2026-07-18,2026-07-18,\n",
        'timezone = "Asia/Shanghai"\nopen = "09:00"\nclose = "18:00"\ncapacity = 100\n',
    )
    bands = f"uid,role\n{ADULT},adult\n{CHILD_1},child\n{A2},adult\n{C2},child\n"
    (root / "wristbands.csv").write_text(bands)
    return root


def both_inside() -> list[str]:
    scans = []
    for n, (ticket, adult, child) in enumerate([("T1", ADULT, CHILD_1), ("T2", A2, C2)]):
        scans.append(line(f"09:4{n}:00", "D1", "bind", "barcode", ticket))
        scans += [
            line(f"09:4{n}:0{i}", "D1", "bind", "nfc", b) for i, b in [(1, adult), (2, child)]
        ]
    return scans + [
        line(f"09:45:0{i}", "E1", "entry", "nfc", b) for i, b in enumerate([ADULT, CHILD_1, A2, C2])
    ]


def join_line(t: str, *tickets: object, gate: str = "D1") -> str:
    return json.dumps({"t": f"2026-07-18T{t}+08:00", "gate": gate, "join": list(tickets)})


def test_after_the_desk_joins_two_tickets_the_other_familys_adult_takes_a_child_out(
    tmp_path: Path,
) -> None:
    allowlist = two_families(tmp_path)
    leaving = [
        line("11:00:00", "X1", "exit", "nfc", A2),
        line("11:00:05", "X1", "exit", "nfc", CHILD_1),
    ]
    apart = outputs(run([*both_inside(), *leaving], allowlist=allowlist))
    assert apart[-2]["code"] == "DENY_CHILD_NEEDS_ADULT"  # not across tickets not joined
    result = run([*both_inside(), join_line("10:30:00", "T1", "T2"), *leaving], allowlist=allowlist)
    assert result.returncode == 0, result.stderr
    joined = outputs(result)
    assert joined[-4]["code"] == "OK_JOIN"
    assert joined[-4]["group"] == "T1"
    assert "T1, T2" in joined[-4]["message"]
    assert joined[-3]["code"] == "OK_EXIT"
    assert joined[-2]["code"] == "OK_EXIT"
    assert joined[-2]["group"] == "T1" and joined[-2]["role"] == "child"
    assert joined[-1]["summary"]["inside"] == 2


def test_a_join_the_rules_refuse_is_answered_like_the_desk_answers_it(tmp_path: Path) -> None:
    allowlist = two_families(tmp_path)
    scans = [
        join_line("10:00:00", "T1", "NOPE"),
        join_line("10:00:01", "T1", "T2"),
        join_line("10:00:02", "T2", "T1"),
    ]
    result = run(scans, allowlist=allowlist)
    assert result.returncode == 0, result.stderr
    assert [d.get("code") for d in outputs(result)[:-1]] == [
        "DENY_UNKNOWN",
        "OK_JOIN",
        "DENY_BINDING",
    ]


def test_a_malformed_join_line_is_reported_with_its_number_and_skipped(tmp_path: Path) -> None:
    allowlist = two_families(tmp_path)
    join = {"t": "2026-07-18T10:00:00+08:00", "gate": "D1", "join": ["T1", "T2"]}
    scans = [
        join_line("10:00:00", "T1"),  # one ticket
        join_line("10:00:00", "T1", "T2", "T3"),  # three
        join_line("10:00:00", "T1", " "),  # a blank code
        join_line("10:00:00", "T1", 7),  # not a code
        json.dumps(join | {"mode": "bind"}),  # a join is not a scan too
        json.dumps({k: v for k, v in join.items() if k != "gate"}),  # no desk
        json.dumps(join | {"t": "2026-07-18T10:00:00"}),  # no UTC offset
        join_line("10:00:01", "T1", "T2"),
    ]
    result = run(scans, allowlist=allowlist)
    assert result.returncode == 1
    for number in range(1, 8):
        assert f"stdin:{number}: line skipped" in result.stderr, result.stderr
    assert "stdin:8" not in result.stderr
    assert [d.get("code") for d in outputs(result)[:-1]] == ["OK_JOIN"]
    assert "two ticket codes" in result.stderr
