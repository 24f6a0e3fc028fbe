"""The NTAG21x originality signature: ECDSA over secp128r1, checked against NXP's public key.

An NTAG21x answers READ_SIG (``3C 00``) with 32 bytes, r || s, that NXP wrote at production: an
ECDSA signature of the tag's 7-byte UID, with no hash (the UID itself is the number signed), on
the curve secp128r1 (SEC 2). NXP publishes the public key (application note AN11350, "NTAG21x
originality signature validation"); a tag that is not NXP's cannot make a valid signature for its
UID, however well it copies the UID and the memory.

What it does not stop: the signature is static, so a "magic" tag that answers READ_SIG with bytes
read from a genuine band copies it along with the UID (see docs/security/band.md).

No library at hand knows secp128r1, so the arithmetic is here: plain integers, Jacobian
coordinates. A verification costs about 2 ms in CPython on the build machine (once per tag put on
a reader, not on the decision path); `sign` serves the emulator's test key pair.

    >>> key = parse_public_key(NXP_NTAG21X_KEY)
    >>> uid = bytes.fromhex("04E10CDA993C80")
    >>> sig = bytes.fromhex(
    ...     "8B76052EE42F5567BEB53238B3E3F9950707C0DCC956B5C5EFCFDB709B2D82B3")
    >>> verify(key, uid, sig), verify(key, bytes.fromhex("04E10CDA993C81"), sig)
    (True, False)
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from enum import StrEnum

# secp128r1, SEC 2 v1.0 section 2.3.1
P = 0xFFFFFFFDFFFFFFFFFFFFFFFFFFFFFFFF
A = 0xFFFFFFFDFFFFFFFFFFFFFFFFFFFFFFFC
B = 0xE87579C11079F43DD824993C2CEE5ED3
G = (0x161FF7528B899B2D0C28607CA52C5B86, 0xCF5AC8395BAFEB13C02DA292DDED7A83)
N = 0xFFFFFFFE0000000075A30D1B9038A115
SIGNATURE_BYTES = 32

# NXP's NTAG21x originality key (AN11350), uncompressed: 04 || X || Y.
NXP_NTAG21X_KEY = "04494E1A386D3D3CFE3DC10E5DE68A499B1C202DB5B132393E89ED19FE5BE8BC61"

Point = tuple[int, int]
_Jacobian = tuple[int, int, int]  # (X, Y, Z); Z == 0 is the point at infinity
_INFINITY: _Jacobian = (1, 1, 0)


def on_curve(point: Point) -> bool:
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def parse_public_key(text: str) -> Point:
    """A public key from hex (33 bytes uncompressed: 04, X, Y; spaces and colons allowed).
    Raises `ValueError` with a reason if it is not a point of secp128r1."""
    cleaned = text.replace(" ", "").replace(":", "")
    try:
        raw = bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError("originality key is not hex") from None
    if len(raw) != 33 or raw[0] != 0x04:
        raise ValueError("originality key must be 33 bytes, uncompressed (04, X, Y) on secp128r1")
    point = (int.from_bytes(raw[1:17], "big"), int.from_bytes(raw[17:], "big"))
    if not on_curve(point):
        raise ValueError("originality key is not a point of secp128r1")
    return point


def format_public_key(point: Point) -> str:
    return (
        "04"
        + point[0].to_bytes(16, "big").hex().upper()
        + point[1].to_bytes(16, "big").hex().upper()
    )


def verify(public_key: Point, uid: bytes, signature: bytes) -> bool:
    """Whether `signature` (r || s, 32 bytes) is the originality signature of `uid`."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    r = int.from_bytes(signature[:16], "big")
    s = int.from_bytes(signature[16:], "big")
    if not (0 < r < N and 0 < s < N):
        return False
    e = _number(uid)
    w = pow(s, -1, N)
    point = _to_affine(_add(_mul(G, e * w % N), _mul(public_key, r * w % N)))
    return point is not None and point[0] % N == r


