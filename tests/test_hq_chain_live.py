"""The chain's head office under faults, on this machine (quick size): a 3-node NATS cluster on
loopback, three simulated venues (`venue.chain`: Mosquitto, the hub and six gates each, families
moving through them) and `hq run`. While the families move, a cluster node is killed with
SIGKILL and started again, and one venue's bridge to head office is cut (a relay in front of
every node's MQTT port, `bridge_link.py`) while its gates go on, then healed. At the end every
venue's entries are at head office exactly once and head office's headcount of each venue is
its hub's. The chain's page shows the three venues live in Chromium.
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_link import BridgeLink
from browser import Browser, missing
from gate_rig import wait_for

from venue.chain.chain import Chain
from venue.chain.held import events_db, hub_last

# The quick size CI runs; WRISTGATE_CHAIN_FULL=1: the full one (more families on a slower day,
# the bridge cut for three minutes).
FULL = os.environ.get("WRISTGATE_CHAIN_FULL") == "1"
FAMILIES = 60 if FULL else 16  # a venue's families
RATE = 100.0 if FULL else 200.0  # venue seconds per real second (200: a 9-hour day in 3 min)
CUT_S = 180.0 if FULL else 60.0  # how long V2's bridge stays cut (its gates and hub go on)
CUT_VENUE = "V2"
DAY_TIMEOUT_S = 1800.0 if FULL else 600.0


class Log:
    """The chain's lines, kept for a failure's message."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])


@pytest.fixture(scope="module")
def chain(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Chain, dict[str, BridgeLink], Log]]:
    root = tmp_path_factory.mktemp("chain")
    links: dict[str, BridgeLink] = {}

    def link(venue: str, addresses: list[str]) -> list[str]:
        links[venue] = BridgeLink(addresses)
        return links[venue].addresses

    log = Log()
    chain = Chain(root, venues=3, families=FAMILIES, rate=RATE, say=log, link=link)
    atexit.register(chain.stop)  # should pytest itself be killed past its teardown
    try:
        chain.start()
        yield chain, links, log
    finally:
        chain.stop()
        atexit.unregister(chain.stop)
        for relay in links.values():
            relay.close()


def entries_at_hq(chain: Chain, venue: str) -> int:
    assert chain.office is not None
    return chain.office.entries(venue)


def entries_at_hub(chain: Chain, venue: str) -> int:
    return hub_last(events_db(chain.members[venue].venue))


def rows(browser: Browser) -> dict[str, str]:
    """The chain page's rows: venue -> the state it shows (live, stale)."""
    found = browser.js(
        "return [...document.querySelectorAll('#venues tbody tr')]"
        ".map(r => [r.dataset.venue, r.querySelector('.state').className])"
    )
    return {venue: state.replace("state", "").strip() for venue, state in found}


def test_the_chain_page_shows_three_venues_live(chain, tmp_path: Path) -> None:
    why = missing()
    if why:
        pytest.skip(why)
    running, _, _ = chain
    assert running.office is not None
    browser = Browser(tmp_path / "profile", log=tmp_path / "chromedriver.log")
    try:
        browser.open(running.office.page_url())
        browser.wait(
            lambda: rows(browser) == {v: "live" for v in ("V1", "V2", "V3")},
            90,
            "V1, V2 and V3 live on the chain's page",
        )
        assert browser.text("status") == ""
        assert not browser.console_errors()
    finally:
        browser.close()


def test_every_venue_reaches_head_office_exactly_once_through_a_node_kill_and_a_cut_bridge(
    chain,
) -> None:
    running, links, log = chain
    assert running.cluster is not None and running.office is not None
    running.open()
    for venue in running.ids:  # every venue's families under way, and heard at head office
        wait_for(
            lambda v=venue: entries_at_hq(running, v) > 0, 120, f"{venue}'s entries at hq", log.tail
        )

    # A cluster node killed with SIGKILL while the families move: the first address of every
    # bridge, so each fails over to another node, and head office goes on hearing every venue
    # through the two left. Then it is started again on its ports and JetStream directory.
    node = running.cluster.nodes[0]
    before = {v: entries_at_hub(running, v) for v in running.ids}
    node.kill()
    wait_for(
        lambda: all(entries_at_hq(running, v) > before[v] for v in running.ids),
        180,
        "head office hearing every venue's new entries with a node down",
        log.tail,
    )
    node.start()  # its ports open; its replicas catch up from the others meanwhile
    after = {v: entries_at_hub(running, v) for v in running.ids}
    wait_for(
        lambda: all(entries_at_hq(running, v) >= after[v] for v in running.ids),
        240,
        "head office holding what every venue held when the node came back",
        log.tail,
    )

    # V2 cut off from head office: its gates and hub go on, head office stops hearing it.
    cut = links[CUT_VENUE]
    cut.cut()
    cut_at_hub = entries_at_hub(running, CUT_VENUE)
    time.sleep(2)  # what was on its way when the cable was pulled
    at_hq = entries_at_hq(running, CUT_VENUE)
    time.sleep(CUT_S)
    assert entries_at_hq(running, CUT_VENUE) == at_hq, "head office heard a venue cut off"
    assert entries_at_hub(running, CUT_VENUE) > cut_at_hub, "the cut venue stopped working"
    assert not running.office.live(CUT_VENUE), "the chain's page shows a cut venue live"
    cut.heal()
    wait_for(lambda: running.office.live(CUT_VENUE), 120, f"{CUT_VENUE} live again", log.tail)

    running.wait_day(DAY_TIMEOUT_S)
    assert running.settle(), f"head office never caught up:\n{log.tail()}"
    verdicts = running.judge()
    for verdict in verdicts:
        assert verdict.passed, verdict.line() + "\n" + "\n".join(v.line() for v in verdicts)
