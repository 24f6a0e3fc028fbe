"""The desk's actions by name on a running desk gate (`gate.daemon.desk_actions`): the control
socket's `desk` command and `gatectl desk`, with a staff badge tapped on the desk's emulated
reader, the journal as the record of every attempt.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2, STAFF, GateRig, wait_for

from gate.tools.gatectl import desk_args

REPO = Path(__file__).resolve().parent.parent
DESK_PINS = {"green": 22, "red": 27}


def rig(rigs: list[GateRig], tmp_path: Path, gate_id: str, role: str, **options: Any) -> GateRig:
    made = GateRig(tmp_path, gate_id, role, **options)
    rigs.append(made)
    return made.start()


def bind_two_families(desk: GateRig) -> None:
    for ticket, bands in (("T1", (ADULT, CHILD)), ("T2", (ADULT_2, CHILD_2))):
        assert desk.barcode(ticket)["code"] == "OK_BIND"
        for band in bands:
            assert desk.tap(band)["code"] == "OK_BIND"


def entry_of(desk: GateRig, seq: int) -> dict[str, Any]:
    entries = desk.ask("journal", after=seq - 1, limit=1)["entries"]
    assert entries and entries[0]["seq"] == seq, entries
    return dict(entries[0])


def test_a_join_without_a_staff_badge_is_denied_and_journalled(rigs, tmp_path) -> None:
    desk = rig(rigs, tmp_path, "D1", "desk", pins=DESK_PINS)
    bind_two_families(desk)
    answer = desk.ask("desk", action="join", args={"ticket": "T1", "other": "T2"})
    assert answer["ok"] and answer["granted"] is False, answer
    assert answer["decision"]["code"] == "DENY_BINDING"
    assert "staff badge" in answer["decision"]["message"]
    entry = entry_of(desk, answer["seq"])
    assert entry["body"]["events"] == [] and "staff" not in entry["body"]
    assert entry["body"]["request"] == answer["request"]


def test_a_join_with_the_badge_tapped_names_the_staff_and_the_request(rigs, tmp_path) -> None:
    desk = rig(rigs, tmp_path, "D1", "desk", pins=DESK_PINS)
    bind_two_families(desk)
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    asked = {"ticket": "T1", "other": "T2"}
    answer = desk.ask("desk", action="join", args=asked, request="console-42")
    assert answer["granted"] and answer["decision"]["code"] == "OK_JOIN", answer
    body = entry_of(desk, answer["seq"])["body"]
    assert body["staff"] == STAFF and body["request"] == "console-42"
    assert [e["type"] for e in body["events"]] == ["GroupsJoined"]
    assert body["asked_by"]["uid"] == os.getuid()
    again = desk.ask("desk", action="join", args=asked)  # one family already
    refused = again["decision"]
    assert refused["code"] == "DENY_BINDING" and "one family" in refused["message"]


@pytest.mark.parametrize(
    ("request_", "said"),
    [
        pytest.param({"action": "teleport", "args": {}}, "knows no action", id="unknown action"),
        pytest.param({"action": "Join", "args": {}}, "desk action's name", id="not a name"),
        pytest.param({"action": "join", "args": {"ticket": "T1"}}, "other:", id="missing arg"),
        pytest.param({"action": "join", "args": ["T1", "T2"]}, "args:", id="args not an object"),
        pytest.param(
            {"action": "join", "args": {"ticket": "T1", "other": "x" * 300}},
            "at most 256",
            id="too long",
        ),
        pytest.param(
            {"action": "join", "args": {"ticket": "T 1", "other": "T2"}}, "ticket:", id="space"
        ),
        pytest.param({"args": {}}, "'action' is required", id="no action"),
    ],
)
def test_what_an_action_does_not_take_is_refused_and_nothing_is_journalled(
    rigs, tmp_path, request_: dict[str, Any], said: str
) -> None:
    desk = rig(rigs, tmp_path, "D1", "desk", pins=DESK_PINS)
    before = desk.seq()
    answer = desk.ask("desk", **request_)
    assert answer["ok"] is False and answer["refused"] == "bad_request", answer
    assert said in answer["error"]
    assert "internal_error" not in answer
    assert desk.seq() == before
    if request_.get("action") == "teleport":
        assert "join" in answer["error"]  # the names it does know


def test_an_exit_lane_is_no_desk(rigs, tmp_path) -> None:
    lane = rig(rigs, tmp_path, "X1", "exit", scanner=False)
    answer = lane.ask("desk", action="join", args={"ticket": "T1", "other": "T2"})
    assert answer["ok"] is False and answer["refused"] == "not_here", answer
    assert "at a desk" in answer["error"]


def test_gatectl_desk_runs_an_action_by_name(rigs, tmp_path) -> None:
    desk = rig(rigs, tmp_path, "D1", "desk", pins=DESK_PINS)
    bind_two_families(desk)
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env |= {"LANG": "C.UTF-8", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "gate.tools.gatectl", "-s", str(desk.socket), "desk", "join"]
    done = subprocess.run(
        [*argv, "ticket=T1", "other=T2"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "OK_JOIN" in done.stdout and "T1, T2" in done.stdout
    bad = subprocess.run([*argv, "T1"], capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_desk_arguments_a_key_twice_is_a_list() -> None:
    assert desk_args(["group=T1", "name=Li Lei", "name=Han Meimei"]) == {
        "group": "T1",
        "name": ["Li Lei", "Han Meimei"],
    }
    assert desk_args(["note=a=b"]) == {"note": "a=b"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        desk_args(["=x"])


def test_a_binding_gone_quiet_short_makes_the_desk_say_who_is_missing(
    rigs, tmp_path, caplog
) -> None:
    desk = rig(rigs, tmp_path, "D1", "desk", extra='language = "zh-CN"\n')  # amber fitted
    assert desk.barcode("T1")["code"] == "OK_BIND" and desk.tap(ADULT)["code"] == "OK_BIND"
    counted = lambda: desk.status()["counters"].get("binding_left_short")  # noqa: E731
    wait_for(lambda: counted() == 1, timeout=30, what="the desk says T1 is short")  # window 5 s
    said = [r.getMessage() for r in caplog.records if "T1" in r.getMessage()]
    assert any("门票 T1 的家庭未到齐" in m and "1 名儿童" in m for m in said), said
    assert any(pin.state for pin in desk.factory.pin(23).states)  # amber: the waiting signal
    time.sleep(6)  # quiet on: said once per quiet spell
    assert counted() == 1
    assert desk.tap(CHILD)["code"] == "OK_BIND"  # the rest of the family came: complete
    time.sleep(6)
    assert counted() == 1
