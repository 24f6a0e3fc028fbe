"""The chain on this machine: a NATS cluster, head office, and venues whose families move.

    chain = Chain(root, venues=3, families=20, say=print)
    chain.start()          # cluster, hq run, then every venue (started side by side)
    chain.open()           # the families of every venue start their day
    chain.wait_day()       # until every family of every venue has left (or is stuck inside)
    chain.settle()         # every journal at its hub, every hub's entries at head office
    verdicts = chain.judge()
    chain.stop()           # everything, whatever happened; safe more than once

Each venue `Vn` lives in `root/Vn` (as `python -m venue`'s work directory), head office in
`root/hq`, the cluster in `root/nats`. A venue's broker bridges to every node's MQTT port, or
to what `link(venue, addresses)` puts in front of them (a test's cuttable relays).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from deploy.nats_process import NatsCluster
from venue.chain.held import events_db, hub_last
from venue.chain.judge import Verdict, judge_venue
from venue.chain.office import HeadOffice
from venue.clock import SteadyClock
from venue.configs import HeadOfficeLink, write_secret
from venue.daemon import DemoError
from venue.plan import Plan, local_timezone, make_plan
from venue.processes import Venue, http_port
from venue.socket_hands import SocketHands
from venue.visitors import Visitors

ROOM = 12  # families in a venue at once
WORKERS = 6  # threads that move a venue's families
SETTLE_TIMEOUT_S = 240.0

Link = Callable[[str, list[str]], list[str]]  # (venue, node addresses) -> what its bridge dials


@dataclass
class ChainVenue:
    """One venue of the chain: its processes, and its families once the day is open."""

    id: str
    venue: Venue
    hands: SocketHands
    visitors: Visitors | None = None

    def socket(self, gate: str) -> Path:
        return self.venue.gates[gate].daemon.socket


@dataclass
class Chain:
    root: Path
    venues: int = 3
    families: int = 20
    rate: float = 300.0  # day seconds per real second (a 9-hour day in 2 minutes)
    seed: int = 1
    say: Callable[[str], None] = print
    link: Link | None = None
    nodes: int = 3
    http_port: int = 0  # head office's page (0: a free port)
    cluster: NatsCluster | None = None
    office: HeadOffice | None = None
    members: dict[str, ChainVenue] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def ids(self) -> list[str]:
        return [f"V{n}" for n in range(1, self.venues + 1)]

    # --- start ----------------------------------------------------------------------------------

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        users = {name: secrets.token_urlsafe(18) for name in ("hq", *self.ids)}
        self.say(f"starting a NATS cluster of {self.nodes} nodes (JetStream, MQTT gateway) ...")
        self.cluster = NatsCluster(self.root / "nats", self.nodes, users=users)
        self.cluster.start()
        self.office = HeadOffice(
            self.root / "hq", self.cluster, self.ids, http_port(self.http_port)
        )
        self.say("starting head office (hq run) ...")
        self.office.start()
        timezone = local_timezone()
        today = datetime.now(ZoneInfo(timezone)).date()
        for n, vid in enumerate(self.ids):
            plan = make_plan(self.families, self.seed + n, today, timezone)
            self.members[vid] = self._member(vid, plan)
        self.say(f"starting {len(self.members)} venues ({', '.join(self.members)}) ...")
        self._each(lambda m: m.venue.start())
        self.office.wait_live(self.ids)

    def _member(self, vid: str, plan: Plan) -> ChainVenue:
        assert self.cluster is not None
        root = self.root / vid
        root.mkdir(parents=True, exist_ok=True)
        addresses = self.cluster.mqtt_addresses
        if self.link is not None:
            addresses = self.link(vid, addresses)
        secret = write_secret(self.root / f"{vid}.hq-password", self.cluster.users[vid])
        hq = HeadOfficeLink(vid, "mqtt://" + ",".join(addresses), vid, secret)
        venue = Venue(root, plan, http_port(0), _prefixed(self.say, vid), head_office=hq)
        member = ChainVenue(vid, venue, SocketHands(lambda gate: member.socket(gate)))
        return member

    def _each(self, action: Callable[[ChainVenue], None]) -> None:
        """`action` on every venue side by side; the first failure raised once all are done."""
        errors: list[BaseException] = []

        def run(member: ChainVenue) -> None:
            try:
                action(member)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(m,)) for m in self.members.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    # --- the day --------------------------------------------------------------------------------

    def open(self) -> None:
        """Every venue's families start their day."""
        for member in self.members.values():
            member.visitors = Visitors(
                member.venue.plan,
                member.hands,
                SteadyClock(self.rate),
                self.stopping,
                _prefixed(self.say, member.id),
                workers=WORKERS,
                room=ROOM,
            )
            member.visitors.start()

    def day_over(self) -> bool:
        return all(
            m.visitors is not None and m.visitors.finished.is_set() for m in self.members.values()
        )

    def wait_day(self, timeout: float, progress_every_s: float = 0.0) -> None:
        """Until every family of every venue has left; with `progress_every_s`, a line that
        often: each venue's families done, entries at its hub and at head office."""
        deadline = time.monotonic() + timeout
        said = time.monotonic()
        while not self.day_over():
            if progress_every_s and time.monotonic() - said >= progress_every_s:
                self.say(self.progress())
                said = time.monotonic()
            self._raise_errors()
            if time.monotonic() > deadline:
                done = {v: (m.visitors.done if m.visitors else 0) for v, m in self.members.items()}
                raise DemoError(f"the day did not end in {timeout:.0f} s (families done: {done})")
            time.sleep(0.5)
        self.close_doors()

    def progress(self) -> str:
        assert self.office is not None
        parts = []
        for vid, m in self.members.items():
            done = m.visitors.done if m.visitors else 0
            hub = hub_last(events_db(m.venue))
            parts.append(
                f"{vid}: families {done}/{len(m.venue.plan.families)}, entries hub {hub} / "
                f"head office {self.office.entries(vid)}"
            )
        return "  |  ".join(parts)

    def close_doors(self) -> None:
        """No family starts a move any more; the moves under way finish."""
        for member in self.members.values():
            if member.visitors is not None:
                member.visitors.stop()
        self._raise_errors()

    def _raise_errors(self) -> None:
        for vid, member in self.members.items():
            if member.visitors is not None and member.visitors.errors:
                raise DemoError(f"{vid}'s visitors failed: {member.visitors.errors[0]!r}")

    # --- the end --------------------------------------------------------------------------------

    def settle(self, timeout: float = SETTLE_TIMEOUT_S) -> bool:
        """Every gate's journal at its hub, then every hub's entries at head office."""
        deadline = time.monotonic() + timeout
        for member in self.members.values():
            if not member.venue.wait_settled(max(1.0, deadline - time.monotonic())):
                return False
        assert self.office is not None
        return self.office.wait_caught_up(
            {vid: m.venue for vid, m in self.members.items()}, max(1.0, deadline - time.monotonic())
        )

    def judge(self) -> list[Verdict]:
        assert self.office is not None
        return [judge_venue(vid, m.venue, self.office) for vid, m in self.members.items()]

    def stop(self) -> None:
        self.stopping.set()
        for member in self.members.values():
            if member.visitors is not None:
                member.visitors.stop()
        try:
            self._each(lambda m: m.venue.stop())
        finally:
            if self.office is not None:
                self.office.stop()
            if self.cluster is not None:
                self.cluster.stop()


def _prefixed(say: Callable[[str], None], who: str) -> Callable[[str], None]:
    return lambda line: say(f"[{who}] {line}")
