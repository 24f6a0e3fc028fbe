"""The band's passage record: two slots at the end of its user memory, beside the group token.

Each granted passage writes the band's next counter into the older slot (the one not holding
the newest valid record), then reads it back; a band pulled away in the middle of it leaves the
other slot whole, so reading takes the valid slot with the highest counter (as a Calypso
validator's event log, or an offline door lock's record on its card). Pure functions over
bytes, tested without a reader; `gate.devices.nfc.band.BandWriter.write_passage` does the I/O.

Where: the last 48 bytes of the data area (NTAG213: pages 28 to 39; NTAG215: 116 to 127), slot
A then slot B, 24 bytes (6 pages) each. The largest token (94 bytes with its TLV and terminator,
`gate.devices.nfc.token`) ends before them. A slot (format version 2), big-endian:

    ======  ====  ===========================================================================
    offset  size  field
    ======  ====  ===========================================================================
    0       1     bits 7-5 format version (2); bits 4-3 the state after the passage (1 inside,
                  2 temporarily out, 3 exited); bit 1 kept (an adult's final exit ahead of
                  children still inside); bit 0 with_adult (a child let in by its group's adult)
    1       1     key id: which site key signed it
    2       3     counter: 1 at the band's first passage, one more at each (up to 16,777,215)
    5       8     the passage's hybrid-clock time, as the gate journalled it
                  (`gate.core.hlc.Timestamp`: 6 bytes of milliseconds, 2 of its counter)
    13      5     the gate's id, ASCII, its first 5 bytes, zero-padded
    18      6     HMAC-SHA256(key, len(uid) || uid || len(group) || group || bytes 0 to 17),
                  truncated to 6 bytes
    ======  ====  ===========================================================================

The hybrid-clock time's two more bytes come out of the counter (a band passing a gate every
second of every day would need half a year to reach 2^24) and the MAC (48 bits: forging a
record takes about 2^47 taps at a gate). Version 1 (the first bands written) held a 4-byte
counter, the decision's wall clock (6 bytes of milliseconds) and a 7-byte MAC in the same 24
bytes; it is still read, with no hybrid-clock time (`hlc` None), and never written again.

The MAC binds the record to the band's UID and to the group its token names: a record copied
onto another band, or left on a band bound again to another group, is no record (counter 0).

    >>> keys = Keyring((1, bytes(range(16))))
    >>> hlc = Timestamp(1784365200000, 2)  # 2026-07-18 09:00 UTC, the third of that ms
    >>> p = stamped(BandPassage(3, "E1", MemberState.INSIDE, datetime.now(UTC)), hlc)
    >>> p.at.isoformat()
    '2026-07-18T09:00:00+00:00'
    >>> slot = encode_slot(p, "04A1B2C3D4E5F6", "T-100", keys)
    >>> len(slot), decode_slot(slot, "04A1B2C3D4E5F6", "T-100", keys) == p
    (24, True)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gate.core.hlc import Timestamp
from gate.core.model import BandPassage, MemberState
from gate.devices.nfc.t2t import CC_PAGE, DATA_PAGE, PAGE, READ_SIZE, parse_cc
from gate.devices.nfc.token import Keyring, uid_bytes

VERSION = 2  # what is written; version 1 is still read
SLOT_BYTES = 24
SLOTS = 2
RECORD_BYTES = SLOT_BYTES * SLOTS  # at the end of the data area
SLOT_PAGES = SLOT_BYTES // PAGE
MAC_BYTES = 6
GATE_BYTES = 5
COUNTER_BYTES = 3
MAX_COUNTER = (1 << 8 * COUNTER_BYTES) - 1
_STATES = {MemberState.INSIDE: 1, MemberState.TEMP_OUT: 2, MemberState.EXITED: 3}
_STATE_OF = {code: state for state, code in _STATES.items()}


@dataclass(frozen=True, slots=True)
class Slots:
    """What the two slots of a band hold: where they are (`first_page`, slot A), the newest
    valid record (None: none) and which slot holds it (0 A, 1 B; None: neither)."""

    first_page: int
    newest: BandPassage | None = None
    slot: int | None = None

    @property
    def older(self) -> int:
        """The slot the next record goes to: never the one holding the newest valid record."""
        return 0 if self.slot is None else 1 - self.slot

    def pages(self, slot: int) -> range:
        start = self.first_page + slot * SLOT_PAGES
        return range(start, start + SLOT_PAGES)


def first_page(area_size: int) -> int:
    """The page of slot A on a band whose data area holds `area_size` bytes."""
    return DATA_PAGE + (area_size - RECORD_BYTES) // PAGE


def stamped(passage: BandPassage, hlc: Timestamp) -> BandPassage:
    """`passage` as a record carries it: its time the hybrid-clock time `hlc` its decision is
    journalled with (`at`, the wall part of it, to the millisecond)."""
    return replace(passage, at=datetime.fromtimestamp(hlc.wall_ms / 1000, UTC), hlc=hlc)


def encode_slot(passage: BandPassage, uid: str, group: str, keyring: Keyring) -> bytes:
    """The 24 bytes of a slot holding `passage` (`stamped` with its hybrid-clock time), signed
    with the current key for band `uid` of `group`. Raises `ValueError` for what the format
    cannot carry."""
    if not 1 <= passage.counter <= MAX_COUNTER:
        raise ValueError(f"counter {passage.counter} outside 1..{MAX_COUNTER}")
    state = _STATES.get(passage.state)
    if state is None:
        raise ValueError(f"a passage record holds no state {passage.state}")
    if passage.hlc is None:
        raise ValueError("a passage record holds its hybrid-clock time: stamp it first")
    head = VERSION << 5 | state << 3 | passage.kept << 1 | passage.with_adult
    gate = passage.gate.encode("ascii", "replace")[:GATE_BYTES].ljust(GATE_BYTES, b"\0")
    body = (
        bytes([head, keyring.current_id])
        + passage.counter.to_bytes(COUNTER_BYTES, "big")
        + passage.hlc.wall_ms.to_bytes(6, "big")
        + passage.hlc.counter.to_bytes(2, "big")
        + gate
    )
    key = keyring.key(keyring.current_id)
    assert key is not None
    return body + _mac(key, uid_bytes(uid), group, body)[:MAC_BYTES]


def decode_slot(slot: bytes, uid: str, group: str, keyring: Keyring) -> BandPassage | None:
    """The record in `slot` when its MAC verifies for band `uid` of `group`; None for anything
    else (a blank slot, a torn write, another band's, another group's, an unknown key)."""
    if len(slot) != SLOT_BYTES or slot[0] >> 5 not in (1, VERSION):
        return None
    version = slot[0] >> 5
    mac_bytes = MAC_BYTES if version == VERSION else 7
    body, mac = slot[:-mac_bytes], slot[-mac_bytes:]
    key = keyring.key(body[1])
    if key is None or not hmac.compare_digest(
        mac, _mac(key, uid_bytes(uid), group, body)[:mac_bytes]
    ):
        return None
    state = _STATE_OF.get(body[0] >> 3 & 0b11)
    if version == VERSION:
        counter, hlc = int.from_bytes(body[2:5], "big"), _hlc(body[5:13])
        ms, gate = None if hlc is None else hlc.wall_ms, body[13:18]
    else:  # version 1: the decision's wall clock, no hybrid-clock time
        counter, hlc = int.from_bytes(body[2:6], "big"), None
        ms, gate = int.from_bytes(body[6:12], "big"), body[12:17]
    if state is None or counter == 0 or ms is None:
        return None
    try:
        at = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, ValueError, OSError):  # past year 9999: signed, but not by us
        return None
    name = gate.rstrip(b"\0").decode("ascii", "replace")
    return BandPassage(counter, name, state, at, bool(body[0] & 1), bool(body[0] & 2), hlc)


def _hlc(raw: bytes) -> Timestamp | None:
    try:
        return Timestamp(int.from_bytes(raw[:6], "big"), int.from_bytes(raw[6:], "big"))
    except ValueError:
        return None


def newest(records: bytes, uid: str, group: str, keyring: Keyring, first: int) -> Slots:
    """The newest valid record of the two slots in `records` (48 bytes from slot A's page)."""
    found = [
        decode_slot(records[i * SLOT_BYTES : (i + 1) * SLOT_BYTES], uid, group, keyring)
        for i in range(SLOTS)
    ]
    best = max(
        (i for i in range(SLOTS) if found[i] is not None),
        key=lambda i: found[i].counter,  # type: ignore[union-attr]
        default=None,
    )
    return Slots(first, None if best is None else found[best], best)


def read_slots(
    read16: Callable[[int], bytes], uid: str, group: str, keyring: Keyring
) -> Slots | None:
    """Read both slots through `read16(page)` (three READs, after the CC's); None when the band
    has no NDEF data area to hold them."""
    cc = parse_cc(read16(CC_PAGE)[:PAGE])
    if cc is None or cc.area_size < RECORD_BYTES + 96:
        return None
    first = first_page(cc.area_size)
    records = b"".join(read16(first + i * READ_SIZE // PAGE) for i in range(3))
    return newest(records[:RECORD_BYTES], uid, group, keyring, first)


def _mac(key: bytes, uid: bytes, group: str, body: bytes) -> bytes:
    g = group.encode("utf-8")
    msg = bytes([len(uid)]) + uid + bytes([len(g)]) + g + body
    return hmac.new(key, msg, hashlib.sha256).digest()
