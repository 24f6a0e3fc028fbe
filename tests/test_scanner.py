"""The barcode scanner against a real pseudo-terminal, and its framer on its own."""

from __future__ import annotations

import contextlib
import os
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.devices.scanner import (
    BarcodeScanner,
    Framer,
    Rejected,
    RejectReason,
    ScannerState,
)

WAIT_S = 30.0  # upper bound for anything to happen; tests pass in milliseconds


OpenScanner = Callable[..., BarcodeScanner]


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class Pty:
    """A pseudo-terminal: the scanner opens `name`, the test writes to the master side."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.name = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class Inbox:
    """What the callbacks received, in order, like the daemon's queue."""

    def __init__(self) -> None:
        self.items: queue.Queue[str | Rejected] = queue.Queue()

    def next(self) -> str | Rejected:
        return self.items.get(timeout=WAIT_S)

    def take(self, n: int) -> list[str | Rejected]:
        return [self.next() for _ in range(n)]

    def empty(self) -> bool:
        return self.items.empty()


@pytest.fixture
def pty() -> Iterator[Pty]:
    p = Pty()
    yield p
    p.close()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def open_scanner(inbox: Inbox) -> Iterator[Callable[..., BarcodeScanner]]:
    """Start a scanner on a port and wait until it is open (unless told not to)."""
    started: list[BarcodeScanner] = []

    def make(port: str, *, wait_open: bool = True, **options: object) -> BarcodeScanner:
        options.setdefault("reopen_backoff", (0.02, 0.1))
        options.setdefault("poll_s", 0.05)
        scanner = BarcodeScanner(
            port,
            on_code=inbox.items.put,
            on_reject=inbox.items.put,
            **options,  # type: ignore[arg-type]
        )
        scanner.start()
        started.append(scanner)
        if wait_open:
            wait_until(lambda: scanner.health().state is ScannerState.OPEN)
        return scanner

    yield make
    for scanner in started:
        scanner.stop()


# Reading codes through the pty.


def test_codes_are_read_in_order(pty: Pty, inbox: Inbox, open_scanner: OpenScanner) -> None:
    open_scanner(pty.name)
    pty.write(b"TICKET-0001\rWB-77\r")
    assert inbox.take(2) == ["TICKET-0001", "WB-77"]


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"], ids=["CR", "LF", "CRLF"])
def test_each_terminator_configuration(
    pty: Pty, inbox: Inbox, open_scanner: OpenScanner, terminator: bytes
) -> None:
    open_scanner(pty.name, terminator=terminator)
    pty.write(b"A1" + terminator + b"B2" + terminator)
    assert inbox.take(2) == ["A1", "B2"]


@pytest.mark.parametrize("terminator", [b"\r", b"\n"], ids=["CR", "LF"])
def test_a_scanner_sending_crlf_is_tolerated(
    pty: Pty, inbox: Inbox, open_scanner: OpenScanner, terminator: bytes
) -> None:
    scanner = open_scanner(pty.name, terminator=terminator)
    pty.write(b"A1\r\nB2\r\nC3\r\n")
    assert inbox.take(3) == ["A1", "B2", "C3"]
    assert scanner.stats().rejected_total == 0


def test_partial_line_is_completed_by_a_later_write(
    pty: Pty, inbox: Inbox, open_scanner: OpenScanner
) -> None:
    open_scanner(pty.name)
    pty.write(b"TICK")
    time.sleep(0.1)  # the reader has seen the first half and waits
    assert inbox.empty()
    pty.write(b"ET-9\r")
    assert inbox.next() == "TICKET-9"


