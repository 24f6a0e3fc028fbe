"""`hq run`'s page and API (hq/service/web.py, chain.py, sheets.py, tokens.py): a real `hq run`
reading a real nats-server's stream, fed with the example day's entries as two venues' hubs
would send them. Head office's figures are the hub's own fold of the entries; a venue's token
sees its venue alone; no token is 401; hostile messages are refused, counted, and change
nothing; Chromium shows the chain's page, in Chinese too."""

from __future__ import annotations

import json
import shutil
import urllib.error
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import nats
import pytest
from browser import Browser, missing
from day_store import example_hub
from gate_rig import wait_for
from hq_rig import HeadOffice
from nats.js.api import StreamConfig
from nats_cluster import nats_options, run

from deploy.nats_process import NatsCluster
from hub.chain.wire import (
    STREAM,
    STREAM_SUBJECTS,
    ChainEntry,
    EntryBatch,
    Summary,
    dump,
)
from hub.fold.reconcile import VenueState
from hub.store.events import EventStore
from hub.views.reports.daily import daily_report

STALE_AFTER_S = 8.0


class Fed:
    """What was published, and what head office should make of it."""

    def __init__(self, office: HeadOffice, cluster: NatsCluster, store: EventStore) -> None:
        self.office, self.cluster, self.store = office, cluster, store
        self.numbered = store.chain.after(0, 1_000_000)
        self.headcount = VenueState(store).headcount()
        first = self.numbered[0][1]
        tz = example_hub()[0].policy.tz
        from datetime import UTC, datetime

        self.day: date = datetime.fromtimestamp(first.wall_ms / 1000, UTC).astimezone(tz).date()
        self.report = daily_report(store, self.day, tz)

    def batches(self, venue: str, size: int = 200) -> list[bytes]:
        out = []
        for i in range(0, len(self.numbered), size):
            rows = self.numbered[i : i + size]
            entries = tuple(ChainEntry(**e._asdict()) for _, e in rows)
            batch = EntryBatch(venue=venue, first=rows[0][0], last=rows[-1][0], entries=entries)
            out.append(batch.dump())
        return out

    def summary(self, venue: str, inside: int | None = None, live: bool = True) -> bytes:
        count = self.headcount
        return dump(
            Summary(
                venue=venue,
                at_ms=1_800_000_000_000,
                day=self.day.isoformat(),
                timezone="Asia/Shanghai",
                inside=count.inside if inside is None else inside,
                children=count.children,
                unaccompanied_children=count.unaccompanied_children,
                live=live,
                entries=len(self.numbered),
                acked=0,
            )
        )


async def _publish(cluster: NatsCluster, messages: list[tuple[str, bytes]]) -> None:
    nc = await nats.connect(**nats_options(cluster))
    try:
        js = nc.jetstream()
        for subject, payload in messages:
            await js.publish(subject, payload, timeout=10)
    finally:
        await nc.close()


async def _make_stream(cluster: NatsCluster) -> None:
    nc = await nats.connect(**nats_options(cluster))
    try:
        await nc.jetstream().add_stream(
            StreamConfig(name=STREAM, subjects=list(STREAM_SUBJECTS), num_replicas=1)
        )
    finally:
        await nc.close()


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    root = tmp_path_factory.mktemp("hqweb")
    _day, hub_toml = example_hub()
    shutil.copy(hub_toml.parent / "state" / "events.db", root / "events.db")
    cluster = NatsCluster(root / "nats", 1, users={"hq": "hq-password-" + "x" * 10})
    cluster.start()
    store = EventStore(root / "events.db")
    office = HeadOffice(
        root / "hq",
        cluster,
        tokens={"chain": ["*"], "v1": ["V1"]},
        stale_after_s=STALE_AFTER_S,
    )
    try:
        run(_make_stream(cluster))  # the venues' hubs publish before head office ever ran
        fed = Fed(office, cluster, store)
        messages = [("hq.venue.V1.entries", p) for p in fed.batches("V1")]
        messages += [("hq.venue.V2.entries", p) for p in fed.batches("V2", size=97)]
        messages += [("hq.venue.V2.entries", fed.batches("V2", size=97)[1])]  # sent again
        run(_publish(cluster, messages))
        office.start()
        yield fed
    finally:
        office.stop()
        store.close()
        cluster.stop()


