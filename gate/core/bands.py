"""The rules about the band itself: is it one of ours, and does it carry its token. Pure.

    tag_is_an_original_wristband   a tag the reader found foreign (not an NTAG21x, or without a
                                   valid originality signature) is refused everywhere, staff
                                   badges and the desk included: DENY_BAD_TOKEN
    band_carries_its_token         outside binding, a band read from a tag must carry a token
                                   that verified for its UID: DENY_BAD_TOKEN (a known band too:
                                   its UID alone proves nothing, it can be copied)
    band_is_of_the_stock           the desk binds only bands of the venue's wristband stock,
                                   when the allowlist lists one: DENY_BINDING
    staff_badge_was_read           a staff badge arms an override only when read from a tag on
                                   the reader: a test scan (a typed UID) or a barcode proves no
                                   badge is there: DENY_BAD_TOKEN

Messages say what the operator does next. Test scans and `gate simulate`'s lines carry no tag
(`Scan.tag` false): there is no band to check, and they are judged by their UID alone; a staff
badge's UID alone arms nothing (`gate simulate` reads a staff badge's line as a read from a tag).
"""

from __future__ import annotations

from gate.core.model import Code, Kind, Refusal, Scan
from gate.core.state import State

BADGE_NOT_READ = (
    "a staff badge arms an override only when read on the reader: a test scan or a barcode "
    "shows no badge is here; hold the badge to the reader"
)
NO_TOKEN = (
    "band has no wristband data (a blank band, or one returned at an exit): "
    "send the visitor to the desk"
)


def tag_is_an_original_wristband(scan: Scan) -> Refusal | None:
    if scan.kind is Kind.NFC and scan.tag_fault is not None:
        return Refusal(Code.DENY_BAD_TOKEN, scan.tag_fault)
    return None


def band_carries_its_token(scan: Scan) -> Refusal | None:
    if scan.token_fault is not None:
        return Refusal(
            Code.DENY_BAD_TOKEN,
            f"wristband token rejected: {scan.token_fault}: send the visitor to the desk",
        )
    if scan.kind is Kind.NFC and scan.tag and scan.token is None:
        return Refusal(Code.DENY_BAD_TOKEN, NO_TOKEN)
    return None


def band_is_of_the_stock(state: State, uid: str) -> Refusal | None:
    stock = state.allowlist.bands
    if stock and uid not in stock:
        return Refusal(
            Code.DENY_BINDING, "band not in stock: bind a wristband of the venue's stock"
        )
    return None


def staff_badge_was_read(scan: Scan) -> Refusal | None:
    if scan.kind is Kind.NFC and scan.tag:
        return None
    return Refusal(Code.DENY_BAD_TOKEN, BADGE_NOT_READ)
