"""The band's passage record: its format and MAC, the choice of slot, and writes torn at every
page boundary through the real nfcpy stack against the emulated NTAG."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nfc_fixtures import BAND_UID, FAMILY_CHILD, OTHER_UID, ReaderProbe, memory_reader

from gate.core.hlc import Timestamp
from gate.core.model import BandPassage, MemberState
from gate.devices.nfc.band import BAND_REMOVED, WriteOutcome
from gate.devices.nfc.emulated_tag import blank_memory, memory_with_ndef
from gate.devices.nfc.emulator import TagEmulator
from gate.devices.nfc.passage import (
    MAX_COUNTER,
    RECORD_BYTES,
    SLOT_BYTES,
    SLOT_PAGES,
    Slots,
    decode_slot,
    encode_slot,
    first_page,
    newest,
    read_slots,
    stamped,
)
from gate.devices.nfc.reader import TagRead
from gate.devices.nfc.t2t import read_ndef
from gate.devices.nfc.token import MAX_GROUP_BYTES, Keyring, encode_token

StartReader = Callable[..., ReaderProbe]
GROUP = FAMILY_CHILD.group
AT = datetime(2026, 7, 18, 9, 30, 15, 250000, tzinfo=UTC)


def record(counter: int, state: MemberState = MemberState.INSIDE, gate: str = "E1") -> BandPassage:
    passage = BandPassage(counter, gate, state, AT, with_adult=counter % 2 == 0)
    return stamped(passage, Timestamp(int(AT.timestamp() * 1000), counter % 3))


def band(keys: Keyring, *slots: BandPassage | None, kind: str = "NTAG213") -> bytes:
    """A band carrying FAMILY_CHILD's token and `slots` (A, then B; None: blank)."""
    mem = bytearray(memory_with_ndef(BAND_UID, encode_token(FAMILY_CHILD, BAND_UID, keys), kind))
    first = first_page(read_ndef(memory_reader(bytes(mem))).cc.area_size)  # type: ignore[union-attr]
    for i, passage in enumerate(slots):
        if passage is not None:
            at = (first + i * SLOT_PAGES) * 4
            mem[at : at + SLOT_BYTES] = encode_slot(passage, BAND_UID, GROUP, keys)
    return bytes(mem)


def slots_on(memory: bytes, keys: Keyring) -> Slots:
    found = read_slots(memory_reader(memory), BAND_UID, GROUP, keys)
    assert found is not None
    return found


# --- the format ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [MemberState.INSIDE, MemberState.TEMP_OUT, MemberState.EXITED])
def test_a_slot_reads_back_what_was_written(state: MemberState, site_keys: Keyring) -> None:
    p = stamped(BandPassage(70000, "EAST1", state, AT, True, True), Timestamp(1 << 47, 65535))
    slot = encode_slot(p, BAND_UID, GROUP, site_keys)
    assert len(slot) == SLOT_BYTES
    assert decode_slot(slot, BAND_UID, GROUP, site_keys) == p


def test_a_record_carries_its_passage_s_hybrid_clock_time(site_keys: Keyring) -> None:
    hlc = Timestamp(int(AT.timestamp() * 1000), 7)  # the 8th entry of that millisecond
    p = stamped(BandPassage(1, "E1", MemberState.INSIDE, datetime.now(UTC)), hlc)
    decoded = decode_slot(encode_slot(p, BAND_UID, GROUP, site_keys), BAND_UID, GROUP, site_keys)
    assert decoded is not None and decoded.hlc == hlc
    assert decoded.at == datetime(2026, 7, 18, 9, 30, 15, 250000, tzinfo=UTC)  # its wall part


def test_a_record_with_no_hybrid_clock_time_or_too_high_a_counter_is_not_written(
    site_keys: Keyring,
) -> None:
    with pytest.raises(ValueError, match="hybrid-clock time"):
        encode_slot(BandPassage(1, "E1", MemberState.INSIDE, AT), BAND_UID, GROUP, site_keys)
    with pytest.raises(ValueError, match="counter"):
        encode_slot(record(MAX_COUNTER + 1), BAND_UID, GROUP, site_keys)
    assert decode_slot(
        encode_slot(record(MAX_COUNTER), BAND_UID, GROUP, site_keys), BAND_UID, GROUP, site_keys
    )


def version_1_slot(counter: int, ms: int, uid: str, group: str, keys: Keyring) -> bytes:
    """A slot as the first bands carry it: 4-byte counter, the decision's wall clock in ms, a
    7-byte MAC (the layout of format version 1, written here byte by byte)."""
    body = bytes([1 << 5 | 1 << 3, keys.current_id]) + counter.to_bytes(4, "big")
    body += ms.to_bytes(6, "big") + b"E1\0\0\0"
    key = keys.key(keys.current_id)
    assert key is not None
    g, u = group.encode(), bytes.fromhex(uid)
    msg = bytes([len(u)]) + u + bytes([len(g)]) + g + body
    return body + hmac.new(key, msg, hashlib.sha256).digest()[:7]


