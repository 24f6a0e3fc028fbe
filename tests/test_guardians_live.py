"""Walk-in children and verified pickup through the real daemons: a desk, an entry and an exit
gate (`gate.daemon.gate.Gate` with the emulated reader, a pty scanner and mock pins) on a real
Mosquitto, and `hub run` on the same broker.

- Staff tap their badge at the desk and register a walk-in child; the code is printed on the
  desk's receipt printer; the child's band binds as a solo child with its token, goes in, and
  leaves when the guardian's printed code is read by the exit's scanner: not before, not with
  a wrong code, not with another child's code.
- A staff override without a code still releases, recorded forced, and the hub finds it an
  unverified pickup; a child with a not-authorised list is not released by an override, and
  the hub raises the alert.
"""

from __future__ import annotations

import json
import re
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_rig import ADULT, CHILD, CHILD_2, SOLO_CHILD, STAFF, GateRig, link_section, rigs, wait_for
from venue_rig import Venue

from gate.control.client import ask
from gate.devices.printer import qr_data

__all__ = ["rigs"]


def start(
    rigs: list[GateRig], tmp_path: Path, gate_id: str, role: str, broker: Any, **options: Any
) -> GateRig:
    extra = link_section(broker, gate_id, tmp_path / "secrets") + options.pop("extra", "")
    rig = GateRig(tmp_path, gate_id, role, extra=extra, **options)
    rigs.append(rig)
    return rig.start().linked()  # hears its peers from their first entry on


@pytest.fixture
def venue(tmp_path: Path, fresh_broker) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())  # the allowlist and site key the rigs share
    yield v
    v.close()


@pytest.fixture
def lanes(rigs: list[GateRig], tmp_path: Path, venue: Venue) -> dict[str, GateRig]:
    printer = tmp_path / "D1-printer"
    return {
        "D1": start(
            rigs,
            tmp_path,
            "D1",
            "desk",
            venue.broker,
            scanner=False,
            hardware=f'[printer]\ndevice = "{printer}"\n',
        ),
        "E1": start(rigs, tmp_path, "E1", "entry", venue.broker, scanner=False),
        "X1": start(rigs, tmp_path, "X1", "exit", venue.broker),
    }


def knows(rig: GateRig, *bands: str, state: str | None = None) -> None:
    def held(band: str) -> bool:
        member = rig.ask("allowlist", lookup=band)["lookup"].get("member")
        return member is not None and (state is None or member["state"] == state)

    for band in bands:
        wait_for(lambda b=band: held(b), timeout=30, what=f"{rig.gate_id} holds {band} {state}")


def walk_in(desk: GateRig, phone: str = "138 0013 8000") -> dict[str, Any]:
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    return desk.ask("walkin", guardian="李娜", phone=phone)


def child_inside(lanes: dict[str, GateRig]) -> tuple[str, str, bytes]:
    """A walk-in child registered, bound and inside: its group, its code, its band's memory."""
    desk, entry = lanes["D1"], lanes["E1"]
    answer = walk_in(desk)
    assert answer["granted"], answer
    group, code = answer["decision"]["group"], answer["decision"]["pickup"]["code"]
    bound = desk.tap(SOLO_CHILD)
    said = {k: v for k, v in bound.items() if k != "memory"}
    assert (bound["code"], bound["group"], bound["role"]) == ("OK_BIND", group, "solo_child"), said
    knows(entry, SOLO_CHILD)
    entered = entry.tap(SOLO_CHILD, bound["memory"])
    assert entered["code"] == "OK_ENTRY", entered
    knows(lanes["X1"], SOLO_CHILD, state="inside")
    return group, code, entered["memory"]  # the band as it left the entry: its passage on it


def test_a_walk_in_child_leaves_with_the_guardians_printed_code_and_not_without(
    lanes: dict[str, GateRig], tmp_path: Path
) -> None:
    group, code, band = child_inside(lanes)
    assert re.fullmatch(r"W-D1-\d{8}-1", group) and re.fullmatch(r"\d{6}", code)
    assert qr_data((tmp_path / "D1-printer").read_bytes()) == [f"WP{code}"]
    journal = str(lanes["D1"].ask("journal", tail=20))
    assert f"'{code}'" not in journal and "pickup" not in journal  # its digest only
    # every gate hears the event: the phone masked in it, and in `gatectl journal`; the full
    # number goes to the hub alone (tests/test_walkin_phones_live.py)
    assert "13800138000" not in journal and "*******8000" in journal

    exit_gate = lanes["X1"]
    assert exit_gate.tap(SOLO_CHILD, band)["code"] == "DENY_GUARDIAN_PICKUP"
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert exit_gate.barcode(f"WP{wrong}")["code"] == "DENY_PICKUP_MISMATCH"
    assert exit_gate.tap(SOLO_CHILD, band)["code"] == "DENY_GUARDIAN_PICKUP"
    matched = exit_gate.barcode(f"WP{code}")
    assert (matched["code"], matched["group"]) == ("OK_PICKUP", group), matched
    left = exit_gate.tap(SOLO_CHILD, band)
    assert left["code"] == "OK_EXIT" and not left["forced"], left
    assert exit_gate.status()["headcount"]["inside"] == 0


