"""The NTAG emulator, as nfcpy's own reader stack sees it through the ``udp:`` driver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import nfc
import nfc.clf
import nfc.tag.tt2
import pytest

from gate.devices.nfc import originality
from gate.devices.nfc.emulated_tag import blank_memory, profile
from gate.devices.nfc.emulator import ORIGINALITY_KEY, Command, TagEmulator

UID = "04A1B2C3D4E5F6"


@pytest.fixture
def clf(tag_emulator: TagEmulator) -> Iterator[Any]:
    frontend = nfc.ContactlessFrontend(tag_emulator.path)
    yield frontend
    frontend.close()


def connect(clf: Any, within: float = 3.0) -> Any:
    """The tag nfcpy activates on the reader, or None."""
    started = time.monotonic()
    rdwr = {"targets": ["106A"], "on-connect": lambda tag: False, "iterations": 1}
    return clf.connect(rdwr=rdwr, terminate=lambda: time.monotonic() - started > within)


@pytest.mark.parametrize(
    ("kind", "product", "capacity"),
    [
        ("NTAG213", "NXP NTAG213", 142),
        ("NTAG215", "NXP NTAG215", 492),
        ("NTAG216", "NXP NTAG216", 868),
    ],
)
def test_nfcpy_identifies_the_ntag_and_its_empty_ndef_area(
    kind: str, product: str, capacity: int, tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID, kind=kind)
    tag = connect(clf)
    assert tag.product == product
    assert tag.identifier.hex().upper() == UID
    assert tag.ndef is not None and tag.ndef.capacity == capacity and tag.ndef.octets == b""


def test_first_pages_hold_uid_check_bytes_locks_and_cc(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    page0 = connect(clf).read(0)
    assert page0.hex().upper() == "04A1B29FC3D4E5F604480000E1101200"  # BCC0 = 88^04^A1^B2


def test_ntag215_capability_container_announces_its_size(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID, kind="NTAG215")
    assert connect(clf).read(3)[:4] == bytes.fromhex("E1103E00")


def test_read_past_the_last_page_rolls_over_and_hides_the_password(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID)
    data = connect(clf).read(42)  # CFG1, PWD, PACK, then page 0
    assert data[4:12] == bytes(8)  # PWD and PACK read as zeros
    assert data[12:16] == bytes.fromhex("04A1B29F")


def test_read_of_a_page_out_of_range_is_refused(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        tag.read(45)
    assert tag.read(0)[:3] == bytes.fromhex("04A1B2")  # nfcpy selected it again


def test_written_page_reads_back(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    tag.write(10, b"WGTE")
    assert tag.read(10)[:4] == b"WGTE"
    assert tag_emulator.memory[40:44] == b"WGTE"


@pytest.mark.parametrize("page", [0, 1, 45])
def test_write_to_uid_pages_or_out_of_range_is_refused(
    page: int, tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID)
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        connect(clf).write(page, b"\xff\xff\xff\xff")
    assert tag_emulator.memory[:12] == blank_memory(UID)[:12]


def test_static_lock_bit_makes_a_page_read_only(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    tag.write(2, b"\x00\x00\x10\x00")  # L4: lock page 4; the UID check bytes are kept
    assert tag_emulator.memory[8:12] == bytes.fromhex("04481000")
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        tag.write(4, b"\x03\x00\xfe\x00")


def test_dynamic_lock_bit_makes_pages_read_only(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    tag.write(40, b"\x01\x00\x00\x00")  # NTAG213: locks pages 16 and 17
    tag.write(18, b"open")
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        tag.write(17, b"shut")


def test_capability_container_is_one_time_programmable(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    connect(clf).write(3, b"\x00\x00\x00\x0f")
    assert tag_emulator.memory[12:16] == bytes.fromhex("E110120F")


def test_fast_read_answers_the_pages_asked_and_naks_past_the_last(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    memory = bytes(range(45 * 4))
    tag_emulator.present(UID, memory)
    tag = connect(clf)
    held = tag_emulator.memory
    assert tag.transceive(bytes.fromhex("3A0408"), timeout=0.05) == held[16:36]
    assert tag.transceive(bytes.fromhex("3A032D"), timeout=0.05) == b"\x00"  # NAK: 0 to 44


def test_an_empty_field_answers_a_sense_at_once_when_asked() -> None:
    emulator = TagEmulator("127.0.0.1", 0)
    emulator.empty_answer = True
    with emulator:
        clf = nfc.ContactlessFrontend(emulator.path)
        try:
            started = time.monotonic()
            assert clf.sense(nfc.clf.RemoteTarget("106A")) is None
            assert time.monotonic() - started < 0.5  # nfcpy's udp driver alone waits 1 s
            emulator.present(UID)
            before = time.perf_counter()
            assert connect(clf) is not None
            assert emulator.first_answer is not None and emulator.first_answer > before
        finally:
            clf.close()


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("PWD_AUTH", "1BFFFFFFFF"),
        ("READ_CNT", "3902"),
    ],
)
def test_unsupported_commands_get_silence(
    name: str, command: str, tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError) as excinfo:
        tag.transceive(bytes.fromhex(command), timeout=0.05, retries=0)
    assert excinfo.value.errno == nfc.tag.TIMEOUT_ERROR


def test_after_silence_the_band_answers_only_once_selected_again(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        tag.transceive(b"\x39\x02", timeout=0.05, retries=0)  # READ_CNT: silence
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        tag.transceive(b"\x30\x00", timeout=0.05, retries=0)  # IDLE now
    assert clf.sense(nfc.clf.RemoteTarget("106A", sel_req=bytearray.fromhex(UID))) is not None
    assert len(tag.transceive(b"\x30\x00")) == 16


def test_removed_band_is_no_longer_present(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    assert tag.is_present
    tag_emulator.remove()
    assert not tag.is_present
    assert tag_emulator.uid is None
    assert connect(clf, within=0.5) is None


def test_band_swapped_for_another_is_not_taken_for_the_first(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    tag_emulator.present("04000000000001")
    assert not tag.is_present
    assert connect(clf).identifier.hex().upper() == "04000000000001"


def test_band_pulled_after_n_writes_keeps_them_and_goes_silent(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    tag_emulator.pull_after_writes(2)
    tag.write(4, b"AAAA")
    tag.write(5, b"BBBB")
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        tag.write(6, b"CCCC")
    assert tag_emulator.uid is None
    assert tag_emulator.memory[16:28] == b"AAAABBBB\x00\x00\x00\x00"


def test_band_pulled_before_any_write_keeps_its_memory(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    tag_emulator.pull_after_writes(0)
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        tag.write(4, b"AAAA")
    assert tag_emulator.memory == blank_memory(UID)


def test_history_records_the_commands_after_activation(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present(UID)
    tag = connect(clf)
    tag_emulator.clear_history()
    tag.read(4)
    tag.write(4, b"\x03\x00\xfe\x00")
    assert tag_emulator.history == [Command("READ", 4, True), Command("WRITE", 4, True)]


def test_memory_given_at_present_is_kept_with_the_uid_pages_set(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID, memory=bytes(16) + b"\x03\x02hi\xfe")
    tag = connect(clf)
    assert tag.read(4)[:5] == b"\x03\x02hi\xfe"
    assert tag.read(0)[:4] == bytes.fromhex("04A1B29F")
    assert tag.ndef is None  # no CC: not NDEF formatted


@pytest.mark.parametrize(
    ("kind", "product"),
    [
        ("ULTRALIGHT", "Mifare Ultralight (MF01CU1)"),
        ("ULTRALIGHT_EV1", "Mifare Ultralight EV1 (MF0UL11)"),
        ("UNKNOWN_TYPE2", "Type2Tag"),
    ],
)
def test_foreign_type2_tags_are_what_nfcpy_says(
    kind: str, product: str, tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID, kind=kind)
    assert connect(clf).product == product


def test_iso_dep_card_is_sensed_but_answers_nothing(tag_emulator: TagEmulator, clf: Any) -> None:
    tag_emulator.present("08123456", kind="ISO_DEP")
    target = clf.sense(nfc.clf.RemoteTarget("106A"))
    assert target.sel_res == bytearray(b"\x20") and target.sdd_res.hex() == "08123456"
    assert connect(clf, within=0.5) is None  # nfcpy's Type 4 activation gets no answer


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tag kind"):
        profile("NTAG999")


def test_taken_port_is_refused_at_start(tag_emulator: TagEmulator) -> None:
    with pytest.raises(OSError):
        TagEmulator("127.0.0.1", tag_emulator.port).start()


def test_memory_larger_than_the_tag_is_refused(tag_emulator: TagEmulator) -> None:
    with pytest.raises(ValueError, match="holds 180 bytes"):
        tag_emulator.present(UID, memory=bytes(181))


def test_read_sig_answers_the_uid_signed_with_the_emulators_test_key(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID)
    signature = bytes(connect(clf).transceive(b"\x3c\x00", timeout=0.05, retries=0))
    key = originality.parse_public_key(ORIGINALITY_KEY)
    assert originality.verify(key, bytes.fromhex(UID), signature)
    nxp = originality.parse_public_key(originality.NXP_NTAG21X_KEY)
    assert not originality.verify(nxp, bytes.fromhex(UID), signature)  # not NXP's: a test pair


def test_a_clone_answers_read_sig_with_the_bytes_it_was_given_or_stays_silent(
    tag_emulator: TagEmulator, clf: Any
) -> None:
    tag_emulator.present(UID, signature=bytes(range(32)))
    assert bytes(connect(clf).transceive(b"\x3c\x00", timeout=0.05, retries=0)) == bytes(range(32))
    tag_emulator.present(UID, signature=None)
    with pytest.raises(nfc.tag.tt2.Type2TagCommandError):
        connect(clf).transceive(b"\x3c\x00", timeout=0.05, retries=0)
