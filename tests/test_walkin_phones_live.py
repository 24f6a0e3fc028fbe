"""A walk-in's guardian phone goes to the hub alone, through the real daemons (docs/desk.md):
a real Mosquitto, `hub run` with the recording notifier, the desk D1 (`gate run`, an emulated
reader for the staff badge), the entry gate E1 and the exit gate X1. A listener logged in as
another gate (E2) hears every gate's events and never the full number; neither E1's nor X1's
state folder (presence store, journal) holds it, nor `gatectl journal` at the desk; the hub's
staff lookup has it in full (the desk's masked) and its notifier tells that number when the
child comes in. A hub restarted keeps it, and a desk restarted sends its day's phones again.
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from broker import MqttClient
from gate_rig import SOLO_CHILD, STAFF, wait_for
from test_desk_console import Desk
from venue_rig import Venue

from gate.control.client import ask
from gate.devices.nfc.emulator import TagEmulator

PHONE = "13800138000"


@pytest.fixture
def desk(tmp_path: Path, fresh_broker) -> Iterator[Desk]:
    venue = Venue(tmp_path, fresh_broker())
    field = TagEmulator("127.0.0.1", 0).start()
    try:
        venue.start_hub(http=f'[notify]\nkind = "record"\nfile = "{tmp_path / "notices.jsonl"}"\n')
        venue.start_gate("D1", reader=field.path)
        venue.start_gate("E1")
        venue.start_gate("X1")
        for gate in ("D1", "E1", "X1"):
            connected = lambda g=gate: venue.gate_status(g)["link"]["connected"]  # noqa: E731
            wait_for(connected, what=f"{gate} connected")
        yield Desk(venue, field)
    finally:
        venue.close()
        field.stop()


def files_hold(folder: Path, text: str) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_the_full_phone_reaches_the_hub_and_no_other_gate(desk: Desk, tmp_path: Path) -> None:
    v = desk.venue
    t = v.broker.topics
    listener = MqttClient(v.broker, "E2", v.broker.credentials.password("E2"))
    assert not listener.connect().is_failure
    try:
        listener.subscribe(f"{t.prefix}/#")
        assert desk.tap(STAFF)["code"] == "OK_STAFF"
        answer = ask(desk.socket, {"cmd": "walkin", "guardian": "李娜", "phone": "138 0013 8000"})
        assert answer["granted"], answer
        group = answer["decision"]["group"]
        assert PHONE not in json.dumps(answer)  # the answer holds the code, not the phone
        assert v.scan("D1", SOLO_CHILD) == "OK_BIND"
        v.wait_bound(("E1", "X1"), (SOLO_CHILD,))
        listener.wait_for_message(t.events("D1"), containing=group)
        assert listener.received(containing=PHONE) == []
        assert listener.received(t.events("D1"), containing="*******8000") != []
        assert v.scan("E1", SOLO_CHILD) == "OK_ENTRY"
        v.wait_state("X1", (SOLO_CHILD,))
        assert listener.received(containing=PHONE) == []
    finally:
        listener.close()
    for gate in ("E1", "X1"):
        assert files_hold(v.root / gate / "state", PHONE) == [], gate
    journal = json.dumps(ask(desk.socket, {"cmd": "journal", "tail": 50}))
    assert PHONE not in journal and "*******8000" in journal

    def lookup(who: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = v.api(f"/api/lookup/{SOLO_CHILD}", who=who)
        except (urllib.error.URLError, OSError):
            return None  # not yet at the hub, or the hub not up
        return found

    def looked_up(who: str) -> dict[str, Any] | None:
        found = lookup(who)
        return found if found is not None and found.get("guardian_phone") else None

    wait_for(lambda: looked_up("staff"), timeout=60, what=f"the hub has the phone: {v.hub.tail()}")
    assert looked_up("staff")["guardian_phone"] == PHONE  # type: ignore[index]
    assert looked_up("desk")["guardian_phone"] == "*******8000"  # type: ignore[index]
    assert ask(str(v.hub.socket), {"cmd": "status"})["guardian_phones"] == {"kept": 1, "refused": 0}

    record = tmp_path / "notices.jsonl"

    def told() -> list[dict[str, Any]]:
        lines = record.read_text().splitlines() if record.exists() else []
        return [n for n in map(json.loads, lines) if n["kind"] == "entry" and n["group"] == group]

    wait_for(told, timeout=60, what=f"the guardian told of the entry: {v.hub.tail()}")
    assert told()[0]["phone"] == PHONE
    hub_log = (v.root / "hub" / "hub.log").read_text(errors="replace")
    assert PHONE not in hub_log and "*******8000" in hub_log

    # the hub restarted keeps it; the desk restarted sends its day's phones again
    notify = f'[notify]\nkind = "record"\nfile = "{record}"\n'
    v.hub.stop()
    v.start_hub(http=notify)
    wait_for(lambda: looked_up("staff"), timeout=60, what=f"kept: {v.hub.tail()}")
    v.hub.stop()
    for suffix in ("", "-wal", "-shm"):  # as if the hub had never heard it
        (v.root / "hub" / "state" / f"guardian_phones.db{suffix}").unlink(missing_ok=True)
    v.start_hub(http=notify)
    wait_for(lambda: lookup("staff"), timeout=60, what="the hub up again")
    assert looked_up("staff") is None  # masked in every event: the hub has no number now
    v.gates["D1"].stop()
    v.start_gate("D1", reader=desk.field.path)
    wait_for(lambda: looked_up("staff"), timeout=60, what=f"sent again: {v.gates['D1'].tail()}")
