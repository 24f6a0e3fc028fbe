"""How a visitor's scan is made: the one thing the demo and the chaos campaign do differently
with the same families.

`Hands` go through a gate with a family's taps, one family at a gate at a time (a queue per
gate), and tell each answer as it comes. Two kinds:

- `venue.lanes.ReaderHands` (the demo): each band is put on the gate's emulated reader with the
  memory the desk wrote on it (its signed token), a ticket is typed on the desk's scanner;
- `venue.socket_hands.SocketHands` (the chaos campaign): each scan is sent through the gate's
  control socket, and recorded, with what came of it, as an `Op` for the checker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

NO_READ = "NO_READ"  # the band was never read (the reader's hands try it twice)
NO_ANSWER = "NO_ANSWER"  # the gate did not decide, as far as the visitor knows
CHECKED = "CHECKED"  # a handheld's check


class Stopped(Exception):
    """The venue is stopping: the visitor gives up what it was doing."""


class How(StrEnum):
    BAND = "band"
    TICKET = "ticket"
    TEMPORARY = "temporary"  # an exit for a while (the staff key, or a scan's intent)


@dataclass(frozen=True)
class Tap:
    value: str  # a band UID, or a ticket code
    how: How = How.BAND
    expect: frozenset[str] = frozenset()  # the codes the simulator expects (empty: any)


@dataclass(frozen=True)
class Answer:
    """What the gate said: its decision code (or CHECKED, NO_READ, NO_ANSWER), and about whom."""

    gate: str
    tap: Tap
    code: str
    group: str | None = None
    role: str | None = None
    check: dict[str, Any] | None = None

    @property
    def granted(self) -> bool:
        return self.code.startswith("OK_")

    @property
    def answered(self) -> bool:
        return self.code not in (NO_READ, NO_ANSWER) and not self.code.startswith(NO_ANSWER)


class Hands(Protocol):
    """How scans are made. `after_binding_s`: real seconds a family waits after the desk before
    its bands are good at the other gates (0 when the band carries its token)."""

    after_binding_s: float
    overrides: bool  # a staff badge's scan arms an override (read from a tag)

    def through(
        self, gate: str, taps: list[Tap], seen: Callable[[Answer], None]
    ) -> list[Answer]: ...
