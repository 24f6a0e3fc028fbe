"""The rules about the band itself (`gate.core.bands`), as tables through `gate.core.step`.

A scan read from a tag (`Scan.tag`) must be an original wristband (`tag_fault` None) and,
outside binding, carry its own token; the desk binds only bands of the stock when the venue
lists one; a technician's test scan (`pairs` false) opens no pairing window.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    CHILD_1,
    CHILD_4,
    DESK,
    E1,
    FAMILY,
    SPARE_1,
    STAFF,
    T0,
    X1,
    Venue,
    at,
    family_bound,
    family_inside,
    nfc,
    solo_inside,
    venue_without_stock,
)

from gate.core import BandToken, Code, Kind, Mode, Role, Scan

TOKEN = BandToken(FAMILY, Role.ADULT, date(2026, 1, 1), date(2030, 1, 1), 2, 2)
FOREIGN = "not a wristband (ISO-DEP card (bank card or phone)): send the visitor to the desk"


def tag(gate: str, mode: Mode, uid: str, **facts: Any) -> Scan:
    """A scan of a tag on a reader, with what the reader found (`token`, `token_fault`,
    `tag_fault`)."""
    return replace(nfc(gate, mode, uid), tag=True, **facts)


@pytest.mark.parametrize(
    ("facts", "code", "says"),
    [
        pytest.param({"token": TOKEN}, Code.OK_EXIT, "goodbye", id="its own token"),
        pytest.param({}, Code.DENY_BAD_TOKEN, "no wristband data", id="no token"),
        pytest.param(
            {"token_fault": "token belongs to another band"},
            Code.DENY_BAD_TOKEN,
            "another band",
            id="a token of another UID",
        ),
        pytest.param(
            {"token": TOKEN, "tag_fault": FOREIGN},
            Code.DENY_BAD_TOKEN,
            "not a wristband",
            id="a foreign tag",
        ),
    ],
)
def test_a_known_band_read_from_a_tag_passes_only_with_its_own_token(facts, code, says):
    v = family_inside()
    d = v.scan(tag(X1, Mode.EXIT, ADULT_1, **facts), v.state.members[ADULT_1].last_at)
    assert (d.code, says in d.message) == (code, True), d


def test_a_band_without_its_token_at_entry_is_refused_and_changes_nothing():
    v = family_bound()
    d = v.scan(tag(E1, Mode.ENTRY, ADULT_1), v.state.members[ADULT_1].last_at)
    assert d.code is Code.DENY_BAD_TOKEN and "desk" in d.message
    assert v.events == []


def test_a_scan_without_a_tag_is_judged_by_its_uid_as_before():
    """`gate simulate`'s lines and a technician's test scans carry no tag."""
    v = family_inside()
    assert v.leave(ADULT_1).code is Code.OK_EXIT


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        pytest.param({}, Code.OK_STAFF, id="a badge on an original NTAG, no token needed"),
        pytest.param({"tag_fault": FOREIGN}, Code.DENY_BAD_TOKEN, id="a badge's UID, foreign tag"),
    ],
)
def test_a_staff_badge_needs_an_original_tag_but_no_token(facts, code):
    v = family_inside()
    assert v.scan(tag(X1, Mode.EXIT, STAFF, **facts), v.state.members[ADULT_1].last_at).code is code


@pytest.mark.parametrize(
    ("scan", "code"),
    [
        pytest.param(tag(X1, Mode.EXIT, STAFF), Code.OK_STAFF, id="the badge on the reader"),
        pytest.param(
            nfc(X1, Mode.EXIT, STAFF), Code.DENY_BAD_TOKEN, id="its UID typed (test scan)"
        ),
        pytest.param(
            Scan(X1, Mode.EXIT, Kind.BARCODE, STAFF), Code.DENY_BAD_TOKEN, id="its UID as a barcode"
        ),
        pytest.param(
            replace(nfc(X1, Mode.EXIT, STAFF), pairs=True),
            Code.DENY_BAD_TOKEN,
            id="a bench test scan",
        ),
    ],
)
def test_a_staff_badge_arms_an_override_only_when_read_from_a_tag(scan, code):
    """A typed badge UID proves no badge is at the gate: it arms nothing, so the next test scan
    of a solo child is not forced through (the relay stays shut)."""
    v = solo_inside()
    d = v.scan(scan, at(12))
    assert d.code is code, d
    solo_out = v.leave(CHILD_4, at(12, 0, 5))
    if code is Code.OK_STAFF:
        assert (solo_out.code, solo_out.forced) == (Code.OK_OVERRIDE, True)
        return
    assert "hold the badge to the reader" in d.message
    assert v.state.overrides == {}
    assert solo_out.code is Code.DENY_GUARDIAN_PICKUP and not solo_out.forced


@pytest.mark.parametrize(
    ("venue", "band", "facts", "code"),
    [
        pytest.param(Venue, ADULT_1, {}, Code.OK_BIND, id="stock band, blank"),
        pytest.param(Venue, SPARE_1, {}, Code.DENY_BINDING, id="band outside the stock"),
        pytest.param(venue_without_stock, SPARE_1, {}, Code.OK_BIND, id="no stock list"),
        pytest.param(Venue, ADULT_1, {"tag_fault": FOREIGN}, Code.DENY_BAD_TOKEN, id="foreign tag"),
        pytest.param(
            Venue,
            ADULT_1,
            {"token_fault": "signature does not match"},
            Code.OK_BIND,
            id="stock band with old data: written over",
        ),
    ],
)
def test_the_desk_binds_only_original_bands_of_the_stock(venue, band, facts, code):
    v = venue()
    assert v.ticket(FAMILY).code is Code.OK_BIND
    d = v.scan(tag(DESK, Mode.BIND, band, **facts), T0)
    assert d.code is code, d
    if code is Code.DENY_BINDING:
        assert "not in stock" in d.message
        assert v.band(ADULT_1).code is Code.OK_BIND  # the family's own band takes the slot


def test_a_test_scan_of_an_adult_opens_no_pairing_window_and_flags_the_children():
    v = family_inside()
    now = v.state.members[ADULT_1].last_at
    for adult in (ADULT_1, ADULT_2):
        d = v.scan(replace(nfc(X1, Mode.EXIT, adult), pairs=False), now)
        assert d.code is Code.OK_EXIT
    assert not [p for p in v.state.pairings.values() if p.gate == X1]
    assert v.state.groups[FAMILY].unaccompanied
    assert v.leave(CHILD_1, now).code is Code.DENY_CHILD_NEEDS_ADULT
