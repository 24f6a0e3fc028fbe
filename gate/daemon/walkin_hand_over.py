"""What a desk does once a walk-in child's registration is journalled, whoever asked for it
(`gatectl walkin`, `gatectl desk walkin`, the hub's console): the guardian's phone kept on the
desk and sent to the hub alone (`gate.daemon.guardian_phones`), then the pickup code printed
at the desk's printer and sent (`gate.daemon.pickups.Pickups.print_code`: for the guardian
with `send_pickup_codes`, and for the console's `request`). The answer to the asker holds the
code (`pickup`), never the phone; the gate's `last` holds neither."""

from __future__ import annotations

from typing import Any, Protocol

from gate.daemon.guardian_phones import GuardianPhones
from gate.daemon.pickups import Pickups

PHONE = "guardian_phone"  # the full phone, from the action to here, never further


class DeskBooks(Protocol):
    pickups: Pickups | None
    phones: GuardianPhones | None
    last: dict[str, Any] | None


def hand_over(books: DeskBooks, result: dict[str, Any], request: str | None) -> dict[str, Any]:
    """`result` (a desk action's answer) without the phone, with its walk-in's code handed."""
    phone = result.pop(PHONE, None)
    handed = result.pop("pickup", None)
    books.last = dict(result)  # neither the code nor the phone is kept
    if phone and books.phones is not None:
        books.phones.registered(str(result.get("group")), phone)
    if handed is not None and books.pickups is not None:
        result["pickup"] = books.pickups.print_code(handed["group"], handed["code"], request)
    return result
