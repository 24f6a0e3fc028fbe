"""The serial barcode scanner: line framing, validation, a reader thread that survives unplugging.

Two layers. `Framer` is pure: bytes in, codes and rejections out, with a bounded buffer.
`BarcodeScanner` is the shell: it owns the serial port and a thread, feeds the framer, hands
each result to a callback, and reopens the port with capped exponential backoff when the scanner
goes away (USB unplugged, udev link such as /dev/scanner re-created).

A scanner sends ``[prefix][AIM id][code][suffix]<terminator>``; prefix, suffix and the AIM
identifier (``]C1``, ``]E0``, ``]Q1`` ...) are optional and stripped when configured.

Example::

    scanner = BarcodeScanner("/dev/scanner", on_code=inbox.put, on_reject=inbox.put)
    scanner.start()
    ...
    scanner.stop()
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import TypeVar

import serial  # type: ignore[import-untyped]

log = logging.getLogger(__name__)
T = TypeVar("T")

TERMINATORS = (b"\r", b"\n", b"\r\n")
AIM_LENGTH = 3  # "]" + symbology letter + modifier


class RejectReason(StrEnum):
    """Stable codes for lines that are not a code; `Rejected.message` says more."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NON_PRINTABLE = "non_printable"


@dataclass(frozen=True)
class Rejected:
    """A line that was not accepted as a code."""

    reason: RejectReason
    message: str
    raw: bytes  # the line as received, cut to the framer's limit


class Framer:
    """Splits a byte stream into codes, validating each line; pure, no IO.

    A line is accepted when, after stripping the configured prefix, suffix and AIM
    identifier, it is non-empty printable ASCII of at most `max_length` characters.
    A scanner sending CRLF is tolerated under a CR or LF configuration (the other half
    of the pair is dropped). A line that outgrows the limit before its terminator is
    rejected at once and the rest of it skipped up to the next terminator, so the buffer
    never holds more than `limit` bytes between calls.

    >>> framer = Framer(terminator=b"\\r\\n", strip_aim=True)
    >>> framer.feed(b"]C1AB"), framer.feed(b"12\\r\\n\\x07\\r\\n")[0], framer.buffered
    ([], 'AB12', 0)
    """

    def __init__(
        self,
        *,
        terminator: bytes = b"\r",
        max_length: int = 64,
        strip_aim: bool = False,
        prefix: bytes = b"",
        suffix: bytes = b"",
    ) -> None:
        if terminator not in TERMINATORS:
            raise ValueError(f"terminator must be one of {TERMINATORS!r}, got {terminator!r}")
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {max_length}")
        self.terminator = terminator
        self.max_length = max_length
        self.strip_aim = strip_aim
        self.prefix = prefix
        self.suffix = suffix
        # Longest raw line that can still hold a valid code (+1: a stray CR or LF).
        self.limit = max_length + len(prefix) + len(suffix) + 1
        self.limit += AIM_LENGTH if strip_aim else 0
        self._buf = bytearray()
        self._skipping = False  # inside an over-long line, waiting for its terminator

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished line held for the next `feed`."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial line (the port was lost; the next byte starts a new line)."""
        self._buf.clear()
        self._skipping = False

    def feed(self, data: bytes) -> list[str | Rejected]:
        """Take bytes as they arrive; return the codes and rejections of completed lines."""
        out: list[str | Rejected] = []
        self._buf += data
        term = self.terminator
        while (end := self._buf.find(term)) >= 0:
            raw = bytes(self._buf[:end])
            del self._buf[: end + len(term)]
            if self._skipping:
                self._skipping = False  # the tail of an over-long line: resynchronised
            else:
                out.append(self._check(raw))
        if len(self._buf) > self.limit:
            if not self._skipping:
                out.append(self._too_long(bytes(self._buf)))
                self._skipping = True
            # Keep what could be the start of a split CRLF terminator, drop the rest.
            del self._buf[: len(self._buf) - (len(term) - 1)]
        return out

    def _too_long(self, raw: bytes) -> Rejected:
        message = f"line longer than {self.max_length} characters"
        return Rejected(RejectReason.TOO_LONG, message, raw[: self.limit])

    def _check(self, raw: bytes) -> str | Rejected:
        line = raw
        if self.terminator == b"\r":
            line = line.removeprefix(b"\n")  # LF of a scanner sending CRLF
        elif self.terminator == b"\n":
            line = line.removesuffix(b"\r")  # CR of a scanner sending CRLF
        line = line.removeprefix(self.prefix) if self.prefix else line
        line = line.removesuffix(self.suffix) if self.suffix else line
        for at, byte in enumerate(line):
            if not 0x20 <= byte <= 0x7E:
                message = f"non-printable byte 0x{byte:02x} at {at}"
                return Rejected(RejectReason.NON_PRINTABLE, message, raw[: self.limit])
        code = line.decode("ascii")
        if self.strip_aim and code.startswith("]") and len(code) >= AIM_LENGTH:
            code = code[AIM_LENGTH:]
        if not code:
            return Rejected(RejectReason.EMPTY, "empty line", raw)
        if len(code) > self.max_length:
            return self._too_long(raw)
        return code


class ScannerState(StrEnum):
    STOPPED = "stopped"  # not started, or stopped
    OPEN = "open"  # port open, reading
    ABSENT = "absent"  # port missing or failing; reopening with backoff


@dataclass(frozen=True)
class ScannerHealth:
    state: ScannerState
    port: str
    last_error: str | None  # kept after a reopen, for diagnostics
    reopens: int  # successful opens after the port was lost

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "port": self.port,
            "last_error": self.last_error,
            "reopens": self.reopens,
        }


