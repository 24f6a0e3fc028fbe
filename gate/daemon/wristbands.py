"""What the gate does with a band on its reader besides deciding: writing its token at the desk,
the handheld's check of the band's credentials, and voiding the token of a band returned at a
final exit.

A band collected at a final exit keeps a valid token unless the exit writes over it; a gate that
never heard of the exit (cut off, or its presence lost) would then take the band for one still
in use. So the exit gate writes an empty NDEF message over the token once the grant is journalled
and the relay has moved: a returned band reads as blank everywhere (`DENY_BAD_TOKEN`, "band has
no wristband data"), and the desk can bind it again. Collected means: a child's band at its
final exit, an adult's when no child of the group is left inside (`collected_here`); an adult
leaving ahead of the children keeps a valid token, since the rules may send that adult back in
for them. The write never holds anyone back: people
can always leave. A failed write (band pulled away, locked) is counted (`token_void_failed`) and
logged; the grant stands, and the gate that journalled the exit still refuses the band
(`DENY_ALREADY_EXITED`), as does every gate that heard of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from gate.core import (
    BandBound,
    BandToken,
    Code,
    Decision,
    Event,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    Role,
    Scan,
    State,
    mask_phone,
)
from gate.core.bands import band_carries_its_token, tag_is_an_original_wristband
from gate.core.guardians import walkin_ticket
from gate.devices.nfc.token import Keyring, encode_token

log = logging.getLogger("gate")

EMPTY_NDEF = b""  # written over a returned band's token


def collected_here(state: State, scan: Scan, events: list[Event]) -> bool:
    """The scan let its band out for good at this gate and the band is collected: a child's
    band, or an adult's whose group has no child left inside (as this gate knows, after the
    scan). An adult leaving ahead of the children keeps the band: if the children stay, the
    closing window makes that adult temporarily out, to come back for them (design §4)."""
    moved = next(
        (e for e in events if isinstance(e, MemberMoved) and e.uid == scan.value),
        None,
    )
    if not scan.tag or moved is None or moved.state is not MemberState.EXITED:
        return False
    member = state.members.get(scan.value)
    if member is not None and member.role is Role.ADULT:
        return not state.child_inside(moved.group)
    return True


def void_token(uid: str, write_token: Callable[[bytes], Any], count: Callable[[str], None]) -> bool:
    """Write over the token of band `uid` (still on the reader). Never raises, never blocks an
    exit: a failure is counted and logged. Returns whether the token is gone."""
    started = time.perf_counter()
    try:
        outcome = write_token(EMPTY_NDEF)
        ok, reason = bool(outcome.ok), outcome.reason
    except Exception as exc:  # the exit stands whatever the band did
        ok, reason = False, repr(exc)
    took_ms = (time.perf_counter() - started) * 1000
    if ok:
        count("token_voided")
        log.info("band %s returned: token voided (%.0f ms)", uid, took_ms)
    else:
        count("token_void_failed")
        log.warning("band %s returned, but its token could not be voided: %s", uid, reason)
    return ok


def write_band_token(
    decision: Decision,
    events: list[Event],
    bound: BandBound,
    write_token: Callable[[bytes], Any] | None,
    state: State,
    keyring: Keyring,
    count: Callable[[str], None],
) -> tuple[Decision, list[Event]]:
    """At the desk: the band is bound only once its token is written and read back."""
    if write_token is None:
        return decision, events  # a test scan: no tag on the reader to write to
    group = state.groups[bound.group]
    ticket = state.allowlist.tickets.get(bound.group) or walkin_ticket(state, bound.group)
    if ticket is None:
        return decision, events
    token = BandToken(
        bound.group,
        bound.role,
        ticket.valid_from,
        ticket.valid_to,
        group.adults,
        group.children,
        ticket.session,
    )
    try:
        outcome = write_token(encode_token(token, bound.uid, keyring))
        reason = outcome.reason
    except ValueError as exc:  # a ticket the token format cannot carry
        outcome, reason = None, f"no token for this ticket: {exc}"
    if outcome is not None and outcome.ok:
        return decision, events
    count("token_write_failed")
    refused = Decision(
        Code.DENY_BINDING,
        f"not bound: {reason}",
        decision.value,
        decision.gate,
        decision.group,
        decision.role,
    )
    return refused, []


def check_refusal(
    gate: str, uid: str, token: Any, fault: str | None, tag_fault: str | None
) -> dict[str, Any] | None:
    """A handheld's check of a band on its reader: the same band rules as a gate's (an original
    wristband carrying its own token). None when the band passes them."""
    scan = Scan(
        gate,
        Mode.ENTRY,
        Kind.NFC,
        uid,
        token=token,
        token_fault=fault,
        tag=True,
        tag_fault=tag_fault,
    )
    refusal = tag_is_an_original_wristband(scan) or band_carries_its_token(scan)
    if refusal is None:
        return None
    assert refusal.code is Code.DENY_BAD_TOKEN
    return {"known": False, "value": uid, "code": refusal.code.value, "message": refusal.message}


def band_check(state: State, uid: str) -> dict[str, Any]:
    """A handheld's check: a band's group, role and state, and the guardian phone masked."""
    member = state.members.get(uid)
    if member is None:
        return {"known": False, "value": uid}
    ticket = state.allowlist.tickets.get(member.group) or walkin_ticket(state, member.group)
    return {
        "known": True,
        "value": uid,
        "group": member.group,
        "role": member.role.value,
        "state": member.state.value,
        "last_gate": member.last_gate,
        "last_at": member.last_at.isoformat(),
        "guardian_phone": mask_phone(ticket.guardian_phone) if ticket else "",
        "guardian_registered": bool(ticket and ticket.has_guardian),
        "group_members": [
            {"uid": m.uid, "role": m.role.value, "state": m.state.value}
            for m in state.members_of(member.group)
        ],
        "children_unaccompanied": state.groups[member.group].unaccompanied,
    }
