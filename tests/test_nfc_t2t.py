"""Type 2 Tag memory: capability container, TLVs, and NDEF writes that survive a pulled band.

Pure functions, driven here by a tag memory held in a bytearray."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.devices.nfc.emulated_tag import blank_memory, memory_with_ndef
from gate.devices.nfc.t2t import (
    CapabilityContainer,
    GarbledArea,
    NdefTlv,
    NeedMore,
    WriteRefused,
    check_written,
    locate_ndef,
    parse_cc,
    plan_ndef_write,
    read_ndef,
)

UID = "04A1B2C3D4E5F6"


class MemoryTag:
    """Tag memory answering READ like a Type 2 tag (16 bytes, rolling over); records pages."""

    def __init__(self, memory: bytes) -> None:
        self.memory = bytearray(memory)
        self.reads: list[int] = []

    def read16(self, page: int) -> bytes:
        self.reads.append(page)
        pages = len(self.memory) // 4
        return b"".join(
            self.memory[(p % pages) * 4 : (p % pages) * 4 + 4] for p in range(page, page + 4)
        )

    def write(self, page: int, data: bytes) -> None:
        self.memory[page * 4 : page * 4 + 4] = data


def with_area(area: bytes, cc: str = "E1101200") -> bytes:
    memory = bytearray(blank_memory(UID))
    memory[12:16] = bytes.fromhex(cc)
    memory[16 : 16 + len(area)] = area
    return bytes(memory)


# --- capability container --------------------------------------------------------------------


def test_cc_of_a_blank_ntag213_announces_144_bytes() -> None:
    assert parse_cc(bytes.fromhex("E1101200")) == CapabilityContainer(0x10, 144, 0, 0)


def test_cc_of_an_ntag215_announces_496_bytes() -> None:
    assert parse_cc(bytes.fromhex("E1103E00")).data_size == 496


@pytest.mark.parametrize("cc", ["00000000", "E1201200", "FFFFFFFF", "E110"])
def test_cc_without_ndef_magic_or_of_another_major_version_is_none(cc: str) -> None:
    assert parse_cc(bytes.fromhex(cc)) is None


def test_cc_with_write_access_0f_is_read_only() -> None:
    cc = parse_cc(bytes.fromhex("E110120F"))
    assert cc is not None and cc.readable and not cc.writeable


# --- locating the NDEF message ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("0300FE", NdefTlv(0, 0)),
        ("0305AABBCCDDEEFE", NdefTlv(0, 5)),
        ("00000302AABB", NdefTlv(2, 2)),
        ("0103A00C340300FE", NdefTlv(5, 0)),  # lock control TLV, as NTAG203s are formatted
        ("0203A00C340301AAFE", NdefTlv(5, 1)),
        ("F002AABB0300", NdefTlv(4, 0)),  # a proprietary TLV is stepped over
        ("03FF0080", NdefTlv(0, 128, header=4)),
        ("FE", NdefTlv(0, found=False)),
        ("00" * 144, NdefTlv(144, found=False)),
    ],
)
def test_locate_ndef(area: str, expected: NdefTlv) -> None:
    assert locate_ndef(bytes.fromhex(area), 144) == expected


@pytest.mark.parametrize(("area", "needed"), [("", 1), ("03", 2), ("0000", 3), ("03FF00", 4)])
def test_locate_ndef_asks_for_more_when_it_cannot_tell(area: str, needed: int) -> None:
    with pytest.raises(NeedMore) as excinfo:
        locate_ndef(bytes.fromhex(area), 144)
    assert excinfo.value.needed == needed


def test_ndef_message_running_past_the_data_area_is_garbled() -> None:
    with pytest.raises(GarbledArea):
        locate_ndef(bytes.fromhex("03F0"), 144)


# --- reading ---------------------------------------------------------------------------------


def test_read_ndef_reads_the_cc_and_just_the_pages_of_the_message() -> None:
    message = bytes(range(47))
    tag = MemoryTag(memory_with_ndef(UID, message))
    found = read_ndef(tag.read16)
    assert found.message == message
    assert tag.reads == [3, 7, 11, 15]  # 12 + 16 + 16 + 16 bytes cover the TLV's 49


def test_read_ndef_of_a_blank_band_reads_one_page() -> None:
    tag = MemoryTag(blank_memory(UID))
    assert read_ndef(tag.read16).message == b""
    assert tag.reads == [3]


def test_read_ndef_of_a_tag_without_ndef_gives_no_cc() -> None:
    tag = MemoryTag(with_area(b"", cc="00000000"))
    found = read_ndef(tag.read16)
    assert found.cc is None and found.message == b""


def test_read_ndef_follows_null_and_control_tlvs() -> None:
    tag = MemoryTag(with_area(bytes.fromhex("00000103A00C3400000303414243FE")))
    assert read_ndef(tag.read16).message == b"ABC"


# --- writing ---------------------------------------------------------------------------------


def apply(memory: bytes, writes: tuple[tuple[int, bytes], ...]) -> bytes:
    tag = MemoryTag(memory)
    for page, data in writes:
        assert len(data) == 4
        tag.write(page, data)
    return bytes(tag.memory)


def test_plan_writes_the_message_and_reads_back_the_same() -> None:
    tag = MemoryTag(blank_memory(UID))
    message = bytes(range(1, 48))
    plan = plan_ndef_write(read_ndef(tag.read16), message)
    for page, data in plan.writes:
        tag.write(page, data)
    back = b"".join(tag.read16(p) for p in range(plan.first_page, plan.last_page + 1, 4))
    assert check_written(plan, back)
    assert read_ndef(MemoryTag(tag.memory).read16).message == message


def test_plan_empties_the_message_first_and_sets_its_length_last() -> None:
    plan = plan_ndef_write(read_ndef(MemoryTag(blank_memory(UID)).read16), b"\xaa" * 10)
    assert plan.writes[0] == (4, b"\x03\x00\xaa\xaa")
    assert plan.writes[-1] == (4, b"\x03\x0a\xaa\xaa")
    assert [p for p, _ in plan.writes] == [4, 5, 6, 7, 4]  # 7 holds the terminator


def test_plan_refuses_a_band_without_ndef() -> None:
    with pytest.raises(WriteRefused, match="not NDEF formatted"):
        plan_ndef_write(read_ndef(MemoryTag(with_area(b"", cc="00000000")).read16), b"x")


def test_plan_refuses_a_write_protected_band() -> None:
    found = read_ndef(MemoryTag(with_area(b"\x03\x00\xfe", cc="E110120F")).read16)
    with pytest.raises(WriteRefused, match="write-protected"):
        plan_ndef_write(found, b"x")


def test_plan_refuses_a_message_too_big_for_the_band() -> None:
    found = read_ndef(MemoryTag(blank_memory(UID)).read16)
    with pytest.raises(WriteRefused, match="too small"):
        plan_ndef_write(found, bytes(143))


def test_plan_fills_the_area_exactly_without_a_terminator() -> None:
    found = read_ndef(MemoryTag(blank_memory(UID)).read16)
    plan = plan_ndef_write(found, bytes(142))
    assert plan.last_page == 4 + 144 // 4 - 1


@settings(max_examples=200, deadline=None)
@given(
    lead=st.sampled_from([b"", b"\x00", b"\x00\x00", b"\x00\x00\x00", b"\x01\x03\xa0\x0c\x34"]),
    old=st.binary(max_size=60),
    new=st.binary(min_size=1, max_size=100),
)
def test_every_prefix_of_a_write_leaves_old_empty_or_new(
    lead: bytes, old: bytes, new: bytes
) -> None:
    """A band pulled away after any number of page writes holds the old message (none written
    yet), an empty message, or the whole new one; never a part or a mix."""
    memory = with_area(lead + b"\x03" + bytes([len(old)]) + old + b"\xfe")
    plan = plan_ndef_write(read_ndef(MemoryTag(memory).read16), new)
    assert all(4 <= page < 4 + 144 // 4 for page, _ in plan.writes)
    for k in range(len(plan.writes) + 1):
        message = read_ndef(MemoryTag(apply(memory, plan.writes[:k])).read16).message
        expected = old if k == 0 else new if k == len(plan.writes) else b""
        assert message == expected, f"after {k} of {len(plan.writes)} writes"


@settings(max_examples=50, deadline=None)
@given(lead=st.integers(0, 7), new=st.binary(min_size=1, max_size=60))
def test_writes_over_a_terminator_at_any_offset_leave_empty_or_new(lead: int, new: bytes) -> None:
    memory = with_area(b"\x00" * lead + b"\xfe")
    plan = plan_ndef_write(read_ndef(MemoryTag(memory).read16), new)
    for k in range(len(plan.writes) + 1):
        message = read_ndef(MemoryTag(apply(memory, plan.writes[:k])).read16).message
        assert message == (new if k == len(plan.writes) else b"")
