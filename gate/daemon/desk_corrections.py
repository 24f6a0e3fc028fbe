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

from collections.abc import Callable
from typing import Any

from gate.core import BandBound, Decision, Event, Scan, State
from gate.core import corrections as core
from gate.core.model import Code, Kind, Mode
from gate.core.rules import Outcome
from gate.daemon.desk_journal import DeskAction, DeskCall, desk_role
from gate.daemon.wristbands import write_band_token
from gate.devices.nfc.token import Keyring
from gate.store.allowlist import normalise_uid


def _uid(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise ValueError(f"{name}: the band's UID (hex, as on the reader), e.g. 04A1B2C3D4E5F6")
    try:
        return normalise_uid(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _correct(
    call: DeskCall, uid: str, decide: Callable[[State, str], Outcome], what: str
) -> dict[str, Any]:
    """The core's correction of band `uid`, made with the staff badge armed at this desk
    (none: a denial saying to tap it), journalled with the request's id the asker gave."""
    scan = Scan(call.gate, Mode.BIND, Kind.NFC, uid)
    return call.by_badge(scan, decide, what, request=call.args.get("request"))


def replace_band(call: DeskCall) -> dict[str, Any]:
    """Replace member `args["old"]`'s lost band with band `args["new"]`."""
    desk_role(call.settings, "bands are replaced")
    old, new = _uid(call.args, "old"), _uid(call.args, "new")
    return _correct(
        call,
        old,
        lambda state, staff: core.replace_band(
            state, call.gate, call.now, call.policy, old, new, staff
        ),
        f"replace by {new}:",
    )


def _on_one_band(correct: Callable[..., Outcome], doing: str, what: str) -> DeskAction:
    """A correction of one band named `args["uid"]`, decided by the core's `correct`."""

    def action(call: DeskCall) -> dict[str, Any]:
        desk_role(call.settings, doing)
        uid = _uid(call.args, "uid")
        return _correct(
            call,
            uid,
            lambda state, staff: correct(state, call.gate, call.now, call.policy, uid, staff),
            what,
        )

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
