"""A band's passage record slots modelled page by page with the real slot format, for the rules'
and the gate's tests of the record: writes that can be torn at any page boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

from rules_helpers import ADULT_3, CHILD_3, DUO, FAMILY, FAMILY_BANDS

from gate.devices.nfc.band import BAND_REMOVED, WriteOutcome
from gate.devices.nfc.passage import RECORD_BYTES, Slots, newest
from gate.devices.nfc.token import Keyring

KEYS = Keyring((1, bytes(range(16))))
GROUP_OF = {**dict.fromkeys(FAMILY_BANDS, FAMILY), ADULT_3: DUO, CHILD_3: DUO}


@dataclass
class Band:
    """A band's two record slots, page by page; `tear`: pulled away after that many page writes
    of the next write (6: after the last, before it was read back)."""

    uid: str
    memory: bytearray = field(default_factory=lambda: bytearray(RECORD_BYTES))
    tear: int | None = None

    def slots(self) -> Slots:
        return newest(bytes(self.memory), self.uid, GROUP_OF[self.uid], KEYS, 0)

    def write_passage(self, image: bytes, slots: Slots) -> WriteOutcome:
        for i, page in enumerate(slots.pages(slots.older)):
            if self.tear == i:
                return WriteOutcome(False, BAND_REMOVED)
            self.memory[page * 4 : page * 4 + 4] = image[i * 4 : i * 4 + 4]
        return WriteOutcome(self.tear is None, None if self.tear is None else BAND_REMOVED)
