"""The pickup code sent to the guardian through the real daemons (the venue's
`send_pickup_codes` option, docs/desk.md): a desk (`gate.daemon.gate.Gate` with the emulated
reader) and `hub run` on a real Mosquitto, the hub's notifier the recording double
(`[notify] kind = "record"`), which writes what would be sent. A walk-in child's code and a
ticket's solo child's code reach the registered guardian's phone; neither is in the hub's log
or the desk's journal, nor the full phone in the hub's log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_rig import SOLO_CHILD, GateRig, rigs, wait_for
from test_guardians_live import start, walk_in
from venue_rig import Venue

from gate.control.client import ask

__all__ = ["rigs"]

POLICY = (
    'timezone = "UTC"\nopen = "00:00"\nclose = "00:00"\ncapacity = 100\n'
    "pairing_window_s = 30\nsend_pickup_codes = true\n"
)


@pytest.fixture
def venue(tmp_path: Path, fresh_broker) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())
    (v.venue / "policy.toml").write_text(POLICY)  # before the desk or the hub reads it
    yield v
    v.close()


def notices(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_the_desk_sends_each_pickup_code_to_the_registered_guardian(
    rigs: list[GateRig], tmp_path: Path, venue: Venue
) -> None:
    record = tmp_path / "notices.jsonl"
    hub = venue.start_hub(http=f'[notify]\nkind = "record"\nfile = "{record}"\n')
    desk = start(rigs, tmp_path, "D1", "desk", venue.broker, scanner=False)

    def hub_hears_d1() -> bool:
        return "D1" in ask(str(hub.socket), {"cmd": "status"}).get("gates", {})

    wait_for(hub_hears_d1, timeout=60, what="the hub hears D1 (subscribed)")
    answer = walk_in(desk)
    assert answer["granted"], answer
    handed = answer["decision"]["pickup"]
    group, code = handed["group"], handed["code"]
    assert handed["sent"] is True, handed

    def told(group: str) -> list[dict[str, Any]]:
        return [n for n in notices(record) if n["kind"] == "pickup_code" and n["group"] == group]

    wait_for(lambda: told(group), timeout=60, what="the walk-in's code told", log=hub.tail)
    (notice,) = told(group)
    assert (notice["phone"], notice["gate"]) == ("13800138000", "D1")
    assert code in notice["text_zh"] and code in notice["text_en"]

    # a ticket's solo child: its code given with its band (held to the reader: the code goes
    # to the receipt and the guardian, not to an asker), to the ticket's guardian phone
    assert desk.ask("scan", kind="barcode", value="TSOLO")["decision"]["code"] == "OK_BIND"
    assert desk.tap(SOLO_CHILD)["code"] == "OK_BIND"
    wait_for(lambda: told("TSOLO"), timeout=60, what="the ticket's code told", log=hub.tail)
    (ticket,) = told("TSOLO")
    found = re.search(r"is (\d{6})\.", ticket["text_en"])
    assert found is not None and ticket["phone"] == "13800138000", ticket
    other = found[1]
    assert desk.status()["counters"].get("pickup_codes_sent") == 2

    hub_log = (venue.root / "hub" / "hub.log").read_text(errors="replace")
    assert "pickup code of" in hub_log and "*******8000" in hub_log
    for secret in (code, other, "13800138000"):
        assert secret not in hub_log
    journal = str(desk.ask("journal", tail=50))
    assert f"'{code}'" not in journal and f"'{other}'" not in journal
