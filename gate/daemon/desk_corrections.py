"""Corrections at the desk (staff actions): a lost band replaced, a band bound by mistake
unbound, a band returned by mistake re-issued (`gatectl replace OLD NEW`, `unbind UID`,
`reissue UID`, and the console through the desk's dispatcher).

Each is authorised by the staff badge tapped on this desk's reader within the pairing window
(`gate.core.staff_at_desk`), decided by the rules core (`gate.core.corrections`), journalled as a
decision entry of this desk with its events (a refusal too, with none: the journal keeps every
attempt), folded here, and published like every entry: every gate and the hub fold it. Only a
desk or a handheld corrects (its role's row in `gate.core.authority`).

A replacement band, or a band re-issued (its token was voided when it was returned), is then
held to this desk's reader: the desk writes its token there (`write_member_token`, the path of
binding), and the band works at every gate, cut off or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gate.core import BandBound, Decision, Event, Policy, Scan, State, staff_at_desk
from gate.core import corrections as core
from gate.core.model import Code, Kind, Mode, Refusal
from gate.core.rules import Outcome, deny
from gate.daemon.desk_journal import authorised_by, desk_role, record_desk_decision
from gate.daemon.ledger import Ledger
from gate.daemon.wristbands import write_band_token
from gate.devices.nfc.token import Keyring
from gate.settings import GateSettings
from gate.store.allowlist import normalise_uid

log = logging.getLogger("gate")


def _uid(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise ValueError(f"{name}: the band's UID (hex, as on the reader), e.g. 04A1B2C3D4E5F6")
    try:
        return normalise_uid(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _decide(
    ledger: Ledger,
    settings: GateSettings,
    policy: Policy,
    now: datetime,
    uid: str,
    correct: Callable[[State, str], Outcome],
) -> Outcome:
    """The core's decision, made with the staff badge armed at this desk; without one, a denial
    saying to tap it."""
    staff = staff_at_desk(ledger.state, settings.id, now, policy)
    if isinstance(staff, Refusal):
        return deny(Scan(settings.id, Mode.BIND, Kind.NFC, uid), staff.code, staff.message)
    return correct(ledger.state, staff)


def _record(
    ledger: Ledger,
    outcome: Outcome,
    args: dict[str, Any],
    asked_by: dict[str, Any] | None,
    what: str,
) -> dict[str, Any]:
    decision, events = outcome
    staff, request = authorised_by(events), args.get("request")
    answer = record_desk_decision(ledger, decision, events, staff, asked_by, Kind.NFC, request)
    log.info("%s %s: %s (%s)", what, decision.value, decision.code.value, decision.message)
    return answer


def replace_band(
    ledger: Ledger,
    settings: GateSettings,
    policy: Policy,
    now: datetime,
    args: dict[str, Any],
    asked_by: dict[str, Any] | None,
) -> dict[str, Any]:
    """Replace member `args["old"]`'s lost band with band `args["new"]`."""
    desk_role(settings, "bands are replaced")
    old, new = _uid(args, "old"), _uid(args, "new")
    outcome = _decide(
        ledger,
        settings,
        policy,
        now,
        old,
        lambda state, staff: core.replace_band(state, settings.id, now, policy, old, new, staff),
    )
    return _record(ledger, outcome, args, asked_by, f"replace by {new}:")


DeskAction = Callable[..., dict[str, Any]]  # the shape of gate.daemon.desk_actions' table


def _on_one_band(correct: Callable[..., Outcome], doing: str, what: str) -> DeskAction:
    """A correction of one band named `args["uid"]`, decided by the core's `correct`."""

    def action(
        ledger: Ledger,
        settings: GateSettings,
        policy: Policy,
        now: datetime,
        args: dict[str, Any],
        asked_by: dict[str, Any] | None,
    ) -> dict[str, Any]:
        desk_role(settings, doing)
        uid = _uid(args, "uid")
        outcome = _decide(
            ledger,
            settings,
            policy,
            now,
            uid,
            lambda state, staff: correct(state, settings.id, now, policy, uid, staff),
        )
        return _record(ledger, outcome, args, asked_by, what)

    return action


# a band bound by mistake, unbound; a band returned by mistake, given back to its member
unbind_band = _on_one_band(core.unbind_band, "bands are unbound", "unbind")
reissue_band = _on_one_band(core.reissue_band, "bands are re-issued", "reissue")


# By name, as the desk's dispatcher and the control socket call them.
ACTIONS: dict[str, DeskAction] = {
    "replace": replace_band,
    "unbind": unbind_band,
    "reissue": reissue_band,
}


def desk_tokens(
    decision: Decision,
    events: list[Event],
    scan: Scan,
    write_token: Callable[[bytes], Any] | None,
    state: State,
    keyring: Keyring,
    count: Callable[[str], None],
) -> tuple[Decision, list[Event]]:
    """What the desk writes on a band on its reader: the token of a band bound (unbound again
    when it cannot be written), or of a blank band of a member (`write_member_token`)."""
    bound = next((e for e in events if isinstance(e, BandBound)), None)
    if bound is not None:
        return write_band_token(decision, events, bound, write_token, state, keyring, count)
    if decision.code is Code.OK_CORRECTED and not events:
        return write_member_token(decision, scan, write_token, state, keyring, count), events
    return decision, events


def write_member_token(
    decision: Decision,
    scan: Scan,
    write_token: Callable[[bytes], Any] | None,
    state: State,
    keyring: Keyring,
    count: Callable[[str], None],
) -> Decision:
    """A blank band of a member held to the desk's reader (`OK_CORRECTED` with no event: a
    replacement, a band re-issued): its token is written as at binding, and read back."""
    if write_token is None or decision.code is not Code.OK_CORRECTED or decision.group is None:
        return decision
    assert decision.role is not None
    at = state.members[scan.value].last_at  # the token does not depend on it
    bound = BandBound(scan.gate, at, scan.value, decision.group, decision.role)
    written, _ = write_band_token(decision, [bound], bound, write_token, state, keyring, count)
    if written.granted:
        count("token_rewritten")
        return decision
    reason = written.message.removeprefix("not bound: ")
    return Decision(
        Code.DENY_BINDING,
        f"token not written: {reason}; hold the band still and try again",
        decision.value,
        decision.gate,
        decision.group,
        decision.role,
    )
