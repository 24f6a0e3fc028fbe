"""The hub's side of the desk's console (`/desk/<gate>`): a desk action asked for at the console
is published to that desk (`hub/desk/{gate}`, `gate.link.protocol.DeskRequest`) with a request
id; the desk runs it and journals its decision with that id; the outcome is read back from the
hub's store by it, or from the desk's status when the desk did not run it (`desk_refused`).

    ask(gate, action, args)      -> {"request": id, ...}   published, or ValueError why not
    outcome(gate, request)       -> {"state": "pending" | "decided" | "refused" | "unanswered"}

Every action runs at the desk, revoke and restore too: journalled there with the staff badge;
the hub, storing the desk's entry, changes its allowlist (`hub.service.desk_events`). What the
console is told (a refusal here, the desk's reason, the decision's message) is said in the
console's language where the words are known (`gate.i18n.Said`).

A walk-in child registered at the console: the desk sends its pickup code on its own pickup
topic with the request's id (`hub.service.pickup_codes`), and `hand_over` keeps it in memory,
never in the store nor a log, until the outcome of that request is first read as decided: that
answer holds it (`pickup`: the group, the code, whether printed at the desk and sent to the
guardian, the phone masked), and the code is forgotten then, or HANDED_KEPT_S after it came.
A decided walk-in waits up to HANDOVER_WAIT_S for its code, so the answer that holds it is the
first that says decided.

Called from the HTTP server's threads: the requests asked are kept under a lock, at most
MAX_ASKED of them (the oldest forgotten first).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gate.config import describe
from gate.i18n import N_, Said, words
from gate.i18n.reasons import reason_text
from gate.link.protocol import (
    DESK_REQUEST_MAX_AGE_S,
    PHONE_ROLES,
    DeskRequest,
    GateStatus,
    Topics,
    dump,
)
from hub.store.events import EventStore

log = logging.getLogger("hub")

MAX_ASKED = 1024
SCAN_AHEAD = 256  # entries of the desk read past the last one looked at, per question
ANSWER_GRACE_S = 30  # past the request's age limit: the desk has not answered
HANDOVER_WAIT_S = 10.0  # a decided walk-in's answer waits this long for its pickup code
HANDED_KEPT_S = 120.0  # a pickup code not asked for by then is forgotten
WALKIN = "walkin"
NOT_A_DESK = N_("{gate} is not a desk or handheld of this venue")
NOT_A_REQUEST = N_("a desk does not take this request: {why}")
NOT_CONNECTED = N_("the hub is not connected to its broker: the desk cannot hear it")
NO_ANSWER = N_("{gate} did not answer within {seconds} s: is it online?")
# what a desk refuses for want of a staff badge, said in the console's words
DESK_SENTENCES = (N_("tap a staff badge on this desk's reader first"),)


@dataclass
class Asked:
    gate: str
    action: str
    sent_ms: int
    looked: int  # the desk's entries up to this seq were looked at
    decided_at: float | None = None  # when its decision was first found (a walk-in's wait)
    handed: dict[str, Any] | None = None  # its pickup code, until shown once
    handed_at: float = 0.0


class HubDesk:
    def __init__(
        self,
        topics: Topics,
        publish: Callable[[str, bytes], None],
        roster: Mapping[str, str],
        store: EventStore,
        status_of: Callable[[str], GateStatus | None],
        connected: Callable[[], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.topics, self.publish, self.roster, self.store = topics, publish, roster, store
        self.status_of, self.connected, self.clock = status_of, connected, clock
        self._lock = threading.Lock()
        self._asked: OrderedDict[str, Asked] = OrderedDict()

    def is_desk(self, gate: str) -> bool:
        return self.roster.get(gate) in PHONE_ROLES

    def ask(self, gate: str, action: object, args: object) -> dict[str, Any]:
        """Ask `gate` for desk action `action`; raises `Said` (a ValueError) with a reason to
        show, in the console's words."""
        if not self.is_desk(gate):
            raise Said(NOT_A_DESK, gate=gate[:32])
        request = f"c{secrets.token_hex(8)}"
        sent_ms = int(self.clock() * 1000)
        try:
            message = DeskRequest(
                gate=gate, request=request, action=action, args=args, sent_ms=sent_ms
            )
        except ValidationError as exc:
            why = describe(exc, "desk request").replace("\n", "; ")
            raise Said(NOT_A_REQUEST, why=why) from None
        if not self.connected():
            raise Said(NOT_CONNECTED)
        looked = self.store.acked(gate)  # the decision comes after everything stored now
        with self._lock:
            self._asked[request] = Asked(gate, message.action, sent_ms, looked)
            while len(self._asked) > MAX_ASKED:
                self._asked.popitem(last=False)
        self.publish(self.topics.desk(gate), dump(message))
        log.info("desk request %s to %s: %s", request, gate, message.action)
        return {"request": request, "gate": gate, "action": message.action, "state": "pending"}

    def hand_over(self, gate: str, request: str, handed: dict[str, Any]) -> None:
        """A desk's pickup code for the console's walk-in `request` (on the hub's loop): kept
        until its answer shows it; dropped when this hub asked no such walk-in of `gate`."""
        now = self.clock()
        with self._lock:
            for kept in self._asked.values():  # codes nobody asked for in time: forgotten
                if kept.handed is not None and now - kept.handed_at > HANDED_KEPT_S:
                    kept.handed = None
            asked = self._asked.get(request)
            if asked is None or asked.gate != gate or asked.action != WALKIN:
                log.warning("a pickup code from %s for no walk-in asked at the console", gate)
                return
            asked.handed, asked.handed_at = dict(handed), now

    def _decided(self, asked: Asked, said: dict[str, Any]) -> dict[str, Any]:
        """The decided answer, with the walk-in's pickup code the first time; `pending` while
        a granted walk-in's code may still come."""
        if asked.action != WALKIN or not said["granted"]:
            return said
        now = self.clock()
        with self._lock:
            handed, asked.handed = asked.handed, None
            if asked.decided_at is None:
                asked.decided_at = now
            waiting = handed is None and now - asked.decided_at < HANDOVER_WAIT_S
            shown = asked.handed_at > 0
        if waiting and not shown:
            return {k: said[k] for k in ("request", "gate", "action")} | {"state": "pending"}
        if handed is not None:
            return said | {"pickup": handed}
        return said | {"pickup": {"shown": True} if shown else None}

    def outcome(self, gate: str, request: str, language: str = "en") -> dict[str, Any]:
        """What became of request `request` to `gate`; KeyError when this hub never asked it.
        Its reasons and message in `language` where the words are known."""
        _ = words(language)
        with self._lock:
            asked = self._asked.get(request)
        if asked is None or asked.gate != gate:
            raise KeyError(request)
        said: dict[str, Any] = {"request": request, "gate": gate, "action": asked.action}
        seq = asked.looked
        for seq in range(asked.looked + 1, asked.looked + 1 + SCAN_AHEAD):
            entry = self.store.get(gate, seq)
            if entry is None:
                seq -= 1
                break
            if entry.kind == "decision" and entry.body.get("request") == request:
                decision = entry.body.get("decision") or {}
                return self._decided(
                    asked,
                    said
                    | {
                        "state": "decided",
                        "seq": seq,
                        "code": decision.get("code"),
                        "label": reason_text(str(decision.get("code", "")), language),
                        "message": _(str(decision.get("message", ""))),
                        "group": decision.get("group"),
                        "staff": entry.body.get("staff"),
                        "granted": str(decision.get("code", "")).startswith("OK_"),
                    },
                )
        with self._lock:
            asked.looked = max(asked.looked, seq)  # none of them: not looked at again
        status = self.status_of(gate)
        for refused in (status.desk_refused or []) if status else []:
            if refused.request == request:
                return said | {"state": "refused", "reason": _(refused.reason)}
        age_s = self.clock() - asked.sent_ms / 1000
        if age_s > DESK_REQUEST_MAX_AGE_S + ANSWER_GRACE_S:
            why = _(NO_ANSWER, gate=gate, seconds=f"{age_s:.0f}")
            return said | {"state": "unanswered", "reason": why}
        return said | {"state": "pending"}
