"""The NTAG21x originality signature: ECDSA over secp128r1 against NXP's published key, the
emulator's test key pair, the reader's `require | check | off`, and its configuration."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nfc_fixtures import BAND_UID, FAMILY_CHILD
from pydantic import ValidationError

from gate.core.model import Role
from gate.devices.nfc import originality
from gate.devices.nfc.emulator import (
    ORIGINALITY_KEY,
    ORIGINALITY_PRIVATE_KEY,
    TagEmulator,
    signature_of,
)
from gate.devices.nfc.originality import NXP_NTAG21X_KEY, OriginalityCheck, parse_public_key, verify
from gate.devices.nfc.token import encode_token
from gate.settings import ReaderSettings

# Genuine NTAG21x signatures as NXP's tags answer them (UID, READ_SIG), as published with the
# key in public originality checkers.
NXP_SAMPLES = [
    ("04E10CDA993C80", "8B76052EE42F5567BEB53238B3E3F9950707C0DCC956B5C5EFCFDB709B2D82B3"),
    ("04DB0BDA993C80", "6048EFD9417CD10F6B7F1818D471A7FE5B46868D2EABDC6307A1E0AAE139D8D0"),
]
NXP = parse_public_key(NXP_NTAG21X_KEY)


@pytest.mark.parametrize(("uid", "signature"), NXP_SAMPLES)
def test_genuine_ntag_signatures_verify_against_nxps_key(uid: str, signature: str) -> None:
    assert verify(NXP, bytes.fromhex(uid), bytes.fromhex(signature))


@pytest.mark.parametrize(("uid", "signature"), NXP_SAMPLES)
def test_a_signature_fails_for_another_uid_or_with_any_byte_changed(uid: str, signature: str):
    sig, uid_b = bytes.fromhex(signature), bytes.fromhex(uid)
    assert not verify(NXP, uid_b[:-1] + bytes([uid_b[-1] ^ 1]), sig)
    for i in (0, 15, 16, 31):
        assert not verify(NXP, uid_b, sig[:i] + bytes([sig[i] ^ 0x40]) + sig[i + 1 :])
    assert not verify(NXP, uid_b, sig[:31])
    assert not verify(NXP, uid_b, bytes(32))  # r = s = 0
    assert not verify(NXP, uid_b, b"\xff" * 32)  # r, s >= n


def test_the_emulators_key_pair_signs_and_is_not_nxps() -> None:
    assert (
        originality.format_public_key(originality.public_key_of(ORIGINALITY_PRIVATE_KEY))
        == ORIGINALITY_KEY
    )
    uid = bytes.fromhex(BAND_UID)
    assert verify(parse_public_key(ORIGINALITY_KEY), uid, signature_of(BAND_UID))
    assert not verify(NXP, uid, signature_of(BAND_UID))


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("04zz", "not hex"),
        ("04" + "11" * 31, "33 bytes"),
        ("02" + NXP_NTAG21X_KEY[2:], "33 bytes"),
        (NXP_NTAG21X_KEY[:-2] + "60", "not a point"),
    ],
)
def test_an_originality_key_that_is_not_a_point_of_the_curve_is_refused(key: str, reason: str):
    with pytest.raises(ValidationError) as excinfo:
        ReaderSettings(device="usb", originality_key=key)
    assert reason in str(excinfo.value)


def test_the_reader_requires_nxps_signature_by_default() -> None:
    settings = ReaderSettings(device="usb")
    assert settings.originality == "require"
    assert settings.originality_check == OriginalityCheck()
    assert OriginalityCheck().public_key == NXP


def test_in_check_mode_a_clone_is_read_counted_and_let_through(
    tag_emulator: TagEmulator, start_reader
) -> None:
    probe = start_reader(
        tag_emulator.path, originality=OriginalityCheck.of("check", ORIGINALITY_KEY)
    )
    tag_emulator.present(BAND_UID, signature=None)  # silent to READ_SIG
    read = probe.next_read()
    assert read.tag_fault is None
    assert probe.reader.health().not_original == 1


def test_in_check_mode_a_band_silent_to_read_sig_can_still_be_written(
    tag_emulator: TagEmulator, start_reader, site_keys
) -> None:
    message = encode_token(FAMILY_CHILD, BAND_UID, site_keys)
    probe = start_reader(
        tag_emulator.path, originality=OriginalityCheck.of("check", ORIGINALITY_KEY)
    )
    probe.on_tag = lambda read: read.writer.write_token(message)
    tag_emulator.present(BAND_UID, signature=None)
    probe.next_read()
    assert probe.results[0].ok, probe.results


@pytest.mark.parametrize(
    ("mode", "signature", "fault"),
    [
        ("require", "genuine", None),
        ("require", None, "no originality signature"),
        ("require", bytes(32), "does not match"),
        ("off", None, None),
    ],
)
def test_the_reader_sets_the_tags_fault_as_its_mode_says(
    tag_emulator: TagEmulator, start_reader, mode, signature, fault
) -> None:
    probe = start_reader(tag_emulator.path, originality=OriginalityCheck.of(mode, ORIGINALITY_KEY))
    tag_emulator.present(BAND_UID, signature=signature)
    read = probe.next_read()
    if fault is None:
        assert read.tag_fault is None
    else:
        assert fault in (read.tag_fault or "") and "not an original NTAG" in read.tag_fault
    asked = [c.name for c in tag_emulator.history if c.name == "READ_SIG"]
    # a silent tag is asked twice (selected again in between): a slow answer is not a copy
    times = 0 if mode == "off" else 2 if signature is None else 1
    assert asked == ["READ_SIG"] * times


@pytest.mark.parametrize(("misses", "original"), [(1, True), (2, False)])
def test_a_band_silent_to_one_read_sig_is_asked_again_and_silent_twice_is_refused(
    tag_emulator: TagEmulator, start_reader, misses: int, original: bool
) -> None:
    """A band moved on the reader, or one answering too late on a loaded reader, misses one
    READ_SIG: it is selected and asked again, and is not taken for a copy. Silent twice, it is."""
    probe = start_reader(
        tag_emulator.path, originality=OriginalityCheck.of("require", ORIGINALITY_KEY)
    )
    tag_emulator.miss_signatures(misses)  # before it is on the reader: the first READ_SIG too
    tag_emulator.present(BAND_UID)
    read = probe.next_read()
    assert (read.tag_fault is None) is original, read.tag_fault
    assert [c.name for c in tag_emulator.history].count("READ_SIG") == 2


def test_a_token_written_for_a_child_still_reads_on_an_original_band(
    tag_emulator: TagEmulator, start_reader, site_keys
) -> None:
    from gate.devices.nfc.emulated_tag import memory_with_ndef

    probe = start_reader(tag_emulator.path)
    tag_emulator.present(
        BAND_UID, memory_with_ndef(BAND_UID, encode_token(FAMILY_CHILD, BAND_UID, site_keys))
    )
    read = probe.next_read()
    assert (read.token and read.token.role, read.tag_fault) == (Role.CHILD, None)


@settings(max_examples=300, deadline=None)
@given(uid=st.binary(max_size=12), signature=st.binary(max_size=40))
def test_any_signature_from_a_tag_is_judged_never_crashes(uid: bytes, signature: bytes) -> None:
    assert verify(NXP, uid, signature) in (True, False)
    fault = OriginalityCheck().fault(uid, signature)
    assert fault is None or "not an original NTAG" in fault


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80) | st.binary(min_size=33, max_size=33).map(bytes.hex))
def test_any_configured_key_is_a_point_of_the_curve_or_refused_with_a_reason(text: str) -> None:
    try:
        point = parse_public_key(text)
    except ValueError as exc:
        assert "originality key" in str(exc)
    else:
        assert originality.on_curve(point)
