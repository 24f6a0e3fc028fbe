"""Families going through the venue while it is under fire, and the history of every scan.

Each family is bound at the desk, goes in by an entry gate, stays a while, and leaves by an exit
gate, adults first; now and then an adult steps out for a while and comes back, a child tries to
leave alone, or a solo child is released by a staff badge. A few workers serve the families whose
next move is due, so many families are inside at once. What a visitor believes about its family
only steers its next move; a denial sets it right.

Every scan is recorded as an `Op` with what came of it, as Jepsen records operations:

- `ok`: the gate answered with the journal entry its decision was committed as (`seq`, `code`);
- `unavailable`: nothing listened on the control socket (the gate was down): never sent;
- `indeterminate`: sent, and the gate died before it answered: it may or may not have decided;
- `refused`: the gate answered that it did not decide: it could not journal the decision (its
  disk was full), or its loop did not take the request in time (it then never carries it out).
"""

from __future__ import annotations

import heapq
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from venue.plan import Family, Plan
from venue.truth import MOVED_IN, moved_out

ANSWER_TIMEOUT_S = 10.0
ENTRIES = ("E1", "E2")
EXITS = ("X1", "X2")
DESK = "D1"


@dataclass
class Op:
    lane: int
    gate: str
    value: str
    kind: str  # nfc | barcode
    intent: str
    sent: float  # time.monotonic()
    outcome: str = ""  # ok | unavailable | indeterminate | refused
    seq: int | None = None
    code: str | None = None
    error: str = ""


