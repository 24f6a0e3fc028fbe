"""The emulated tags: what each kind holds (the NTAG213/215/216 memory maps, foreign tags) and
how a tag on the reader answers its commands. `gate.devices.nfc.emulator` puts it behind nfcpy's
``udp:`` driver; its docstring says what a band answers and when.
"""

from __future__ import annotations

from dataclasses import dataclass

import nfc.clf

ACK, NAK = b"\x0a", b"\x00"


@dataclass(frozen=True, slots=True)
class TagProfile:
    """What a kind of tag answers: its size, SEL_RES, GET_VERSION and factory content."""

    name: str
    pages: int  # pages answered by READ and WRITE
    version: bytes | None = None  # GET_VERSION answer; None: silent
    cc: bytes | None = None  # capability container of a blank tag; None: not NDEF formatted
    sel_res: int = 0x00  # 0x00: a Type 2 tag; 0x20: ISO-DEP (bank card, phone)
    dynamic_lock_page: int | None = None  # followed by CFG0, CFG1, PWD, PACK on NTAG21x
    pages_per_lock_bit: int = 2  # dynamic lock bit granularity
    hidden_pages: int = 0  # last pages that read as zeros (PWD, PACK)
    signs: bool = False  # answers READ_SIG (NTAG21x)
    fast_read: bool = False  # answers FAST_READ (NTAG21x)


# Memory maps from NXP's NTAG213/215/216 data sheet (NTAG21x, rev. 3.2).
NTAG213 = TagProfile(
    "NTAG213", 45, bytes.fromhex("0004040201000F03"), bytes.fromhex("E1101200"),
    dynamic_lock_page=40, pages_per_lock_bit=2, hidden_pages=2, signs=True,
    fast_read=True,
)  # fmt: skip
NTAG215 = TagProfile(
    "NTAG215", 135, bytes.fromhex("0004040201001103"), bytes.fromhex("E1103E00"),
    dynamic_lock_page=130, pages_per_lock_bit=16, hidden_pages=2, signs=True,
    fast_read=True,
)  # fmt: skip
NTAG216 = TagProfile(
    "NTAG216", 231, bytes.fromhex("0004040201001303"), bytes.fromhex("E1106D00"),
    dynamic_lock_page=226, pages_per_lock_bit=16, hidden_pages=2, signs=True,
    fast_read=True,
)  # fmt: skip
# Foreign tags, for tests of what a gate must shrug off.
ULTRALIGHT = TagProfile("MIFARE Ultralight", 16)  # no GET_VERSION, factory blank OTP: no NDEF
ULTRALIGHT_EV1 = TagProfile(
    "MIFARE Ultralight EV1", 20, bytes.fromhex("0004030101000B03"), hidden_pages=2
)
UNKNOWN_TYPE2 = TagProfile(  # answers GET_VERSION with a product nfcpy does not know
    "unknown Type 2 tag", 45, bytes.fromhex("0004FF0201000F03"), bytes.fromhex("E1101200")
)
ISO_DEP = TagProfile("ISO-DEP card", 0, sel_res=0x20)  # a bank card or a phone: no Type 2 memory

PROFILES: dict[str, TagProfile] = {
    "NTAG213": NTAG213,
    "NTAG215": NTAG215,
    "NTAG216": NTAG216,
    "ULTRALIGHT": ULTRALIGHT,
    "ULTRALIGHT_EV1": ULTRALIGHT_EV1,
    "UNKNOWN_TYPE2": UNKNOWN_TYPE2,
    "ISO_DEP": ISO_DEP,
}


def profile(kind: str | TagProfile) -> TagProfile:
    """The profile named `kind` (case-insensitive, e.g. "NTAG215"), or `kind` itself."""
    if isinstance(kind, TagProfile):
        return kind
    try:
        return PROFILES[kind.upper().replace("-", "_")]
    except KeyError:
        raise ValueError(f"unknown tag kind {kind!r}; known: {', '.join(PROFILES)}") from None


def blank_memory(uid: str, kind: str | TagProfile = "NTAG213") -> bytes:
    """The memory of a new band of `kind`: UID pages, CC, an empty NDEF message, defaults."""
    p = profile(kind)
    mem = bytearray(p.pages * 4)
    put_uid(mem, bytes.fromhex(uid))
    if p.cc is not None:
        mem[12:16] = p.cc
        mem[16:20] = b"\x03\x00\xfe\x00"  # empty NDEF message, terminator
    if p.dynamic_lock_page is not None:
        at = p.dynamic_lock_page * 4
        mem[at : at + 20] = bytes.fromhex("000000BD040000FF00000000FFFFFFFF00000000")
    return bytes(mem)


def memory_with_ndef(uid: str, message: bytes, kind: str | TagProfile = "NTAG213") -> bytes:
    """The memory of a band of `kind` holding the NDEF `message` (e.g. from `encode_token`)."""
    mem = bytearray(blank_memory(uid, kind))
    tlv = b"\x03" + (
        bytes([len(message)]) if len(message) < 255 else b"\xff" + len(message).to_bytes(2, "big")
    )
    data = tlv + message + b"\xfe"
    mem[16 : 16 + len(data)] = data
    return bytes(mem)


def put_uid(mem: bytearray, uid: bytes) -> None:
    """Pages 0-2 of a tag with a 7-byte UID: UID0-2, BCC0, UID3-6, BCC1, internal byte."""
    if len(uid) != 7 or len(mem) < 12:
        return
    mem[0:3], mem[4:8] = uid[0:3], uid[3:7]
    mem[3] = 0x88 ^ uid[0] ^ uid[1] ^ uid[2]  # 0x88: the cascade tag
    mem[8] = uid[3] ^ uid[4] ^ uid[5] ^ uid[6]
    mem[9] = mem[9] or 0x48


