"""The gate's reader thread: real nfcpy over its ``udp:`` driver, bands on the emulator."""

from __future__ import annotations

import dataclasses
import errno
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import nfc
import pytest
from nfc_fixtures import (
    BAND_UID,
    FAMILY_CHILD,
    OTHER_UID,
    ReaderProbe,
    memory_reader,
)
from processes import wait_for

from gate.core.model import Role
from gate.devices.nfc.band import (
    BAND_GONE,
    BAND_REMOVED,
    RADIO,
    UDP,
    BandWriter,
    WriteOutcome,
    link_of,
)
from gate.devices.nfc.emulated_tag import blank_memory, memory_with_ndef
from gate.devices.nfc.emulator import TagEmulator
from gate.devices.nfc.reader import ReaderState, TagRead
from gate.devices.nfc.t2t import plan_ndef_write, read_ndef
from gate.devices.nfc.token import Keyring, decode_token, encode_token

StartReader = Callable[..., ReaderProbe]
ADULT = dataclasses.replace(FAMILY_CHILD, role=Role.ADULT, group="T-2026-000777")
LATE_S = 0.2  # an emulated band's answers, late on a busy machine
NOISE = random.Random(1401).randbytes(179)  # a band's memory of junk, the same every run


def band_with(token: Any, uid: str, keys: Keyring, kind: str = "NTAG213") -> bytes:
    return memory_with_ndef(uid, encode_token(token, uid, keys), kind)