def test_another_childs_code_does_not_release_this_one(lanes: dict[str, GateRig]) -> None:
    desk, exit_gate = lanes["D1"], lanes["X1"]
    _group, code, band = child_inside(lanes)
    assert desk.ask("scan", kind="barcode", value="T1")["decision"]["code"] == "OK_BIND"
    family = {uid: desk.tap(uid) for uid in (ADULT, CHILD)}  # the family's own code: option "solo"
    assert all("pickup" not in d for d in family.values())
    other = walk_in(desk, phone="13900139000")
    assert other["decision"]["group"].endswith("-2")
    other_code = other["decision"]["pickup"]["code"]
    other_band = desk.tap(CHILD_2)
    assert other_band["code"] == "OK_BIND", other_band
    lanes["E1"].tap(CHILD_2, other_band["memory"])
    knows(exit_gate, CHILD_2, state="inside")
    assert exit_gate.ask("pickup", code=other_code)["decision"]["code"] == "OK_PICKUP"
    refused = exit_gate.tap(SOLO_CHILD, band)
    assert refused["code"] == "DENY_PICKUP_MISMATCH", refused
    assert exit_gate.ask("pickup", code=code)["granted"]  # typed by staff at the lane
    assert exit_gate.tap(SOLO_CHILD, band)["code"] == "OK_EXIT"


def test_bad_requests_are_refused_with_what_to_fix(lanes: dict[str, GateRig]) -> None:
    desk, exit_gate = lanes["D1"], lanes["X1"]
    no_badge = desk.ask("walkin", guardian="李娜", phone="13800138000")
    assert not no_badge["granted"] and "tap a staff badge" in no_badge["decision"]["message"]
    bad_phone = walk_in(desk, phone="1380013800")
    assert bad_phone["refused"] == "bad_request" and "11 digits" in bad_phone["error"]
    at_exit = exit_gate.ask("walkin", guardian="李娜", phone="13800138000")
    assert at_exit["refused"] == "not_here", at_exit
    assert desk.ask("pickup", code="123456")["refused"] == "not_here"
    assert exit_gate.ask("pickup", code="12345")["refused"] == "bad_request"


def findings(v: Venue, kind: str) -> list[dict[str, Any]]:
    return [f for f in v.api("/api/findings") if f["kind"] == kind]