def send_scan(socket_path: Path, request: dict[str, str], op: Op) -> Op:
    """Send one scan to a gate's control socket; fill in what came of it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(ANSWER_TIMEOUT_S)
        try:
            sock.connect(str(socket_path))
        except OSError as exc:
            op.outcome, op.error = "unavailable", str(exc)
            return op
        try:
            sock.sendall(json.dumps({"cmd": "scan", **request}).encode() + b"\n")
            with sock.makefile("rb") as replies:
                line = replies.readline()
        except OSError as exc:
            line, op.error = b"", str(exc)
    if not line:
        op.outcome = "indeterminate"
        return op
    answer = json.loads(line)
    if not answer.get("ok"):
        op.outcome, op.error = "refused", str(answer.get("error", answer))
        return op
    op.outcome, op.seq, op.code = "ok", answer.get("seq"), answer["decision"]["code"]
    return op


@dataclass(order=True)
class Visit:
    due: float
    number: int
    family: Family = field(compare=False)
    bound: bool = field(default=False, compare=False)
    where: dict[str, str] = field(default_factory=dict, compare=False)  # band: out|in|gone
    moves: int = field(default=0, compare=False)

    def members(self, where: str) -> list[str]:
        return [b for b in self.family.bands if self.where.get(b, "out") == where]


class Visitors:
    """`workers` threads moving the plan's families, at most `inside` families in at once."""

    def __init__(
        self,
        plan: Plan,
        sockets: Callable[[str], Path],
        seed: int,
        workers: int = 6,
        inside: int = 40,
    ) -> None:
        self.plan = plan
        self.sockets = sockets
        self.rng = random.Random(seed)
        self.workers = workers
        self.inside_target = inside
        self.history: list[Op] = []
        self._lock = threading.Condition()
        self._due: list[Visit] = []
        self._busy = 0
        self._next_family = 0
        self._desk = threading.Lock()  # the desk binds one family at a time
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- running --------------------------------------------------------------------------------

    def start(self) -> Visitors:
        for lane in range(self.workers):
            thread = threading.Thread(target=self._work, args=(lane,), name=f"lane-{lane}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """No new move starts; the moves under way finish (their scans are answered or not)."""
        self._stopping.set()
        with self._lock:
            self._lock.notify_all()
        for thread in self._threads:
            thread.join()

    def _work(self, lane: int) -> None:
        rng = random.Random(self.rng.random())
        while not self._stopping.is_set():
            visit = self._take()
            if visit is None:
                continue
            again = self._move(lane, rng, visit)
            with self._lock:
                self._busy -= 1
                if again is not None:
                    visit.due = time.monotonic() + again
                    heapq.heappush(self._due, visit)
                self._lock.notify_all()

    def _take(self) -> Visit | None:
        with self._lock:
            self._arrive()
            now = time.monotonic()
            if self._due and self._due[0].due <= now:
                self._busy += 1
                return heapq.heappop(self._due)
            wait = self._due[0].due - now if self._due else 0.2
            self._lock.wait(min(wait, 0.2))
            return None

    def _arrive(self) -> None:
        while len(self._due) + self._busy < self.inside_target and self._next_family < len(
            self.plan.families
        ):
            family = self.plan.families[self._next_family]
            self._next_family += 1
            heapq.heappush(self._due, Visit(time.monotonic(), self._next_family, family))

    # --- a family's next move -------------------------------------------------------------------

    def _move(self, lane: int, rng: random.Random, visit: Visit) -> float | None:
        """Make the family's next move; seconds until the one after, None when it has left."""
        visit.moves += 1
        if visit.moves > 12:  # the venue kept refusing it: it goes home
            return None
        if not visit.bound:
            return self._bind(lane, visit)
        outside = visit.members("out")
        if outside:
            return self._enter(lane, rng, visit, outside)
        inside = visit.members("in")
        if not inside:
            return None
        adults = [b for b in inside if b in visit.family.adults]
        children = [b for b in inside if b in visit.family.children]
        roll = rng.random()
        if roll < 0.12 and len(adults) >= 2:  # one adult steps out for a while
            self._scan(lane, visit, rng.choice(EXITS), adults[0], intent="temporary")
            return rng.uniform(2, 6)
        if roll < 0.20 and children and not visit.family.solo:  # a child tries to go alone
            self._scan(lane, visit, rng.choice(EXITS), children[0])
            return rng.uniform(0.5, 2)
        gate = rng.choice(EXITS)
        if visit.family.solo:
            self._scan(lane, visit, gate, self.plan.staff_badge)  # guardian pickup
        for band in adults + children:
            self._scan(lane, visit, gate, band)
        return rng.uniform(0.5, 2)

    def _bind(self, lane: int, visit: Visit) -> float:
        with self._desk:
            ticket = self._scan(lane, visit, DESK, visit.family.ticket, kind="barcode")
            if ticket.code == "OK_BIND":
                for band in visit.family.bands:
                    self._scan(lane, visit, DESK, band)
        visit.bound = ticket.code in ("OK_BIND", "DENY_BINDING")  # DENY_BINDING: bound before
        return 3.0  # the walk to the entry: the gates hear of the bands meanwhile

    def _enter(self, lane: int, rng: random.Random, visit: Visit, outside: list[str]) -> float:
        gate = rng.choice(ENTRIES)
        for band in sorted(outside, key=lambda b: b not in visit.family.adults):
            self._scan(lane, visit, gate, band)
        return rng.uniform(8, 20)  # the stay: longer than any forward clock jump

    def _scan(
        self,
        lane: int,
        visit: Visit,
        gate: str,
        value: str,
        kind: str = "nfc",
        intent: str = "final",
    ) -> Op:
        time.sleep(0.05)
        op = Op(lane, gate, value, kind, intent, time.monotonic())
        request = {"kind": kind, "value": value, "intent": intent}
        send_scan(self.sockets(gate), request, op)
        with self._lock:
            self.history.append(op)
        code = op.code or ""
        if value in visit.family.bands:
            if code in MOVED_IN or code == "DENY_ALREADY_INSIDE":
                visit.where[value] = "in"
            elif moved_out(code, gate):
                visit.where[value] = "out" if intent == "temporary" else "gone"
            elif code in ("DENY_NOT_INSIDE", "DENY_UNKNOWN") and gate in EXITS:
                visit.where[value] = "out"
            elif code == "DENY_ALREADY_EXITED":
                visit.where[value] = "gone"
        return op
