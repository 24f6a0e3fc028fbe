"""Checks shared by the CSV reader, snapshots and deltas: one wording for every problem.

Each check returns problem messages (empty when fine) or raises `ValueError` with one, so the
callers can prefix where the value came from (`tickets.csv:12: ...`, `delta ticket 'T1': ...`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Container
from datetime import date, datetime

from gate.core import Role, Ticket
from gate.core.model import SESSION_NAME

UID_DIGITS = (8, 20)  # hex digits of an NFC UID: 4 (NTAG21x: 7) up to 10 bytes
PHONE_DIGITS = (6, 20)
BAND_ROLES = {"adult": Role.ADULT, "child": Role.CHILD}

_NORMAL_UID = re.compile(r"(?:[0-9A-F]{2}){4,10}")  # UID_DIGITS, in bytes
_PLAIN_UID = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_SPLIT_UID = re.compile(r"[0-9A-Fa-f]{2}(?P<sep>[: ])[0-9A-Fa-f]{2}(?:(?P=sep)[0-9A-Fa-f]{2})*")
_PHONE = re.compile(r"\+?[0-9][0-9 \-]*")
_WHOLE = re.compile(r"[0-9]+")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
SHOWN_CHARS = 24  # of a bad cell quoted in a message


def shown(value: str) -> str:
    """A bad value as a message may quote it: repr'd, cut to SHOWN_CHARS characters.

    Only the cell of the field at fault is ever quoted, and only from a file whose header names
    the allowlist's columns (a file that is not one is refused at its header, unquoted): a
    mistyped count helps the operator, a line of some other file would leak it.
    """
    if len(value) <= SHOWN_CHARS:
        return repr(value)
    return f"{value[:SHOWN_CHARS]!r}... ({len(value)} characters)"


def normalise_uid(text: str) -> str:
    """An NFC UID in the allowlist's spelling: upper-case hex, no separators.

    Bytes may be separated by colons or spaces (one kind throughout). Raises `ValueError`.

    >>> normalise_uid("04:a1:b2:c3:d4:e5:f6")
    '04A1B2C3D4E5F6'
    """
    s = text.strip()
    if _PLAIN_UID.fullmatch(s):
        digits = s
    elif m := _SPLIT_UID.fullmatch(s):
        digits = s.replace(m["sep"], "")
    else:
        digits = ""
    if not UID_DIGITS[0] <= len(digits) <= UID_DIGITS[1]:
        raise ValueError(
            f"uid must be {UID_DIGITS[0]} to {UID_DIGITS[1]} hex digits, whole bytes "
            f"(e.g. 04A1B2C3D4E5F6), got {shown(text)}"
        )
    return digits.upper()


def is_normal_uid(text: str) -> bool:
    """`text` is a UID already in the allowlist's spelling (the fast path for big snapshots)."""
    return _NORMAL_UID.fullmatch(text) is not None


def is_unicode(text: str) -> bool:
    """`text` can be stored: no lone surrogate, which JSON's ``\\ud800`` escapes let in and no
    UTF-8 file can hold."""
    return text.isascii() or _SURROGATE.search(text) is None


def band_role(text: str) -> Role:
    """The stock role of a wristband: `adult` or `child`. Raises `ValueError`."""
    role = BAND_ROLES.get(text.strip().lower())
    if role is None:
        raise ValueError(f"role must be adult or child, got {shown(text)}")
    return role


def whole_number(text: str, name: str) -> int:
    """A count written as plain digits. Raises `ValueError`."""
    s = text.strip()
    if not _WHOLE.fullmatch(s):
        raise ValueError(f"{name} must be a whole number >= 0, got {shown(text)}")
    return int(s)


def day(text: str, name: str) -> date:
    """A calendar day written YYYY-MM-DD. Raises `ValueError`."""
    s = text.strip()
    try:
        if _DAY.fullmatch(s):
            return date.fromisoformat(s)
    except ValueError:
        pass
    raise ValueError(f"{name} must be a date YYYY-MM-DD, got {shown(text)}")


def phone_problem(phone: str) -> str | None:
    """Why `phone` does not look like a phone number, or None (an empty phone is fine)."""
    if not phone:
        return None
    digits = sum(c.isdigit() for c in phone)
    if _PHONE.fullmatch(phone) and PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        return None
    return (
        f"guardian_phone must be a phone number ({PHONE_DIGITS[0]}-{PHONE_DIGITS[1]} digits, "
        f"optional leading +, spaces or dashes), got {shown(phone)}"
    )


MAX_CODE_BYTES = 32  # the group id in a wristband token (gate.devices.nfc.token)


