"""`gatectl replace OLD NEW`, `unbind UID`, `reissue UID` at a desk, as a technician types them:
a real subprocess talking to a running desk (`GateRig`: the real daemon, an emulated reader).
Judged by what is printed, `--json`, and the exit status: 0 corrected, 1 refused (with why)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from gate_rig import ADULT, CHILD, CHILD_2, STAFF, GateRig
from test_gatectl import DESK_PINS, Gates, close_later, gatectl, gates  # noqa: F401  (fixtures)

from gate.i18n.reasons import reason_text


@pytest.fixture
def desk(gates: Gates) -> GateRig:  # noqa: F811
    rig = gates("D1", "desk", pins=DESK_PINS)
    assert rig.barcode("T1")["code"] == "OK_BIND"
    assert rig.tap(ADULT)["code"] == rig.tap(CHILD)["code"] == "OK_BIND"
    return rig


def test_without_a_staff_badge_tapped_the_desk_refuses_and_says_so(desk: GateRig) -> None:
    done = gatectl(desk.socket, "unbind", CHILD)
    assert done.returncode == 1, done
    assert done.stdout.startswith("DENY_BINDING: tap a staff badge on this desk's reader first")


def test_a_replacement_after_a_badge_tap_is_corrected_and_journalled_with_the_badge(
    desk: GateRig,
) -> None:
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    done = gatectl(desk.socket, "replace", CHILD.lower(), CHILD_2)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OK_CORRECTED: band {CHILD} revoked as lost; {CHILD_2} now")
    assert reason_text("OK_CORRECTED") in done.stdout
    entry = desk.ask("journal", tail=1)["entries"][-1]["body"]
    assert entry["decision"]["staff"] == STAFF and entry["asked_by"]["pid"]
    [event] = entry["events"]
    assert (event["type"], event["old"], event["new"], event["staff"]) == (
        "BandReplaced",
        CHILD,
        CHILD_2,
        STAFF,
    )
    chinese = gatectl(desk.socket, "--lang", "zh-CN", "reissue", CHILD_2)  # not returned
    assert chinese.returncode == 1 and reason_text("DENY_BINDING", "zh-CN") in chinese.stdout


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("unbind", "not-a-uid"), "uid: "),
        (("replace", ADULT, "zz"), "new: "),
    ],
)
def test_a_uid_that_is_no_uid_is_refused_as_a_bad_request_and_nothing_journalled(
    desk: GateRig, argv: tuple[str, ...], says: str
) -> None:
    before = desk.seq()
    done = gatectl(desk.socket, "--json", *argv)
    answer = json.loads(done.stdout)
    assert done.returncode == 1 and answer["refused"] == "bad_request", answer
    assert says in answer["error"]
    assert desk.seq() == before


def test_a_lane_is_no_desk_and_says_so(gates: Callable[..., GateRig]) -> None:  # noqa: F811
    lane = gates("X1", "exit", scanner=False)
    done = gatectl(lane.socket, "--json", "unbind", ADULT)
    answer = json.loads(done.stdout)
    assert done.returncode == 1 and answer["refused"] == "not_here", answer
    assert "at a desk" in answer["error"]
