"""What a registered guardian is told, and when: their child let in, let out, or flagged inside
with no adult of its group (`hub.service.notify` sends it). Watched in the entries the hub
stores, each once: a gate's backlog after an outage is told late, with the gate's own time.

The guardian is the phone the desk registered for a walk-in child (`ChildRegistered`) or the
ticket's `guardian_phone` (tickets.csv, a child admitted alone). Adults' moves are never told;
a passage nobody used, or a window closing on adults, is not a child's move.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from gate.core import GroupFlagged, MemberMoved, MemberState, Policy, State
from gate.core.guardians import registered_phone
from gate.i18n import N_, words
from gate.link.codec import CodecError, events_of
from hub.service.notify import Notice, Notifier
from hub.store.records import StoredEntry

log = logging.getLogger("hub.notify")

SAID = {
    "entry": N_("Wristgate: your child ({group}) entered at {time}, gate {gate}."),
    "exit": N_("Wristgate: your child ({group}) left at {time}, gate {gate}."),
    "alone": N_(
        "Wristgate: your child ({group}) is inside with no adult of the group since {time}: "
        "please collect them."
    ),
}


def guardian_phone(state: State, group: str) -> str:
    """The phone registered for `group`'s children: at the desk, else on its ticket; or ""."""
    if group in state.guardians:  # as the desk told the hub (the event holds it masked)
        return registered_phone(state, group)
    ticket = state.allowlist.tickets.get(group)
    return ticket.guardian_phone if ticket is not None else ""


class GuardianNotices:
    def __init__(self, notifier: Notifier, policy: Policy) -> None:
        self.notifier = notifier
        self.policy = policy

    def stored(self, entries: Sequence[StoredEntry], state: State) -> None:
        """Tell the guardians of what `entries`, just stored and folded into `state`, say."""
        for entry in entries:
            if entry.kind not in ("decision", "expiry"):
                continue
            try:
                events = events_of(entry.body)
            except CodecError:
                continue  # the ingest's own finding says so
            for event in events:
                match event:
                    case MemberMoved(state=MemberState.INSIDE) if entry.kind == "decision":
                        self._tell("entry", state, event.uid, event.group, event.at, event.gate)
                    case MemberMoved(state=MemberState.EXITED) if entry.kind == "decision":
                        self._tell("exit", state, event.uid, event.group, event.at, event.gate)
                    case GroupFlagged():
                        self._tell("alone", state, None, event.group, event.at, event.gate)

    def _tell(
        self, kind: str, state: State, uid: str | None, group: str, at: datetime, gate: str
    ) -> None:
        if uid is not None:
            member = state.members.get(uid)
            if member is None or not member.role.is_child:
                return
        phone = guardian_phone(state, group)
        if not phone:
            return
        time = f"{self.policy.local(at):%H:%M}"
        said = {
            lang: words(lang)(SAID[kind], group=group, time=time, gate=gate)
            for lang in ("zh-CN", "en")
        }
        local = self.policy.local(at).isoformat(timespec="seconds")
        self.notifier.send(Notice(kind, phone, group, local, gate, said["zh-CN"], said["en"]))
        log.info("notice %s queued for the guardian of %s", kind, group)
