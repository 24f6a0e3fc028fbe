"""The simulator's ground truth: who is where, from the gates' answers alone, never from the hub;
and the checkpoints that set the hub's headcount beside it.

`Truth` is the visitors' (`venue.visitors`), in the demo and the chaos campaign alike.
`MOVED_IN` and `moved_out` are the same rule by gate id, for a harness that keeps its ground
truth from the answers alone (the tests' venue; the chaos checker, over the scans that took
effect, the answered ones and the ones recovered from a journal): a gate's id starts with the
letter of its role (E entry, X exit).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from venue.hands import Answer, How
from venue.plan import Plan, hhmm

MOVED_IN = frozenset({"OK_ENTRY", "OK_REENTRY", "OK_COLLECT"})


def moved_out(code: str, gate: str) -> bool:
    """Whether `code` at `gate` let the band out (an override only does at an exit gate)."""
    return code in ("OK_EXIT", "OK_TEMP_EXIT") or (code == "OK_OVERRIDE" and gate.startswith("X"))


class Where(StrEnum):
    BOUND = "bound"
    INSIDE = "inside"
    OUT = "out"  # left for good, or for a while


INTO = {"OK_ENTRY", "OK_REENTRY", "OK_COLLECT", "OK_OVERRIDE"}  # at an entry gate
OUT_OF = {"OK_EXIT", "OK_TEMP_EXIT", "OK_OVERRIDE"}  # at an exit gate


@dataclass(frozen=True)
class Count:
    inside: int
    adults: int
    children: int
    unaccompanied: int

    @classmethod
    def of_hub(cls, headcount: dict[str, Any]) -> Count:
        return cls(
            int(headcount["inside"]),
            int(headcount["adults"]),
            int(headcount["children"]),
            int(headcount["unaccompanied_children"]),
        )

    def __str__(self) -> str:
        return (
            f"{self.inside} inside ({self.adults} adults, {self.children} children, "
            f"{self.unaccompanied} unaccompanied)"
        )


class Truth:
    """Who is where, from the gates' decisions alone, with the rules' one piece of hindsight:
    a group whose adults all went out while a child of theirs (not a solo child) stayed inside
    is flagged "children unaccompanied" until an adult is back in or no child is left."""

    def __init__(self, plan: Plan) -> None:
        self._lock = threading.Lock()
        self.group_of = {uid: f.ticket for f in plan.families for uid in f.bands}
        self.bands_of = {f.ticket: f.bands for f in plan.families}
        # adult | child | solo_child: as the plan says, then as the desk bound it
        self.role: dict[str, str] = {uid: "adult" for f in plan.families for uid in f.adults}
        self.role |= {
            uid: "solo_child" if f.solo else "child" for f in plan.families for uid in f.children
        }
        self.where: dict[str, Where] = {}
        self.flagged: set[str] = set()

    def record(self, gate_role: str, a: Answer) -> None:
        """One answer of a gate of `gate_role` (entry, exit, desk, handheld)."""
        uid = a.tap.value
        group = self.group_of.get(uid)
        if a.tap.how is How.TICKET or group is None or not a.granted:
            return  # a ticket, the staff badge, a denial: nobody moved
        with self._lock:
            if a.code == "OK_BIND":
                self.role[uid] = a.role or self.role[uid]
                self.where[uid] = Where.BOUND
            elif gate_role == "entry" and a.code in INTO:
                self.where[uid] = Where.INSIDE
            elif gate_role == "exit" and a.code in OUT_OF:
                self.where[uid] = Where.OUT
                adult = self.role.get(uid) == "adult"
                if adult and not self._adult_inside(group) and self._child_inside(group):
                    self.flagged.add(group)  # unless the children follow (then cleared below)
            if group in self.flagged and (
                self._adult_inside(group) or not self._child_inside(group)
            ):
                self.flagged.discard(group)

    def _inside(self, group: str, roles: tuple[str, ...]) -> bool:
        return any(
            self.where.get(uid) is Where.INSIDE and self.role.get(uid) in roles
            for uid in self.bands_of[group]
        )

    def _adult_inside(self, group: str) -> bool:
        return self._inside(group, ("adult",))

    def _child_inside(self, group: str) -> bool:
        return self._inside(group, ("child",))

    def bound(self, uid: str) -> bool:
        with self._lock:
            return uid in self.where

    def inside(self, uid: str) -> bool:
        with self._lock:
            return self.where.get(uid) is Where.INSIDE

    def inside_now(self) -> list[str]:
        with self._lock:
            return [uid for uid, where in self.where.items() if where is Where.INSIDE]

    def family(self, ticket: str) -> tuple[dict[str, bool], bool]:
        """Each band of a family: inside or not; and whether children of it are inside
        unaccompanied (the group flagged, a child inside)."""
        with self._lock:
            inside = {uid: self.where.get(uid) is Where.INSIDE for uid in self.bands_of[ticket]}
            return inside, ticket in self.flagged and self._child_inside(ticket)

    def count(self) -> Count:
        with self._lock:
            inside = [uid for uid, where in self.where.items() if where is Where.INSIDE]
            adults = sum(self.role[uid] == "adult" for uid in inside)
            alone = sum(
                self.role[uid] == "child" and self.group_of[uid] in self.flagged for uid in inside
            )
            return Count(len(inside), adults, len(inside) - adults, alone)


@dataclass
class Checkpoint:
    """The venue paused: the ground truth and the hub's headcount side by side."""

    name: str
    day_time: float
    truth: Count
    hub: Count | None  # None: the hub did not answer
    settled: bool  # every journal had reached the hub

    @property
    def agrees(self) -> bool:
        return self.settled and self.hub == self.truth

    def line(self) -> str:
        hub = str(self.hub) if self.hub is not None else "no answer"
        verdict = "hub == ground truth" if self.agrees else "hub != ground truth"
        if not self.settled:
            verdict += " (the journals had not all reached the hub)"
        return (
            f"checkpoint {self.name} (venue {hhmm(self.day_time)}): ground truth {self.truth}; "
            f"hub {hub}: {verdict}"
        )


def differences(
    plan: Plan, truth: Truth, lookup: Callable[[str], dict[str, Any] | None], most: int = 12
) -> list[str]:
    """The families on which the hub (`lookup`: its view of a family by ticket) and the ground
    truth disagree, band by band."""
    found = []
    for f in plan.families:
        inside_by_truth, alone = truth.family(f.ticket)
        hub = lookup(f.ticket) or {}
        members = list(hub.get("members", ()))
        states = {m["uid"]: m["state"] for m in members}
        for uid, inside in inside_by_truth.items():
            if inside != (states.get(uid) == "inside"):
                where = "inside" if inside else "not inside"
                found.append(
                    f"{f.ticket} {uid}: {where} by the ground truth, "
                    f"{states.get(uid, 'unknown')} at the hub"
                )
        hub_alone = bool(hub.get("children_unaccompanied")) and any(
            m["role"] == "child" and m["state"] == "inside" for m in members
        )
        if alone != hub_alone:
            said, not_said = ("the ground truth", "the hub")[:: 1 if alone else -1]
            found.append(f"{f.ticket}: children unaccompanied by {said}, not by {not_said}")
        if len(found) >= most:
            break
    return found[:most]
