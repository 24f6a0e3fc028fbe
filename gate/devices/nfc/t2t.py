"""Type 2 Tag memory as a wristband uses it: capability container, TLVs, NDEF message writes.

Pure functions over bytes, so they are tested without a reader; `read_ndef` takes the READ
command as a callable. Memory of an NTAG21x, in 4-byte pages (NFC Forum Type 2 Tag mapping 1.x):

- pages 0-2: UID and its check bytes, an internal byte, the static lock bytes;
- page 3: the capability container (CC): ``E1`` (NDEF magic), mapping version ``10``, the data
  area size / 8 (``12`` on an NTAG213: 144 bytes, ``3E`` on an NTAG215: 496), access nibbles;
- page 4 on: the data area, a sequence of TLVs: ``00`` NULL, ``01`` lock control, ``02`` memory
  control, ``03`` NDEF message, ``FE`` terminator; a length is one byte, or ``FF`` and two bytes;
- after it: dynamic lock bytes and configuration pages (outside the data area).

Offsets below count from the start of the data area (byte 16 of the tag) unless said otherwise.
Reserved bytes that lock and memory control TLVs may announce are not skipped: on NTAG21x they
lie outside the data area.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PAGE = 4  # bytes per page
READ_SIZE = 16  # bytes one READ returns (four pages)
CC_PAGE = 3
DATA_PAGE = 4  # first page of the data area
LAST_PAGE = 255  # READ and WRITE name a page in one byte: sector 0 only, no SECTOR_SELECT
MAX_AREA = (LAST_PAGE + 1 - DATA_PAGE) * PAGE  # 1008 bytes; an NTAG216's 872 fit

NULL_TLV, LOCK_TLV, MEMORY_TLV, NDEF_TLV, TERMINATOR_TLV = 0x00, 0x01, 0x02, 0x03, 0xFE


class NeedMore(Exception):
    """More of the data area must be read to go on: at least `needed` bytes of it."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"need {needed} bytes of the data area")
        self.needed = needed


class GarbledArea(ValueError):
    """The TLVs of the data area make no sense (an NDEF TLV running past its end)."""


