"""The signed group token written on a wristband at binding, and the site keys that sign it.

A gate that has never seen a band reads its group, role and validity from this token, with no
network at all (design.md §5). The token is one NDEF record of the NFC Forum external type
``wristgate.net:t``; its payload, version 1, big-endian:

    ======  ====  ===========================================================================
    offset  size  field
    ======  ====  ===========================================================================
    0       1     format version: 1
    1       1     key id: which site key signed it
    2       1     n: length of the group id
    3       n     group id, UTF-8, 1 to 32 bytes
    3+n     1     role: 1 adult, 2 child, 3 solo_child, 4 staff
    4+n     2     valid_from, days since 2020-01-01
    6+n     2     valid_to, days since 2020-01-01 (inclusive)
    8+n     1     adults of the group
    9+n     1     children of the group
    10+n    2     band hint: the last two bytes of the UID the token was written for
    12+n    12    HMAC-SHA256(key, len(uid) || uid || bytes 0 to 12+n), truncated to 12 bytes
    ======  ====  ===========================================================================

Version 2, written only for a ticket of a session (场次), so that a gate that has never seen the
band keeps the session's hours offline: as version 1 with the version byte 2 and, after the
children's count, 1 byte s (1 to 16) and the session's name (UTF-8, s bytes); the band hint and
the MAC follow as in version 1. A band of a ticket of the whole day keeps version 1, which every
gate reads.

Sizes: the payload is 24+n bytes; the NDEF message (a short record: 3 header bytes and the 15-byte
type name) is 42+n bytes, at most 74 for a 32-byte group id. On the band, with its TLV header (2)
and terminator (1), it takes at most 77 of an NTAG213's 144 bytes of user memory. Version 2 adds
1+s bytes: at most 94 on the band.

The MAC covers the band's UID, so a token copied onto another band fails. The band hint only
picks the message an operator sees ("token belongs to another band" rather than "signature does
not match"); it is no part of the security, which rests on the MAC alone.

    >>> keys = Keyring((1, bytes(range(16))))
    >>> token = BandToken("T-100", Role.CHILD, date(2026, 7, 18), date(2026, 7, 18), 2, 1)
    >>> message = encode_token(token, "04A1B2C3D4E5F6", keys)
    >>> len(message)
    47
    >>> decode_token(message, "04A1B2C3D4E5F6", keys) == token
    True
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import stat
from datetime import date, timedelta
from pathlib import Path

import ndef

from gate.core.model import BandToken, Role

log = logging.getLogger(__name__)

RECORD_TYPE = "urn:nfc:ext:wristgate.net:t"  # ndeflib's spelling of external type wristgate.net:t
VERSION = 1
SESSION_VERSION = 2  # a token that names its ticket's session
MAX_SESSION_BYTES = 16
MAX_GROUP_BYTES = 32
MAC_BYTES = 12
MIN_KEY_BYTES = 16
EPOCH = date(2020, 1, 1)
MAX_MESSAGE_BYTES = 42 + MAX_GROUP_BYTES  # the largest NDEF message encode_token makes

_ROLE_CODES = {Role.ADULT: 1, Role.CHILD: 2, Role.SOLO_CHILD: 3, Role.STAFF: 4}
_ROLES = {code: role for role, code in _ROLE_CODES.items()}
_FIXED = 24  # payload bytes besides the group id
_UID = re.compile(r"(?:[0-9A-Fa-f]{2}){4}|(?:[0-9A-Fa-f]{2}){7}|(?:[0-9A-Fa-f]{2}){10}")


class TokenFault(ValueError):
    """The band carries something that is not a valid token for it; `reason` says what, in words
    an operator can act on ("signature does not match", "unknown key id 7", ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyFileError(ValueError):
    """The site key file cannot be used: missing, readable by others, or malformed. The message
    names the file (and line), never the key material."""


class Keyring:
    """The site's HMAC keys by id: the current key signs; the current and the previous verify, so
    bands written before a key rotation still read. `repr` shows key ids only."""

    __slots__ = ("_keys", "current_id")

    def __init__(self, current: tuple[int, bytes], previous: tuple[int, bytes] | None = None):
        pairs = [current] if previous is None else [current, previous]
        keys: dict[int, bytes] = {}
        for key_id, key in pairs:
            if not 0 <= key_id <= 255:
                raise ValueError(f"key id {key_id} is not in 0..255")
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"key {key_id} is shorter than {MIN_KEY_BYTES} bytes")
            if key_id in keys:
                raise ValueError(f"key id {key_id} appears twice")
            keys[key_id] = bytes(key)
        self._keys = keys
        self.current_id = current[0]

    @property
    def key_ids(self) -> tuple[int, ...]:
        """Current first, then the previous key if any."""
        return tuple(self._keys)

    def key(self, key_id: int) -> bytes | None:
        return self._keys.get(key_id)

    def __repr__(self) -> str:
        return f"Keyring(key ids {', '.join(map(str, self._keys))}; current {self.current_id})"


