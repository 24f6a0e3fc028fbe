"""What the threads put in the gate's inbox: a tag on the reader, a barcode, a passage, the staff
key, the fire alarm, a stop. Only the loop acts on them (`gate.daemon.gate`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from gate.devices.nfc.reader import TagRead
from gate.devices.scanner import Rejected


@dataclass
class TagArrived:
    read: TagRead
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class BarcodeRead:
    code: str


@dataclass
class BarcodeRejected:
    rejected: Rejected


@dataclass
class PassageSeen:
    grant: int
    passed: bool


@dataclass
class StaffButton:
    """The staff key was pressed: the next exit is temporary."""


@dataclass
class FireAlarm:
    on: bool


@dataclass
class Stop:
    reason: str
