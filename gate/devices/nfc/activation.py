"""A band selected on the reader, made the nfcpy tag it is, with one command after selection.

nfcpy's own activation of an NXP Type 2 tag (`nfc.tag.tt2_nxp.activate`) first sends
AUTHENTICATE (``1A 00``), which only a MIFARE Ultralight C answers: every NTAG stays silent, so
each tap pays nfcpy's 10 ms timeout and a second selection before GET_VERSION (``60``) names the
tag. Here GET_VERSION comes first: the NTAG21x (or Ultralight EV1) it names is built at once,
as nfcpy would build it after the same answer. A tag that does not answer it (an Ultralight C,
a plain Ultralight) or answers something nfcpy does not know is selected again and goes through
nfcpy's own activation, so it ends as the same nfcpy tag as before.
"""

from __future__ import annotations

from typing import Any

import nfc.clf
import nfc.tag
import nfc.tag.tt2_nxp

from gate.devices.nfc.band import RADIO, Link

GET_VERSION = b"\x60"
NXP = 0x04  # the first UID byte of NXP's tags


def activate(clf: Any, target: Any, link: Link = RADIO) -> Any:
    """The nfcpy tag of `target` (just selected by `clf.sense`), or None when it is gone;
    GET_VERSION is given `link.answer_s` to answer."""
    uid, sel_res = bytes(target.sdd_res or b""), bytes(target.sel_res or b"")
    if not (uid[:1] == bytes([NXP]) and len(sel_res) == 1 and sel_res[0] & 0x60 == 0):
        return nfc.tag.activate(clf, target)
    target.sel_req = target.sdd_res[:]  # selecting again finds this tag only (as nfcpy does)
    try:
        version: bytes | None = bytes(clf.exchange(GET_VERSION, timeout=link.answer_s))
    except nfc.clf.CommunicationError:
        version = None  # silent: back to IDLE
    kind = nfc.tag.tt2_nxp.VERSION_MAP.get(version) if version else None
    if kind is not None:
        return kind(clf, target)
    if clf.sense(target) is None:  # a silent or refusing tag must be selected again
        return None
    return nfc.tag.activate(clf, target)