def _venues(fed: Fed, who: str = "chain") -> dict[str, dict]:
    return {row["venue"]: row for row in fed.office.api("/api/venues", who)["venues"]}


def _caught_up(fed: Fed) -> bool:
    rows = _venues(fed)
    return all(
        rows.get(v, {}).get("entries_at_hq") == len(fed.numbered) and not rows[v]["provisional"]
        for v in ("V1", "V2")
    )


def _status(call) -> int:
    try:
        call()
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def test_each_venue_is_folded_from_its_entries_with_the_hubs_own_fold(fed: Fed) -> None:
    wait_for(lambda: _caught_up(fed), 60, "both venues at head office", log=fed.office.tail)
    rows = _venues(fed)
    for venue in ("V1", "V2"):
        row = rows[venue]
        assert row["inside"] == fed.headcount.inside
        assert row["children"] == fed.headcount.children
        assert row["unaccompanied_children"] == fed.headcount.unaccompanied_children
        assert row["highest"] == row["entries_at_hq"] == len(fed.numbered)
    assert rows["V2"]["duplicates"] == 97  # the batch sent twice stored once
    assert fed.headcount.inside == example_hub()[0].state.inside


def test_what_the_hub_says_is_shown_beside_and_a_disagreement_flagged(fed: Fed) -> None:
    run(_publish(fed.cluster, [("hq.venue.V1.summary", fed.summary("V1"))]))
    wait_for(lambda: _venues(fed)["V1"]["hub"]["inside"] is not None, 30, "V1's summary")
    v1 = _venues(fed)["V1"]
    assert (v1["disagree"], v1["stale"]) == (False, False)
    wrong = fed.summary("V2", inside=fed.headcount.inside + 3)
    run(_publish(fed.cluster, [("hq.venue.V2.summary", wrong)]))
    wait_for(lambda: _venues(fed)["V2"]["disagree"], 30, "V2's hub disagreeing")
    assert _venues(fed)["V2"]["hub"]["inside"] == fed.headcount.inside + 3


def test_a_venues_token_sees_that_venue_alone_and_no_token_sees_nothing(fed: Fed) -> None:
    wait_for(lambda: _caught_up(fed), 60, "both venues at head office", log=fed.office.tail)
    assert list(_venues(fed, "v1")) == ["V1"]
    assert fed.office.api("/api/venues/V1", "v1")["venue"] == "V1"
    other = _status(lambda: fed.office.api("/api/venues/V2", "v1"))
    unknown = _status(lambda: fed.office.api("/api/venues/V9", "v1"))
    assert other == unknown == 404  # another venue's is answered as one that does not exist
    sheets = fed.office.api(f"/api/sheets?day={fed.day}", "v1")
    assert list(sheets["venues"]) == ["V1"]
    assert _status(lambda: fed.office.get("/api/venues")) == 401
    assert _status(lambda: fed.office.get("/api/venues", "token-chain-" + "x" * 24)) == 401
    assert _status(lambda: fed.office.get("/api/sheets")) == 401


def test_the_days_sheet_per_venue_and_for_the_chain(fed: Fed) -> None:
    wait_for(lambda: _caught_up(fed), 60, "both venues at head office", log=fed.office.tail)
    sheets = fed.office.api(f"/api/sheets?day={fed.day}")
    report = fed.report
    for venue in ("V1", "V2"):
        sheet = sheets["venues"][venue]
        assert sheet["entries"] == report.admitted > 0
        assert sheet["peak"] == report.peak > 0
        assert sheet["overrides"] == len(report.overrides)
        assert sheet["exits"] == sum(h.exits_adults + h.exits_children for h in report.hours)
    assert sheets["chain"]["entries"] == 2 * report.admitted
    assert sheets["chain"]["temporary_exits"] == 2 * sheets["venues"]["V1"]["temporary_exits"]
    empty = fed.office.api("/api/sheets?day=2001-01-01")
    assert empty["chain"]["entries"] == 0
    assert _status(lambda: fed.office.api("/api/sheets?day=yesterday")) == 400


