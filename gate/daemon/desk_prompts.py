"""Is the family complete? (提示一家人是否到齐) The desk says who is missing when its binding
goes quiet: a ticket's binding open at this desk with a slot still to bind, and no band bound
to it for the pairing window. Said once per quiet spell: in the gate's log, in its language
(`[gate] language`), with the desk's waiting signal (the amber light, as for a child waiting for
its adult), counted as `binding_left_short`. The binding stays open: the rest of the family may
still come; opening the next ticket says it again in that decision (`gate.core.desk`). The
hub's console shows the binding and who is missing all along (`hub.views.desk_console`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from gate.core import Policy
from gate.core.families import missing
from gate.daemon.ledger import Ledger
from gate.devices.gpio.gate_io import GateIO
from gate.i18n import words

log = logging.getLogger("gate")


class BindingWatch:
    """Runs each turn of the loop (`gate.daemon.housekeeping`) on a desk or handheld."""

    def __init__(
        self,
        gate_id: str,
        ledger: Ledger,
        policy: Policy,
        clock: Callable[[], datetime],
        io: GateIO,
        count: Callable[..., None],
        language: str = "en",
    ) -> None:
        self.gate_id, self.ledger, self.policy, self.clock = gate_id, ledger, policy, clock
        self.io, self.count, self._ = io, count, words(language)
        self.seen: tuple[str, int, int] | None = None  # the binding, and its bands bound
        self.since: datetime | None = None
        self.said = False

    def tick(self) -> str | None:
        """What the desk says now, if its binding has just gone quiet short; else None."""
        state = self.ledger.state
        open_ = state.bindings.get(self.gate_id)
        group = state.groups.get(open_) if open_ is not None else None
        if group is None:
            self.seen = None
            return None
        now = self.clock()
        key = (group.id, group.bound_adults, group.bound_children)
        if key != self.seen or self.since is None:
            self.seen, self.since, self.said = key, now, False
            return None
        quiet = (now - self.since).total_seconds() >= self.policy.pairing_window_s
        short = missing(group)
        if self.said or not quiet or not short.any:
            return None
        self.said = True
        said = self._(
            "ticket {group} left short at the desk: {adults} adult(s), {children} child(ren) "
            "not bound; scan their bands, or open the next ticket",
            group=group.id,
            adults=short.adults,
            children=short.children,
        )
        log.warning("%s", said)
        self.count("binding_left_short")
        self.io.waiting_for_adult()
        return said