def test_garbage_and_non_printable_bytes_are_rejected_with_reason(
    pty: Pty, inbox: Inbox, open_scanner: OpenScanner
) -> None:
    scanner = open_scanner(pty.name)
    pty.write(b"ABCDE\x07FG\r\x00\xff\r\xc3\xa9t\xc3\xa9\rGOOD\r")
    bell, nul, utf8, good = inbox.take(4)
    assert isinstance(bell, Rejected) and bell.reason is RejectReason.NON_PRINTABLE
    assert bell.message == "non-printable byte 0x07 at 5"
    assert bell.raw == b"ABCDE\x07FG"
    assert isinstance(nul, Rejected) and nul.message == "non-printable byte 0x00 at 0"
    assert isinstance(utf8, Rejected) and utf8.message == "non-printable byte 0xc3 at 0"
    assert good == "GOOD"
    stats = scanner.stats()
    assert stats.accepted == 1
    assert stats.rejected == {RejectReason.NON_PRINTABLE: 3}


def test_empty_line_is_rejected_and_counted(
    pty: Pty, inbox: Inbox, open_scanner: OpenScanner
) -> None:
    scanner = open_scanner(pty.name)
    pty.write(b"\rA1\r")
    empty, code = inbox.take(2)
    assert isinstance(empty, Rejected) and empty.reason is RejectReason.EMPTY
    assert code == "A1"
    assert scanner.stats().as_dict() == {"accepted": 1, "rejected": {"empty": 1}}


def test_over_long_line_is_rejected_and_the_next_line_still_read(
    pty: Pty, inbox: Inbox, open_scanner: OpenScanner
) -> None:
    scanner = open_scanner(pty.name, max_length=8)
    pty.write(b"X" * 50)  # no terminator yet: rejected without waiting for one
    too_long = inbox.next()
    assert isinstance(too_long, Rejected) and too_long.reason is RejectReason.TOO_LONG
    assert too_long.message == "line longer than 8 characters"
    pty.write(b"Y" * 500 + b"\rGOOD\r")
    assert inbox.next() == "GOOD"
    assert scanner.stats().rejected == {RejectReason.TOO_LONG: 1}


def test_over_long_line_in_one_write_is_rejected(
    pty: Pty, inbox: Inbox, open_scanner: OpenScanner
) -> None:
    open_scanner(pty.name, max_length=8)
    pty.write(b"123456789\r12345678\r")
    too_long, code = inbox.take(2)
    assert isinstance(too_long, Rejected) and too_long.reason is RejectReason.TOO_LONG
    assert code == "12345678"


def test_aim_identifier_and_affixes_are_stripped(
    pty: Pty, inbox: Inbox, open_scanner: OpenScanner
) -> None:
    open_scanner(pty.name, strip_aim=True, prefix=b"\x02", suffix=b"\x03")
    pty.write(b"\x02]C1TICKET-1\x03\r]Q1WB-2\rPLAIN\r")
    assert inbox.take(3) == ["TICKET-1", "WB-2", "PLAIN"]


def test_a_failing_callback_is_logged_and_reading_continues(
    pty: Pty, open_scanner: OpenScanner, caplog: pytest.LogCaptureFixture
) -> None:
    seen: queue.Queue[str] = queue.Queue()

    def on_code(code: str) -> None:
        seen.put(code)
        if code == "BOOM":
            raise RuntimeError("queue full")

    scanner = BarcodeScanner(pty.name, on_code=on_code, on_reject=lambda r: None, poll_s=0.05)
    with scanner:
        wait_until(lambda: scanner.health().state is ScannerState.OPEN)
        pty.write(b"BOOM\rAFTER\r")
        assert [seen.get(timeout=WAIT_S) for _ in range(2)] == ["BOOM", "AFTER"]
    assert "callback" in caplog.text and "queue full" in caplog.text


# The port going away and coming back.


def test_port_that_does_not_exist_is_absent_then_opened_when_created(
    tmp_path: Path, inbox: Inbox, open_scanner: OpenScanner
) -> None:
    link = tmp_path / "scanner"
    scanner = open_scanner(str(link), wait_open=False)
    wait_until(lambda: scanner.health().last_error is not None)
    health = scanner.health()
    assert health.state is ScannerState.ABSENT
    assert health.port == str(link)
    pty = Pty()
    try:
        link.symlink_to(pty.name)
        wait_until(lambda: scanner.health().state is ScannerState.OPEN)
        pty.write(b"LATE\r")
        assert inbox.next() == "LATE"
        assert scanner.health().reopens == 0  # a first open, not a reopen
    finally:
        pty.close()


