"""The desk's wristband stock, recorded by staff at the desk or a handheld: `stock` (bands taken
from the store, returned to it, written off: the console's form, `gatectl stock take|return|
write-off --count N`) and `hand_back` (one band handed back after a temporary exit: the console's
form, `gatectl stock return --band UID`).

Each is a desk action (`gate.daemon.desk_actions`): authorised by the staff badge tapped on this
gate's reader within the pairing window, decided by the rules core (`gate.core.desk_stock`),
journalled with its `StockRecorded` event and the badge, folded here and published: every gate
frees a band handed back (its member left for good), and the hub keeps the record in the day's
stock sheet, by "D1 (staff Wang Fang)".

    stock(DeskCall(ledger, settings, policy, now, {"kind": "taken", "count": "200"}, None))
    hand_back(DeskCall(ledger, settings, policy, now, {"band": "04A1B2C3D4E5F6"}, None))
"""

from __future__ import annotations

from typing import Any

from gate.core import Kind, Mode, Scan
from gate.core import desk_stock as core
from gate.daemon.desk_journal import DeskAction, DeskCall, desk_role
from gate.daemon.desk_records import SAY_BAND
from gate.i18n import N_
from gate.store.allowlist import normalise_uid

SAY_STOCK_KIND = N_("Stock: taken, returned or written off")
SAY_COUNT = N_("Count: a whole number of bands from 1 to 100000")
SAY_SHIFT = N_("Shift: a label of at most 20 characters (AM, PM), or none for the last one")
SAY_WRITE_OFF = N_("Reason: say why the bands are written off (broken clasp, ...), in one line")
SAY_NO_REASON = N_("Reason: only a write-off takes one")
KINDS = {
    "taken": "taken",
    "returned": "returned",
    "written_off": "written_off",
    "written-off": "written_off",
}


def _shift(args: dict[str, Any]) -> str:
    shift = args.get("shift", "")
    if not isinstance(shift, str):
        raise ValueError(SAY_SHIFT)
    try:
        return core.shift_label(shift)
    except ValueError:
        raise ValueError(SAY_SHIFT) from None


def _count(args: dict[str, Any]) -> int:
    text = args.get("count")
    if not isinstance(text, str) or not text.strip().isdecimal() or not text.strip().isascii():
        raise ValueError(SAY_COUNT)
    count = int(text.strip())
    if not 0 < count <= core.MAX_COUNT:
        raise ValueError(SAY_COUNT)
    return count


def stock(call: DeskCall) -> dict[str, Any]:
    """`count` bands `kind` (taken, returned, written_off with a `reason`) in `shift`."""
    args = call.args
    desk_role(call.settings, "band stock is recorded")
    kind = KINDS.get(str(args.get("kind", "")).strip())
    if kind is None:
        raise ValueError(SAY_STOCK_KIND)
    count, shift = _count(args), _shift(args)
    reason = args.get("reason", "")
    if kind != "written_off" and reason:
        raise ValueError(SAY_NO_REASON)
    if kind == "written_off":
        try:
            if not isinstance(reason, str):
                raise ValueError(SAY_WRITE_OFF)
            reason = core.write_off_reason(reason)
        except ValueError:
            raise ValueError(SAY_WRITE_OFF) from None
    return call.by_badge(
        Scan(call.gate, Mode.BIND, Kind.BARCODE, core.STOCK_VALUE),
        lambda state, staff: core.record_stock(
            state, call.gate, call.now, call.policy, kind, count, shift, reason, staff
        ),
        f"stock {kind}",
    )


def hand_back(call: DeskCall) -> dict[str, Any]:
    """Band `band` handed back after a temporary exit, into `shift`'s stock."""
    desk_role(call.settings, "a band is handed back")
    band = call.args.get("band")
    try:
        if not isinstance(band, str):
            raise ValueError(SAY_BAND)
        uid = normalise_uid(band.strip())
    except ValueError:
        raise ValueError(SAY_BAND) from None
    shift = _shift(call.args)
    return call.by_badge(
        Scan(call.gate, Mode.BIND, Kind.NFC, uid),
        lambda state, staff: core.hand_back_band(
            state, call.gate, call.now, call.policy, uid, shift, staff
        ),
        "band handed back:",
    )


ACTIONS: dict[str, DeskAction] = {"stock": stock, "hand_back": hand_back}
