"""The queue in front of each gate: one worker thread per gate, serving visitors in turn.

A family goes through a gate together: its taps are one `Job` (adults first, then the
children), served back to back so that the children fall inside the adult's pairing window.
What a tap is:

- a band (`Tap(uid)`): put on the gate's reader (`TagEmulator.present`, with the memory the band
  carries), held until the gate has decided, taken away. The band keeps what the desk wrote on
  it (its signed token): `Bands` remembers each band's memory from one gate to the next;
- a ticket (`Tap(code, TICKET)`): the code and a CR written to the desk's scanner pty;
- a temporary exit (`Tap(uid, TEMPORARY)`): an exit whose intent is "temporary". On a real
  gate the staff key says so before the band is read; the demo cannot press a mock pin in
  another process, so it asks through the gate's control socket (`gatectl scan --intent
  temporary`), which takes the same path through the rules and the journal.

A gate's answer is read from its control socket's status: a decision is new when its journal
sequence is higher than before the tap; the handheld, which only checks, answers once its reader
has reported the band.

`Pause` lets the simulator stop the whole venue between two jobs (for a checkpoint).
`ReaderHands` are the demo's `venue.hands.Hands`: a lane per gate, and the bands' memories.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gate.control.client import Unreachable
from venue.hands import CHECKED, NO_READ, Answer, How, Stopped, Tap
from venue.processes import Gate, Venue

ANSWER_TIMEOUT_S = 8.0  # a band held on the reader this long with no decision: try again
POLL_S = 0.03
DEBOUNCE_S = 0.45  # the same band back on the same reader: wait past the reader's debounce


@dataclass
class Job:
    taps: list[Tap]
    on_answer: Callable[[Answer], None] | None = None  # called as each answer comes
    answers: list[Answer] = field(default_factory=list)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Bands:
    """What each band carries in its memory (the token the desk wrote), shared by all gates."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memory: dict[str, bytes] = {}

    def get(self, uid: str) -> bytes | None:
        with self._lock:
            return self._memory.get(uid)

    def put(self, uid: str, memory: bytes) -> None:
        with self._lock:
            self._memory[uid] = memory


