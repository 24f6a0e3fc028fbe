"""What the band's passage record adds to a tap: its write, against the read alone, in one run.

    python -m bench.passage_write [TAPS]

Through the real reader stack: `NfcReader` (nfcpy over its ``udp:`` driver) against the
project's emulated NTAG213 (`gate.devices.nfc.emulator`), a band carrying its token and a
record. Each tap is reported to `on_read` with the band still on the reader, as at a gate; there
the benchmark times, on the same band in the same tap:

- the read alone (the baseline): what the reader does before the gate decides, the token and
  the record (`read_token`, `read_slots`: the CC, the token's pages, the record's three READs);
- the write: what a granted passage adds before the relay moves
  (`BandWriter.write_passage`: six WRITEs into the older slot and two READs to read it back).

Figures are p50 and p95 in milliseconds and their ratio. The emulator answers over loopback UDP
with no RF and no EEPROM: on a real reader each command also costs its radio exchange, and each
WRITE the tag's EEPROM programming time (a few milliseconds per page, NXP's data sheet), so the
write's share grows on hardware; measure it there with the same module against a real device
path (`NfcReader`'s `usb` or `tty:` paths) before relying on the figure.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from datetime import UTC, date, datetime

from bench.common import report
from gate.core import BandPassage, BandToken, MemberState, Role
from gate.core.hlc import HybridClock
from gate.devices.nfc.band import read_token
from gate.devices.nfc.emulated_tag import memory_with_ndef
from gate.devices.nfc.emulator import ORIGINALITY_KEY, TagEmulator
from gate.devices.nfc.originality import OriginalityCheck
from gate.devices.nfc.passage import encode_slot, read_slots, stamped
from gate.devices.nfc.reader import NfcReader, TagRead
from gate.devices.nfc.token import Keyring, encode_token

TAPS = 200
UID = "04A1B2C3D4E5F6"
KEYS = Keyring((1, bytes(range(32))))
TOKEN = BandToken("T-2026-000123", Role.ADULT, date(2026, 7, 18), date(2026, 7, 18), 2, 2)


def measure(taps: int) -> tuple[list[float], list[float]]:
    """(read alone, write) of `taps` taps, in milliseconds."""
    reads: list[float] = []
    writes: list[float] = []
    done = threading.Event()

    clock = HybridClock(lambda: int(time.time() * 1000))

    def on_read(read: TagRead) -> None:
        writer = read.writer
        started = time.perf_counter()
        token, _ = read_token(writer.read16, UID, KEYS)  # type: ignore[attr-defined]
        slots = read_slots(writer.read16, UID, TOKEN.group, KEYS)  # type: ignore[attr-defined]
        reads.append((time.perf_counter() - started) * 1000)
        assert token == TOKEN and slots is not None
        counter = slots.newest.counter + 1 if slots.newest else 1
        passage = stamped(
            BandPassage(counter, "E1", MemberState.INSIDE, datetime.now(UTC)), clock.now()
        )
        image = encode_slot(passage, UID, TOKEN.group, KEYS)
        started = time.perf_counter()
        outcome = writer.write_passage(image, slots)
        writes.append((time.perf_counter() - started) * 1000)
        assert outcome.ok, outcome
        done.set()

    with TagEmulator("127.0.0.1", 0) as tags:
        originality = OriginalityCheck.of("require", ORIGINALITY_KEY)
        reader = NfcReader(
            tags.path, KEYS, on_read, debounce_s=0, poll_s=0.005, originality=originality
        )
        tags.present(UID, memory_with_ndef(UID, encode_token(TOKEN, UID, KEYS)))
        reader.start()
        try:
            for _ in range(taps):
                if not done.wait(30):
                    raise SystemExit("no tap reported within 30 s")
                done.clear()
                tags.present(UID, tags.memory)  # the next tap: the band as the last one left it
        finally:
            reader.stop()
    return reads, writes


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def main(taps: int = TAPS) -> None:
    reads, writes = measure(taps)
    report("passage write", "write p50", statistics.median(writes), "ms", statistics.median(reads))
    report("passage write", "write p95", p95(writes), "ms", p95(reads))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else TAPS)
