"""Human labels for the codes the venue's records carry: reason codes, roles, member states and
the reconciliation's findings kinds, in the operator's language.

The reports and the display show these, never the raw code (`DENY_GUARDIAN_PICKUP`,
`solo_child`): `label(Code.DENY_GUARDIAN_PICKUP, "zh-CN")` -> "须监护人到场接领". A code no
table knows (a newer gate's) is shown spelled out ("double entry"), never dropped.
"""

from __future__ import annotations

import re

from gate.core import Code, MemberState, Role
from gate.i18n import N_, words

ROLES: dict[str, str] = {
    Role.ADULT: N_("Adult"),
    Role.CHILD: N_("Child"),
    Role.SOLO_CHILD: N_("Child admitted alone"),
    Role.STAFF: N_("Staff member"),
}

STATES: dict[str, str] = {
    MemberState.BOUND: N_("Band bound, not yet in"),
    MemberState.INSIDE: N_("Inside the venue"),
    MemberState.TEMP_OUT: N_("Out for a while"),
    MemberState.EXITED: N_("Left, band returned"),
}

CODES: dict[str, str] = {
    Code.OK_BIND: N_("Band bound at the desk"),
    Code.OK_ENTRY: N_("Let in"),
    Code.OK_REENTRY: N_("Let back in"),
    Code.OK_EXIT: N_("Let out for good"),
    Code.OK_TEMP_EXIT: N_("Let out for a while"),
    Code.OK_STAFF: N_("Staff passage"),
    Code.OK_OVERRIDE: N_("Let through by a staff override"),
    Code.OK_COLLECT: N_("Let in after closing to collect children"),
    Code.DENY_UNKNOWN: N_("Not on the ticket list"),
    Code.DENY_NOT_VALID_NOW: N_("Ticket not valid now"),
    Code.DENY_REVOKED: N_("Ticket, band or badge cancelled"),
    Code.DENY_BAD_TOKEN: N_("Band could not be verified"),
    Code.DENY_ALREADY_INSIDE: N_("Already inside"),
    Code.DENY_NOT_INSIDE: N_("Not inside"),
    Code.DENY_ALREADY_EXITED: N_("Already left for good"),
    Code.DENY_CHILD_NEEDS_ADULT: N_("Child needs an adult of the group"),
    Code.DENY_CHILD_TEMP_EXIT: N_("Children may not go out for a while"),
    Code.DENY_GUARDIAN_PICKUP: N_("Child alone: guardian pickup at the desk"),
    Code.DENY_CAPACITY: N_("Venue full"),
    Code.DENY_CLOSED: N_("Venue closed"),
    Code.DENY_BINDING: N_("Band cannot be bound"),
    Code.OK_GROUP_WINDOW: N_("Group leader reopened the lane"),
    Code.OK_JOIN: N_("Tickets joined into one family"),
    Code.OK_CORRECTED: N_("Band corrected at the desk"),
    Code.DENY_VOUCHER_FORGED: N_("Voucher not valid"),
    Code.DENY_VOUCHER_EXPIRED: N_("Voucher expired"),
    Code.DENY_VOUCHER_USED: N_("Voucher already used"),
    Code.OK_REGISTERED: N_("Registered at the desk"),
    Code.OK_PICKUP: N_("Guardian's pickup code matched"),
    Code.DENY_PICKUP_MISMATCH: N_("Pickup code does not match"),
    Code.DENY_PICKUP_LOCKED: N_("Pickup codes refused: too many wrong ones"),
}

FINDINGS: dict[str, str] = {
    "child_released_alone": N_("Child let out alone"),
    "child_temp_exit": N_("Child let out for a while"),
    "child_admitted_alone": N_("Child let in alone"),
    "override_not_authorised": N_("Override without a valid staff badge"),
    "desk_action_not_authorised": N_("Desk action without a valid staff badge"),
    "move_without_entry": N_("Let out, never let in"),
    "impossible_move": N_("Impossible move"),
    "pairing_without_adult": N_("Pairing with no adult"),
    "forged_event": N_("Forged entries refused"),
    "seq_jump": N_("Batch refused: sequence jump"),
    "child_released_by_override": N_("Child let out by a staff override"),
    "clock": N_("Gate clock off"),
    "double_entry": N_("Let in twice"),
    "exit_without_entry": N_("Left with no entry on record"),
    "grant_not_passed": N_("Let through, nobody passed"),
    "journal_conflict": N_("Gates' journals disagree"),
    "voucher_reused": N_("Voucher used twice"),
    "hand_back_not_applied": N_("Band handed back while its wearer was inside"),
    "unknown_reference": N_("Entry names something unknown"),
    "unverified_pickup": N_("Child collected without the pickup code"),
    "pickup_not_authorised": N_("Override tried on a child with a not-authorised list"),
    "pickup_codes_locked": N_("Pickup codes refused after wrong tries"),
    "band_cloned": N_("Band copied or rolled back"),
}

HUB_ACTIONS = {  # the daily report's desk actions typed at the hub (`hub revoke`, `hub restore`)
    "hub_revoke": N_("Revoked at the hub"),
    "hub_restore": N_("Restored at the hub"),
}

_TABLES = (CODES, ROLES, STATES, FINDINGS, HUB_ACTIONS)


def label(code: str, language: str = "en") -> str:
    """The human label of a reason code, role, member state or findings kind."""
    for table in _TABLES:
        if code in table:
            return words(language)(table[code])
    return str(code).replace("_", " ").lower()


_CODE_WORD = re.compile(r"\b[A-Za-z]+(?:_[A-Za-z]+)+\b")


def humanize(text: str, language: str = "en") -> str:
    """A sentence with every code in it (`DENY_GUARDIAN_PICKUP`, `solo_child`) labelled; the
    rest as it was. Plain words (`child`, `exited`) are English already and stay."""
    return _CODE_WORD.sub(
        lambda m: label(m.group(0), language) if known(m.group(0)) else m.group(0), text
    )


def known(code: str) -> bool:
    return any(code in table for table in _TABLES)
