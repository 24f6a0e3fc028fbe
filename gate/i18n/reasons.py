"""What each reason code means, in words staff act on, in English and Chinese.

A gate's decision carries a stable code (`gate.core.model.Code`, design.md §4) and a detailed
English message made by the rules ("venue full: 400/400"); a peer's entry the hub or a gate
refuses carries a stable reason (`gate.core.authority.Reason`). These tables give each code and
each reason one short sentence for people: `gatectl` prints it beside the code, the gate logs it
in its `[gate] language`, reports and the display may show it. Keyed by the codes' text, so this
layer needs nothing of the rules core; `tests/test_i18n.py` checks that every code and every
reason has its sentence in both languages.
"""

from __future__ import annotations

from gate.i18n.catalog import N_, words

CODES: dict[str, str] = {
    "OK_BIND": N_("Band bound to its ticket's group"),
    "OK_ENTRY": N_("Entry allowed"),
    "OK_REENTRY": N_("Re-entry allowed: back from a temporary exit"),
    "OK_EXIT": N_("Exit allowed"),
    "OK_TEMP_EXIT": N_("Temporary exit allowed: come back with the same band"),
    "OK_STAFF": N_("Staff badge accepted"),
    "OK_OVERRIDE": N_("Allowed by a staff override"),
    "OK_COLLECT": N_("After closing: in only to collect the group's children inside"),
    "DENY_UNKNOWN": N_("Not in the allowlist: send the visitor to the ticket desk"),
    "DENY_NOT_VALID_NOW": N_("Ticket not valid now"),
    "DENY_REVOKED": N_("Ticket or band revoked: send the visitor to the ticket desk"),
    "DENY_BAD_TOKEN": N_("The band's signature is not valid: replace the band at the desk"),
    "DENY_ALREADY_INSIDE": N_("Already inside: the band was not used to go out"),
    "DENY_NOT_INSIDE": N_("Not inside: the band was not used to come in"),
    "DENY_ALREADY_EXITED": N_("The band was returned at a final exit"),
    "DENY_CHILD_NEEDS_ADULT": N_("A child enters or leaves only with an adult of their group"),
    "DENY_CHILD_TEMP_EXIT": N_("Children may not leave temporarily"),
    "DENY_GUARDIAN_PICKUP": N_("A child who came alone leaves only with their guardian"),
    "DENY_CAPACITY": N_("The venue is full"),
    "DENY_CLOSED": N_("The venue is closed now"),
    "DENY_BINDING": N_("The band cannot be bound to this ticket"),
    "OK_GROUP_WINDOW": N_("Group leader: the children may follow now"),
    "OK_JOIN": N_("Tickets joined into one family"),
    "OK_CORRECTED": N_("Band corrected at the desk by staff"),
    "DENY_VOUCHER_FORGED": N_("Not a valid voucher: the guest shows the band or goes to the desk"),
    "DENY_VOUCHER_EXPIRED": N_("The voucher has expired: the guest goes to the ticket desk"),
    "DENY_VOUCHER_USED": N_("The voucher was already used"),
    "OK_REGISTERED": N_("Registered at the desk by staff"),
    "OK_PICKUP": N_("Pickup code matched: the child may leave with the guardian"),
    "DENY_PICKUP_MISMATCH": N_(
        "The pickup code does not match this child: the guardian checks it with the desk"
    ),
    "DENY_PICKUP_LOCKED": N_(
        "Too many wrong pickup codes: codes are refused for a while; staff check the guardian "
        "against the registered phone, then badge"
    ),
}

REFUSALS: dict[str, str] = {
    "schema": N_("Unreadable or malformed entry"),
    "unknown_gate": N_("The gate is not on the venue's roster"),
    "foreign_gate": N_("The entry names another gate"),
    "role_cannot": N_("The gate's role never records this"),
    "kind_cannot": N_("This kind of entry never holds this event"),
    "decision_mismatch": N_("The events do not follow from the entry's decision"),
    "stock_role": N_("The band does not match the wristband stock"),
    "seq_jump": N_("Sequence number far beyond what the gate sent before"),
    "clock_ahead": N_("Timestamp ahead of this clock"),
    "flood": N_("More than the gate's hourly budget"),
}


def reason_text(code: str, language: str | None = None) -> str:
    """The sentence for a decision's code in `language`; an unknown code as it is."""
    message = CODES.get(str(code))
    return words(language)(message) if message else str(code)


def refusal_text(reason: str, language: str | None = None) -> str:
    """The sentence for a refusal's reason in `language`; an unknown reason as it is."""
    message = REFUSALS.get(str(reason))
    return words(language)(message) if message else str(reason)