class Pause:
    """Holds every lane between two jobs while the simulator takes a checkpoint."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._busy = 0

    def enter(self, stopping: threading.Event) -> None:
        """Wait until the venue is not paused, then count this lane busy."""
        with self._cond:
            while self._paused:
                if stopping.is_set():
                    raise Stopped
                self._cond.wait(0.2)
            self._busy += 1

    def leave(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def hold(self, stopping: threading.Event) -> None:
        """Pause: returns once no lane is serving a job."""
        with self._cond:
            self._paused = True
            while self._busy:
                if stopping.is_set():
                    raise Stopped
                self._cond.wait(0.2)

    def release(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        with self._cond:
            return self._paused


class Lane:
    """A gate's queue and the worker thread serving it."""

    def __init__(self, gate: Gate, bands: Bands, pause: Pause, stopping: threading.Event) -> None:
        self.gate = gate
        self.bands = bands
        self.pause = pause
        self.stopping = stopping
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.served = 0
        self._away: dict[str, float] = {}  # band -> when it last left this reader
        self._thread = threading.Thread(target=self._run, name=f"lane-{gate.id}", daemon=True)

    def start(self) -> Lane:
        self._thread.start()
        return self

    @property
    def waiting(self) -> int:
        return self.jobs.qsize()

    def through(
        self, taps: list[Tap], on_answer: Callable[[Answer], None] | None = None
    ) -> list[Answer]:
        """Queue up, go through, and return the gate's answers (blocks the visitor).
        `on_answer` gets each answer as it comes, on the lane's thread."""
        job = Job(list(taps), on_answer)
        self.jobs.put(job)
        while not job.done.wait(0.2):
            if self.stopping.is_set():
                raise Stopped
        if job.error is not None:
            raise job.error
        return job.answers

    # --- the worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                job = self.jobs.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.pause.enter(self.stopping)
            except Stopped:
                job.error = Stopped()
                job.done.set()
                return
            try:
                for tap in job.taps:
                    answer = self._serve(tap)
                    job.answers.append(answer)
                    if job.on_answer is not None:
                        job.on_answer(answer)
                self.served += 1
            except Stopped as exc:
                job.error = exc
            except Exception as exc:  # reported by the visitor, which stops the demo
                job.error = RuntimeError(f"{self.gate.id}: {exc!r}")
            finally:
                self.pause.leave()
                job.done.set()

    def _serve(self, tap: Tap) -> Answer:
        if tap.how is How.TICKET:
            return self._barcode(tap)
        if tap.how is How.TEMPORARY:
            return self._temporary(tap)
        if self.gate.spec.role == "handheld":
            return self._check(tap)
        return self._band(tap)

    def _band(self, tap: Tap) -> Answer:
        for _attempt in range(2):
            self._past_debounce(tap.value)
            before = self._last_seq()
            self.gate.field.present(tap.value, self.bands.get(tap.value))
            try:
                last = self._wait(partial(self._decided_after, before))
            finally:
                memory = self.gate.field.memory
                self.gate.field.remove()
                self._away[tap.value] = time.monotonic()
            self.bands.put(tap.value, memory)
            if last is not None:
                return self._answer(tap, last)
        return Answer(self.gate.id, tap, NO_READ)

    def _barcode(self, tap: Tap) -> Answer:
        fd = self.gate.scanner_fd
        if fd is None:
            raise RuntimeError(f"{self.gate.id} has no barcode scanner")
        before = self._last_seq()
        os.write(fd, tap.value.encode() + b"\r")
        last = self._wait(partial(self._decided_after, before))
        return self._answer(tap, last) if last else Answer(self.gate.id, tap, NO_READ)

    def _temporary(self, tap: Tap) -> Answer:
        reply = self.gate.daemon.ask("scan", kind="nfc", value=tap.value, intent="temporary")
        if not reply.get("ok"):
            raise RuntimeError(f"scan refused: {reply.get('error')}")
        return self._answer(tap, reply["decision"])

    def _check(self, tap: Tap) -> Answer:
        self._past_debounce(tap.value)
        before = self._reads()

        def checked() -> dict[str, Any] | None:
            status = self.gate.status()
            check = (status.get("last") or {}).get("check") or {}
            reads = int((status.get("reader") or {}).get("reads", 0))
            return check if reads > before and check.get("value") == tap.value else None

        self.gate.field.present(tap.value, self.bands.get(tap.value))
        try:
            check = self._wait(checked)
        finally:
            self.gate.field.remove()
            self._away[tap.value] = time.monotonic()
        if check is None:
            return Answer(self.gate.id, tap, NO_READ)
        return Answer(self.gate.id, tap, CHECKED, check.get("group"), check.get("role"), check)

    # --- helpers -------------------------------------------------------------------------------

    def _answer(self, tap: Tap, decision: dict[str, Any]) -> Answer:
        return Answer(
            self.gate.id, tap, str(decision["code"]), decision.get("group"), decision.get("role")
        )

    def _last(self) -> dict[str, Any]:
        return dict(self.gate.status().get("last") or {})

    def _last_seq(self) -> int:
        return int(self._last().get("seq") or 0)

    def _decided_after(self, seq: int) -> dict[str, Any] | None:
        last = self._last()
        return last if int(last.get("seq") or 0) > seq else None

    def _reads(self) -> int:
        return int((self.gate.status().get("reader") or {}).get("reads", 0))

    def _past_debounce(self, uid: str) -> None:
        left = self._away.get(uid, 0.0) + DEBOUNCE_S - time.monotonic()
        if left > 0:
            time.sleep(left)

    def _wait(self, found: Callable[[], Any]) -> Any:
        """`found()`'s first true value, or None after ANSWER_TIMEOUT_S."""
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.stopping.is_set():
                raise Stopped
            with contextlib.suppress(Unreachable):
                value = found()
                if value:
                    return value
            time.sleep(POLL_S)
        return None


class ReaderHands:
    """The demo's hands: taps on the gates' emulated readers (and the desk's scanner), through
    a lane per gate. A band carries its token, so it is good at every gate once bound."""

    after_binding_s = 0.0
    overrides = True  # a staff badge on the reader arms an override

    def __init__(self, venue: Venue) -> None:
        self.pause = Pause()
        bands = Bands()
        self.lanes = {
            gid: Lane(gate, bands, self.pause, venue.stopping) for gid, gate in venue.gates.items()
        }

    def open(self) -> None:
        """Every lane starts serving."""
        for lane in self.lanes.values():
            lane.start()

    def through(self, gate: str, taps: list[Tap], seen: Callable[[Answer], None]) -> list[Answer]:
        return self.lanes[gate].through(taps, seen)

    def waiting(self, gate: str) -> int:
        return self.lanes[gate].waiting
