"""The chaos campaign's hands: every scan sent through the gate's control socket, and recorded
as an `Op` with what came of it, as Jepsen records operations:

- `ok`: the gate answered with the journal entry its decision was committed as (`seq`, `code`);
- `unavailable`: nothing listened on the control socket (the gate was down): never sent;
- `indeterminate`: sent, and the gate died before it answered: it may or may not have decided;
- `refused`: the gate answered that it did not decide, with a reason from the closed list
  (`gate.control.refusals.Reason`): it could not journal the decision (`disk_full`,
  `journal_cannot_commit`), its loop did not take the request in time (`loop_busy`: it then
  never carries it out), ...;
- `failed`: any other failure: an internal error of the gate, a refusal whose reason is not on
  the list, an answer that is not one. The checker fails the run on any.

Each scan carries a request id of the harness's own (`request`), which the gate journals with
its decision: the checker finds a scan's journal entry by it, never by gate and band.

A scan through the control socket carries no band token: a gate takes a band it has heard of
from the desk over the broker, so a family waits `after_binding_s` after the desk. Given
`bands`, a scan of a band carries the band's memory instead (`scan` with `memory`): the gate
reads and writes it as a band on its reader, and the band carries what it answers onward. A
handheld's check journals nothing, so it is answered but is no operation of the history.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gate.control.refusals import REASONS, is_internal_error, refusal_reason
from venue.configs import GATES
from venue.hands import CHECKED, NO_ANSWER, Answer, How, Tap

ANSWER_TIMEOUT_S = 10.0
BETWEEN_SCANS_S = 0.05
UNAVAILABLE = "NO_ANSWER_GATE_DOWN"  # nothing listened: the scan was never made
ROLES = {g.id: g.role for g in GATES}


@dataclass
class Op:
    gate: str
    value: str
    kind: str  # nfc | barcode
    intent: str
    sent: float  # time.monotonic()
    outcome: str = ""  # ok | unavailable | indeterminate | refused | failed
    seq: int | None = None
    code: str | None = None
    error: str = ""
    request: str = ""  # the id the scan was sent with, journalled with its decision
    reason: str = ""  # refused: the gate's reason (`gate.control.refusals.Reason`)
    expected: frozenset[str] = frozenset()  # the codes the simulator expected (empty: any)

    @property
    def tap(self) -> Tap:
        if self.kind == "barcode":
            return Tap(self.value, How.TICKET)
        return Tap(self.value, How.TEMPORARY if self.intent == "temporary" else How.BAND)


def send_scan(socket_path: Path, request: dict[str, str], op: Op) -> dict[str, Any]:
    """Send one scan to a gate's control socket; fill in what came of it; the gate's answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(ANSWER_TIMEOUT_S)
        try:
            sock.connect(str(socket_path))
        except OSError as exc:
            op.outcome, op.error = "unavailable", str(exc)
            return {}
        try:
            sock.sendall(json.dumps({"cmd": "scan", **request}).encode() + b"\n")
            with sock.makefile("rb") as replies:
                line = replies.readline()
        except OSError as exc:
            line, op.error = b"", str(exc)
    try:  # a gate killed while it answered leaves half a line
        answer: dict[str, Any] = json.loads(line) if line.endswith(b"\n") else {}
    except ValueError:
        answer = {}
    if not answer:
        op.outcome = "indeterminate"
        return {}
    reason = refusal_reason(answer)
    if answer.get("ok") is not True:
        op.error = str(answer.get("error", answer))[:300]
        if reason in REASONS and not is_internal_error(answer):
            op.outcome, op.reason = "refused", str(reason)
        else:  # an internal error, or a failure text with no reason from the list
            op.outcome = "failed"
    elif "check" in answer:
        op.outcome, op.code = "ok", CHECKED
    else:
        op.outcome, op.seq, op.code = "ok", answer.get("seq"), answer["decision"]["code"]
        if answer.get("request") != op.request:
            op.outcome, op.error = "failed", f"answered for request {answer.get('request')!r}"
    return answer


class BandMemories(Protocol):
    """What a band holds, carried from gate to gate (`bench.chaos.bands`)."""

    def memory(self, uid: str) -> bytes | None: ...  # None: no band (a staff badge)

    def answered(self, uid: str, memory: Any) -> None: ...

    def lost(self, gate: str, uid: str, request: str) -> None: ...


class SocketHands:
    """Scans through the gates' control sockets (`sockets`: a gate's id -> its socket), one
    family at a gate at a time; `history`: every scan a gate could journal, in order sent."""

    after_binding_s = 3.0  # the walk to the entry: the gates hear of the bands meanwhile

    def __init__(self, sockets: Callable[[str], Path], bands: BandMemories | None = None) -> None:
        self.sockets = sockets
        self.bands = bands  # each band's memory, held to the gates (None: scans carry no band)
        self.history: list[Op] = []
        self._sent = 0
        self._lock = threading.Lock()
        self._gates: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    overrides = False  # a test scan of a staff badge arms no override: solo children stay

    def through(self, gate: str, taps: list[Tap], seen: Callable[[Answer], None]) -> list[Answer]:
        with self._lock:
            at_gate = self._gates[gate]
        answers = []
        down = False
        time.sleep(BETWEEN_SCANS_S)  # walking up to the gate
        with at_gate:
            for tap in taps:
                # a family that found the gate down does not try its other bands there
                answer = Answer(gate, tap, NO_ANSWER) if down else self._scan(gate, tap)
                down = down or answer.code == UNAVAILABLE
                seen(answer)
                answers.append(answer)
        return answers

    def _scan(self, gate: str, tap: Tap) -> Answer:
        kind = "barcode" if tap.how is How.TICKET else "nfc"
        intent = "temporary" if tap.how is How.TEMPORARY else "final"
        with self._lock:
            self._sent += 1
            request = f"chaos-{self._sent}"
        op = Op(
            gate, tap.value, kind, intent, time.monotonic(), request=request, expected=tap.expect
        )
        scan = {"kind": kind, "value": tap.value, "intent": intent, "request": request}
        memory = self.bands.memory(tap.value) if self.bands and kind == "nfc" else None
        if memory is not None:
            scan["memory"] = memory.hex()
        reply = send_scan(self.sockets(gate), scan, op)
        if self.bands is not None and memory is not None:
            if op.outcome == "indeterminate":
                self.bands.lost(gate, tap.value, request)
            elif op.outcome == "ok" and "decision" in reply:
                self.bands.answered(tap.value, reply["decision"].get("memory"))
        if ROLES.get(gate) != "handheld":
            with self._lock:
                self.history.append(op)
        if op.outcome == "unavailable":
            return Answer(gate, tap, UNAVAILABLE)
        if op.outcome != "ok" or op.code is None:
            return Answer(gate, tap, NO_ANSWER)
        if op.code == CHECKED:
            check = dict(reply["check"])
            return Answer(gate, tap, CHECKED, check.get("group"), check.get("role"), check)
        decision = dict(reply["decision"])
        return Answer(gate, tap, op.code, decision.get("group"), decision.get("role"))