def test_a_version_1_record_is_still_read_with_no_hybrid_clock_time(site_keys: Keyring) -> None:
    ms = int(AT.timestamp() * 1000)
    old = version_1_slot(70000, ms, BAND_UID, GROUP, site_keys)
    assert decode_slot(old, BAND_UID, GROUP, site_keys) == BandPassage(
        70000, "E1", MemberState.INSIDE, datetime.fromtimestamp(ms / 1000, UTC)
    )
    assert decode_slot(old, OTHER_UID, GROUP, site_keys) is None  # its MAC still binds it
    # a band carrying a version-1 record gets the next one, version 2, in its other slot
    mem = bytearray(band(site_keys))
    first = slots_on(bytes(mem), site_keys).first_page
    mem[first * 4 : first * 4 + SLOT_BYTES] = old
    slots = slots_on(bytes(mem), site_keys)
    assert (slots.slot, slots.newest and slots.newest.counter, slots.older) == (0, 70000, 1)
    at = (first + SLOT_PAGES) * 4
    mem[at : at + SLOT_BYTES] = encode_slot(record(70001), BAND_UID, GROUP, site_keys)
    found = slots_on(bytes(mem), site_keys).newest
    assert found is not None and found.counter == 70001 and found.hlc is not None


def test_a_slot_keeps_the_first_five_bytes_of_a_long_gate_id(site_keys: Keyring) -> None:
    slot = encode_slot(record(1, gate="entry-north"), BAND_UID, GROUP, site_keys)
    decoded = decode_slot(slot, BAND_UID, GROUP, site_keys)
    assert decoded is not None and decoded.gate == "entry"


@pytest.mark.parametrize(
    "uid, group", [(OTHER_UID, GROUP), (BAND_UID, "T-2026-000999")], ids=["band", "group"]
)
def test_a_slot_of_another_band_or_group_is_no_record(
    uid: str, group: str, site_keys: Keyring
) -> None:
    slot = encode_slot(record(3), BAND_UID, GROUP, site_keys)
    assert decode_slot(slot, uid, group, site_keys) is None


def test_any_byte_changed_makes_a_slot_no_record(site_keys: Keyring) -> None:
    slot = encode_slot(record(3), BAND_UID, GROUP, site_keys)
    for i in range(SLOT_BYTES):
        bad = bytearray(slot)
        bad[i] ^= 0x01
        assert decode_slot(bytes(bad), BAND_UID, GROUP, site_keys) is None, i


def test_a_slot_signed_with_an_unknown_key_is_no_record(site_keys: Keyring) -> None:
    other = Keyring((9, bytes(range(32))))
    slot = encode_slot(record(3), BAND_UID, GROUP, other)
    assert decode_slot(slot, BAND_UID, GROUP, site_keys) is None


def test_the_largest_token_ends_before_the_record_on_an_ntag213(site_keys: Keyring) -> None:
    token = FAMILY_CHILD.__class__(
        "G" * MAX_GROUP_BYTES, FAMILY_CHILD.role, AT.date(), AT.date(), 2, 1, "S" * 16
    )
    message = encode_token(token, BAND_UID, site_keys)
    on_band = 2 + len(message) + 1  # TLV header, message, terminator
    assert on_band <= (first_page(144) - 4) * 4


@pytest.mark.parametrize(
    "a, b, newest, slot",
    [(None, None, None, None), (5, None, 5, 0), (None, 5, 5, 1), (5, 6, 6, 1), (8, 7, 8, 0)],
)
def test_reading_takes_the_valid_slot_with_the_highest_counter(
    a: int | None, b: int | None, newest: int | None, slot: int | None, site_keys: Keyring
) -> None:
    found = slots_on(band(site_keys, a and record(a), b and record(b)), site_keys)
    assert (found.newest and found.newest.counter, found.slot) == (newest, slot)
    assert found.older == (0 if slot is None else 1 - slot)


def test_a_torn_slot_leaves_the_other_one_read(site_keys: Keyring) -> None:
    mem = bytearray(band(site_keys, record(5), record(6)))
    at = (first_page(144) + SLOT_PAGES) * 4  # slot B, holding 6, torn half-way
    mem[at + 8 : at + 12] = b"\xff\xff\xff\xff"
    assert slots_on(bytes(mem), site_keys).newest == record(5)


def test_a_band_without_room_for_a_record_has_no_slots(site_keys: Keyring) -> None:
    assert read_slots(memory_reader(blank_memory(BAND_UID)), BAND_UID, GROUP, site_keys)
    small = bytearray(blank_memory(BAND_UID))
    small[14] = 0x10  # a CC announcing a 128-byte data area (an NTAG212's)
    assert read_slots(memory_reader(bytes(small)), BAND_UID, GROUP, site_keys) is None


# --- through nfcpy and the emulator ----------------------------------------------------------


