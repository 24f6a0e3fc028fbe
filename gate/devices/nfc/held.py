"""A band handed to the gate as its memory: a campaign's hands, which carry no reader, hold a
band to the gate through its control socket (`scan` with `memory`), and take back what the gate
wrote on it.

The memory is an NTAG213's (180 bytes from page 0, `gate.devices.nfc.emulated_tag`); the gate
reads its token and its passage record, and writes onto it, with the same code as a band on its
reader (`BandWriter`, `read_token`, `read_record`), through the emulated tag's answers to the
same commands. What it does not do: the originality signature (a memory has none to check) and
the radio (a band held this way is never pulled away mid-write).
"""

from __future__ import annotations

import functools
from typing import Any

import nfc.clf

from gate.devices.nfc.band import BandWriter, read_record, read_token
from gate.devices.nfc.emulated_tag import EmulatedTag, profile
from gate.devices.nfc.reader import TagRead
from gate.devices.nfc.token import Keyring, uid_bytes

KIND = "NTAG213"


class _Held:
    """What `BandWriter` asks of an nfcpy tag, answered by the emulated tag."""

    def __init__(self, tag: EmulatedTag) -> None:
        self.tag = tag

    def transceive(self, cmd: bytes, timeout: float = 0.0, retries: int = 0) -> bytes:
        rsp, _more, _name, _page = self.tag.answer(bytes(cmd))
        if rsp is None:
            raise nfc.clf.TimeoutError("the held band did not answer")
        return bytes(rsp)

    @property
    def clf(self) -> Any:
        raise nfc.clf.CommunicationError("a held band has no reader to sense it again")


class HeldBand:
    """The band of `uid` holding `memory`, as the reader would hand it (`read`), and what it
    holds after the gate's writes (`memory`). Raises `ValueError` for a memory that is no
    NTAG213's or a UID that is no band's."""

    def __init__(self, uid: str, memory: bytes, keyring: Keyring) -> None:
        kind = profile(KIND)
        if len(memory) != kind.pages * 4:
            raise ValueError(f"a band's memory is {kind.pages * 4} bytes, not {len(memory)}")
        self._tag = EmulatedTag(uid_bytes(uid), kind, bytearray(memory))
        self._tag.selected = True
        writer = BandWriter(_Held(self._tag))
        read16 = functools.cache(writer.read16)  # the reads before any write
        token, fault = read_token(read16, uid, keyring)
        slots = read_record(read16, uid, token.group, keyring) if token else None
        self.read = TagRead(uid, token, fault, KIND, writer, None, slots)

    @property
    def memory(self) -> bytes:
        return bytes(self._tag.memory)
