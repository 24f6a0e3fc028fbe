"""`gate simulate`'s lines for walk-in children and pickup codes (docs/desk.md), beside the scan
and join lines of `gate.tools.scanline`:

    {"t": ..., "gate": "D1", "walkin": {"guardian": "李娜", "phone": "13800138000",
                                        "pickup_code": "204518"}}
    {"t": ..., "gate": "D1", "mode": "bind", "kind": "nfc", "value": "04C1...",
     "pickup_code": "204518"}
    {"t": ..., "gate": "X1", "pickup": "204518"}       # "mode": "exit" (the default) or "entry"

A walk-in is registered as at the desk (`gate.core.register_child`), authorised by the staff
badge scanned at that desk within the pairing window. The desk makes a pickup code with
`secrets`; a simulated day says which one it made: `pickup_code` on the walk-in line, or on the
bind line of a group's first band (a ticket's solo child, or every family with the policy's
`pickup_codes = "all"`), given to the group as the desk gives it (`PickupCodeIssued`), or
ignored with a word on stderr when the desk would give none. A `pickup` line is the code shown
at a gate's scanner or typed by staff (`gatectl pickup`). The digests are made with a key of
the simulator's own: no site key is needed, and the codes of a simulated day are its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gate.config import describe
from gate.core import (
    BandBound,
    Decision,
    Kind,
    Mode,
    PickupCodeIssued,
    Policy,
    Scan,
    State,
    advance,
    fold,
    register_child,
    staff_at_desk,
    step,
)
from gate.core.rules import PICKUP_PREFIX
from gate.tools.scanline import AtGate, Join, ScanLineError, one_object, parse_line

SIMULATOR_KEY = b"gate simulate: pickup codes of a simulated day"


def six_digits(code: str | None) -> str | None:
    """A pickup code as the desk makes it: six digits."""
    if code is not None and not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise ValueError("a pickup code is six digits, like 204518")
    return code


class WalkinArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    guardian: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=1, max_length=40)
    pickup_code: str | None = Field(default=None, max_length=16)

    _code = field_validator("pickup_code")(six_digits)


class WalkinLine(AtGate):
    """A walk-in child registered at the desk (`gatectl walkin --guardian N --phone P`)."""

    walkin: WalkinArgs


class PickupLine(AtGate):
    """A guardian's pickup code, read at the gate's scanner or typed by staff."""

    pickup: str = Field(max_length=16, description="the six digits")
    mode: Literal["entry", "exit"] = "exit"  # the gate's: a code is shown at an exit gate

    _code = field_validator("pickup")(six_digits)


@dataclass(frozen=True, slots=True)
class Walkin:
    gate: str
    guardian: str
    phone: str
    code: str | None


@dataclass(frozen=True, slots=True)
class Bound:
    """A bind scan line with the pickup code the desk gave with it."""

    scan: Scan
    code: str


@dataclass(frozen=True, slots=True)
class Pickup:
    gate: str
    code: str
    mode: Mode = Mode.EXIT


Line = Scan | Join | Walkin | Bound | Pickup


def parse_any(line: str) -> tuple[Line, datetime]:
    """Any line of `gate simulate`: a scan, a join, a walk-in, a bind with its pickup code, or
    a pickup code shown at a gate."""
    data = one_object(line)
    try:
        if "walkin" in data:
            w = WalkinLine.model_validate(data)
            args = w.walkin
            return Walkin(w.gate, args.guardian, args.phone, args.pickup_code), w.t
        if "pickup" in data:
            p = PickupLine.model_validate(data)
            return Pickup(p.gate, p.pickup, Mode(p.mode)), p.t
    except ValidationError as exc:
        what = "walkin" if "walkin" in data else "pickup"
        raise ScanLineError(describe(exc, what).replace("\n", "; ")) from exc
    if "pickup_code" not in data:
        return parse_line(line)
    code = data.pop("pickup_code")
    try:
        six_digits(code if isinstance(code, str) else repr(code))
    except ValueError as exc:
        raise ScanLineError(f"scan: pickup_code: {exc}") from None
    if data.get("mode") != "bind":
        raise ScanLineError("scan: pickup_code goes with a band bound at the desk (mode bind)")
    read, now = parse_line(json.dumps(data))
    assert isinstance(read, Scan)
    return Bound(read, code), now


def digest(code: str) -> str:
    return hmac.new(SIMULATOR_KEY, code.encode("ascii"), hashlib.sha256).hexdigest()


def walk_in(
    state: State, line: Walkin, now: datetime, policy: Policy, err: TextIO, where: str
) -> Decision:
    """The desk registers a walk-in child, with the badge scanned there (as the desk does)."""
    advance(state, now, policy)
    staff = staff_at_desk(state, line.gate, now, policy)
    decision, events = register_child(
        state, line.gate, now, policy, line.guardian, line.phone, staff
    )
    if decision.granted and line.code is not None:
        if policy.pickup_codes == "off":
            print(f"{where}: pickup_code ignored: the policy's pickup_codes is off", file=err)
        else:
            events = [*events, PickupCodeIssued(line.gate, now, decision.value, digest(line.code))]
    for event in events:
        fold(state, event)
    return decision


def bind_with_code(
    state: State, line: Bound, now: datetime, policy: Policy, err: TextIO, where: str
) -> Decision:
    """A band bound at the desk; its group given the line's code if the desk gives it one."""
    decision, events = step(state, line.scan, now, policy)
    bound = next((e for e in events if isinstance(e, BandBound)), None)
    if bound is None or not decision.granted:
        return decision
    group = state.groups.get(bound.group)
    due = (
        group is not None
        and bound.group not in state.pickup_codes
        and (policy.pickup_codes == "all" or (policy.pickup_codes == "solo" and group.solo))
    )
    if not due:
        print(f"{where}: pickup_code ignored: the desk gives {bound.group} no code now", file=err)
        return decision
    fold(state, PickupCodeIssued(line.scan.gate, now, bound.group, digest(line.code)))
    return decision


def pick_up(state: State, line: Pickup, now: datetime, policy: Policy) -> Decision:
    """A pickup code shown at a gate, read by its scanner or typed by staff."""
    value = PICKUP_PREFIX + digest(line.code)
    scan = Scan(line.gate, line.mode, Kind.BARCODE, value, pickup=True)
    decision, _events = step(state, scan, now, policy)
    return replace(decision, value=f"WP{line.code}")  # the code as shown, not its digest