def test_the_reader_reports_the_newest_record_with_the_token(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    tag_emulator.present(BAND_UID, band(site_keys, record(4), record(3)))
    read = start_reader(tag_emulator.path).next_read()
    assert read.token == FAMILY_CHILD
    assert read.slots is not None and (read.slots.newest, read.slots.slot) == (record(4), 0)


@pytest.mark.parametrize("kind", ["NTAG213", "NTAG215"])
def test_passages_written_one_after_another_alternate_slots(
    kind: str, tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    tag_emulator.present(BAND_UID, band(site_keys, kind=kind), kind=kind)
    probe = start_reader(tag_emulator.path, debounce_s=0)

    def write_next(read: TagRead) -> WriteOutcome:
        assert read.slots is not None
        counter = read.slots.newest.counter + 1 if read.slots.newest else 1
        slot = encode_slot(record(counter), BAND_UID, GROUP, site_keys)
        return read.writer.write_passage(slot, read.slots)

    probe.on_tag = write_next
    for counter in range(1, 5):
        read = probe.next_read()
        assert read.slots is not None
        assert read.slots.newest == (record(counter - 1) if counter > 1 else None)
        assert probe.results[-1] == WriteOutcome(True)
        assert slots_on(tag_emulator.memory, site_keys).slot == (counter - 1) % 2
        tag_emulator.present(BAND_UID, tag_emulator.memory, kind=kind)  # tapped again
    assert read_ndef(memory_reader(tag_emulator.memory)).message == encode_token(
        FAMILY_CHILD, BAND_UID, site_keys
    )


@pytest.mark.parametrize("pulled_after", range(SLOT_PAGES + 1))
@pytest.mark.parametrize("older", ["A", "B"])
def test_a_write_torn_at_any_page_boundary_leaves_a_valid_record(
    pulled_after: int,
    older: str,
    tag_emulator: TagEmulator,
    start_reader: StartReader,
    site_keys: Keyring,
) -> None:
    """Pulled away after 0 to 6 of the 6 page writes: the write is reported failed (the band
    left before it was read back) and the band is reported again when it comes back; it then
    holds the record from before (counter 5) or, torn after the last page, the new one (6), and
    its token whole: never no record, never a mixed one."""
    slots = (None, record(5)) if older == "A" else (record(5), record(4))
    before = band(site_keys, *slots)
    tag_emulator.present(BAND_UID, before)
    probe = start_reader(tag_emulator.path, debounce_s=30)
    new = record(6, MemberState.EXITED, gate="X2")

    def pull_then_write(read: TagRead) -> WriteOutcome:
        tag_emulator.pull_after_writes(pulled_after)
        assert read.slots is not None
        return read.writer.write_passage(encode_slot(new, BAND_UID, GROUP, site_keys), read.slots)

    probe.on_tag = pull_then_write
    probe.next_read()
    assert probe.results == [WriteOutcome(False, BAND_REMOVED)]
    probe.on_tag = None
    tag_emulator.present(BAND_UID, tag_emulator.memory)  # scanned again: reported at once
    again = probe.next_read()
    assert again.token == FAMILY_CHILD
    assert again.slots is not None
    assert again.slots.newest == (new if pulled_after == SLOT_PAGES else record(5))


def test_a_write_into_a_locked_slot_is_refused_and_the_record_kept(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    mem = bytearray(band(site_keys, record(5)))
    mem[40 * 4 + 1] = 0x02  # dynamic lock bit 9: pages 34-35 (in slot B) locked
    tag_emulator.present(BAND_UID, bytes(mem))
    probe = start_reader(tag_emulator.path)
    probe.on_tag = lambda read: read.writer.write_passage(
        encode_slot(record(6), BAND_UID, GROUP, site_keys), read.slots
    )
    probe.next_read()
    (outcome,) = probe.results
    assert not outcome.ok and "refused" in (outcome.reason or "")
    assert slots_on(tag_emulator.memory, site_keys).newest == record(5)


def test_a_band_whose_cc_claims_more_memory_than_it_has_is_read_without_a_record(
    tag_emulator: TagEmulator, start_reader: StartReader, site_keys: Keyring
) -> None:
    mem = bytearray(band(site_keys))
    mem[14] = 0x3E  # an NTAG215's data area, on an NTAG213: the record's pages are past its end
    tag_emulator.present(BAND_UID, bytes(mem))
    read = start_reader(tag_emulator.path).next_read()
    assert (read.token, read.token_fault, read.tag_fault) == (FAMILY_CHILD, None, None)
    assert read.slots is None


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=RECORD_BYTES, max_size=RECORD_BYTES), st.integers(0, 255))
def test_any_record_area_reads_as_a_record_it_signed_or_none(records: bytes, key_id: int) -> None:
    """Whatever the band holds there (a hostile band, a key id of its choosing), reading never
    raises and takes only a record whose MAC verifies: one an encoder signed."""
    keys = Keyring((1, bytes(range(16))))
    area = bytearray(records)
    area[1] = key_id
    found = newest(bytes(area), BAND_UID, GROUP, keys, 28)
    if found.newest is not None:
        assert found.slot is not None
        start = found.slot * SLOT_BYTES
        assert encode_slot(found.newest, BAND_UID, GROUP, keys)[:2] == area[start : start + 2]
