"""The exit lane's ticket printer: a voucher printed as a QR code, in ESC/POS.

Thermal ticket printers (Epson TM series and the many that speak its ESC/POS) draw a QR code
themselves from its text (``GS ( k``), so the gate sends the code, never an image. The printer
is a character device (``/dev/usb/lp0``, a serial port) or, on a bench, a file: each voucher is
appended as one ticket, cut at its end. A printer that is missing, off or out of paper never
holds anyone back: `print_voucher` says so (False, and why) and the gate shows the code instead.

    printer = TicketPrinter("/dev/usb/lp0")
    ok, problem = printer.print_voucher(code, ["Temporary exit", "valid until 17:30"])
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

ESC, GS = b"\x1b", b"\x1d"
INIT = ESC + b"@"
CENTER = ESC + b"a\x01"
CUT = GS + b"V\x42\x00"  # feed and partial cut
QR_MODULE_SIZE = 6


def _qr(function: int, data: bytes) -> bytes:
    """One ``GS ( k`` command of the QR symbol (cn 49), with its little-endian length."""
    size = len(data) + 2
    return GS + b"(k" + bytes([size & 0xFF, size >> 8, 49, function]) + data


def voucher_ticket(code: str, lines: list[str]) -> bytes:
    """The ESC/POS bytes of one voucher ticket: its lines, the QR code, the code in text, a cut."""
    text = "".join(f"{line}\n" for line in lines).encode("utf-8", "replace")
    return (
        INIT
        + CENTER
        + text
        + _qr(65, b"\x32\x00")  # model 2
        + _qr(67, bytes([QR_MODULE_SIZE]))
        + _qr(69, b"\x31")  # error correction M
        + _qr(80, b"0" + code.encode("ascii"))  # store the data
        + _qr(81, b"0")  # print the symbol
        + b"\n"
        + code.encode("ascii")
        + b"\n\n"
        + CUT
    )


def qr_data(ticket: bytes) -> list[str]:
    """The QR codes' texts in printed bytes (what a test or a technician checks a ticket for)."""
    found, at = [], 0
    marker = GS + b"(k"
    while (at := ticket.find(marker, at)) >= 0:
        size = ticket[at + 3] | ticket[at + 4] << 8
        cn, fn = ticket[at + 5], ticket[at + 6]
        if cn == 49 and fn == 80:
            found.append(ticket[at + 8 : at + 5 + size].decode("ascii", "replace"))
        at += 5 + size
    return found


class TicketPrinter:
    """Appends tickets to a printer device or file. Not thread-safe: the gate's loop owns it."""

    def __init__(self, device: str | os.PathLike[str]) -> None:
        self.device = Path(device)

    def print_voucher(self, code: str, lines: list[str]) -> tuple[bool, str]:
        """Print one voucher ticket; (True, "") or (False, why)."""
        data = voucher_ticket(code, lines)
        try:
            fd = os.open(self.device, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOCTTY, 0o640)
        except OSError as exc:
            return False, f"printer {self.device}: {exc.strerror}"
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except OSError as exc:
            return False, f"printer {self.device}: {exc.strerror}"
        finally:
            os.close(fd)
        return True, ""