def test_hostile_messages_are_refused_counted_and_change_nothing(fed: Fed) -> None:
    wait_for(lambda: _caught_up(fed), 60, "both venues at head office", log=fed.office.tail)
    before = fed.office.get("/healthz")["refused"]
    forged = json.loads(fed.batches("V1")[0])
    forged["venue"] = "V2"  # a batch of V2's on V1's subject: refused, whoever sent it
    hostile = [
        ("hq.venue.V1.entries", json.dumps(forged).encode()),
        ("hq.venue.V1.entries", b"\xff not json"),
        ("hq.venue.V1.entries", b'{"v": 1, "venue": "V1", "from": 1, "to": 9, "entries": []}'),
        ("hq.venue.V1.summary", b'{"v": 2}'),
    ]
    run(_publish(fed.cluster, hostile))
    wait_for(
        lambda: sum(fed.office.get("/healthz")["refused"].values()) >= sum(before.values()) + 4,
        30,
        "the hostile messages refused",
        log=fed.office.tail,
    )
    rows = _venues(fed)
    assert rows["V2"]["entries_at_hq"] == rows["V1"]["entries_at_hq"] == len(fed.numbered)
    assert rows["V1"]["inside"] == fed.headcount.inside
    health = fed.office.get("/healthz")
    assert health["reading"] is True
    assert health["counters"]["refused"] >= 4 and health["counters"]["acks"] > 0


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
@pytest.mark.parametrize(("language", "inside_now"), [("en", "Inside now"), ("zh-CN", "在馆人数")])
def test_the_chain_page_shows_every_venue_live_or_stale(
    fed: Fed, tmp_path: Path, language: str, inside_now: str
) -> None:
    wait_for(lambda: _caught_up(fed), 60, "both venues at head office", log=fed.office.tail)
    run(_publish(fed.cluster, [("hq.venue.V1.summary", fed.summary("V1"))]))
    browser = Browser(tmp_path / "profile", log=tmp_path / "chromedriver.log")
    try:
        token = fed.office.tokens["chain"]
        browser.open(f"{fed.office.url}/?lang={language}&day={fed.day}#token={token}")
        rows = "return [...document.querySelectorAll('#venues tbody tr')].map(r => r.dataset.venue)"
        browser.wait(lambda: browser.js(rows) == ["V1", "V2"], what="both venues on the page")
        assert inside_now in browser.js(
            "return document.querySelector('#venues thead').textContent"
        )
        inside = browser.js(
            "return document.querySelector('tr[data-venue=V1] td.inside').firstChild.textContent"
        )
        assert int(inside) == fed.headcount.inside
        assert "live" in browser.js("return document.querySelector('tr[data-venue=V1]').className")
        browser.wait(  # V2's hub said it was not live / its summary is old
            lambda: (
                "stale"
                in browser.js("return document.querySelector('tr[data-venue=V2]').className")
            ),
            timeout=STALE_AFTER_S * 4,
            what="V2 shown stale",
        )
        assert "token" not in browser.js("return location.href")  # taken out of the address
        sheet_rows = "return [...document.querySelectorAll('#sheets tbody tr')].length"
        browser.wait(
            lambda: browser.js(sheet_rows) == 3, what="the day's sheet, two venues and total"
        )
        total = "return document.querySelector('#sheets tr.total td.entries').textContent"
        assert int(browser.js(total)) == 2 * fed.report.admitted
        assert browser.console_errors() == []
    finally:
        browser.close()


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
def test_the_page_without_a_token_says_how_to_open_it(fed: Fed, tmp_path: Path) -> None:
    browser = Browser(tmp_path / "profile", log=tmp_path / "chromedriver.log")
    try:
        browser.open(f"{fed.office.url}/?lang=zh-CN")
        browser.wait(lambda: "总部" in browser.text("status"), what="the page's advice")
        assert browser.js("return document.querySelectorAll('#venues tbody tr').length") == 0
    finally:
        browser.close()