class EmulatedTag:
    """The tag on the reader. Guarded by the emulator's lock."""

    def __init__(
        self, uid: bytes, kind: TagProfile, memory: bytearray, signature: bytes | None = None
    ) -> None:
        self.uid, self.kind, self.memory = uid, kind, memory
        self.signature = signature  # READ_SIG's answer; None: silent
        self.writes_left: int | None = None  # pull_after_writes
        self.selected = False  # IDLE until a reader selects it
        self.pulled = False  # pull_after_writes: it has left the field
        self.signature_misses = 0  # miss_signatures: READ_SIGs still to leave unanswered
        self.write_misses = 0  # miss_writes: WRITEs still to leave unanswered (not carried out)

    def last_sel_req(self) -> bytes:
        """The SEL_REQ of the last cascade level, which selects this band."""
        level = {4: (0x93, self.uid), 7: (0x95, self.uid[3:]), 10: (0x97, self.uid[6:])}
        cmd, part = level[len(self.uid)]
        return bytes([cmd, 0x70]) + part + bytes([part[0] ^ part[1] ^ part[2] ^ part[3]])

    def target(self) -> nfc.clf.LocalTarget:
        sens_res = bytes([{4: 0x04, 7: 0x44, 10: 0x84}[len(self.uid)], 0x00])
        return nfc.clf.LocalTarget(
            "106A",
            sens_res=bytearray(sens_res),
            sdd_res=bytearray(self.uid),
            sel_res=bytearray([self.kind.sel_res]),
        )

    def read(self, page: int) -> bytes:
        k = self.kind
        out = bytearray()
        for q in range(page, page + 4):
            q %= k.pages  # roll over past the last page
            hidden = q >= k.pages - k.hidden_pages
            out += bytes(4) if hidden else self.memory[q * 4 : q * 4 + 4]
        return bytes(out)

    def write(self, page: int, data: bytes) -> bool:
        """One page write as the tag does it; False if refused (NAK)."""
        k, mem = self.kind, self.memory
        if page < 2 or page >= k.pages or self.locked(page):
            return False
        at = page * 4
        if page == 2:  # lock bytes: bits can only be set; the UID check bytes stay
            mem[10] |= data[2]
            mem[11] |= data[3]
        elif page == 3 or page == k.dynamic_lock_page:  # OTP / lock bits: OR
            for i in range(4 if page == 3 else 3):
                mem[at + i] |= data[i]
        else:
            mem[at : at + 4] = data
        return True

    def locked(self, page: int) -> bool:
        lock0, lock1 = self.memory[10], self.memory[11]
        if page == 3:
            return bool(lock0 & 0x08)
        if 4 <= page <= 7:
            return bool(lock0 >> page & 1)
        if 8 <= page <= 15:
            return bool(lock1 >> (page - 8) & 1)
        dyn = self.kind.dynamic_lock_page
        if dyn is not None and 16 <= page < dyn:
            bit = (page - 16) // self.kind.pages_per_lock_bit
            return bool(self.memory[dyn * 4 + bit // 8] >> (bit % 8) & 1)
        return False

    def answer(self, cmd: bytes) -> tuple[bytes | None, bool, str, int | None]:
        """The answer to `cmd` (None: silence), whether the session goes on, and the command's
        name and page for the history. Sets `pulled` when the band leaves the field."""
        op = cmd[0]
        if cmd in (b"\x26", b"\x52"):  # REQA/WUPA: a reader selecting anew
            self.selected = False
            return self.target().sens_res, False, "SENS_REQ", None
        if not self.selected:  # IDLE: a tag ignores all but anticollision
            return None, True, f"{op:02X} (not selected)", None
        rsp, more, name, page = self._selected(cmd)
        if rsp is None or rsp == NAK:
            self.selected = False  # silence or NAK: the tag falls back to IDLE
        return rsp, more, name, page

    def _selected(self, cmd: bytes) -> tuple[bytes | None, bool, str, int | None]:
        k = self.kind
        op = cmd[0]
        if op == 0x30 and len(cmd) == 2 and k.pages:  # READ
            page = cmd[1]
            return (self.read(page) if page < k.pages else NAK), True, "READ", page
        if op == 0x3A and len(cmd) == 3 and k.fast_read:  # FAST_READ: pages start to end
            start, end = cmd[1], cmd[2]
            if start > end or end >= k.pages:
                return NAK, True, "FAST_READ", start
            data = b"".join(self.read(q)[:4] for q in range(start, end + 1))
            return data, True, "FAST_READ", start
        if op == 0xA2 and len(cmd) == 6 and k.pages:  # WRITE
            page = cmd[1]
            if self.writes_left == 0:
                self.pulled = True  # pulled away before this write
                return None, False, "WRITE", page
            if self.write_misses:  # moved on the reader, or too slow: no answer in time
                self.write_misses -= 1
                return None, True, "WRITE", page
            ok = self.write(page, cmd[2:6])
            if ok and self.writes_left is not None:
                self.writes_left -= 1
                if self.writes_left == 0:
                    self.pulled = True  # acknowledged, then gone
                    return ACK, False, "WRITE", page
            return (ACK if ok else NAK), True, "WRITE", page
        if op == 0x60 and len(cmd) == 1:  # GET_VERSION
            return k.version, True, "GET_VERSION", None
        if op == 0x3C and len(cmd) == 2:  # READ_SIG
            if self.signature_misses:  # moved on the reader, or too slow: no answer in time
                self.signature_misses -= 1
                return None, True, "READ_SIG", None
            return self.signature, True, "READ_SIG", None
        return None, op not in (0x50, 0x93, 0x95, 0x97), f"{op:02X}", None  # silent
