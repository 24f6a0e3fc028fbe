"""Desk actions the hub's console asks of this desk over `hub/desk/{gate}` (only the hub writes
it, only this desk reads it: the broker's ACL), on the loop.

Each payload is hostile until read: a `DeskRequest` (versioned, every field bounded) for this
gate, not retained (a request is asked live, never kept), not stale (sent within
DESK_REQUEST_MAX_AGE_S of this gate's clock, which follows the hub's when its own is off), and
not one this desk has run already (its id is journalled with the decision: a replay of the
broker's, or of anyone's, runs nothing twice, across restarts too). What passes is run like
`gatectl desk` (`gate.daemon.desk_commands.DeskRunner`), journalled with the request's id; the
console reads the outcome back from the hub's store by that id. A walk-in child's pickup code
is not in the store: the desk prints it and sends it to the hub on its own pickup topic with
the request's id, and the hub shows it once in the answer to that request. A request not run
(stale, an unknown action, arguments the action refuses, a lane that is no desk) is said in the
gate's status (`desk_refused`, the last few, with the reason), so that the console can show
why. Each is counted.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from gate.daemon.desk_commands import DeskRunner
from gate.link.protocol import (
    CONSOLE_USER,
    DESK_REQUEST_MAX_AGE_S,
    DeskRefused,
    DeskRequest,
    ProtocolError,
    parse,
)
from gate.store.journal import Journal

log = logging.getLogger("gate")

REMEMBERED = 4096  # request ids kept against replays (the journal's tail is read at start)
REFUSALS_SHOWN = 8  # in the gate's status
HUB_CONSOLE = {"uid": None, "user": CONSOLE_USER, "pid": None}  # who asked, as journalled


class DeskRequests:
    def __init__(
        self,
        gate_id: str,
        desk: DeskRunner,
        journal: Journal,
        wall_ms: Callable[[], int],
        count: Callable[..., None],
    ) -> None:
        self.gate_id, self.desk, self.journal = gate_id, desk, journal
        self.wall_ms, self.count = wall_ms, count
        self.refused: deque[DeskRefused] = deque(maxlen=REFUSALS_SHOWN)
        self._seen: OrderedDict[str, None] | None = None  # read from the journal when needed

    def heard(self, payload: bytes, retained: bool) -> bool:
        """One payload on this desk's topic; True when the status has news (a refusal).
        Raises ProtocolError for one that is not a request for this desk."""
        if retained:  # asked live, never kept: left there by someone else
            self.count("retained_ignored")
            return False
        asked = parse(DeskRequest, payload)
        if asked.gate != self.gate_id:
            raise ProtocolError(f"desk request for gate {asked.gate} on {self.gate_id}'s topic")
        seen = self._ids()
        if asked.request in seen:
            self.count("desk_request_replayed")
            log.warning("desk request %s heard again: not run twice", asked.request)
            return False
        age_s = (self.wall_ms() - asked.sent_ms) / 1000
        if abs(age_s) > DESK_REQUEST_MAX_AGE_S:
            self.count("desk_request_stale")
            when = f"{age_s:.0f} s ago" if age_s > 0 else f"{-age_s:.0f} s ahead of this desk"
            return self._refuse(
                asked,
                f"not run: asked {when} by the hub's clock (at most {DESK_REQUEST_MAX_AGE_S} s); "
                "ask again at the console",
            )
        self._remember(asked.request)
        try:
            result = self.desk.run(
                asked.action, dict(asked.args), dict(HUB_CONSOLE), asked.request, console=True
            )
        except ValueError as exc:  # an unknown action, its arguments, a lane that is no desk
            self.count("desk_request_not_run")
            return self._refuse(asked, str(exc))
        self.count("desk_requests")
        log.info(
            "desk request %s from the console: %s %s", asked.request, asked.action, result["code"]
        )
        return False

    def _refuse(self, asked: DeskRequest, reason: str) -> bool:
        log.warning("desk request %s (%s) not run: %s", asked.request, asked.action, reason)
        self.refused.append(DeskRefused(request=asked.request, reason=reason[:300]))
        return True

    def shown(self) -> list[DeskRefused] | None:
        """The last requests not run, for the gate's status."""
        return list(self.refused) or None

    def _ids(self) -> OrderedDict[str, None]:
        if self._seen is None:
            self._seen = OrderedDict()
            for entry in self.journal.tail(REMEMBERED):
                request = entry.body.get("request") if isinstance(entry.body, dict) else None
                if isinstance(request, str):
                    self._seen[request] = None
        return self._seen

    def _remember(self, request: str) -> None:
        seen = self._ids()
        seen[request] = None
        while len(seen) > REMEMBERED:
            seen.popitem(last=False)

    def as_dict(self) -> dict[str, Any]:
        return {"refused": [r.model_dump() for r in self.refused]}
