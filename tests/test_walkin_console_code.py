"""A walk-in child's pickup code shown once at the console that registered it (docs/desk.md):
the hub's side. The desk sends the code on its own pickup topic with the console's request id
(`hub.service.pickup_codes`); the hub keeps it in memory for that request only, shows it in the
first answer that says the walk-in was decided, and never again; a code for a request the hub
did not ask of that desk, or for another action, is dropped. The guardian is told only when the
notice says so (the venue's `send_pickup_codes`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.core import Policy
from gate.link.pickup_notice import PickupNotice, pickup_topic
from gate.link.protocol import Topics, dump
from hub.service.desk import HANDOVER_WAIT_S, HubDesk
from hub.service.notify import RecordingNotifier
from hub.service.pickup_codes import PickupCodes

POLICY = Policy(timezone="Asia/Shanghai", open="09:00", close="18:00", capacity=100)
TOPICS = Topics()
ROSTER = {"D1": "desk", "D2": "desk", "X1": "exit"}
AT_MS = 1_784_340_000_000


@dataclass
class Stored:
    kind: str
    body: dict[str, Any]


@dataclass
class DeskJournal:
    """What the hub's store holds of the desks' entries, as `HubDesk` reads it."""

    entries: dict[tuple[str, int], Stored] = field(default_factory=dict)

    def acked(self, gate: str) -> int:
        return max((s for g, s in self.entries if g == gate), default=0)

    def get(self, gate: str, seq: int) -> Stored | None:
        return self.entries.get((gate, seq))

    def decide(self, gate: str, request: str, code: str) -> None:
        body = {"request": request, "decision": {"code": code, "message": "ok", "group": "W"}}
        self.entries[(gate, self.acked(gate) + 1)] = Stored("decision", body)


class Clock:
    def __init__(self) -> None:
        self.now = AT_MS / 1000

    def __call__(self) -> float:
        return self.now


def console(journal: DeskJournal, clock: Clock) -> HubDesk:
    published: list[tuple[str, bytes]] = []
    return HubDesk(
        TOPICS,
        lambda topic, payload: published.append((topic, payload)),
        ROSTER,
        journal,  # type: ignore[arg-type]
        lambda gate: None,
        lambda: True,
        clock=clock,
    )


def notice(request: str | None, notify: bool, gate: str = "D1") -> bytes:
    return dump(
        PickupNotice(
            gate=gate,
            group="W-D1-20260718-1",
            code="204518",
            phone="13800138000",
            at_ms=AT_MS,
            notify=notify,
            request=request,
            printed=True,
        )
    )


def test_the_code_is_shown_once_in_the_answer_to_the_walkin_that_asked(tmp_path: Path) -> None:
    journal, clock = DeskJournal(), Clock()
    desk = console(journal, clock)
    codes = PickupCodes(None, POLICY, TOPICS, ROSTER)
    codes.console = desk.hand_over
    asked = desk.ask("D1", "walkin", {"guardian": "李娜", "phone": "13800138000"})["request"]
    assert desk.outcome("D1", asked)["state"] == "pending"
    journal.decide("D1", asked, "OK_REGISTERED")
    assert desk.outcome("D1", asked)["state"] == "pending"  # its code may still come
    codes.received(pickup_topic(TOPICS, "D1"), notice(asked, notify=False), retained=False)
    assert codes.counts == {"told": 0, "refused": 0}  # not for the guardian: nobody told
    first = desk.outcome("D1", asked)
    assert first["state"] == "decided" and first["pickup"] == {
        "group": "W-D1-20260718-1",
        "code": "204518",
        "printed": True,
        "sent": False,
        "to": "*******8000",
    }
    again = desk.outcome("D1", asked)
    assert again["state"] == "decided" and again["pickup"] == {"shown": True}
    assert "204518" not in json.dumps(again)


def test_a_decided_walkin_whose_code_does_not_come_is_said_after_the_wait() -> None:
    journal, clock = DeskJournal(), Clock()
    desk = console(journal, clock)
    asked = desk.ask("D1", "walkin", {"guardian": "李娜", "phone": "13800138000"})["request"]
    journal.decide("D1", asked, "OK_REGISTERED")
    assert desk.outcome("D1", asked)["state"] == "pending"
    clock.now += HANDOVER_WAIT_S + 1
    said = desk.outcome("D1", asked)
    assert said["state"] == "decided" and said["pickup"] is None
    denied = desk.ask("D1", "walkin", {"guardian": "李娜", "phone": "13800138000"})["request"]
    journal.decide("D1", denied, "DENY_BINDING")  # no badge: no code to wait for
    assert desk.outcome("D1", denied)["state"] == "decided"


def test_a_code_for_a_request_not_asked_of_that_desk_is_dropped(caplog) -> None:
    journal, clock = DeskJournal(), Clock()
    desk = console(journal, clock)
    codes = PickupCodes(None, POLICY, TOPICS, ROSTER)
    codes.console = desk.hand_over
    walkin = desk.ask("D1", "walkin", {"guardian": "李娜", "phone": "13800138000"})["request"]
    join = desk.ask("D1", "join", {"ticket": "T1", "other": "T2"})["request"]
    for gate, request in (("D2", walkin), ("D1", join), ("D1", "c-never-asked")):
        payload = notice(request, notify=False, gate=gate)
        codes.received(pickup_topic(TOPICS, gate), payload, retained=False)
    journal.decide("D1", walkin, "OK_REGISTERED")
    journal.decide("D1", join, "OK_JOIN")
    assert desk.outcome("D1", walkin)["state"] == "pending"  # the wait runs from here
    clock.now += HANDOVER_WAIT_S + 1
    assert desk.outcome("D1", walkin)["pickup"] is None
    assert "pickup" not in desk.outcome("D1", join)
    assert caplog.text.count("for no walk-in asked at the console") == 3
    assert "204518" not in caplog.text


def test_with_send_pickup_codes_the_guardian_is_told_and_the_console_says_so(
    tmp_path: Path,
) -> None:
    journal, clock = DeskJournal(), Clock()
    desk = console(journal, clock)
    notifier = RecordingNotifier(tmp_path / "notices.jsonl").start()
    codes = PickupCodes(notifier, POLICY, TOPICS, ROSTER)
    codes.console = desk.hand_over
    asked = desk.ask("D1", "walkin", {"guardian": "李娜", "phone": "13800138000"})["request"]
    codes.received(pickup_topic(TOPICS, "D1"), notice(asked, notify=True), retained=False)
    notifier.stop()
    journal.decide("D1", asked, "OK_REGISTERED")
    shown = desk.outcome("D1", asked)["pickup"]
    assert shown["sent"] is True and shown["code"] == "204518"
    told = [json.loads(x) for x in (tmp_path / "notices.jsonl").read_text().splitlines()]
    assert [(n["kind"], n["phone"]) for n in told] == [("pickup_code", "13800138000")]
    assert codes.counts == {"told": 1, "refused": 0}
