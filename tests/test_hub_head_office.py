"""The hub's forwarding to head office, on its own (hub/service/head_office.py): a real event
store, a publish that records, a clock the test moves. What is sent above the watermark and
within the window, when it is sent again, and which acknowledgements are believed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.link.protocol import Entry
from hub.chain.wire import Ack, Summary, dump, read_batch
from hub.service.config import HqSection
from hub.service.head_office import HeadOfficeLink
from hub.store.events import EventStore

PREFIX = "wristgate/v1"
ENTRIES = f"{PREFIX}/hq/venue/V1/entries"
ACK = f"{PREFIX}/hq/ack/V1"


def entry(seq: int, size: int = 10) -> Entry:
    return Entry(
        seq=seq,
        nonce=f"nonce{seq:06d}",
        wall_ms=1_784_000_000_000 + seq,
        hlc=f"{0x18C000000000 + seq:016x}",
        kind="passage",
        body={"n": seq, "pad": "x" * size},
    )


class Rig:
    def __init__(self, tmp_path: Path, **section: object) -> None:
        self.store = EventStore(tmp_path / "events.db")
        self.sent: list[tuple[str, bytes]] = []
        self.now = 1000.0
        settings = {"venue": "V1", "resend_after_s": 10.0, **section}
        self.link = HeadOfficeLink(
            HqSection.model_validate(settings),
            PREFIX,
            self.store,
            lambda topic, payload, qos=1, retain=False: self.sent.append((topic, payload)),
            self._summary,
            clock=lambda: self.now,
            wall_ms=lambda: 1_800_000_000_000,
        )
        self.subscribed: list[str] = []
        self.link.link_up(lambda topic, qos: self.subscribed.append(topic))

    def _summary(self, entries: int, acked: int) -> Summary:
        return Summary(
            venue="V1",
            at_ms=1,
            day="2026-07-14",
            inside=0,
            children=0,
            unaccompanied_children=0,
            live=True,
            entries=entries,
            acked=acked,
        )

    def add(self, first: int, last: int, size: int = 10) -> None:
        self.store.add("E1", [entry(s, size) for s in range(first, last + 1)], received_ms=1)

    def batches(self) -> list[tuple[int, int]]:
        found = [read_batch(p) for t, p in self.sent if t == ENTRIES]
        self.sent.clear()
        return [(b.first, b.last) for b in found]

    def ack(self, upto: int) -> bool:
        return self.link.takes(ACK, dump(Ack(venue="V1", upto=upto)))


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path, batch_entries=100, window_entries=250)
    yield r
    r.store.close()


def test_it_sends_above_the_watermark_within_the_window(rig: Rig) -> None:
    assert rig.subscribed == [ACK]
    rig.add(1, 300)
    rig.link.tick()
    assert rig.batches() == [(1, 100), (101, 200), (201, 250)]
    rig.link.tick()
    assert rig.batches() == []  # 250 unacknowledged: the window is full
    assert rig.ack(200)
    rig.link.tick()
    assert rig.batches() == [(251, 300)]


def test_no_acknowledgement_for_resend_after_s_sends_again_from_the_watermark(rig: Rig) -> None:
    rig.add(1, 50)
    rig.link.tick()
    rig.ack(20)
    assert rig.batches() == [(1, 50)]
    rig.now += 9
    rig.link.tick()
    assert rig.batches() == []
    rig.now += 2
    rig.link.tick()
    assert rig.batches() == [(21, 50)]
    assert rig.link.counters["resends"] == 1


def test_a_reconnect_sends_again_and_the_watermark_is_kept_on_disk(rig: Rig, tmp_path) -> None:
    rig.add(1, 30)
    rig.link.tick()
    rig.ack(30)
    rig.add(31, 40)
    rig.link.tick()
    assert rig.batches() == [(1, 30), (31, 40)]
    rig.link.link_down()
    rig.link.tick()
    assert rig.batches() == []  # nothing while the hub's broker link is down
    rig.link.link_up(lambda topic, qos: None)
    rig.link.tick()
    assert rig.batches() == [(31, 40)]
    assert rig.store.chain.acked() == 30


def test_an_acknowledgement_beyond_what_the_hub_holds_is_refused(rig: Rig) -> None:
    rig.add(1, 10)
    assert rig.ack(11)
    assert rig.store.chain.acked() == 0
    assert rig.link.counters["ack_refused"] == 1
    assert rig.link.takes(ACK, b'{"v":1,"venue":"V2","upto":1}')  # another venue's: refused
    assert rig.link.takes(ACK, b"not json")
    assert rig.link.counters["ack_refused"] == 3
    assert not rig.link.takes(f"{PREFIX}/hub/ack/E1", b"{}")  # not head office's: the ingest's


def test_an_acknowledgement_that_went_back_is_followed(rig: Rig) -> None:
    rig.add(1, 40)
    rig.link.tick()
    rig.ack(40)
    rig.batches()
    rig.ack(25)  # head office restored from an older backup
    assert rig.store.chain.acked() == 25
    rig.link.tick()
    assert rig.batches() == [(26, 40)]
    assert rig.link.counters["went_back"] == 1


def test_a_batch_is_cut_below_the_size_limit(tmp_path: Path) -> None:
    rig = Rig(tmp_path, batch_entries=500, window_entries=1000)
    rig.add(1, 200, size=6000)  # 200 entries of 6 kB: 1.2 MB, over 512 KiB
    rig.link.tick()
    sent = [(t, p) for t, p in rig.sent if t == ENTRIES]
    assert all(len(p) <= 512 * 1024 for _, p in sent)
    assert rig.batches()[-1][1] == 200
    rig.store.close()


def test_the_summary_goes_on_change_and_every_summary_every_s(tmp_path: Path) -> None:
    rig = Rig(tmp_path, summary_every_s=10.0)
    rig.link.tick()
    summaries = [t for t, _ in rig.sent if t.endswith("/summary")]
    assert len(summaries) == 1
    for _ in range(3):
        rig.now += 2.5
        rig.link.tick()
    assert len([t for t, _ in rig.sent if t.endswith("/summary")]) == 1  # unchanged, not due
    rig.now += 5
    rig.link.tick()
    assert len([t for t, _ in rig.sent if t.endswith("/summary")]) == 2
    payload = json.loads(next(p for t, p in reversed(rig.sent) if t.endswith("/summary")))
    assert payload["venue"] == "V1"
    rig.store.close()
