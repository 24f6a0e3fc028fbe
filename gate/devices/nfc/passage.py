"""The band's passage record: two slots at the end of its user memory, beside the group token.

Each granted passage writes the band's next counter into the older slot (the one not holding
the newest valid record), then reads it back; a band pulled away in the middle of it leaves the
other slot whole, so reading takes the valid slot with the highest counter (as a Calypso
validator's event log, or an offline door lock's record on its card). Pure functions over
bytes, tested without a reader; `gate.devices.nfc.band.BandWriter.write_passage` does the I/O.

Where: the last 48 bytes of the data area (NTAG213: pages 28 to 39; NTAG215: 116 to 127), slot
A then slot B, 24 bytes (6 pages) each. The largest token (94 bytes with its TLV and terminator,
`gate.devices.nfc.token`) ends before them. A slot, big-endian:

    ======  ====  ===========================================================================
    offset  size  field
    ======  ====  ===========================================================================
    0       1     bits 7-5 format version (1); bits 4-3 the state after the passage (1 inside,
                  2 temporarily out, 3 exited); bit 1 kept (an adult's final exit ahead of
                  children still inside); bit 0 with_adult (a child let in by its group's adult)
    1       1     key id: which site key signed it
    2       4     counter: 1 at the band's first passage, one more at each
    6       6     the decision's time, milliseconds since 1970-01-01 UTC
    12      5     the gate's id, ASCII, its first 5 bytes, zero-padded
    17      7     HMAC-SHA256(key, len(uid) || uid || len(group) || group || bytes 0 to 17),
                  truncated to 7 bytes
    ======  ====  ===========================================================================

The MAC binds the record to the band's UID and to the group its token names: a record copied
onto another band, or left on a band bound again to another group, is no record (counter 0).

    >>> keys = Keyring((1, bytes(range(16))))
    >>> p = BandPassage(3, "E1", MemberState.INSIDE, datetime(2026, 7, 18, 9, tzinfo=UTC))
    >>> slot = encode_slot(p, "04A1B2C3D4E5F6", "T-100", keys)
    >>> len(slot), decode_slot(slot, "04A1B2C3D4E5F6", "T-100", keys) == p
    (24, True)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gate.core.model import BandPassage, MemberState
from gate.devices.nfc.t2t import CC_PAGE, DATA_PAGE, PAGE, READ_SIZE, parse_cc
from gate.devices.nfc.token import Keyring, uid_bytes

VERSION = 1
SLOT_BYTES = 24
SLOTS = 2
RECORD_BYTES = SLOT_BYTES * SLOTS  # at the end of the data area
SLOT_PAGES = SLOT_BYTES // PAGE
MAC_BYTES = 7
GATE_BYTES = 5
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


def encode_slot(passage: BandPassage, uid: str, group: str, keyring: Keyring) -> bytes:
    """The 24 bytes of a slot holding `passage`, signed with the current key for band `uid` of
    `group`. Raises `ValueError` for what the format cannot carry."""
    if not 1 <= passage.counter < 1 << 32:
        raise ValueError(f"counter {passage.counter} outside 1..2^32-1")
    state = _STATES.get(passage.state)
    if state is None:
        raise ValueError(f"a passage record holds no state {passage.state}")
    ms = int(passage.at.timestamp() * 1000)
    if not 0 <= ms < 1 << 48:
        raise ValueError(f"time {passage.at} outside what a record carries")
    head = VERSION << 5 | state << 3 | passage.kept << 1 | passage.with_adult
    gate = passage.gate.encode("ascii", "replace")[:GATE_BYTES].ljust(GATE_BYTES, b"\0")
    body = (
        bytes([head, keyring.current_id])
        + passage.counter.to_bytes(4, "big")
        + ms.to_bytes(6, "big")
        + gate
    )
    key = keyring.key(keyring.current_id)
    assert key is not None
    return body + _mac(key, uid_bytes(uid), group, body)


def decode_slot(slot: bytes, uid: str, group: str, keyring: Keyring) -> BandPassage | None:
    """The record in `slot` when its MAC verifies for band `uid` of `group`; None for anything
    else (a blank slot, a torn write, another band's, another group's, an unknown key)."""
    if len(slot) != SLOT_BYTES or slot[0] >> 5 != VERSION:
        return None
    body, mac = slot[:-MAC_BYTES], slot[-MAC_BYTES:]
    key = keyring.key(body[1])
    if key is None or not hmac.compare_digest(mac, _mac(key, uid_bytes(uid), group, body)):
        return None
    state = _STATE_OF.get(body[0] >> 3 & 0b11)
    counter = int.from_bytes(body[2:6], "big")
    if state is None or counter == 0:
        return None
    try:
        at = datetime.fromtimestamp(int.from_bytes(body[6:12], "big") / 1000, UTC)
    except (OverflowError, ValueError, OSError):  # past year 9999: signed, but not by us
        return None
    gate = body[12:17].rstrip(b"\0").decode("ascii", "replace")
    return BandPassage(counter, gate, state, at, bool(body[0] & 1), bool(body[0] & 2))


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
    return hmac.new(key, msg, hashlib.sha256).digest()[:MAC_BYTES]
