"""`gate simulate`'s lines for walk-in children and pickup codes (gate/tools/simulate_desk.py),
through the real CLI: a walk-in registered with the staff badge scanned at the desk, its band
bound as a solo child, its code (the line says which the desk made) matched at an exit gate, a
wrong code counted, a ticket's solo child given its code at binding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_simulate import CHILD_1, CHILD_2, line, outputs, run, write_allowlist

STAFF = "04EE0001"
POLICY = 'timezone = "Asia/Shanghai"\nopen = "09:00"\nclose = "18:00"\ncapacity = 100\n'
GROUP = "W-D1-20260718-1"


@pytest.fixture
def venue(tmp_path: Path) -> Path:
    """A solo child's ticket, a staff badge; open 09:00-18:00 in Shanghai."""
    root = write_allowlist(
        tmp_path / "venue", "TSOLO,solo,0,1,2026-07-18,2026-07-18,13800138000\n", POLICY
    )
    (root / "staff.csv").write_text(f"uid,name\n{STAFF},Duty Manager\n")
    return root


def at(t: str, gate: str, **what: object) -> str:
    return json.dumps({"t": f"2026-07-18T{t}+08:00", "gate": gate, **what})


def walkin(t: str, code: str | None = "204518", phone: str = "138 0013 8000") -> str:
    args: dict[str, object] = {"guardian": "李娜", "phone": phone}
    if code is not None:
        args["pickup_code"] = code
    return at(t, "D1", walkin=args)


def walk_in_and_enter() -> list[str]:
    return [
        line("10:00:00", "D1", "bind", "nfc", STAFF),
        walkin("10:00:05"),
        line("10:00:10", "D1", "bind", "nfc", CHILD_1),
        line("10:01:00", "E1", "entry", "nfc", CHILD_1),
    ]


def test_a_walk_in_child_leaves_with_its_code_and_not_with_a_wrong_one(venue: Path) -> None:
    leaving = [
        line("16:00:00", "X1", "exit", "nfc", CHILD_1),
        at("16:00:05", "X1", pickup="111111"),
        at("16:00:10", "X1", pickup="204518"),
        line("16:00:15", "X1", "exit", "nfc", CHILD_1),
    ]
    result = run([*walk_in_and_enter(), *leaving], allowlist=venue)
    assert result.returncode == 0, result.stderr
    got = outputs(result)
    assert [d["code"] for d in got[:-1]] == [
        "OK_STAFF",
        "OK_REGISTERED",
        "OK_BIND",
        "OK_ENTRY",
        "DENY_GUARDIAN_PICKUP",
        "DENY_PICKUP_MISMATCH",
        "OK_PICKUP",
        "OK_EXIT",
    ]
    registered, bound = got[1], got[2]
    assert (registered["group"], registered["role"]) == (GROUP, "solo_child")
    assert "13800138000" not in registered["message"] and "8000" in registered["message"]
    assert (bound["group"], bound["role"]) == (GROUP, "solo_child")
    assert (got[5]["value"], got[5]["group"]) == ("WP111111", GROUP)  # tried for the child
    assert (got[6]["value"], got[6]["group"]) == ("WP204518", GROUP)
    assert got[-1]["summary"]["inside"] == 0


def test_three_wrong_codes_lock_the_childs_codes(venue: Path) -> None:
    wrong = [at(f"16:00:0{n}", "X1", pickup=f"00000{n}") for n in (1, 2, 3)]
    leaving = [line("16:00:00", "X1", "exit", "nfc", CHILD_1), *wrong]
    result = run(
        [*walk_in_and_enter(), *leaving, at("16:00:09", "X1", pickup="204518")], allowlist=venue
    )
    assert result.returncode == 0, result.stderr
    assert outputs(result)[-2]["code"] == "DENY_PICKUP_LOCKED"


def test_no_badge_no_walk_in_and_a_bad_phone_is_refused(venue: Path) -> None:
    result = run(
        [
            walkin("10:00:00"),
            line("10:00:10", "D1", "bind", "nfc", STAFF),
            walkin("10:00:15", phone="12345"),
        ],
        allowlist=venue,
    )
    got = outputs(result)
    assert got[0]["code"] == "DENY_BINDING" and "tap a staff badge" in got[0]["message"]
    assert got[2]["code"] == "DENY_BINDING" and "mobile number" in got[2]["message"]


def test_a_tickets_solo_child_gets_the_code_of_its_bind_line(venue: Path) -> None:
    scans = [
        line("10:00:00", "D1", "bind", "barcode", "TSOLO"),
        json.dumps(
            json.loads(line("10:00:05", "D1", "bind", "nfc", CHILD_2)) | {"pickup_code": "654321"}
        ),
        line("10:01:00", "E1", "entry", "nfc", CHILD_2),
        at("16:00:00", "X1", pickup="654321"),
        line("16:00:05", "X1", "exit", "nfc", CHILD_2),
    ]
    result = run(scans, allowlist=venue)
    assert result.returncode == 0, result.stderr
    assert [d["code"] for d in outputs(result)[:-1]] == [
        "OK_BIND",
        "OK_BIND",
        "OK_ENTRY",
        "OK_PICKUP",
        "OK_EXIT",
    ]


def test_a_code_the_desk_would_not_give_is_ignored_and_said(venue: Path) -> None:
    (venue / "policy.toml").write_text(POLICY + 'pickup_codes = "off"\n')
    result = run(
        [line("10:00:00", "D1", "bind", "nfc", STAFF), walkin("10:00:05")], allowlist=venue
    )
    assert result.returncode == 0, result.stderr
    assert "pickup_code ignored: the policy's pickup_codes is off" in result.stderr


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (at("10:00:00", "X1", pickup="12345"), "pickup"),
        (at("10:00:00", "D1", walkin={"guardian": "李娜"}), "phone"),
        (
            at("10:00:00", "D1", walkin={"guardian": "x", "phone": "1", "pickup_code": "abc"}),
            "pickup_code",
        ),
        (
            json.dumps(
                json.loads(line("10:00:00", "E1", "entry", "nfc", CHILD_1))
                | {"pickup_code": "123456"}
            ),
            "mode bind",
        ),
    ],
)
def test_a_line_that_cannot_be_read_is_skipped_saying_why(venue: Path, bad: str, why: str) -> None:
    result = run([bad], allowlist=venue)
    assert result.returncode == 1
    assert "stdin:1: line skipped" in result.stderr and why in result.stderr, result.stderr