def message_on(memory: bytes) -> bytes:
    return read_ndef(memory_reader(memory)).message


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["NTAG213", "NTAG215", "NTAG216"])
def test_band_is_reported_with_its_uid_and_verified_token(
    kind: str, tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    tag_emulator.present(BAND_UID, band_with(FAMILY_CHILD, BAND_UID, site_keys, kind), kind=kind)
    probe = start_reader(tag_emulator.path)
    read = probe.next_read()
    assert (read.uid, read.token, read.token_fault) == (BAND_UID, FAMILY_CHILD, None)
    assert read.tag_type == f"NXP {kind}"
    health = probe.reader.health()
    assert (health.reads, health.faults, health.device) == (1, 0, tag_emulator.path)


def test_reader_reads_only_the_cc_and_the_pages_of_the_token_and_of_its_passage_record(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    tag_emulator.present(BAND_UID, band_with(FAMILY_CHILD, BAND_UID, site_keys))
    probe = start_reader(tag_emulator.path, fast_read=False)
    assert probe.next_read().token == FAMILY_CHILD
    pages = [c.page for c in tag_emulator.history if c.name == "READ" and c.page != 0]
    # page 0: nfcpy's presence check; 28-39: the passage record (gate.devices.nfc.passage)
    assert pages == [3, 7, 11, 15, 28, 32, 36]
    others = ("READ", "GET_VERSION", "1A", "READ_SIG")  # READ_SIG: the originality signature
    assert not [c for c in tag_emulator.history if c.name not in others]


def test_reader_reads_the_token_and_its_passage_record_with_one_fast_read_each(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    tag_emulator.present(BAND_UID, band_with(FAMILY_CHILD, BAND_UID, site_keys))
    probe = start_reader(tag_emulator.path)  # fast_read: the default
    assert probe.next_read().token == FAMILY_CHILD
    fast = [c.page for c in tag_emulator.history if c.name == "FAST_READ"]
    assert fast == [3, 28]  # the CC and the token's message; the passage record (pages 28-39)
    assert not [c for c in tag_emulator.history if c.name == "READ" and c.page != 0]


def test_blank_band_is_reported_without_a_token(
    tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    tag_emulator.present(BAND_UID)
    read = start_reader(tag_emulator.path).next_read()
    assert (read.uid, read.token, read.token_fault, read.tag_type) == (
        BAND_UID,
        None,
        None,
        "NXP NTAG213",
    )


def test_token_copied_from_another_band_is_a_token_fault(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    copied = memory_with_ndef(BAND_UID, encode_token(FAMILY_CHILD, OTHER_UID, site_keys))
    tag_emulator.present(BAND_UID, copied)
    probe = start_reader(tag_emulator.path)
    read = probe.next_read()
    assert (read.token, read.token_fault) == (None, "token belongs to another band")
    assert probe.reader.health().faults == 1


def test_token_of_an_unknown_key_is_a_token_fault(
    tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    tag_emulator.present(BAND_UID, band_with(FAMILY_CHILD, BAND_UID, Keyring((9, bytes(16)))))
    read = start_reader(tag_emulator.path).next_read()
    assert (read.token, read.token_fault) == (None, "unknown key id 9")


@pytest.mark.parametrize(
    ("area", "reason"),
    [
        (b"\x03\xf0" + bytes(20), "garbled NDEF data"),  # runs past the 144-byte area
        (b"\x03\x05\xd1\x01\x09U\x04" + b"\xfe", "truncated"),
        (b"\x03\x04\xff\xff\xff\xff\xfe", "garbled NDEF data"),
    ],
)
def test_garbled_ndef_on_a_band_is_a_token_fault(
    area: bytes, reason: str, tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    memory = bytearray(blank_memory(BAND_UID))
    memory[16 : 16 + len(area)] = area
    tag_emulator.present(BAND_UID, bytes(memory))
    read = start_reader(tag_emulator.path).next_read()
    assert (read.token, read.token_fault) == (None, reason)


@pytest.mark.parametrize(
    ("uid", "options", "tag_type"),
    [
        (BAND_UID, {"kind": "ULTRALIGHT"}, "Mifare Ultralight (MF01CU1)"),
        (BAND_UID, {"kind": "ULTRALIGHT_EV1"}, "Mifare Ultralight EV1 (MF0UL11)"),
        (BAND_UID, {"kind": "UNKNOWN_TYPE2"}, "Type2Tag"),
        ("0812AB34", {"kind": "ISO_DEP"}, "ISO-DEP card (bank card or phone)"),
        ("5A1B2C3D", {"kind": "ISO_DEP"}, "ISO-DEP card (bank card or phone)"),
        (BAND_UID, {"memory": bytes(16)}, "NXP NTAG213"),  # an NTAG not NDEF formatted
        (BAND_UID, {"memory": NOISE[:12] + b"\x00" + NOISE[12:]}, "NXP NTAG213"),
    ],
)
def test_foreign_tag_is_named_without_a_token_and_the_reader_goes_on(
    uid: str,
    options: dict[str, Any],
    tag_type: str,
    tag_emulator: TagEmulator,
    start_reader: StartReader,
    site_keys: Keyring,
) -> None:
    tag_emulator.present(uid, **options)
    probe = start_reader(tag_emulator.path)
    probe.on_tag = lambda read: read.writer.write_token(b"\xd0\x00\x00")
    read = probe.next_read()
    assert (read.uid, read.token, read.token_fault, read.tag_type) == (uid, None, None, tag_type)
    assert probe.results[0].ok is False and probe.results[0].reason
    tag_emulator.present(OTHER_UID, band_with(FAMILY_CHILD, OTHER_UID, site_keys))
    probe.on_tag = None
    assert probe.next_read().token == FAMILY_CHILD
    assert probe.reader.health().state in (ReaderState.SEARCHING, ReaderState.CONNECTED)


def test_band_left_on_the_reader_is_reported_once(
    tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    tag_emulator.present(BAND_UID)
    probe = start_reader(tag_emulator.path, debounce_s=0.3)
    probe.next_read()
    probe.no_read(within=1.2)
    assert probe.reader.health().state == ReaderState.CONNECTED


def test_band_back_within_the_debounce_time_is_not_reported_again(
    tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    tag_emulator.present(BAND_UID)
    probe = start_reader(tag_emulator.path, debounce_s=1.5)
    probe.next_read()
    tag_emulator.remove()
    probe.wait_state(ReaderState.SEARCHING)
    tag_emulator.present(BAND_UID)
    probe.no_read(within=0.8)


def test_band_back_after_the_debounce_time_is_reported_again(
    tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    tag_emulator.present(BAND_UID)
    probe = start_reader(tag_emulator.path, debounce_s=0.3)
    probe.next_read()
    tag_emulator.remove()
    probe.wait_state(ReaderState.SEARCHING)
    time.sleep(0.4)
    tag_emulator.present(BAND_UID)
    assert probe.next_read().uid == BAND_UID


def test_another_band_is_reported_at_once(
    tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    tag_emulator.present(BAND_UID)
    probe = start_reader(tag_emulator.path, debounce_s=5)
    probe.next_read()
    tag_emulator.present(OTHER_UID)  # swapped, with no pause
    assert probe.next_read().uid == OTHER_UID


def test_on_read_that_raises_does_not_stop_the_reader(
    tag_emulator: TagEmulator, start_reader: StartReader, caplog: pytest.LogCaptureFixture
) -> None:
    tag_emulator.present(BAND_UID)
    probe = start_reader(tag_emulator.path)
    probe.on_tag = lambda read: 1 / 0
    probe.next_read()
    probe.on_tag = None
    tag_emulator.present(OTHER_UID)
    assert probe.next_read().uid == OTHER_UID
    assert f"on_read failed for tag {BAND_UID}" in caplog.text


# --- writing ---------------------------------------------------------------------------------


def write_if_blank(message: bytes) -> Callable[[TagRead], WriteOutcome | None]:
    def on_tag(read: TagRead) -> WriteOutcome | None:
        return read.writer.write_token(message) if read.token is None else None

    return on_tag


def test_written_token_is_read_back_by_a_fresh_read(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    tag_emulator.present(BAND_UID)
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    probe = start_reader(tag_emulator.path)
    probe.on_tag = write_if_blank(message)
    assert probe.next_read().token is None
    assert probe.results == [WriteOutcome(True)]
    assert message_on(tag_emulator.memory) == message
    probe.reader.stop()
    tag_emulator.present(BAND_UID, tag_emulator.memory)  # the same band, put back
    assert start_reader(tag_emulator.path).next_read().token == FAMILY_CHILD


def test_token_write_replaces_the_token_a_band_had(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    tag_emulator.present(BAND_UID, band_with(FAMILY_CHILD, BAND_UID, site_keys))
    probe = start_reader(tag_emulator.path)
    message = encode_token(ADULT, BAND_UID, site_keys)
    probe.on_tag = lambda read: read.writer.write_token(message)
    assert probe.next_read().token == FAMILY_CHILD
    assert probe.results == [WriteOutcome(True)]
    assert decode_token(message_on(tag_emulator.memory), BAND_UID, site_keys) == ADULT


def test_writer_works_from_another_thread_while_on_read_waits(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    """As the gate daemon does: on_read hands the read to its loop and waits for the answer."""
    tag_emulator.present(BAND_UID)
    arrived: queue.Queue[TagRead] = queue.Queue()
    done = threading.Event()

    def hand_over(read: TagRead) -> None:
        arrived.put(read)
        done.wait(3)

    probe = start_reader(tag_emulator.path)
    probe.on_tag = hand_over
    probe.running()
    read = arrived.get(timeout=30)
    outcome = read.writer.write_token(encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    done.set()
    assert outcome == WriteOutcome(True)


def test_writer_refuses_once_on_read_has_returned(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    tag_emulator.present(BAND_UID)
    read = start_reader(tag_emulator.path).next_read()
    outcome = read.writer.write_token(encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    assert outcome == WriteOutcome(False, BAND_GONE)
    assert tag_emulator.memory == blank_memory(BAND_UID)


def test_write_to_a_locked_band_is_refused(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    memory = bytearray(blank_memory(BAND_UID))
    memory[10] = 0xF0  # static lock bits: pages 4-7 read-only
    tag_emulator.present(BAND_UID, bytes(memory))
    probe = start_reader(tag_emulator.path)
    probe.on_tag = write_if_blank(encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    probe.next_read()
    assert probe.results[0].ok is False and "refused" in probe.results[0].reason


def test_write_to_a_read_only_band_is_refused_before_any_write(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    memory = bytearray(blank_memory(BAND_UID))
    memory[15] = 0x0F  # CC: write access none
    tag_emulator.present(BAND_UID, bytes(memory))
    probe = start_reader(tag_emulator.path)
    probe.on_tag = write_if_blank(encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    probe.next_read()
    assert probe.results[0] == WriteOutcome(False, "band is write-protected: use another band")
    assert not [c for c in tag_emulator.history if c.name == "WRITE"]


def count_writes(memory: bytes, message: bytes) -> int:
    return len(plan_ndef_write(read_ndef(memory_reader(memory)), message).writes)


@pytest.mark.parametrize("misses", [1, 2])
def test_a_band_silent_to_a_write_but_still_on_the_reader_is_written_again(
    misses: int, tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    """A band that misses a WRITE (moved on the reader, or a slow reader) but still answers when
    selected again is written again from what it holds: the token is whole. Silent again on the
    second try, it is reported removed, never left with part of a token."""
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    tag_emulator.present(BAND_UID, blank_memory(BAND_UID))
    probe = start_reader(tag_emulator.path, debounce_s=30)

    def miss_then_write(read: TagRead) -> WriteOutcome:
        tag_emulator.miss_writes(misses)
        return read.writer.write_token(message)

    probe.on_tag = miss_then_write
    probe.next_read()
    left = message_on(tag_emulator.memory)
    if misses == 1:
        assert probe.results == [WriteOutcome(True)]
        assert left == message
    else:
        assert probe.results == [WriteOutcome(False, BAND_REMOVED)]
        assert left in (b"", message)


def test_a_band_answering_late_on_the_udp_link_is_read_and_written_whole(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    """An emulated band on a busy machine answers each command a scheduler's slice late: 200 ms
    here, past what a band on the radio is given for a READ (three tries of 50 ms). On the
    ``udp:`` link the reader waits for it: the band is read, written and read back whole, never
    taken for a band pulled away or for a copy, and asked nothing twice."""
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    before = band_with(ADULT, BAND_UID, site_keys)
    tag_emulator.answer_late(LATE_S)
    tag_emulator.present(BAND_UID, before)
    probe = start_reader(tag_emulator.path, debounce_s=30)
    probe.on_tag = lambda read: read.writer.write_token(message)
    read = probe.next_read(timeout=60)
    assert (read.token, read.token_fault, read.tag_fault) == (ADULT, None, None)
    assert probe.results == [WriteOutcome(True)]
    assert message_on(tag_emulator.memory) == message
    writes = [c.page for c in tag_emulator.history if c.name == "WRITE"]
    assert len(writes) == count_writes(before, message), f"written: pages {writes}"
    asked = [c.name for c in tag_emulator.history]
    assert (asked.count("GET_VERSION"), asked.count("READ_SIG")) == (1, 1), asked


def test_the_link_sets_how_long_a_band_has_to_answer() -> None:
    """On the radio a band answers within milliseconds and a lost frame is asked for again; on
    nfcpy's ``udp:`` link (the emulator) a band is given a second and never asked twice."""
    for device in ("usb", "usb:072f:2200", "tty:AMA0:pn532", "tty:USB0"):
        assert link_of(device) is RADIO, device
    for device in ("udp", "udp:127.0.0.1:54321"):
        assert link_of(device) is UDP, device
    assert RADIO.answer_s * (1 + RADIO.retries) < LATE_S <= UDP.answer_s
    assert UDP.retries == 0


def test_a_page_write_of_other_than_four_bytes_sends_nothing() -> None:
    sent: list[bytes] = []

    class Tag:
        def transceive(self, cmd: bytes, timeout: float, retries: int) -> bytes:
            sent.append(bytes(cmd))
            return b"\x0a"

    writer = BandWriter(Tag())
    with pytest.raises(ValueError, match="4 bytes"):
        writer.write_page(4, b"abc")
    writer.write_page(4, b"abcd")
    assert sent == [b"\xa2\x04abcd"]


@pytest.mark.parametrize("old", ["blank", "token"])
@pytest.mark.parametrize("when", ["first", "second", "middle", "before last", "after last"])
def test_band_pulled_away_mid_write_is_reported_and_holds_no_partial_token(
    old: str,
    when: str,
    tag_emulator: TagEmulator,
    start_reader: StartReader,
    site_keys: Keyring,
) -> None:
    """Guarantee: the band keeps its old content (pulled before the first page write), or an
    empty NDEF message, or (pulled after the last page write) the whole new token; never a
    partial one. The write reports the removal and the band is reported again when put back."""
    before = blank_memory(BAND_UID) if old == "blank" else band_with(ADULT, BAND_UID, site_keys)
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    total = count_writes(before, message)
    n = {"first": 0, "second": 1, "middle": total // 2, "before last": total - 1}.get(when, total)
    tag_emulator.present(BAND_UID, before)
    probe = start_reader(tag_emulator.path, debounce_s=30)

    def pull_then_write(read: TagRead) -> WriteOutcome:
        tag_emulator.pull_after_writes(n)
        return read.writer.write_token(message)

    probe.on_tag = pull_then_write
    probe.next_read()
    assert probe.results == [WriteOutcome(False, BAND_REMOVED)]
    left = message_on(tag_emulator.memory)
    expected = message_on(before) if n == 0 else message if n == total else b""
    assert left == expected

    probe.on_tag = None
    tag_emulator.present(BAND_UID, tag_emulator.memory)  # scanned again: reported at once
    again = probe.next_read()
    want = {0: None if old == "blank" else ADULT, total: FAMILY_CHILD}.get(n)
    assert (again.token, again.token_fault) == (want, None)


# --- the device ------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["tty:NOPE:pn532", "usb:ffff:ffff"])
def test_missing_device_leaves_the_reader_retrying(device: str, start_reader: StartReader) -> None:
    probe = start_reader(device, reopen_min_s=0.01, reopen_max_s=0.05)
    wait_for(lambda: probe.running().health().reopens >= 3, what="three reopens")
    health = probe.reader.health()
    assert health.state in (ReaderState.ABSENT, ReaderState.FAILED)
    assert health.last_error and health.device == device
    stopped_promptly(probe.reader)


class Unplugged:
    """Opens nfcpy devices as nfcpy does, but finds none the first `missing` times; keeps the
    frontends it opened so a test can unplug one."""

    def __init__(self, missing: int) -> None:
        self.missing = missing
        self.opened: list[Any] = []

    def __call__(self, path: str) -> Any:
        if self.missing > 0:
            self.missing -= 1
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        self.opened.append(nfc.ContactlessFrontend(path))
        return self.opened[-1]


def test_reader_opens_the_device_when_it_appears(
    tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    tag_emulator.present(BAND_UID)
    plug = Unplugged(missing=3)
    probe = start_reader(tag_emulator.path, frontend=plug, reopen_min_s=0.01)
    assert probe.next_read().uid == BAND_UID
    health = probe.reader.health()
    assert health.reopens == 3 and health.last_error == f"no reader found at {tag_emulator.path}"


def test_reader_reopens_a_device_that_stopped_working(
    tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    tag_emulator.present(BAND_UID)
    plug = Unplugged(missing=0)
    probe = start_reader(tag_emulator.path, frontend=plug, reopen_min_s=0.01)
    probe.next_read()
    plug.opened[0].close()  # unplugged under the reader
    tag_emulator.present(OTHER_UID)
    assert probe.next_read().uid == OTHER_UID
    health = probe.reader.health()
    assert health.reopens == 1 and len(plug.opened) == 2
    assert health.last_error and "stopped responding" in health.last_error


@pytest.mark.parametrize("band", [False, True])
def test_stop_returns_promptly(
    band: bool, tag_emulator: TagEmulator, start_reader: StartReader
) -> None:
    if band:
        tag_emulator.present(BAND_UID)
    probe = start_reader(tag_emulator.path)
    if band:
        probe.next_read()
    else:
        probe.wait_state(ReaderState.SEARCHING)
        time.sleep(0.3)  # inside a sense: nfcpy's udp driver waits 1 s for an answer
    stopped_promptly(probe.reader)


def stopped_promptly(reader: Any) -> None:
    """`stop` ends the reader's thread within a sense cycle (1 s on udp:). On a loaded machine
    a cycle takes longer than its second, so what is asserted is that the thread is gone and
    that stopping took seconds, not the stop's own join timeout (30 s here) spent on a thread
    that would not end."""
    started = time.monotonic()
    reader.stop(timeout=30)
    took = time.monotonic() - started
    assert reader._thread is None or not reader._thread.is_alive(), "the reader's thread lives on"
    assert took < 10, f"stop took {took:.1f} s"
    assert reader.health().state == ReaderState.STOPPED
