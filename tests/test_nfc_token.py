"""The signed wristband token and the site key file."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path

import ndef
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nfc_fixtures import BAND_UID, CURRENT_KEY, FAMILY_CHILD, OTHER_UID, PREVIOUS_KEY

from gate.core.model import BandToken, Role
from gate.devices.nfc.token import (
    MAX_MESSAGE_BYTES,
    KeyFileError,
    Keyring,
    TokenFault,
    decode_token,
    encode_token,
    load_keyring,
)

NTAG213_USER_BYTES = 144


def fault(message: bytes, keyring: Keyring, uid: str = BAND_UID) -> str:
    with pytest.raises(TokenFault) as excinfo:
        decode_token(message, uid, keyring)
    return excinfo.value.reason


# --- round trip and size ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        FAMILY_CHILD,
        BandToken("G", Role.ADULT, date(2020, 1, 1), date(2020, 1, 1), 0, 0),
        BandToken("x" * 32, Role.SOLO_CHILD, date(2026, 1, 1), date(2199, 6, 6), 255, 255),
        BandToken("家庭-0042", Role.STAFF, date(2026, 7, 18), date(2026, 12, 31), 1, 3),
    ],
)
def test_token_round_trips(token: BandToken, site_keys: Keyring) -> None:
    assert decode_token(encode_token(token, BAND_UID, site_keys), BAND_UID, site_keys) == token


def test_token_is_one_external_record_of_the_wristgate_type(site_keys: Keyring) -> None:
    (record,) = ndef.message_decoder(encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    assert record.type == "urn:nfc:ext:wristgate.net:t"


def test_largest_token_fits_an_ntag213_with_room_to_spare(site_keys: Keyring) -> None:
    token = dataclasses.replace(FAMILY_CHILD, group="g" * 32)
    message = encode_token(token, BAND_UID, site_keys)
    assert len(message) == MAX_MESSAGE_BYTES == 74
    on_band = 2 + len(message) + 1  # with the TLV header and the terminator
    assert on_band == 77 < NTAG213_USER_BYTES


def test_uid_is_accepted_in_any_case(site_keys: Keyring) -> None:
    message = encode_token(FAMILY_CHILD, BAND_UID.lower(), site_keys)
    assert decode_token(message, BAND_UID, site_keys) == FAMILY_CHILD


@pytest.mark.parametrize(
    "change",
    [
        {"group": ""},
        {"group": "g" * 33},
        {"adults": 256},
        {"children": -1},
        {"valid_from": date(2019, 12, 31)},
    ],
)
def test_encode_refuses_what_the_format_cannot_carry(change: dict, site_keys: Keyring) -> None:
    with pytest.raises(ValueError):
        encode_token(dataclasses.replace(FAMILY_CHILD, **change), BAND_UID, site_keys)


def test_encode_refuses_a_malformed_uid(site_keys: Keyring) -> None:
    with pytest.raises(ValueError):
        encode_token(FAMILY_CHILD, "04A1B2", site_keys)


# --- verification faults ---------------------------------------------------------------------


def test_token_signed_with_another_sites_key_is_refused(site_keys: Keyring) -> None:
    other_site = Keyring((CURRENT_KEY[0], bytes(range(100, 132))))
    message = encode_token(FAMILY_CHILD, BAND_UID, other_site)
    assert fault(message, site_keys) == "signature does not match"


def test_token_copied_to_another_band_is_refused(site_keys: Keyring) -> None:
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    assert fault(message, site_keys, uid=OTHER_UID) == "token belongs to another band"


def test_token_copied_to_a_band_sharing_its_last_uid_bytes_is_still_refused(
    site_keys: Keyring,
) -> None:
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    assert fault(message, site_keys, uid="04FFFFFFFFE5F6") == "signature does not match"


def test_token_with_an_unknown_key_id_names_the_id(site_keys: Keyring) -> None:
    message = encode_token(FAMILY_CHILD, BAND_UID, Keyring((7, bytes(16))))
    assert fault(message, site_keys) == "unknown key id 7"


def test_token_signed_with_the_previous_key_reads_after_rotation() -> None:
    before = Keyring(PREVIOUS_KEY)
    after = Keyring(CURRENT_KEY, PREVIOUS_KEY)
    message = encode_token(FAMILY_CHILD, BAND_UID, before)
    assert decode_token(message, BAND_UID, after) == FAMILY_CHILD


def test_a_rotated_keyring_signs_with_the_current_key() -> None:
    message = encode_token(FAMILY_CHILD, BAND_UID, Keyring(CURRENT_KEY, PREVIOUS_KEY))
    assert decode_token(message, BAND_UID, Keyring(CURRENT_KEY)) == FAMILY_CHILD
    assert fault(message, Keyring(PREVIOUS_KEY)) == f"unknown key id {CURRENT_KEY[0]}"


def test_token_from_a_newer_format_is_refused_as_unsupported(site_keys: Keyring) -> None:
    (record,) = ndef.message_decoder(encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    newer = ndef.Record(record.type, "", b"\x03" + record.data[1:])  # 2 names a session
    message = b"".join(ndef.message_encoder([newer]))
    assert fault(message, site_keys) == "unsupported token version 3"


def test_other_ndef_content_is_not_a_wristgate_token(site_keys: Keyring) -> None:
    message = b"".join(ndef.message_encoder([ndef.UriRecord("https://example.com/")]))
    assert fault(message, site_keys) == "not a wristgate token"


@pytest.mark.parametrize("cut", [1, 2, 10, 20, 30, 46])
def test_truncated_token_is_refused_as_truncated(cut: int, site_keys: Keyring) -> None:
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    assert fault(message[:cut], site_keys) == "truncated"


def test_truncated_payload_inside_a_whole_record_is_refused_as_truncated(
    site_keys: Keyring,
) -> None:
    (record,) = ndef.message_decoder(encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    short = ndef.Record(record.type, "", record.data[:-3])
    assert fault(b"".join(ndef.message_encoder([short])), site_keys) == "truncated"


def test_each_flipped_payload_byte_is_refused(site_keys: Keyring) -> None:
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    payload_start = len(message) - (24 + len(FAMILY_CHILD.group.encode()))
    for i in range(payload_start, len(message)):
        flipped = bytearray(message)
        flipped[i] ^= 0x01
        with pytest.raises(TokenFault):
            decode_token(bytes(flipped), BAND_UID, site_keys)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120))
def test_decode_of_any_bytes_raises_only_token_fault(data: bytes) -> None:
    keys = Keyring(CURRENT_KEY, PREVIOUS_KEY)
    try:
        decode_token(data, BAND_UID, keys)
    except TokenFault as exc:
        assert exc.reason


@settings(max_examples=300, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=80),
    flips=st.lists(st.tuples(st.integers(0, 79), st.integers(1, 255)), max_size=3),
    tail=st.binary(max_size=8),
)
def test_decode_of_a_damaged_token_gives_the_token_or_a_fault(
    cut: int, flips: list[tuple[int, int]], tail: bytes
) -> None:
    keys = Keyring(CURRENT_KEY, PREVIOUS_KEY)
    damaged = bytearray(encode_token(FAMILY_CHILD, BAND_UID, keys)[:cut] + tail)
    for at, mask in flips:
        if at < len(damaged):
            damaged[at] ^= mask
    with contextlib.suppress(TokenFault):
        assert decode_token(bytes(damaged), BAND_UID, keys) == FAMILY_CHILD


@settings(max_examples=100, deadline=None)
@given(
    group=st.text(min_size=1, max_size=8),
    role=st.sampled_from(list(Role)),
    start=st.dates(date(2020, 1, 1), date(2150, 1, 1)),
    days=st.integers(0, 400),
    adults=st.integers(0, 255),
    children=st.integers(0, 255),
    uid=st.binary(min_size=7, max_size=7),
)
def test_any_token_round_trips(
    group: str, role: Role, start: date, days: int, adults: int, children: int, uid: bytes
) -> None:
    keys = Keyring(CURRENT_KEY)
    end = date.fromordinal(start.toordinal() + days)
    token = BandToken(group, role, start, end, adults, children)
    assert decode_token(encode_token(token, uid.hex(), keys), uid.hex(), keys) == token


# --- the keyring and its file ----------------------------------------------------------------

CURRENT_LINE = f"{CURRENT_KEY[0]} {CURRENT_KEY[1].hex()}"
PREVIOUS_LINE = f"{PREVIOUS_KEY[0]} {PREVIOUS_KEY[1].hex()}"


def test_key_file_gives_current_then_previous_key(key_file: Callable[..., Path]) -> None:
    text = f"# site keys, rotated 2026-07-01\n{CURRENT_LINE}  # current\n\n{PREVIOUS_LINE}\n"
    keys = load_keyring(key_file(text))
    assert keys.current_id == CURRENT_KEY[0]
    assert keys.key_ids == (CURRENT_KEY[0], PREVIOUS_KEY[0])
    assert keys.key(PREVIOUS_KEY[0]) == PREVIOUS_KEY[1]


def test_key_file_with_one_key_is_enough(key_file: Callable[..., Path]) -> None:
    assert load_keyring(key_file(CURRENT_LINE + "\n", mode=0o400)).key_ids == (CURRENT_KEY[0],)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o601])
def test_key_file_others_can_reach_is_refused(mode: int, key_file: Callable[..., Path]) -> None:
    path = key_file(CURRENT_LINE + "\n", mode=mode)
    with pytest.raises(KeyFileError, match="chmod 600") as excinfo:
        load_keyring(path)
    assert f"{mode:04o}" in str(excinfo.value)


def test_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        load_keyring(tmp_path / "absent.key")


def test_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_keyring(tmp_path / "keys")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no key"),
        ("# nothing but a comment\n", "no key"),
        ("2\n", "two fields"),
        ("2 0011 2233\n", "two fields"),
        ("x2 00112233445566778899aabbccddeeff\n", "0 to 255"),
        ("256 00112233445566778899aabbccddeeff\n", "0 to 255"),
        ("2 00112233445566778899aabbccddeefg\n", "not hex"),
        ("2 0011223344556677\n", "at least 16"),
        (f"{CURRENT_LINE}\n{CURRENT_LINE}\n", "appears twice"),
        (f"{CURRENT_LINE}\n{PREVIOUS_LINE}\n3 {bytes(16).hex()}\n", "at most two"),
        ("2 00112233445566778899aabbccddeeff é\n", "not plain text"),
    ],
)
def test_malformed_key_file_is_refused_with_its_line(
    text: str, problem: str, key_file: Callable[..., Path]
) -> None:
    with pytest.raises(KeyFileError, match=problem):
        load_keyring(key_file(text))


def test_key_file_errors_never_show_key_material(key_file: Callable[..., Path]) -> None:
    secret = CURRENT_KEY[1].hex()
    for text in (f"{secret}\n", f"2 {secret} extra\n", f"2 {secret[:-2]}zz\n", f"999 {secret}\n"):
        with pytest.raises(KeyFileError) as excinfo:
            load_keyring(key_file(text))
        assert secret[:8] not in str(excinfo.value)


def test_keyring_repr_shows_key_ids_only(site_keys: Keyring) -> None:
    shown = repr(site_keys)
    assert str(CURRENT_KEY[0]) in shown
    assert CURRENT_KEY[1].hex()[:8] not in shown and PREVIOUS_KEY[1].hex()[:8] not in shown


@pytest.mark.parametrize(
    ("current", "previous"),
    [((256, bytes(16)), None), ((1, bytes(15)), None), ((1, bytes(16)), (1, bytes(16)))],
)
def test_keyring_refuses_bad_keys(
    current: tuple[int, bytes], previous: tuple[int, bytes] | None
) -> None:
    with pytest.raises(ValueError):
        Keyring(current, previous)
