"""A scan of a band held to the gate through its control socket as its memory
(`gatectl`-style `scan` with `memory`, `gate.devices.nfc.held`): decided, journalled and written
as a band on the reader, and answered with what the band then holds."""

from __future__ import annotations

from typing import Any

from gate.control.refusals import Reason, Refused
from gate.core import Intent, Kind
from gate.devices.nfc.held import HeldBand

MAX_MEMORY_HEX = 1024


def held_scan(
    scans: Any,
    kind: Kind,
    uid: str,
    memory: Any,
    intent: Intent,
    asked_by: dict[str, Any],
    request: str,
) -> dict[str, Any]:
    """`scans.read` of the band of `uid` holding `memory` (hex), with its `memory` after."""
    if kind is not Kind.NFC or not isinstance(memory, str) or len(memory) > MAX_MEMORY_HEX:
        raise Refused(Reason.BAD_REQUEST, "memory is a band's memory in hex, with an nfc scan")
    try:
        held = HeldBand(uid, bytes.fromhex(memory), scans.keyring)
    except ValueError as exc:
        raise Refused(Reason.BAD_REQUEST, f"memory: {exc}") from None
    band = held.read
    result: dict[str, Any] = scans.read(
        kind,
        uid,
        intent=intent,
        token=band.token,
        fault=band.token_fault,
        writer=band.writer.write_token,
        asked_by=asked_by,
        request=request,
        band=band,
    )
    return {**result, "memory": held.memory.hex()}
