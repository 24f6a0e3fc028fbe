"""Revoking and restoring one band or ticket at the hub, and a revocation list imported alone.

    hub revoke 04A1B2C3 --reason "lost band reported"     # one version up, a delta at once
    hub restore 04A1B2C3                                  # the revocation lifted, the same way
    hub import ./revoked-only/                            # a folder with only revoked.csv

The allowlist is the hub's: these are its changes, published to the gates as a delta
(`hub/allowlist/delta`, `hub/allowlist/full/delta`) the moment they are made, with no
re-import of the tickets. A folder holding only `revoked.csv` adds (or changes) the revocations
it lists and removes nothing; its rows are read by the gates' own loader, so a bad row is
skipped with the same message and line number as in a whole allowlist directory. Pure: what to
change is computed here, `hub.ingest.allowlist.HubAllowlist` applies it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gate.core import Allowlist
from gate.link.protocol import AllowlistChange
from gate.store.allowlist import AllowlistDelta, AllowlistError, RowError, load_csv_texts
from gate.store.allowlist.csvdir import COLUMNS, REVOKED, STAFF, TICKETS, WRISTBANDS
from gate.store.allowlist.validate import normalise_uid, revocation_key

MAX_REASON = 200  # characters of a reason typed at `hub revoke`


def revocations_only(texts: Mapping[str, str]) -> bool:
    """A folder that holds a revocation list and no tickets: its revocations, added."""
    return REVOKED in texts and TICKETS not in texts


def read_revoked(
    texts: Mapping[str, str], where: str, current: Allowlist
) -> tuple[dict[str, str], list[RowError]]:
    """The revocations of a folder's `revoked.csv`, keyed as the current allowlist files them
    (a known ticket code as is, else a band UID normalised), and the rows skipped."""
    empty = {n: ",".join(COLUMNS[n]) + "\n" for n in (TICKETS, WRISTBANDS, STAFF)}
    loaded, row_errors = load_csv_texts({**empty, REVOKED: texts[REVOKED]}, where=where)
    revoked = {revocation_key(value, current.tickets): why for value, why in loaded.revoked.items()}
    return revoked, list(row_errors)


def checked_value(value: object, current: Allowlist) -> str:
    """A ticket code or band UID as a revocation is filed; ValueError says what is wrong."""
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 64:
        raise ValueError("give a ticket code or a band UID (1 to 64 characters)")
    value = value.strip()
    if value in current.tickets:
        return value
    try:
        return normalise_uid(value)
    except ValueError:
        raise ValueError(f"{value!r}: neither a ticket of the allowlist nor a band UID") from None


def checked_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("say why it is revoked: --reason TEXT (lost band, refund, ...)")
    text = " ".join(reason.split())
    if len(text) > MAX_REASON or not text.isprintable():
        raise ValueError(f"the reason is one line of at most {MAX_REASON} characters")
    return text


def revocation_change(
    current: Allowlist, revoked: Mapping[str, str], unrevoked: Sequence[str]
) -> tuple[AllowlistDelta, AllowlistChange, dict[str, int]] | None:
    """The delta (and its wire form) one version up that revokes `revoked` and lifts
    `unrevoked`, with what it counts; None when it changes nothing."""
    added = {v: why for v, why in revoked.items() if current.revoked.get(v) != why}
    lifted = [v for v in dict.fromkeys(unrevoked) if v in current.revoked and v not in added]
    if not added and not lifted:
        return None
    base = current.version
    delta = AllowlistDelta(base, base + 1, revoked=added, unrevoked=lifted)
    change = AllowlistChange(
        base_version=base, version=base + 1, revoked=dict(added), unrevoked=list(lifted)
    )
    return delta, change, {"revoked": len(added), "unrevoked": len(lifted)}


__all__ = [
    "AllowlistError",
    "checked_reason",
    "checked_value",
    "read_revoked",
    "revocation_change",
    "revocations_only",
]