class WriteRefused(ValueError):
    """An NDEF message cannot be written to this band; `reason` says why, for an operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CapabilityContainer:
    version: int  # mapping version, major in the high nibble
    data_size: int  # bytes in the data area
    read_access: int
    write_access: int

    @property
    def area_size(self) -> int:
        """The bytes of the data area read and written here: all of it, up to the `MAX_AREA`
        that pages 4 to 255 hold. A page number past 255 would wrap round to the UID, lock and
        CC pages (nfcpy sends it modulo 256), so a CC announcing more is not believed."""
        return min(self.data_size, MAX_AREA)

    @property
    def readable(self) -> bool:
        return self.read_access == 0

    @property
    def writeable(self) -> bool:
        return self.write_access == 0


@dataclass(frozen=True, slots=True)
class NdefTlv:
    """Where the NDEF message TLV sits, or, with `found` false, where one would go (the first
    terminator TLV, or the end of the TLVs)."""

    offset: int  # of the TLV's type byte
    length: int = 0  # of the NDEF message; 0 for an empty message
    header: int = 2  # type and length bytes: 2, or 4 for the three-byte length form
    found: bool = True

    @property
    def start(self) -> int:
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True, slots=True)
class NdefArea:
    """What a read found: the CC (None: not an NDEF tag), the data area bytes read so far, and
    the NDEF TLV (None when the area was not read)."""

    cc: CapabilityContainer | None
    area: bytes = b""
    tlv: NdefTlv | None = None

    @property
    def message(self) -> bytes:
        """The NDEF message; empty on a blank band or when there is none."""
        if self.tlv is None or not self.tlv.found:
            return b""
        return self.area[self.tlv.start : self.tlv.end]


@dataclass(frozen=True, slots=True)
class WritePlan:
    """Page writes that put an NDEF message on a band, in order, and what to read back.

    The order keeps a band pulled away mid-write from ever holding a partial message: first the
    NDEF TLV's length goes to 0 (an empty message), then the message is written, and its length
    goes last. Any prefix of `writes` leaves the old content (no write yet), an empty message, or
    the whole new message.
    """

    writes: tuple[tuple[int, bytes], ...]  # (page number on the tag, 4 bytes)
    first_page: int  # the pages to read back: first_page .. last_page
    last_page: int
    expected: bytes  # their expected content
    message: bytes


def parse_cc(cc: bytes) -> CapabilityContainer | None:
    """The capability container from page 3, or None if it does not announce NDEF data."""
    if len(cc) < 4 or cc[0] != 0xE1 or cc[1] >> 4 != 1:
        return None
    return CapabilityContainer(cc[1], cc[2] * 8, cc[3] >> 4, cc[3] & 0x0F)


def locate_ndef(area: bytes | bytearray, data_size: int) -> NdefTlv:
    """Walk the TLVs at the start of the data area to the NDEF message TLV.

    `area` holds the first bytes of the data area (possibly more than its `data_size`). Raises
    `NeedMore` when it is too short to tell, `GarbledArea` when the NDEF TLV runs past the end.
    """
    i = 0
    while i < data_size:
        if i >= len(area):
            raise NeedMore(i + 1)
        t = area[i]
        if t == NULL_TLV:
            i += 1
            continue
        if t == TERMINATOR_TLV:
            return NdefTlv(i, found=False)
        if i + 2 > len(area):
            raise NeedMore(i + 2)
        length, header = area[i + 1], 2
        if length == 0xFF:
            if i + 4 > len(area):
                raise NeedMore(i + 4)
            length, header = int.from_bytes(area[i + 2 : i + 4], "big"), 4
        if t == NDEF_TLV:
            if i + header + length > data_size:
                raise GarbledArea(
                    f"NDEF message of {length} bytes at offset {i} runs past the "
                    f"{data_size}-byte data area"
                )
            return NdefTlv(i, length, header)
        i += header + length  # lock control, memory control, proprietary: step over
    return NdefTlv(min(i, data_size), found=False)


def read_ndef(read16: Callable[[int], bytes]) -> NdefArea:
    """Read the CC and just the pages holding the NDEF message, through `read16(page)` (a READ
    command: 16 bytes from `page`). Raises `GarbledArea`, and whatever `read16` raises."""
    chunk = read16(CC_PAGE)  # the CC and the first 12 bytes of the data area
    cc = parse_cc(chunk[:PAGE])
    if cc is None or not cc.readable:
        return NdefArea(cc)
    area = bytearray(chunk[PAGE:])

    def more() -> None:
        area.extend(read16(DATA_PAGE + len(area) // PAGE))

    while True:
        try:
            tlv = locate_ndef(area, cc.area_size)
            break
        except NeedMore:
            more()
    while tlv.found and len(area) < tlv.end:
        more()
    return NdefArea(cc, bytes(area), tlv)


def plan_ndef_write(found: NdefArea, message: bytes) -> WritePlan:
    """The writes that replace the NDEF message found by `read_ndef` with `message`, in place.

    Raises `WriteRefused` if the band is not NDEF formatted, is write-protected, or is too small.
    """
    cc, tlv = found.cc, found.tlv
    if cc is None or tlv is None:
        raise WriteRefused("band is not NDEF formatted: use another band")
    if not cc.writeable:
        raise WriteRefused("band is write-protected: use another band")
    off = tlv.offset
    header = (
        bytes([NDEF_TLV, len(message)])
        if len(message) < 0xFF
        else bytes([NDEF_TLV, 0xFF]) + len(message).to_bytes(2, "big")
    )
    end = off + len(header) + len(message)
    if len(message) > 0xFFFE or end > cc.area_size:
        raise WriteRefused(
            f"band too small: the token needs {end} bytes, the band has {cc.area_size}"
        )
    tlvs = header + message + (bytes([TERMINATOR_TLV]) if end < cc.area_size else b"")
    first, last = off // PAGE, (off + len(tlvs) - 1) // PAGE
    image = bytearray(found.area[first * PAGE : (last + 1) * PAGE])
    image.extend(bytes((last + 1 - first) * PAGE - len(image)))  # unread tail: past the end
    image[off - first * PAGE : off - first * PAGE + len(tlvs)] = tlvs
    empty = bytearray(image)
    empty[off + 1 - first * PAGE] = 0  # the same, with an NDEF message of length 0

    def page(img: bytearray, p: int) -> tuple[int, bytes]:
        return DATA_PAGE + p, bytes(img[(p - first) * PAGE : (p - first + 1) * PAGE])

    length_page = (off + 1) // PAGE
    writes = [page(empty, length_page)]  # 1. the message is empty from now on
    if off // PAGE != length_page:
        writes.append(page(empty, off // PAGE))  # the type byte, on the page before
    done = {length_page, off // PAGE}
    writes += [page(image, p) for p in range(first, last + 1) if p not in done]  # 2.
    writes.append(page(image, length_page))  # 3. the length, last: now the message is whole
    return WritePlan(tuple(writes), DATA_PAGE + first, DATA_PAGE + last, bytes(image), message)


def check_written(plan: WritePlan, read_back: bytes) -> bool:
    """`read_back` (READs from `plan.first_page` on) holds exactly what the plan wrote."""
    n = (plan.last_page - plan.first_page + 1) * PAGE
    return read_back[:n] == plan.expected
