"""A wristband on the reader: the token it carries, read through READ commands, and the writer
that puts a new one on it and reads it back before it counts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import nfc.clf
import nfc.tag
import nfc.tag.tt2

from gate.core.model import BandToken
from gate.devices.nfc.passage import Slots, read_slots
from gate.devices.nfc.t2t import (
    CC_PAGE,
    PAGE,
    READ_SIZE,
    GarbledArea,
    NdefArea,
    WriteRefused,
    check_written,
    plan_ndef_write,
    read_ndef,
)
from gate.devices.nfc.token import Keyring, TokenFault, decode_token, is_band_uid

log = logging.getLogger("gate.devices.nfc.reader")  # the reader's log, these lines included

BAND_REMOVED = "band removed during write: scan it again"
BAND_GONE = "band no longer on the reader: scan it again"
TAG_ERRORS = (nfc.tag.TagCommandError, nfc.clf.CommunicationError)
# Pages one FAST_READ asks for: from the CC, 76 bytes of the data area, where a token's NDEF
# message (55 to 70 bytes with its TLV) fits, so that one command reads it all.
FAST_READ_PAGES = 20


@dataclass(frozen=True, slots=True)
class Link:
    """How long the reader waits for a band's answer to one command, and how many times more it
    asks when none comes (nfcpy's `transceive` retries)."""

    answer_s: float  # READ, FAST_READ, GET_VERSION, the first READ_SIG
    write_s: float  # WRITE: the tag's EEPROM takes about 4 ms
    retries: int


# A band on a reader's radio answers in about a millisecond: nfcpy's 5 ms for a READ is tight,
# its 100 ms for a WRITE is kept, and a frame lost on the radio is asked for again.
RADIO = Link(answer_s=0.05, write_s=0.1, retries=2)
# A band behind nfcpy's ``udp:`` link is a process on the same, maybe busy, machine
# (`gate.devices.nfc.emulator`): its answer can be a scheduler's slice late, and a late answer
# must not read as a band pulled away. No frame is lost there, and asking again would leave the
# late answer waiting on the socket, taken for the answer to the next command: none is asked again.
# (nfcpy's own presence check and activation fallback keep nfcpy's deadlines: docs/reliability.md)
UDP = Link(answer_s=1.0, write_s=1.0, retries=0)


def link_of(device: str) -> Link:
    """The deadlines of a reader at nfcpy device path `device` (usb, tty:..., udp:...)."""
    return UDP if device.split(":", 1)[0] == "udp" else RADIO


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """The result of a token write; `reason` (for an operator) when not `ok`."""

    ok: bool
    reason: str | None = None


class TokenWriter(Protocol):
    def write_token(self, ndef_bytes: bytes) -> WriteOutcome:
        """Write an NDEF message to the band and verify it by reading it back. Never raises."""
        ...

    def write_passage(self, slot: bytes, slots: Slots) -> WriteOutcome:
        """Write a passage record into the older of `slots` and read it back. Never raises."""
        ...


class Refusal:
    """The writer of a tag that cannot carry a token."""

    retry = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def write_token(self, ndef_bytes: bytes) -> WriteOutcome:
        return WriteOutcome(False, self.reason)

    def write_passage(self, slot: bytes, slots: Slots) -> WriteOutcome:
        return WriteOutcome(False, self.reason)

    def close(self) -> None:
        """It holds nothing to let go of: it only refuses."""


class BandWriter:
    """Writes a token to the band on the reader while `on_read` runs, from any thread.

    What a band holds after `write_token`:
    - ok: exactly the message, read back byte for byte and read again as a whole;
    - not ok because the band was pulled away: its previous content untouched (pulled before the
      first page was written), an empty NDEF message (no token), or, if pulled only after the
      last page was written, the whole new message; never a partial or mixed message
      (`gate.devices.nfc.t2t.WritePlan` orders the writes). `retry` is then set: scan it again.
    """

    def __init__(self, tag: Any, link: Link = RADIO) -> None:
        self._tag, self._link = tag, link
        self._lock = threading.Lock()
        self._open = True
        self.retry = False  # the operator should scan the band again

    def close(self) -> None:
        with self._lock:  # waits for a write in progress
            self._open = False

    def read16(self, page: int) -> bytes:
        link = self._link
        data = self._tag.transceive(bytes([0x30, page & 0xFF]), link.answer_s, link.retries)
        if len(data) != READ_SIZE:
            raise nfc.tag.tt2.Type2TagCommandError(
                nfc.tag.tt2.INVALID_PAGE_ERROR
                if len(data) == 1
                else nfc.tag.tt2.INVALID_RESPONSE_ERROR
            )
        return bytes(data)

    def write_page(self, page: int, data: bytes) -> None:
        """WRITE one page (what nfcpy's `Type2Tag.write` does, within this link's deadline)."""
        if len(data) != 4:
            raise ValueError(f"a page is 4 bytes, not {len(data)}")
        cmd = bytes([0xA2, page & 0xFF]) + bytes(data)
        answer = self._tag.transceive(cmd, self._link.write_s, self._link.retries)
        if len(answer) != 1:
            raise nfc.tag.tt2.Type2TagCommandError(nfc.tag.tt2.INVALID_RESPONSE_ERROR)
        if answer[0] != 0x0A:  # NAK
            raise nfc.tag.tt2.Type2TagCommandError(nfc.tag.tt2.INVALID_PAGE_ERROR)

    def write_token(self, ndef_bytes: bytes) -> WriteOutcome:
        with self._lock:
            if not self._open:
                return WriteOutcome(False, BAND_GONE)
            try:
                outcome = self._write(bytes(ndef_bytes))
                if outcome.reason == BAND_REMOVED and self._still_there():
                    log.info("band silent mid-write but still on the reader: writing again")
                    self.retry = False
                    outcome = self._write(bytes(ndef_bytes))  # planned from what it holds now
            except Exception as exc:  # never raise into the caller
                log.exception("token write failed")
                outcome = WriteOutcome(False, f"write failed ({exc!r}): scan it again")
            if not outcome.ok:
                log.info("token write failed: %s", outcome.reason)
            return outcome

    def write_passage(self, slot: bytes, slots: Slots) -> WriteOutcome:
        """Write `slot` (24 bytes) into the older slot of the band's passage record and read it
        back; the newest record is never written over, so a band pulled away keeps it."""
        with self._lock:
            if not self._open:
                return WriteOutcome(False, BAND_GONE)
            try:
                writes = list(zip(slots.pages(slots.older), _pages(slot), strict=True))
                outcome = self._write_pages(writes)
                if outcome.reason == BAND_REMOVED and self._still_there():
                    self.retry = False
                    outcome = self._write_pages(writes)
            except Exception as exc:  # never raise into the caller
                log.exception("passage write failed")
                outcome = WriteOutcome(False, f"write failed ({exc!r}): scan it again")
            if not outcome.ok:
                log.info("passage write failed: %s", outcome.reason)
            return outcome

    def _write_pages(self, planned: list[tuple[int, bytes]]) -> WriteOutcome:
        try:
            for page, data in planned:
                self.write_page(page, data)
            first = planned[0][0]
            back = b"".join(self.read16(p) for p in range(first, planned[-1][0] + 1, 4))
        except nfc.tag.tt2.Type2TagCommandError as exc:
            if exc.errno == nfc.tag.tt2.INVALID_PAGE_ERROR:  # NAK
                return WriteOutcome(False, "band refused the write (locked?): use another band")
            return self._removed()
        except nfc.clf.CommunicationError:
            return self._removed()
        if back[: len(planned) * 4] != b"".join(data for _, data in planned):
            self.retry = True
            return WriteOutcome(False, "the band did not read back what was written: scan it again")
        return WriteOutcome(True)

    def _write(self, message: bytes) -> WriteOutcome:
        try:
            plan = plan_ndef_write(read_ndef(self.read16), message)
        except WriteRefused as exc:
            return WriteOutcome(False, exc.reason)
        except GarbledArea:
            return WriteOutcome(False, "band memory is garbled: use another band")
        except TAG_ERRORS:
            return self._removed()
        try:
            for page, data in plan.writes:
                self.write_page(page, data)
        except nfc.tag.tt2.Type2TagCommandError as exc:
            if exc.errno == nfc.tag.tt2.INVALID_PAGE_ERROR:  # NAK
                return WriteOutcome(False, "band refused the write (locked?): use another band")
            return self._removed()
        except nfc.clf.CommunicationError:
            return self._removed()
        try:
            pages = range(plan.first_page, plan.last_page + 1, READ_SIZE // 4)
            back = b"".join(self.read16(p) for p in pages)
            again: NdefArea = read_ndef(self.read16)
        except TAG_ERRORS:
            return self._removed()
        except GarbledArea:
            again = NdefArea(None)
        if not check_written(plan, back) or again.message != message:
            self.retry = True
            return WriteOutcome(False, "the band did not read back what was written: scan it again")
        return WriteOutcome(True)

    def _still_there(self) -> bool:
        """Select the tag again after it fell silent (what nfcpy's own tags do): True when it
        answers, so a band held still on a slow reader is written again, not sent back."""
        try:
            self._tag._target = self._tag.clf.sense(self._tag.target)
        except TAG_ERRORS:
            return False
        return self._tag._target is not None

    def _removed(self) -> WriteOutcome:
        self.retry = True
        return WriteOutcome(False, BAND_REMOVED)


def read_record(
    read16: Callable[[int], bytes], uid: str, group: str, keyring: Keyring
) -> Slots | None:
    """The band's passage record slots (`gate.devices.nfc.passage.read_slots`); None also when
    the band refuses to read them (a NAK: a capability container announcing more memory than
    the tag has). Raises what `read16` raises when the band leaves."""
    try:
        return read_slots(read16, uid, group, keyring)
    except nfc.tag.tt2.Type2TagCommandError as exc:
        if exc.errno != nfc.tag.tt2.INVALID_PAGE_ERROR:
            raise
        log.info("band %s: no passage record where its CC says its memory ends", uid)
        return None


def _pages(data: bytes) -> list[bytes]:
    return [data[i : i + 4] for i in range(0, len(data), 4)]


class FastPages:
    """`read16(page)` over NTAG21x FAST_READ (``3A start end``): one command answers
    `FAST_READ_PAGES` pages, kept for the READs that follow, so the CC and a token's message come
    in one exchange instead of four or five READs. For reading a token only: what a write
    changes afterwards is not seen here (a writer reads through `BandWriter.read16`).
    `pages`: how many pages the tag has (no FAST_READ asks past the last)."""

    def __init__(self, tag: Any, pages: int, link: Link = RADIO) -> None:
        self._tag, self._last, self._link = tag, pages - 1, link
        self._pages: dict[int, bytes] = {}

    def read16(self, page: int) -> bytes:
        wanted = range(page, page + READ_SIZE // PAGE)
        if any(p not in self._pages for p in wanted):
            self._fetch(page)
        return b"".join(self._pages.get(p, bytes(PAGE)) for p in wanted)

    def _fetch(self, page: int) -> None:
        first = page if page > CC_PAGE else CC_PAGE
        end = min(first + FAST_READ_PAGES - 1, self._last)
        if end < page:
            raise nfc.tag.tt2.Type2TagCommandError(nfc.tag.tt2.INVALID_PAGE_ERROR)
        cmd = bytes([0x3A, first, end])
        data = self._tag.transceive(cmd, self._link.answer_s, self._link.retries)
        if len(data) != (end - first + 1) * PAGE:
            raise nfc.tag.tt2.Type2TagCommandError(
                nfc.tag.tt2.INVALID_PAGE_ERROR
                if len(data) == 1
                else nfc.tag.tt2.INVALID_RESPONSE_ERROR
            )
        for i in range(end - first + 1):
            self._pages[first + i] = bytes(data[i * PAGE : (i + 1) * PAGE])


def read_token(
    read16: Callable[[int], bytes], uid: str, keyring: Keyring
) -> tuple[BandToken | None, str | None]:
    """What a wristband carries, read through `read16(page)` (a READ command): its token, or
    the fault an operator sees; (None, None) for a blank band or one without NDEF data.

    Pure but for `read16`, and raises only what it raises: whatever the band holds, and
    whatever UID it answers with, ends as a token or a fault.
    """
    try:
        area = read_ndef(read16)
    except GarbledArea as exc:
        log.info("band %s: %s", uid, exc)
        return None, "garbled NDEF data"
    if not area.message:
        return None, None
    if not is_band_uid(uid):  # the UID is the tag's answer: not ours to trust either
        return None, f"a tag with a UID of {len(uid) // 2} bytes cannot carry a token"
    try:
        return decode_token(area.message, uid, keyring), None
    except TokenFault as fault:
        return None, fault.reason
