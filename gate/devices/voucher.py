"""The digital voucher: a signed code that re-admits one member after a temporary exit.

At a temporary exit the exit gate issues it (`issue_voucher`), printed as a QR code by the lane's
ticket printer (`gate.devices.printer`) and shown in the gate's answer, so the guest may also keep
it on a phone. Any entry gate reads it from its barcode scanner and checks it offline with the
site key (`read_voucher`) before the rules see it (`gate.core.vouchers`): only the rules say
whether it is expired or spent.

The code is ``WV1`` and the RFC 4648 base32 (upper case, no padding: QR's alphanumeric mode) of,
big-endian:

    ======  ====  ===========================================================================
    offset  size  field
    ======  ====  ===========================================================================
    0       1     key id: which site key signed it
    1       5     serial: random, names this voucher (its use is an event every gate folds)
    6       4     expiry, minutes since 1970-01-01 UTC
    10      1     n: length of the band's UID (4, 7 or 10 bytes)
    11      n     the UID of the member's band
    11+n    10    HMAC-SHA256(key, "wristgate.net:voucher" || bytes 0 to 11+n), first 10 bytes
    ======  ====  ===========================================================================

A 7-byte UID makes 28 bytes, 48 characters: within a scanner's default 64. The MAC's prefix keeps
a voucher and a band token (`gate.devices.nfc.token`, the same keys) from ever standing for each
other.

    >>> keys = Keyring((1, bytes(range(16))))
    >>> code = issue_voucher("04A1B2C3D4E5F6", datetime(2026, 7, 18, 12, tzinfo=UTC), keys,
    ...                      serial=bytes(5))
    >>> len(code), code[:3]
    (48, 'WV1')
    >>> read_voucher(code, keys).uid
    '04A1B2C3D4E5F6'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta

from gate.core.model import Voucher
from gate.devices.nfc.token import Keyring

PREFIX = "WV"
VERSION = "1"
SERIAL_BYTES = 5
MAC_BYTES = 10
UID_LENGTHS = (4, 7, 10)
_DOMAIN = b"wristgate.net:voucher"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class VoucherFault(ValueError):
    """A code that claims to be a voucher and is not a valid one; `reason` says why, in words an
    operator can act on, never showing key material."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def looks_like_voucher(code: str) -> bool:
    """A barcode the scanner read claims to be a voucher (of any version)."""
    return code.startswith(PREFIX)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()[:MAC_BYTES]


def issue_voucher(uid: str, expires: datetime, keys: Keyring, serial: bytes | None = None) -> str:
    """A voucher for band `uid` until `expires`, signed with the current site key."""
    raw_uid = bytes.fromhex(uid)
    if len(raw_uid) not in UID_LENGTHS:
        raise ValueError(f"band UID {uid} is not 4, 7 or 10 bytes")
    serial = os.urandom(SERIAL_BYTES) if serial is None else serial
    if len(serial) != SERIAL_BYTES:
        raise ValueError(f"a voucher serial is {SERIAL_BYTES} bytes")
    minutes = int((expires - _EPOCH).total_seconds() // 60)
    key = keys.key(keys.current_id)
    assert key is not None
    payload = (
        bytes([keys.current_id])
        + serial
        + minutes.to_bytes(4, "big")
        + bytes([len(raw_uid)])
        + raw_uid
    )
    text = base64.b32encode(payload + _mac(key, payload)).decode("ascii").rstrip("=")
    return PREFIX + VERSION + text


def read_voucher(code: str, keys: Keyring) -> Voucher:
    """The voucher `code` says, once its signature is checked; `VoucherFault` if it is not one."""
    if not looks_like_voucher(code):
        raise VoucherFault("not a voucher")
    if code[len(PREFIX) : len(PREFIX) + 1] != VERSION:
        raise VoucherFault(f"voucher format {code[:3]!r} is not known to this gate")
    body = code[len(PREFIX) + 1 :]
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError):
        raise VoucherFault("malformed: not base32 text") from None
    if len(raw) < 11:
        raise VoucherFault(f"malformed: {len(raw)} bytes is too short for a voucher")
    n = raw[10]
    if n not in UID_LENGTHS or len(raw) != 11 + n + MAC_BYTES:
        raise VoucherFault(f"malformed: {len(raw)} bytes do not make a voucher")
    payload, mac = raw[: 11 + n], raw[11 + n :]
    key = keys.key(raw[0])
    if key is None:
        raise VoucherFault(f"signed with unknown key id {raw[0]}")
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise VoucherFault("signature does not match")
    expires = _EPOCH + timedelta(minutes=int.from_bytes(raw[6:10], "big"))
    return Voucher(raw[1:6].hex().upper(), raw[11 : 11 + n].hex().upper(), expires)