def test_an_override_without_the_code_releases_and_the_hub_finds_it_unverified(
    venue: Venue, lanes: dict[str, GateRig]
) -> None:
    venue.start_hub()
    group, _code, band = child_inside(lanes)
    exit_gate = lanes["X1"]

    def looked_up(who: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = venue.api(f"/api/lookup/{SOLO_CHILD}", who=who)
        except urllib.error.HTTPError:
            return None  # not yet at the hub
        return found

    wait_for(lambda: looked_up("desk"), timeout=60, what="the hub knows the walk-in child")
    desk_view, staff_view = looked_up("desk"), looked_up("staff")
    assert desk_view is not None and staff_view is not None
    assert desk_view["group"] == group and desk_view["guardian_phone"] == "*******8000"
    assert staff_view["guardian_phone"] == "13800138000"
    assert exit_gate.tap(STAFF)["code"] == "OK_STAFF"
    forced = exit_gate.tap(SOLO_CHILD, band)
    assert (forced["code"], forced["overrode"]) == ("OK_OVERRIDE", "DENY_GUARDIAN_PICKUP")
    wait_for(lambda: findings(venue, "unverified_pickup"), timeout=60, what="unverified_pickup")
    found = findings(venue, "unverified_pickup")
    assert len(found) == 1 and found[0]["uid"] == SOLO_CHILD and found[0]["severity"] == "warning"
    assert not [f for f in venue.api("/api/findings") if f["severity"] == "critical"]


def test_a_child_on_a_not_authorised_list_is_not_released_by_override_and_the_hub_alerts(
    venue: Venue, lanes: dict[str, GateRig]
) -> None:
    venue.start_hub()
    desk, exit_gate = lanes["D1"], lanes["X1"]
    group, code, band = child_inside(lanes)
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    listed = desk.ask("not_authorised", group=group, names=["张伟"])
    assert listed["granted"] and listed["decision"]["staff"] == STAFF, listed
    wait_for(
        lambda: _heard_list(exit_gate, group),
        timeout=30,
        what="X1 hears of the list",
    )
    assert exit_gate.tap(STAFF)["code"] == "OK_STAFF"
    barred = exit_gate.tap(SOLO_CHILD, band)
    assert barred["code"] == "DENY_GUARDIAN_PICKUP" and "not-authorised" in barred["message"]
    wait_for(lambda: findings(venue, "pickup_not_authorised"), timeout=60, what="the hub's alert")
    alert = findings(venue, "pickup_not_authorised")[0]
    assert alert["severity"] == "critical" and alert["group"] == group
    shown = [a["kind"] for a in venue.api("/api/alerts")]
    assert "pickup_not_authorised" in shown
    assert exit_gate.ask("pickup", code=code)["granted"]  # the guardian's code still releases
    assert exit_gate.tap(SOLO_CHILD, band)["code"] == "OK_EXIT"


def _heard_list(rig: GateRig, group: str) -> bool:
    """Whether the gate folded the desk's not-authorised list (it comes over the broker)."""
    assert rig.gate is not None
    return bool(rig.gate.state.not_authorised.get(group))


def test_the_hub_tells_the_registered_guardian_by_webhook_at_entry_and_exit(
    venue: Venue, lanes: dict[str, GateRig]
) -> None:
    from test_notify import Guardians

    webhook = Guardians(answers=[503])  # the first attempt fails: tried again
    try:
        venue.start_hub(http=f'[notify]\nkind = "webhook"\nurl = "{webhook.url}/n"\nretries = 2\n')
        group, code, band = child_inside(lanes)
        exit_gate = lanes["X1"]
        assert exit_gate.barcode(f"WP{code}")["code"] == "OK_PICKUP"
        assert exit_gate.tap(SOLO_CHILD, band)["code"] == "OK_EXIT"

        def told() -> list[dict[str, Any]]:
            return [json.loads(r["body"]) for r in webhook.requests[1:]]

        wait_for(lambda: len(told()) == 2, timeout=60, what="the guardian told twice")
        assert [(n["kind"], n["group"], n["phone"]) for n in told()] == [
            ("entry", group, "13800138000"),
            ("exit", group, "13800138000"),
        ]
        assert told()[1]["gate"] == "X1" and "出园" in told()[1]["text_zh"]
        status = ask(str(venue.hub.socket), {"cmd": "status"})
        assert status["notify"]["sent"] == 2 and status["notify"]["retried"] == 1, status
    finally:
        webhook.close()


def test_gatectl_registers_a_walk_in_and_shows_staff_the_code_in_either_language(
    lanes: dict[str, GateRig], capsys: pytest.CaptureFixture[str]
) -> None:
    from gate.tools.gatectl import main

    desk = lanes["D1"]
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    argv = ["-s", str(desk.socket), "walkin", "--guardian", "李娜", "--phone", "13800138000"]
    assert main([*argv, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"pickup code (\d{6}) for (W-D1-\d{8}-1) \(printed\)", out)
    assert found is not None, out
    assert "OK_REGISTERED" in out and "*******8000" in out and "13800138000" not in out
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    assert (
        main(["-s", str(desk.socket), "not-authorised", found[2], "张伟", "--lang", "zh-CN"]) == 0
    )
    assert "已由工作人员在服务台登记" in capsys.readouterr().out
    assert main(["-s", str(lanes["X1"].socket), "pickup", "12345"]) != 0  # five digits


def test_a_tickets_solo_child_gets_its_code_with_its_band_and_a_family_none(
    lanes: dict[str, GateRig], tmp_path: Path
) -> None:
    desk = lanes["D1"]

    def scan(value: str, kind: str = "nfc") -> dict[str, Any]:
        return dict(desk.ask("scan", kind=kind, value=value)["decision"])

    assert scan("TSOLO", "barcode")["code"] == "OK_BIND"
    bound = scan(SOLO_CHILD)
    assert (bound["code"], bound["role"]) == ("OK_BIND", "solo_child")
    code = bound["pickup"]["code"]
    assert bound["pickup"]["printed"] and qr_data((tmp_path / "D1-printer").read_bytes()) == [
        f"WP{code}"
    ]
    assert "pickup" not in str(desk.status()["last"])  # never kept where status shows it
    assert scan("T1", "barcode")["code"] == "OK_BIND"
    assert all("pickup" not in scan(uid) for uid in (ADULT, CHILD))  # "solo": families none
