"""Fixtures for the NFC tests: site keys, an emulated band field, a reader that records reads.

The reader runs the real nfcpy stack over its ``udp:`` driver against `TagEmulator`; nothing is
mocked. Imported by conftest.py.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gate.core.model import BandToken, Role
from gate.devices.nfc.emulator import ORIGINALITY_KEY, TagEmulator
from gate.devices.nfc.originality import OriginalityCheck
from gate.devices.nfc.reader import NfcReader, TagRead
from gate.devices.nfc.token import Keyring

CURRENT_KEY = (2, bytes.fromhex("00112233445566778899aabbccddeeff0123456789abcdef"))
PREVIOUS_KEY = (1, bytes.fromhex("ffeeddccbbaa99887766554433221100"))
BAND_UID = "04A1B2C3D4E5F6"
OTHER_UID = "04112233445566"
EMULATED_BANDS = OriginalityCheck.of("require", ORIGINALITY_KEY)  # the emulator's test key pair
FAMILY_CHILD = BandToken("T-2026-000123", Role.CHILD, date(2026, 7, 18), date(2026, 7, 19), 2, 1)


def memory_reader(memory: bytes) -> Callable[[int], bytes]:
    """READ over a tag memory image: 16 bytes from a page, rolling over past the end."""

    def read16(page: int) -> bytes:
        pages = len(memory) // 4
        return b"".join(
            memory[(p % pages) * 4 : (p % pages + 1) * 4] for p in range(page, page + 4)
        )

    return read16


@pytest.fixture
def site_keys() -> Keyring:
    return Keyring(CURRENT_KEY, PREVIOUS_KEY)


@pytest.fixture
def key_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a key file: `key_file(text, mode=0o600)`."""

    def write(text: str, mode: int = 0o600, name: str = "site.key") -> Path:
        path = tmp_path / name
        path.write_text(text)
        os.chmod(path, mode)
        return path

    return write


@pytest.fixture
def tag_emulator() -> Iterator[TagEmulator]:
    """A band field on a free UDP port; nothing on it until `present`."""
    with TagEmulator("127.0.0.1", 0) as emulator:
        yield emulator


@dataclass
class ReaderProbe:
    """An `NfcReader` and what it reported. `on_tag` (if set) runs inside on_read. The reader
    starts when first asked for what it reported (`next_read`, `no_read`, `wait_state`,
    `running`), so an `on_tag` set after `start_reader` sees the band already on the reader."""

    reader: NfcReader
    reads: queue.Queue[TagRead] = field(default_factory=queue.Queue)
    on_tag: Callable[[TagRead], Any] | None = None
    results: list[Any] = field(default_factory=list)
    started: bool = False

    def running(self) -> NfcReader:
        """The reader, started if it was not yet."""
        if not self.started:
            self.started = True
            self.reader.start()
        return self.reader

    def on_read(self, read: TagRead) -> None:
        try:
            if self.on_tag is not None:
                self.results.append(self.on_tag(read))
        finally:
            self.reads.put(read)

    def next_read(self, timeout: float = 30.0) -> TagRead:
        self.running()
        try:
            return self.reads.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no tag reported within {timeout} s") from None

    def no_read(self, within: float) -> None:
        self.running()
        try:
            read = self.reads.get(timeout=within)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected report: {read}")

    def wait_state(self, *states: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.running().health().state not in states:
            if time.monotonic() > deadline:
                raise AssertionError(f"reader stayed {self.reader.health()}")
            time.sleep(0.02)


@pytest.fixture
def start_reader(site_keys: Keyring) -> Iterator[Callable[..., ReaderProbe]]:
    """Start a reader on `device` with test-friendly timings; stopped at teardown."""
    probes: list[ReaderProbe] = []

    def start(device: str, **options: Any) -> ReaderProbe:
        options.setdefault("debounce_s", 0.6)
        options.setdefault("poll_s", 0.02)
        options.setdefault("originality", EMULATED_BANDS)
        holder: list[ReaderProbe] = []
        reader = NfcReader(
            device, options.pop("keyring", site_keys), lambda r: holder[0].on_read(r), **options
        )
        probe = ReaderProbe(reader)
        holder.append(probe)
        probes.append(probe)
        return probe  # started when first asked (ReaderProbe.running)

    yield start
    for probe in probes:
        if probe.started:
            probe.reader.stop()