def load_keyring(path: str | os.PathLike[str]) -> Keyring:
    """Load the site key file a technician provisioned.

    Format: plain text, one key per line, ``KEY_ID HEX`` (id 0 to 255, at least 16 bytes of key
    in hex); the first key line is the current key, an optional second line the previous one.
    ``#`` starts a comment. The file must be a regular file with mode 0600 or stricter.

    Raises `KeyFileError` if the file is missing, readable or writable by group or others, or
    malformed; the message names the file and line, never the key material.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KeyFileError(f"{p}: site key file not found") from None
    except OSError as exc:
        raise KeyFileError(f"{p}: cannot open the site key file: {exc.strerror}") from None
    try:
        st = os.fstat(fd)  # the mode of the file actually read, not of a path
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(f"{p}: the site key file is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise KeyFileError(
                f"{p}: mode {mode:04o} lets group or others reach the site key: "
                f"run chmod 600 {p} (as its owner)"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read()
    finally:
        os.close(fd)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{p}: not plain text: expected lines 'KEY_ID HEX'") from None
    return _parse_keys(p, text)


def _parse_keys(p: Path, text: str) -> Keyring:
    found: list[tuple[int, bytes]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{p}:{lineno}"
        # Messages below never quote the line: it may hold key material.
        if len(fields) != 2:
            raise KeyFileError(f"{where}: expected 'KEY_ID HEX' (two fields)")
        key_id, hex_key = fields
        if not (key_id.isdigit() and len(key_id) <= 3 and int(key_id) <= 255):
            raise KeyFileError(f"{where}: key id must be a number from 0 to 255")
        try:
            key = bytes.fromhex(hex_key)
        except ValueError:
            raise KeyFileError(f"{where}: key is not hex (an even number of 0-9a-f)") from None
        if len(key) < MIN_KEY_BYTES:
            raise KeyFileError(
                f"{where}: key {key_id} is {len(key)} bytes; at least {MIN_KEY_BYTES} needed"
            )
        if any(int(key_id) == k for k, _ in found):
            raise KeyFileError(f"{where}: key id {key_id} appears twice")
        found.append((int(key_id), key))
    if not found:
        raise KeyFileError(f"{p}: no key: expected a line 'KEY_ID HEX'")
    if len(found) > 2:
        raise KeyFileError(f"{p}: {len(found)} keys; at most two (current, then previous)")
    keyring = Keyring(found[0], found[1] if len(found) == 2 else None)
    log.info("site keys loaded from %s: %r", p, keyring)
    return keyring


def is_band_uid(uid: str) -> bool:
    """`uid` is a UID a token can be bound to: 4, 7 or 10 bytes in hex, any case."""
    return _UID.fullmatch(uid) is not None


def uid_bytes(uid: str) -> bytes:
    """The UID as bytes, from hex (any case; 4, 7 or 10 bytes). Raises `ValueError`."""
    if not is_band_uid(uid):
        raise ValueError(f"uid must be 4, 7 or 10 bytes in hex, got {uid!r}")
    return bytes.fromhex(uid)


def encode_token(token: BandToken, uid: str, keyring: Keyring) -> bytes:
    """The NDEF message (42 + len(group) bytes) carrying `token`, signed with the current key and
    bound to the band `uid`. Raises `ValueError` for what the format cannot carry (group id empty
    or over 32 bytes, dates outside 2020-01-01 + 65535 days, counts over 255)."""
    uid_b = uid_bytes(uid)
    group = token.group.encode("utf-8")
    if not 1 <= len(group) <= MAX_GROUP_BYTES:
        raise ValueError(f"group id must be 1 to {MAX_GROUP_BYTES} bytes of UTF-8: {token.group!r}")
    for name, count in (("adults", token.adults), ("children", token.children)):
        if not 0 <= count <= 255:
            raise ValueError(f"{name} must be 0 to 255, got {count}")
    session = token.session.encode("utf-8")
    if len(session) > MAX_SESSION_BYTES:
        raise ValueError(f"session must be at most {MAX_SESSION_BYTES} bytes: {token.session!r}")
    version = SESSION_VERSION if session else VERSION
    body = (
        bytes([version, keyring.current_id, len(group)])
        + group
        + bytes([_ROLE_CODES[Role(token.role)]])
        + _days(token.valid_from)
        + _days(token.valid_to)
        + bytes([token.adults, token.children])
        + (bytes([len(session)]) + session if session else b"")
        + uid_b[-2:]
    )
    key = keyring.key(keyring.current_id)
    assert key is not None
    payload = body + _mac(key, uid_b, body)
    return b"".join(ndef.message_encoder([ndef.Record(RECORD_TYPE, "", payload)]))


def decode_token(ndef_bytes: bytes, uid: str, keyring: Keyring) -> BandToken:
    """The token in an NDEF message read from band `uid`, once verified.

    Raises `TokenFault` for anything else; the reason is one of: "not a wristgate token",
    "truncated", "garbled NDEF data", "unsupported token version N", "garbled token",
    "token belongs to another band", "unknown key id N", "signature does not match".
    Raises `ValueError` only for a malformed `uid` argument.
    """
    uid_b = uid_bytes(uid)
    payload = _token_payload(bytes(ndef_bytes))
    if len(payload) < 3:
        raise TokenFault("truncated")
    if payload[0] not in (VERSION, SESSION_VERSION):
        raise TokenFault(f"unsupported token version {payload[0]}")
    n = payload[2]
    if n > MAX_GROUP_BYTES:
        raise TokenFault("garbled token")
    extra = 0  # version 2: the session's length byte and name
    if payload[0] == SESSION_VERSION:
        if len(payload) < _FIXED + n + 1:
            raise TokenFault("truncated")
        s = payload[10 + n]
        if not 1 <= s <= MAX_SESSION_BYTES:
            raise TokenFault("garbled token")
        extra = 1 + s
    if len(payload) < _FIXED + n + extra:
        raise TokenFault("truncated")
    if len(payload) > _FIXED + n + extra:
        raise TokenFault("garbled token")
    body, mac = payload[:-MAC_BYTES], payload[-MAC_BYTES:]
    if body[-2:] != uid_b[-2:]:
        raise TokenFault("token belongs to another band")
    key = keyring.key(payload[1])
    if key is None:
        raise TokenFault(f"unknown key id {payload[1]}")
    if not hmac.compare_digest(mac, _mac(key, uid_b, body)):
        raise TokenFault("signature does not match")
    return _fields(body, n)


def _token_payload(message: bytes) -> bytes:
    try:
        records = list(ndef.message_decoder(message, errors="strict"))
    except ndef.DecodeError as exc:
        raise TokenFault("truncated" if "underflow" in str(exc) else "garbled NDEF data") from None
    except Exception:  # ndeflib may trip over some garbage in other ways
        raise TokenFault("garbled NDEF data") from None
    for record in records:
        if record.type == RECORD_TYPE:
            return bytes(record.data)
    raise TokenFault("not a wristgate token")


def _fields(body: bytes, n: int) -> BandToken:
    """The fields of a payload whose MAC has been checked."""
    try:
        group = body[3 : 3 + n].decode("utf-8")
    except UnicodeDecodeError:
        raise TokenFault("garbled token") from None
    rest = body[3 + n :]
    role = _ROLES.get(rest[0])
    valid_from = EPOCH + timedelta(days=int.from_bytes(rest[1:3], "big"))
    valid_to = EPOCH + timedelta(days=int.from_bytes(rest[3:5], "big"))
    if role is None or not group or valid_to < valid_from:
        raise TokenFault("garbled token")
    session = ""
    if body[0] == SESSION_VERSION:
        try:
            session = rest[8 : 8 + rest[7]].decode("utf-8")
        except UnicodeDecodeError:
            raise TokenFault("garbled token") from None
    return BandToken(group, role, valid_from, valid_to, rest[5], rest[6], session)


def _days(day: date) -> bytes:
    days = (day - EPOCH).days
    if not 0 <= days <= 0xFFFF:
        raise ValueError(f"date {day} outside what a token can carry ({EPOCH} + 65535 days)")
    return days.to_bytes(2, "big")


def _mac(key: bytes, uid: bytes, body: bytes) -> bytes:
    msg = bytes([len(uid)]) + uid + body
    return hmac.new(key, msg, hashlib.sha256).digest()[:MAC_BYTES]
