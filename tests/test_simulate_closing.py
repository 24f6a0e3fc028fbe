"""Sessions and a collection after closing through `gate simulate`, the real CLI (design.md §8)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_simulate import ADULT, CHILD_1, CHILD_2, line, outputs, run

POLICY = (
    'timezone = "Asia/Shanghai"\nopen = "09:30"\nclose = "18:00"\ncapacity = 100\n'
    '[sessions]\nAM = "09:30-12:30"\nPM = "13:30-18:00"\n'
)
HEADER = "code,product,adults,children,valid_from,valid_to,guardian_phone,session\n"


def venue(root: Path, session: str) -> Path:
    root.mkdir()
    (root / "tickets.csv").write_text(HEADER + f"T1,family,1,2,2026-07-18,2026-07-18,,{session}\n")
    bands = f"uid,role\n{ADULT},adult\n{CHILD_1},child\n{CHILD_2},child\n"
    (root / "wristbands.csv").write_text(bands)
    (root / "staff.csv").write_text("uid,name\n")
    (root / "policy.toml").write_text(POLICY)
    return root


def bound(t: str = "09:40") -> list[str]:
    scans = [line(f"{t}:00", "D1", "bind", "barcode", "T1")]
    return scans + [
        line(f"{t}:0{i}", "D1", "bind", "nfc", b)
        for i, b in enumerate([ADULT, CHILD_1, CHILD_2], 1)
    ]


def test_a_morning_ticket_is_refused_in_the_afternoon_and_may_always_leave(tmp_path: Path) -> None:
    scans = bound()
    scans += [line(f"09:45:0{i}", "E1", "entry", "nfc", b) for i, b in enumerate([ADULT])]
    scans += [line("12:40:00", "X1", "exit", "nfc", ADULT, intent="final")]
    scans += [line("14:01:00", "E1", "entry", "nfc", CHILD_1)]
    result = run(scans, allowlist=venue(tmp_path / "v", "AM"))
    assert result.returncode == 0, result.stderr
    out = outputs(result)
    assert [o.get("code") for o in out[4:7]] == ["OK_ENTRY", "OK_EXIT", "DENY_NOT_VALID_NOW"]
    assert "session AM 09:30-12:30" in str(out[6]["message"])


def test_an_unknown_session_is_a_row_error_naming_the_sessions(tmp_path: Path) -> None:
    result = run(bound(), allowlist=venue(tmp_path / "v", "NIGHT"))
    assert "tickets.csv:2: session 'NIGHT' is not one of the venue's sessions (AM, PM)" in (
        result.stderr
    )
    assert json.loads(result.stdout.splitlines()[0])["code"] == "DENY_UNKNOWN"


def test_a_parent_collects_the_children_after_closing(tmp_path: Path) -> None:
    scans = bound("14:00")
    scans += [
        line(f"14:05:0{i}", "E1", "entry", "nfc", b)
        for i, b in enumerate([ADULT, CHILD_1, CHILD_2])
    ]
    scans += [line("17:00:00", "X1", "exit", "nfc", ADULT, intent="temporary")]
    scans += [line("18:10:00", "E2", "entry", "nfc", CHILD_1)]  # nobody else comes in
    scans += [line("18:20:00", "E2", "entry", "nfc", ADULT)]
    scans += [
        line(f"18:25:0{i}", "X2", "exit", "nfc", b) for i, b in enumerate([ADULT, CHILD_1, CHILD_2])
    ]
    result = run(scans, allowlist=venue(tmp_path / "v", "PM"))
    assert result.returncode == 0, result.stderr
    out = outputs(result)
    codes = [o.get("code") for o in out[7:13]]
    assert codes == [
        "OK_TEMP_EXIT",
        "DENY_NOT_VALID_NOW",  # a PM ticket past its session: no way in but to collect
        "OK_COLLECT",
        "OK_EXIT",
        "OK_EXIT",
        "OK_EXIT",
    ]
    assert "collect them before closing at 18:00" in str(out[7]["message"])
    assert out[-1]["summary"]["inside"] == 0
