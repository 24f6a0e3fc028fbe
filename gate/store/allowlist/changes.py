"""What the allowlist store writes, checked first: a whole allowlist (`checked`) or a delta to
the current one (`AllowlistDelta`, `applied`), every problem listed at once, UIDs normalised."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gate.core import Allowlist, Role, Ticket
from gate.store.allowlist.errors import AllowlistError, DeltaError, StaleDelta
from gate.store.allowlist.validate import (
    BAND_ROLES,
    check_ticket,
    is_normal_uid,
    is_unicode,
    normalise_uid,
    revocation_key,
)


@dataclass(frozen=True)
class AllowlistDelta:
    """The changes from allowlist `base_version` to `version`, applied all or nothing.

    Tickets (by code), bands and staff badges (by UID) are added or replaced. `revoked` maps a
    ticket code or band UID to the reason; `unrevoked` lifts revocations (a value that is not
    revoked is ignored); `removed_staff` withdraws badges.
    """

    base_version: int
    version: int
    tickets: Sequence[Ticket] = ()
    bands: Mapping[str, Role] = field(default_factory=dict)
    staff: Mapping[str, str] = field(default_factory=dict)
    revoked: Mapping[str, str] = field(default_factory=dict)
    unrevoked: Sequence[str] = ()
    removed_staff: Sequence[str] = ()


class _Problems:
    """Problems found while checking, each prefixed with the entry it concerns."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, *messages: str) -> None:
        self.lines.extend(f"{where}: {m}" for m in messages)

    def uid(self, where: str, uid: object) -> str | None:
        if not isinstance(uid, str):
            self.add(where, f"uid must be text, got {uid!r}")
            return None
        try:
            return normalise_uid(uid)
        except ValueError as exc:
            self.add(where, str(exc))
            return None

    def text(self, where: str, name: str, value: object) -> str | None:
        """A required, non-empty text value, stripped."""
        if isinstance(value, str) and value.strip() and is_unicode(value):
            return value.strip()
        if isinstance(value, str) and value.strip():
            self.add(where, f"{name} is not valid Unicode text (it holds a lone surrogate)")
        else:
            self.add(where, f"{name} must be non-empty text, got {value!r}")
        return None


def _version(problems: _Problems, name: str, value: object) -> None:
    if type(value) is not int or value < 0:
        problems.add("version", f"{name} must be a whole number >= 0, got {value!r}")


def _check_tickets(problems: _Problems, tickets: Mapping[str, Ticket] | Sequence[Ticket]) -> None:
    """Each ticket is well formed; in a mapping, filed under its own code."""
    items = tickets.items() if isinstance(tickets, Mapping) else ((None, t) for t in tickets)
    for key, ticket in items:
        where = f"ticket {key if key is not None else getattr(ticket, 'code', '?')!r}"
        if not isinstance(ticket, Ticket):
            problems.add(where, f"not a Ticket: {ticket!r}")
        elif key is not None and key != ticket.code:
            problems.add(where, f"filed under {key!r} but its code is {ticket.code!r}")
        elif found := check_ticket(ticket):
            problems.add(where, *found)


def _check_bands(problems: _Problems, bands: Mapping[str, Role]) -> dict[str, Role]:
    checked: dict[str, Role] = {}
    for raw, role in bands.items():
        where = f"band {raw!r}"
        uid = raw if isinstance(raw, str) and is_normal_uid(raw) else problems.uid(where, raw)
        stock = BAND_ROLES.get(role) if isinstance(role, str) else None  # Role is a str too
        if stock is None:
            problems.add(where, f"role must be adult or child, got {role!r}")
        elif uid is not None and checked.setdefault(uid, stock) is not stock:
            problems.add(where, f"uid {uid} is listed twice with different roles")
    return checked


def _check_staff(problems: _Problems, staff: Mapping[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for raw, name in staff.items():
        where = f"staff {raw!r}"
        uid = problems.uid(where, raw)
        text = problems.text(where, "name", name)
        if uid is not None and text is not None:
            checked[uid] = text
    return checked


def _check_revoked(
    problems: _Problems, revoked: Mapping[str, str], tickets: Mapping[str, Ticket]
) -> dict[str, str]:
    checked: dict[str, str] = {}
    for raw, reason in revoked.items():
        where = f"revoked {raw!r}"
        value = problems.text(where, "value", raw)
        why = problems.text(where, "reason", reason)
        if value is not None and why is not None:
            checked[revocation_key(value, tickets)] = why
    return checked


def _check_badges(problems: _Problems, staff: Mapping[str, str], bands: Mapping[str, Role]) -> None:
    for uid in staff:
        if uid in bands:
            problems.add(f"staff {uid!r}", "also in the wristband stock: a badge is not a band")


def checked(allowlist: Allowlist, version: int) -> Allowlist:
    """A normalised copy of `allowlist` at `version`, or `AllowlistError` with every problem."""
    problems = _Problems()
    _version(problems, "version", version)
    _check_tickets(problems, allowlist.tickets)
    bands = _check_bands(problems, allowlist.bands)
    staff = _check_staff(problems, allowlist.staff)
    _check_badges(problems, staff, bands)
    revoked = _check_revoked(problems, allowlist.revoked, allowlist.tickets)
    if problems.lines:
        raise AllowlistError(problems.lines)
    return Allowlist(version, dict(allowlist.tickets), bands, staff, revoked)


def applied(current: Allowlist, delta: AllowlistDelta) -> Allowlist:
    """`current` with `delta` applied, as a new index; `current` itself is not touched."""
    if delta.base_version != current.version:
        raise StaleDelta(delta.base_version, current.version)
    problems = _Problems()
    _version(problems, "version", delta.version)
    if type(delta.version) is int and delta.version <= delta.base_version:
        problems.add("version", f"{delta.version} must be above base_version {delta.base_version}")
    _check_tickets(problems, delta.tickets)
    given = [t for t in delta.tickets if isinstance(t, Ticket)]
    added = {t.code: t for t in given}
    if len(added) != len(given):
        problems.add("tickets", "a ticket code appears twice in the delta")
    tickets = {**current.tickets, **added}
    bands = {**current.bands, **_check_bands(problems, delta.bands)}
    new_staff = _check_staff(problems, delta.staff)
    staff = {**current.staff, **new_staff}
    for raw in delta.removed_staff:
        uid = problems.uid(f"removed_staff {raw!r}", raw)
        if uid in new_staff:
            problems.add(f"removed_staff {raw!r}", "also added by the same delta")
        staff.pop(uid or "", None)
    _check_badges(problems, staff, bands)
    new_revoked = _check_revoked(problems, delta.revoked, tickets)
    revoked = {**current.revoked, **new_revoked}
    for raw in delta.unrevoked:
        value = problems.text(f"unrevoked {raw!r}", "value", raw)
        key = revocation_key(value, tickets) if value is not None else ""
        if key in new_revoked:
            problems.add(f"unrevoked {raw!r}", "also revoked by the same delta")
        revoked.pop(key, None)
    if problems.lines:
        raise DeltaError(problems.lines)
    return Allowlist(delta.version, tickets, bands, staff, revoked)