def ticket_problems(ticket: Ticket) -> list[str]:
    """What is wrong with a ticket whose fields have the right types (`ticket_type_problems`)."""
    problems = []
    if not ticket.code:
        problems.append("code is empty")
    elif len(ticket.code.encode(errors="surrogatepass")) > MAX_CODE_BYTES:
        problems.append(
            f"code is longer than {MAX_CODE_BYTES} bytes: it must fit a wristband token"
        )
    if ticket.adults > 255 or ticket.children > 255:
        problems.append("adults and children are at most 255 each")
    if ticket.adults == 0 and ticket.children == 0:
        problems.append("a ticket must admit someone: adults and children are both 0")
    if ticket.valid_from > ticket.valid_to:
        problems.append(f"valid_from {ticket.valid_from} is after valid_to {ticket.valid_to}")
    if ticket.adults == 0 and ticket.children > 0 and not ticket.has_guardian:
        problems.append("a ticket with 0 adults admits children alone: guardian_phone is required")
    if ticket.guardian_phone and ticket.guardian_registered:
        problems.append("guardian_registered is only for a ticket whose phone was left out")
    if ticket.leaders and (ticket.leaders != ticket.adults or ticket.children == 0):
        problems.append(
            f"leaders {ticket.leaders}: a group ticket's adults are its leaders and it has "
            f"children: set leaders to adults ({ticket.adults}), or to 0 for a family ticket"
        )
    if (bad_phone := phone_problem(ticket.guardian_phone)) is not None:
        problems.append(bad_phone)
    if ticket.session and not SESSION_NAME.fullmatch(ticket.session):
        problems.append(
            f"session {shown(ticket.session)} is not a session name: 1 to 16 letters, digits, "
            "_ or -, as in the venue policy's [sessions] (or empty for the whole day)"
        )
    return problems


def unknown_session(session: str, sessions: Collection[str]) -> str:
    """A ticket's session that the venue policy does not name, and the ones it does."""
    known = ", ".join(sorted(sessions)) or "none: the policy has no [sessions]"
    return (
        f"session {shown(session)} is not one of the venue's sessions ({known}): add it to "
        "[sessions] of policy.toml or correct the ticket"
    )


def ticket_type_problems(ticket: Ticket) -> list[str]:
    """Fields of the wrong type: tickets built in code (deltas, snapshots) are not parsed."""
    t = ticket
    if (
        type(t.code) is str
        and type(t.product) is str
        and type(t.adults) is int
        and type(t.children) is int
        and type(t.valid_from) is date
        and type(t.valid_to) is date
        and type(t.guardian_phone) is str
        and type(t.guardian_registered) is bool
        and type(t.session) is str
        and type(t.leaders) is int
        and t.code == t.code.strip()
        and t.adults >= 0
        and t.children >= 0
        and is_unicode(t.code)
        and is_unicode(t.product)
        and is_unicode(t.guardian_phone)
    ):
        return []  # the common case, kept fast for snapshots of many tickets
    problems = []
    if not isinstance(t.code, str) or t.code != t.code.strip():
        problems.append(f"code must be text without surrounding spaces, got {shown(t.code)}")
    for name in ("product", "guardian_phone", "session"):
        if not isinstance(getattr(t, name), str):
            problems.append(f"{name} must be text, got {getattr(t, name)!r}")
    for name in ("code", "product", "guardian_phone"):
        value = getattr(t, name)
        if isinstance(value, str) and not is_unicode(value):
            problems.append(f"{name} is not valid Unicode text (it holds a lone surrogate)")
    if type(t.guardian_registered) is not bool:
        problems.append(f"guardian_registered must be true or false, got {t.guardian_registered!r}")
    for name in ("adults", "children", "leaders"):
        n = getattr(t, name)
        if type(n) is not int or n < 0:
            problems.append(f"{name} must be a whole number >= 0, got {n!r}")
    for name in ("valid_from", "valid_to"):
        d = getattr(t, name)
        if not isinstance(d, date) or isinstance(d, datetime):
            problems.append(f"{name} must be a date, got {d!r}")
    return problems


def check_ticket(ticket: Ticket) -> list[str]:
    """Every problem of a ticket built in code: types first, then the ticket rules."""
    return ticket_type_problems(ticket) or ticket_problems(ticket)


def revocation_key(value: str, tickets: Container[str]) -> str:
    """The key a revocation is filed under: a known ticket code as is, else a UID normalised.

    A value that is neither a known ticket nor a UID (a ticket not yet imported) is kept as is.
    """
    value = value.strip()
    if value in tickets:
        return value
    try:
        return normalise_uid(value)
    except ValueError:
        return value
