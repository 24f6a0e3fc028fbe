"""The visitors' bands in the chaos campaign: each band's memory, carried from gate to gate.

The campaign's hands hold a band to a gate through its control socket with the band's memory
(`scan` with `memory`, `gate.devices.nfc.held`): the gate reads its token and its passage
record, writes onto it as onto a band on its reader, and answers with what the band then
holds, which the band carries to the next gate. A new band is blank; the desk writes its token.

A hand that lost the gate's answer (the gate killed while it answered) does not know what the
band holds. The gate writes a granted passage's record before it journals the decision, so:
- the decision is in the gate's journal (found by the scan's request id): the band holds its
  record, made again here from the journalled move (its counter, state, gate and hybrid-clock
  time; whether a child came in with an adult of its group and whether an adult leaving keeps
  the band, as the gate decides them, from the band's role and what the family's other bands
  say) and signed with the site key, in the slot the gate wrote (the older one);
- it is not: the band holds what it held (the gate died before it wrote, or between the write
  and the journal: a band pulled away then holds a record no journal has, and this takes the
  first of the two);
- a binding lost so is not made again here: the band stays blank, as a band pulled from the
  desk's reader before its token was written, and the family goes on without a token.

A staff badge is no visitor's band: it goes as a technician's test scan, which arms no
override (the plan's solo children stay inside, `venue.plan`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate.core import BandPassage, BandToken, MemberMoved, MemberState, Role
from gate.devices.nfc.band import read_token
from gate.devices.nfc.emulated_tag import blank_memory
from gate.devices.nfc.passage import encode_slot, read_slots, stamped
from gate.devices.nfc.t2t import PAGE
from gate.devices.nfc.token import Keyring
from gate.link.codec import CodecError, events_of
from gate.store.journal import Journal
from venue.configs import GATES

ENTRY_GATES = {g.id for g in GATES if g.role == "entry"}


def _pages(memory: bytes) -> Callable[[int], bytes]:
    return lambda page: (memory + bytes(64))[page * PAGE : page * PAGE + 16]


class Bands:
    """Every band's memory (by UID); `journal(gate)`: the path of that gate's journal."""

    def __init__(
        self, journal: Callable[[str], Path], keyring: Keyring, badges: frozenset[str]
    ) -> None:
        self._journal = journal
        self._badges = badges  # staff badges: scanned as a test scan, no band held
        self._keyring = keyring
        self._memories: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.recovered = 0  # lost answers whose record was made again from the journal

    def memory(self, uid: str) -> bytes | None:
        if uid in self._badges:
            return None
        with self._lock:
            return self._memories.setdefault(uid, blank_memory(uid))

    def answered(self, uid: str, memory: Any) -> None:
        """The gate answered with what band `uid` now holds."""
        if isinstance(memory, str):
            with self._lock:
                self._memories[uid] = bytes.fromhex(memory)

    def lost(self, gate: str, uid: str, request: str) -> None:
        """The answer of `gate` to the scan `request` of band `uid` was lost."""
        found = self._entry(gate, request)
        if found is None:
            return
        hlc, body = found
        try:
            events = events_of(body)
        except CodecError:
            return
        moved = next(
            (e for e in events if isinstance(e, MemberMoved) and e.uid == uid and e.counter),
            None,
        )
        if moved is None:
            return
        with self._lock:
            memory = self._memories.get(uid)
            token = self._token(uid, memory) if memory else None
            if memory is None or token is None:
                return
            slots = read_slots(_pages(memory), uid, token.group, self._keyring)
            if slots is None:
                return
            child = token.role is Role.CHILD
            with_adult = (
                child
                and moved.state is MemberState.INSIDE
                and gate in ENTRY_GATES
                and not moved.forced
            )
            kept = token.role is Role.ADULT and moved.state is MemberState.EXITED
            kept = kept and self._child_inside(token.group)
            assert moved.counter is not None
            record = BandPassage(moved.counter, gate, moved.state, moved.at, with_adult, kept)
            image = encode_slot(stamped(record, hlc), uid, token.group, self._keyring)
            at = slots.pages(slots.older)[0] * PAGE
            self._memories[uid] = memory[:at] + image + memory[at + len(image) :]
            self.recovered += 1

    def _entry(self, gate: str, request: str) -> tuple[Any, dict[str, Any]] | None:
        reader = Journal.open_readonly(self._journal(gate))
        try:
            seq = 0
            while page := reader.entries_after(seq, 5000):
                for entry in page:
                    if entry.body.get("request") == request:
                        return entry.hlc, dict(entry.body)
                seq = page[-1].seq
        finally:
            reader.close()
        return None

    def _token(self, uid: str, memory: bytes) -> BandToken | None:
        token, _fault = read_token(_pages(memory), uid, self._keyring)
        return token

    def _child_inside(self, group: str) -> bool:
        """Whether a child's band of `group` says it is inside (as the gate's state would)."""
        for uid, memory in self._memories.items():
            token = self._token(uid, memory)
            if token is None or token.group != group or not token.role.is_child:
                continue
            slots = read_slots(_pages(memory), uid, group, self._keyring)
            if slots and slots.newest and slots.newest.state is MemberState.INSIDE:
                return True
        return False
