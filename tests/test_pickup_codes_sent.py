"""The pickup code told to the registered guardian (the venue's `send_pickup_codes` option,
docs/desk.md): the hub's side (hub/service/pickup_codes.py) with the recording notifier, the
test double that writes what would be sent. A desk or handheld of the roster is told for, on
its own topic; anything else is refused, counted and said; neither the code nor the full phone
is ever logged."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gate.core import Policy
from gate.link.pickup_notice import PickupNotice, pickup_topic
from gate.link.protocol import Topics, dump
from hub.service.notify import RecordingNotifier
from hub.service.pickup_codes import PickupCodes

POLICY = Policy(timezone="Asia/Shanghai", open="09:00", close="18:00", capacity=100)
TOPICS = Topics()
ROSTER = {"D1": "desk", "H1": "handheld", "X1": "exit"}
AT_MS = 1_784_340_000_000  # 2026-07-18 10:00 +08:00
NOTICE = PickupNotice(
    gate="D1", group="W-D1-20260718-1", code="204518", phone="13800138000", at_ms=AT_MS
)


@pytest.fixture
def told(tmp_path: Path):
    notifier = RecordingNotifier(tmp_path / "notices.jsonl").start()
    codes = PickupCodes(notifier, POLICY, TOPICS, ROSTER)
    yield codes, tmp_path / "notices.jsonl"
    notifier.stop()


def recorded(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_a_desks_code_is_told_to_the_guardian_in_both_languages(told, caplog) -> None:
    codes, path = told
    caplog.set_level(logging.INFO)
    codes.received(pickup_topic(TOPICS, "D1"), dump(NOTICE), retained=False)
    codes.notifier.stop()
    (notice,) = recorded(path)
    assert (notice["kind"], notice["phone"], notice["group"], notice["gate"]) == (
        "pickup_code",
        "13800138000",
        "W-D1-20260718-1",
        "D1",
    )
    assert "204518" in str(notice["text_zh"]) and "接送码" in str(notice["text_zh"])
    assert "pickup code of your child (W-D1-20260718-1) is 204518" in str(notice["text_en"])
    assert notice["at"] == "2026-07-18T10:00:00+08:00"
    assert "204518" not in caplog.text and "13800138000" not in caplog.text
    assert "*******8000" in caplog.text
    assert codes.counts == {"told": 1, "refused": 0}


@pytest.mark.parametrize(
    ("gate", "payload", "retained", "why"),
    [
        ("X1", dump(NOTICE.model_copy(update={"gate": "X1"})), False, "no desk or handheld"),
        ("D9", dump(NOTICE.model_copy(update={"gate": "D9"})), False, "no desk or handheld"),
        ("H1", dump(NOTICE), False, "names another gate"),
        ("D1", dump(NOTICE), True, "retained"),
        ("D1", b'{"v": 1, "gate": "D1", "code": "12"}', False, "unreadable"),
        ("D1", dump(NOTICE)[:-1] + b', "phone2": "x"}', False, "unreadable"),
    ],
)
def test_anything_but_a_desks_own_notice_is_refused_saying_why(
    told, caplog, gate: str, payload: bytes, retained: bool, why: str
) -> None:
    codes, path = told
    codes.received(pickup_topic(TOPICS, gate), payload, retained)
    codes.notifier.stop()
    assert recorded(path) == []
    assert codes.counts == {"told": 0, "refused": 1}
    assert why in caplog.text and "204518" not in caplog.text


def test_with_no_notifier_nothing_is_told_and_it_says_so(caplog) -> None:
    codes = PickupCodes(None, POLICY, TOPICS, ROSTER)
    codes.received(pickup_topic(TOPICS, "D1"), dump(NOTICE), retained=False)
    assert codes.counts["refused"] == 1 and "[notify] in hub.toml is off" in caplog.text


def test_only_pickup_topics_are_taken() -> None:
    codes = PickupCodes(None, POLICY, TOPICS, ROSTER)
    assert codes.is_mine(pickup_topic(TOPICS, "D1"))
    assert not codes.is_mine(TOPICS.events("D1")) and not codes.is_mine(TOPICS.status("D1"))
    assert not codes.is_mine(f"{TOPICS.prefix}/gate/a/b/pickup")


def test_the_broker_lets_each_desk_alone_write_its_own_pickup_topic() -> None:
    from deploy.broker import write_acl

    acl = write_acl(roster=ROSTER)
    assert "user D1\n" in acl and f"topic write {pickup_topic(TOPICS, 'D1')}" in acl
    assert f"topic write {pickup_topic(TOPICS, 'H1')}" in acl
    assert pickup_topic(TOPICS, "X1") not in acl
    granted = [x for x in acl.splitlines() if "pickup" in x and not x.startswith("#")]
    assert granted == [f"topic write {pickup_topic(TOPICS, g)}" for g in ("D1", "H1")]
