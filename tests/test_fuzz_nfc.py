"""Fuzzing the NFC side: what a band's memory and token hold, and the site key file.

Whatever a band carries, and whatever UID it answers with, the reader ends with its token, a
blank band, or a fault an operator can act on; a token verifies only if the site key signed it
for that band. The targets are in tests/fuzz_targets.py; below them, inputs fuzzing found.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fuzz_targets import BAND_MEMORY, BAND_WRITE, KEY_FILE, KEYRING, TOKEN, fuzz, tag_reads
from nfc_fixtures import BAND_UID, FAMILY_CHILD

from gate.devices.nfc.band import read_token
from gate.devices.nfc.emulated_tag import memory_with_ndef
from gate.devices.nfc.t2t import MAX_AREA, WriteRefused, plan_ndef_write, read_ndef
from gate.devices.nfc.token import KeyFileError, encode_token, load_keyring


def test_any_message_verifies_as_the_signed_token_or_is_refused_with_a_reason() -> None:
    fuzz(TOKEN)


def test_any_band_memory_reads_as_its_token_a_blank_band_or_a_fault() -> None:
    fuzz(BAND_MEMORY)


def test_a_token_write_over_any_band_memory_stays_in_the_data_area_or_is_refused() -> None:
    fuzz(BAND_WRITE)


def test_any_site_key_file_loads_or_is_refused_with_a_reason() -> None:
    fuzz(KEY_FILE)


# --- inputs fuzzing found --------------------------------------------------------------------


# A CC announcing 2040 bytes, and a lock control TLV stepping 1000 bytes ahead: READ and WRITE
# name a page in one byte, and nfcpy sends page 256 as page 0, 258 as the lock bytes' page 2.
FAR_AREA = bytes(12) + bytes.fromhex("E110FF00") + bytes.fromhex("01FF03E8") + bytes(1200)


def test_a_band_announcing_more_than_pages_4_to_255_is_never_read_past_page_255() -> None:
    pages: list[int] = []
    assert read_token(tag_reads(FAR_AREA, pages), BAND_UID, KEYRING) == (None, None)
    assert max(pages) <= 255


def test_a_token_is_never_planned_past_page_255_where_writes_wrap_to_the_lock_pages() -> None:
    memory = bytes(12) + bytes.fromhex("E110FF00") + bytes.fromhex("01FF03E0") + bytes(992)
    memory += b"\xfe" + bytes(1100)  # room for a token from byte 996 of the area: page 253 on
    found = read_ndef(tag_reads(memory))
    with pytest.raises(WriteRefused, match="band too small"):
        plan_ndef_write(found, encode_token(FAMILY_CHILD, BAND_UID, KEYRING))
    assert found.cc is not None and found.cc.area_size == MAX_AREA


@pytest.mark.parametrize("uid", ["", "0A", "04A1B2C3D4", "04A1B2C3D4E5F6A7B8C9D0E1"])
def test_a_tag_answering_with_a_uid_no_band_has_reads_as_a_fault(uid: str) -> None:
    memory = memory_with_ndef(BAND_UID, encode_token(FAMILY_CHILD, BAND_UID, KEYRING))
    token, fault = read_token(tag_reads(memory), uid, KEYRING)
    assert token is None
    assert fault == f"a tag with a UID of {len(uid) // 2} bytes cannot carry a token"


def test_a_key_id_of_thousands_of_digits_is_refused_naming_the_line(
    key_file: Callable[..., Path],
) -> None:
    with pytest.raises(KeyFileError, match=r"site.key:1: key id must be a number from 0 to 255"):
        load_keyring(key_file("1" * 5000 + " " + "00" * 16 + "\n"))