def sign(private_key: int, uid: bytes) -> bytes:
    """An originality signature of `uid` made with `private_key` (the emulator's test pair).
    The nonce is derived from the key and the UID (deterministic, as RFC 6979 intends)."""
    if not 0 < private_key < N:
        raise ValueError("private key out of range")
    e = _number(uid)
    counter = 0
    while True:
        seed = private_key.to_bytes(16, "big") + uid + counter.to_bytes(4, "big")
        k = int.from_bytes(hmac.new(b"wristgate nonce", seed, hashlib.sha256).digest(), "big") % N
        counter += 1
        if k == 0:
            continue
        point = _to_affine(_mul(G, k))
        assert point is not None
        r = point[0] % N
        s = pow(k, -1, N) * (e + r * private_key) % N
        if r and s:
            return r.to_bytes(16, "big") + s.to_bytes(16, "big")


def public_key_of(private_key: int) -> Point:
    point = _to_affine(_mul(G, private_key % N))
    if point is None:
        raise ValueError("private key out of range")
    return point


def _number(uid: bytes) -> int:
    """The message as ECDSA's number: the UID itself, no hash (it is shorter than N)."""
    return int.from_bytes(uid, "big") % N


# --- curve arithmetic in Jacobian coordinates -----------------------------------------------------


def _double(p: _Jacobian) -> _Jacobian:
    x, y, z = p
    if z == 0 or y == 0:
        return _INFINITY
    yy = y * y % P
    s = 4 * x * yy % P
    zz = z * z % P
    m = (3 * x * x + A * zz * zz) % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    return x3, y3, 2 * y * z % P


def _add(p: _Jacobian, q: _Jacobian) -> _Jacobian:
    if p[2] == 0:
        return q
    if q[2] == 0:
        return p
    x1, y1, z1 = p
    x2, y2, z2 = q
    z1z1, z2z2 = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2z2 % P, x2 * z1z1 % P
    s1, s2 = y1 * z2 * z2z2 % P, y2 * z1 * z1z1 % P
    if u1 == u2:
        return _double(p) if s1 == s2 else _INFINITY
    h, r = (u2 - u1) % P, (s2 - s1) % P
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - s1 * hhh) % P
    return x3, y3, h * z1 * z2 % P


def _mul(point: Point, k: int) -> _Jacobian:
    result = _INFINITY
    addend: _Jacobian = (point[0], point[1], 1)
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _double(addend)
        k >>= 1
    return result


def _to_affine(p: _Jacobian) -> Point | None:
    x, y, z = p
    if z == 0:
        return None
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return x * zi2 % P, y * zi2 * zi % P


# --- what a gate does with it ---------------------------------------------------------------------


class OriginalityMode(StrEnum):
    """`require`: a tag with no valid signature is refused; `check`: verified, a failure logged
    and counted but let through (to see how many bands would fail before enforcing); `off`:
    not read."""

    REQUIRE = "require"
    CHECK = "check"
    OFF = "off"


NOT_ORIGINAL = "not an original NTAG ({why}): send the visitor to the desk"


@dataclass(frozen=True, slots=True)
class OriginalityCheck:
    mode: OriginalityMode = OriginalityMode.REQUIRE
    public_key: Point = field(default_factory=lambda: parse_public_key(NXP_NTAG21X_KEY))

    @classmethod
    def of(cls, mode: str, key_hex: str) -> OriginalityCheck:
        return cls(OriginalityMode(mode), parse_public_key(key_hex))

    def fault(self, uid: bytes, signature: bytes | None) -> str | None:
        """Why the tag is not an original NTAG (None: it is, or this is not checked). A tag that
        stayed silent to READ_SIG has `signature` None."""
        if self.mode is OriginalityMode.OFF:
            return None
        if signature is None:
            why = "no originality signature"
        elif not verify(self.public_key, uid, signature):
            why = "originality signature does not match"
        else:
            return None
        return NOT_ORIGINAL.format(why=why)