@dataclass(frozen=True)
class ScannerStats:
    accepted: int
    rejected: Mapping[RejectReason, int]

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict[str, object]:
        rejected = {reason.value: n for reason, n in sorted(self.rejected.items())}
        return {"accepted": self.accepted, "rejected": rejected}


class BarcodeScanner:
    """Reads codes from a serial barcode scanner on its own thread.

    `on_code(code)` and `on_reject(rejected)` run on the reader thread: they should only
    enqueue. An exception in one is logged and the reader carries on. When the port
    cannot be opened or a read fails, `health()` turns ``absent`` and the port is reopened
    after 0.2 s, 0.4 s, ... up to `reopen_backoff[1]` between attempts; a port that stays
    open that long resets the backoff. `stop()` returns within about `poll_s`.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        terminator: bytes = b"\r",
        max_length: int = 64,
        strip_aim: bool = False,
        prefix: bytes = b"",
        suffix: bytes = b"",
        on_code: Callable[[str], None],
        on_reject: Callable[[Rejected], None],
        reopen_backoff: tuple[float, float] = (0.2, 5.0),
        poll_s: float = 0.2,
    ) -> None:
        low, high = reopen_backoff
        if not 0 < low <= high:
            raise ValueError(f"reopen_backoff must be 0 < first <= cap, got {reopen_backoff}")
        if baudrate <= 0 or poll_s <= 0:
            raise ValueError("baudrate and poll_s must be positive")
        self.port = port
        self._baudrate = baudrate
        self._framer = Framer(
            terminator=terminator,
            max_length=max_length,
            strip_aim=strip_aim,
            prefix=prefix,
            suffix=suffix,
        )
        self._on_code = on_code
        self._on_reject = on_reject
        self._backoff = (low, high)
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: serial.Serial | None = None
        self._state = ScannerState.STOPPED
        self._last_error: str | None = None
        self._reopens = 0
        self._ever_opened = False
        self._accepted = 0
        self._rejected: Counter[RejectReason] = Counter()

    def start(self) -> None:
        """Start the reader thread; the port is opened there (absent is not an error)."""
        if self._thread is not None:
            raise RuntimeError("scanner already started")
        self._stopping.clear()
        with self._lock:
            self._state = ScannerState.ABSENT
        self._thread = threading.Thread(target=self._run, name=f"scanner {self.port}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading and close the port; safe to call twice or before `start`."""
        self._stopping.set()
        with self._lock:
            if self._serial is not None:
                with contextlib.suppress(OSError, serial.SerialException):
                    self._serial.cancel_read()  # wakes a blocked read at once
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning(
                    "scanner %s: reader thread did not stop within %s s", self.port, timeout
                )
            self._thread = None
        with self._lock:
            self._state = ScannerState.STOPPED

    def __enter__(self) -> BarcodeScanner:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def health(self) -> ScannerHealth:
        with self._lock:
            return ScannerHealth(self._state, self.port, self._last_error, self._reopens)

    def stats(self) -> ScannerStats:
        with self._lock:
            return ScannerStats(self._accepted, dict(self._rejected))

    # The reader thread.

    def _run(self) -> None:
        low, high = self._backoff
        delay = low
        while not self._stopping.is_set():
            port = self._open()
            if port is not None:
                opened_at = time.monotonic()
                self._read_until_lost(port)
                self._close(port)
                if time.monotonic() - opened_at >= high:
                    delay = low  # it had been working: start the backoff again
            if self._stopping.wait(delay):
                break
            delay = min(delay * 2, high)
        log.debug("scanner %s: reader stopped", self.port)

    def _open(self) -> serial.Serial | None:
        try:
            port = serial.Serial(
                self.port, baudrate=self._baudrate, timeout=self._poll_s, exclusive=True
            )
            port.reset_input_buffer()  # start on a line boundary, not mid-scan
        except (serial.SerialException, OSError) as exc:
            self._set_absent(exc)
            return None
        with self._lock:
            self._serial = port
            self._state = ScannerState.OPEN
            if self._ever_opened:
                self._reopens += 1
            self._ever_opened = True
        if self._stopping.is_set():
            port.cancel_read()  # stop() ran while we were opening
        log.info("scanner %s: open", self.port)
        return port

    def _read_until_lost(self, port: serial.Serial) -> None:
        while not self._stopping.is_set():
            try:
                data = port.read(port.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                self._set_absent(exc)
                self._framer.reset()  # a half line from before the loss is noise
                return
            if data:
                self._deliver(self._framer.feed(data))

    def _close(self, port: serial.Serial) -> None:
        with self._lock:
            self._serial = None
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:
            log.debug("scanner %s: close: %s", self.port, exc)

    def _set_absent(self, exc: BaseException) -> None:
        with self._lock:
            was = self._state
            self._state = ScannerState.ABSENT
            repeated = self._last_error == str(exc)
            self._last_error = str(exc)
        if was is ScannerState.OPEN:
            log.warning("scanner %s: lost: %s", self.port, exc)
        elif not repeated:
            log.warning("scanner %s: cannot open: %s", self.port, exc)

    def _deliver(self, results: list[str | Rejected]) -> None:
        for result in results:
            if isinstance(result, str):
                with self._lock:
                    self._accepted += 1
                self._call(self._on_code, result)
            else:
                with self._lock:
                    self._rejected[result.reason] += 1
                log.info("scanner %s: rejected: %s", self.port, result.message)
                self._call(self._on_reject, result)

    def _call(self, callback: Callable[[T], None], arg: T) -> None:
        try:
            callback(arg)
        except Exception:
            log.exception("scanner %s: callback %r failed", self.port, callback)