def test_vanished_port_is_reported_absent_and_reopened_when_back(
    tmp_path: Path, inbox: Inbox, open_scanner: OpenScanner
) -> None:
    link = tmp_path / "scanner"  # a stable name, like the udev link /dev/scanner
    first = Pty()
    link.symlink_to(first.name)
    scanner = open_scanner(str(link))
    first.write(b"BEFORE\rHALF-A-LI")
    assert inbox.next() == "BEFORE"

    first.close()  # unplugged
    link.unlink()
    wait_until(lambda: scanner.health().state is ScannerState.ABSENT)
    assert scanner.health().last_error

    second = Pty()  # plugged back in, the link re-created
    try:
        link.symlink_to(second.name)
        wait_until(lambda: scanner.health().state is ScannerState.OPEN)
        second.write(b"AFTER\r")
        assert inbox.next() == "AFTER"  # the half line from before is not glued on
        assert scanner.health().reopens == 1
        assert scanner.health().as_dict()["state"] == "open"
    finally:
        second.close()


def test_stop_is_prompt_and_clean(pty: Pty, open_scanner: OpenScanner) -> None:
    scanner = open_scanner(pty.name, poll_s=1.0)  # a long read timeout, cut short by stop
    reader = scanner._thread
    started = time.monotonic()
    scanner.stop()
    assert time.monotonic() - started < 0.5
    assert reader is not None and not reader.is_alive()
    assert scanner.health().state is ScannerState.STOPPED
    scanner.stop()  # twice is harmless


def test_stop_is_prompt_while_waiting_to_reopen(tmp_path: Path, open_scanner: OpenScanner) -> None:
    scanner = open_scanner(str(tmp_path / "missing"), wait_open=False, reopen_backoff=(5, 5))
    wait_until(lambda: scanner.health().last_error is not None)
    started = time.monotonic()
    scanner.stop()
    assert time.monotonic() - started < 0.5


def test_invalid_settings_are_refused() -> None:
    def scanner(**options: object) -> BarcodeScanner:
        return BarcodeScanner("/dev/null", on_code=print, on_reject=print, **options)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="terminator"):
        scanner(terminator=b";")
    with pytest.raises(ValueError, match="max_length"):
        scanner(max_length=0)
    with pytest.raises(ValueError, match="reopen_backoff"):
        scanner(reopen_backoff=(5.0, 1.0))


# The framer alone: properties over any byte stream and any split into reads.

printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=16)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(
    codes=st.lists(printable, max_size=8),
    terminator=st.sampled_from([b"\r", b"\n", b"\r\n"]),
    cuts=st.lists(st.integers(min_value=0), max_size=10),
)
def test_framer_reads_the_same_codes_however_the_bytes_are_split(
    codes: list[str], terminator: bytes, cuts: list[int]
) -> None:
    framer = Framer(terminator=terminator, max_length=16)
    stream = b"".join(code.encode() + terminator for code in codes)
    out = [item for chunk in split(stream, cuts) for item in framer.feed(chunk)]
    assert out == codes
    assert framer.buffered == 0


@given(
    noise=st.binary(max_size=200),
    chunks=st.lists(st.binary(max_size=40), max_size=10),
    terminator=st.sampled_from([b"\r", b"\n", b"\r\n"]),
)
def test_framer_never_buffers_more_than_its_limit_and_resynchronises(
    noise: bytes, chunks: list[bytes], terminator: bytes
) -> None:
    framer = Framer(terminator=terminator, max_length=10)
    for chunk in [noise, *chunks]:
        framer.feed(chunk)
        assert framer.buffered <= framer.limit
    assert framer.feed(terminator + b"GOOD" + terminator)[-1] == "GOOD"
